// PolyMix dashboard: polls the service's JSON API and renders it. No external libraries, no CDN.
// Amounts arrive as exact decimal strings; they are rounded to cents as strings (half away from
// zero, never cut) and only turned into numbers to place points on the chart.
(function () {
  "use strict";
  const REFRESH_MS = 5000;
  const SVG = "http://www.w3.org/2000/svg";
  let token = "";  // the API token, kept in this page's memory only (never stored, never in a URL)

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // "1.5E+3" -> "1500", "2E-7" -> "0.0000002": Python's Decimal may print an exponent.
  function plain(text) {
    const m = /^(-?)(\d*)(?:\.(\d*))?[eE]([+-]?\d+)$/.exec(text);
    if (!m) return text;
    const [, sign, whole, frac = "", expText] = m;
    const exp = Number(expText);
    let digits = (whole + frac).replace(/^0+(?=\d)/, "");
    let point = whole.length + exp;
    if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
    if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
    return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }

  // Round a decimal string to `places` (half away from zero), exactly, with BigInt.
  function rounded(value, places) {
    const text = plain(String(value).trim());
    if (!/^-?\d*(\.\d*)?$/.test(text) || text === "" || text === "-") return null;
    const negative = text.startsWith("-");
    const [whole, frac = ""] = (negative ? text.slice(1) : text).split(".");
    const kept = (frac + "0".repeat(places + 1)).slice(0, places + 1);
    let units = BigInt(whole || "0") * 10n ** BigInt(places) + BigInt(kept.slice(0, places) || "0");
    if (Number(kept[places]) >= 5) units += 1n;
    const scale = 10n ** BigInt(places);
    const intPart = (units / scale).toString();
    const fracPart = places ? "." + (units % scale).toString().padStart(places, "0") : "";
    const isZero = units === 0n;
    return { negative: negative && !isZero, whole: intPart, frac: fracPart };
  }

  function money(value) {
    if (value === null || value === undefined || value === "") return "–";
    const r = rounded(value, 2);
    if (r === null) return String(value);
    const grouped = r.whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (r.negative ? "-$" : "$") + grouped + r.frac;
  }

  function percent(value) {
    const r = rounded(value, 2);
    return r === null ? "–" : `${r.negative ? "-" : ""}${r.whole}${r.frac}%`;
  }

  function number(value) {
    const r = rounded(value, 2);
    if (r === null) return "–";
    const text = `${r.negative ? "-" : ""}${r.whole}${r.frac}`;
    return text.replace(/\.00$/, "");
  }

  function signed(value) {
    const span = el("span", {}, money(value));
    const r = value === null || value === undefined || value === "" ? null : rounded(value, 2);
    if (r) span.className = r.negative ? "neg" : r.whole !== "0" || r.frac !== ".00" ? "pos" : "";
    return span;
  }

  function when(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }

  function duration(seconds) {
    const s = Math.max(0, Math.round(Number(seconds) || 0));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }

  function fill(tableId, rows, columns, emptyText) {
    const body = document.querySelector(`#${tableId} tbody`);
    body.replaceChildren();
    if (!rows || rows.length === 0) {
      body.append(el("tr", {}, el("td", { class: "empty", colspan: String(columns) }, emptyText)));
      return;
    }
    for (const cells of rows) body.append(el("tr", { "data-row": tableId }, ...cells.map((c) => el("td", {}, c))));
  }

  function legList(legs, withOrders) {
    const box = el("div");
    for (const leg of legs || []) {
      const size = leg.filled_size !== undefined && leg.filled_size !== null ? leg.filled_size : leg.size;
      // Soccer legs buy "Yes" of a per-outcome market: name the market so the leg reads on its own.
      const yesNo = /^(yes|no)$/i.test(leg.outcome_name || "");
      const outcome = yesNo && leg.market_title ? `${leg.market_title} ${leg.outcome_name}` : (leg.outcome_name || leg.outcome_id);
      const price = leg.average_price || leg.price || leg.limit_price;
      const line = el("div", { class: "leg" }, `${leg.exchange} · ${outcome} · ${leg.side || "buy"} ${price} × ${number(size)}`);
      const unwound = leg.unwound_size ? rounded(leg.unwound_size, 2) : null;
      if (unwound && (unwound.whole !== "0" || unwound.frac !== ".00")) {
        // An unwind sold contracts back: say how many and what they brought in.
        line.append(" ", el("span", { class: "unwind" }, `sold back ${number(leg.unwound_size)} for ${money(leg.unwind_proceeds)}`));
      }
      if (withOrders && (leg.order_id || leg.client_order_id)) {
        line.append(" ", el("span", { class: "oid" }, leg.order_id || "", leg.client_order_id ? ` (${leg.client_order_id})` : ""));
      }
      box.append(line);
    }
    return box;
  }

  function badge(status) {
    return el("span", { class: `badge ${status}` }, status.replace("_", " "));
  }

  function timeLabel(ms, spanMs) {
    const d = new Date(ms);
    return spanMs > 36 * 3600 * 1000
      ? d.toLocaleDateString(undefined, { month: "short", day: "numeric" })
      : d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }

  // Cumulative realised P&L against time: dollar axis with the zero line, time axis, one dot per settlement.
  function drawChart(points) {
    const box = document.getElementById("pnl-chart");
    const W = 1000, H = 240, L = 80, R = 16, T = 14, B = 30;
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, "data-points": (points || []).length });
    const data = (points || []).map((p) => ({ t: Date.parse(p.time), v: Number(p.pnl), p }));
    if (data.length === 0) {
      chart.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, "no settled trade yet"));
      box.replaceChildren(chart);
      return;
    }
    const t0 = data[0].t, t1 = data[data.length - 1].t;
    const tLo = t1 > t0 ? t0 : t0 - 60000, tHi = t1 > t0 ? t1 : t0 + 60000;
    const series = [{ t: tLo === t0 ? t0 : tLo, v: 0 }].concat(data);  // the curve starts at $0
    const values = series.map((p) => p.v);
    const lo = Math.min(0, ...values), hi = Math.max(0, ...values);
    const span = hi - lo || 1;
    const x = (t) => L + ((t - tLo) / (tHi - tLo)) * (W - L - R);
    const y = (v) => T + (1 - (v - lo) / span) * (H - T - B);
    chart.append(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
    chart.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    const ticks = [...new Set([lo, 0, hi])];
    for (const v of ticks) {
      chart.append(svg("line", { class: v === 0 ? "zero" : "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      chart.append(svg("text", { class: "ylabel", x: L - 8, y: y(v) + 4, "text-anchor": "end" }, money(String(v.toFixed(2)))));
    }
    for (const [t, anchor] of [[tLo, "start"], [(tLo + tHi) / 2, "middle"], [tHi, "end"]]) {
      chart.append(svg("text", { class: "xlabel", x: x(t), y: H - 8, "text-anchor": anchor }, timeLabel(t, tHi - tLo)));
    }
    chart.append(svg("polyline", {
      class: "line",
      points: series.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" "),
    }));
    for (const d of data) {
      const dot = svg("circle", { class: "dot", cx: x(d.t).toFixed(1), cy: y(d.v).toFixed(1), r: 4 });
      dot.append(svg("title", {}, `${when(d.p.time)}: ${money(d.p.pnl)} after ${d.p.title}`));
      chart.append(dot);
    }
    const last = data[data.length - 1].p.pnl;
    chart.append(svg("text", { class: "caption", x: L + 8, y: T + 12 }, `${money(last)} after ${data.length} settled trade${data.length === 1 ? "" : "s"}`));
    box.replaceChildren(chart);
  }

  function limitItems(limits, controls) {
    const item = (name, value) => el("li", {}, el("span", { class: "muted" }, `${name} `), value);
    const none = "no limit";
    return [
      item("bet per trade", money(limits.bet_amount)),
      item("minimum ROI", percent(limits.min_roi_percent)),
      item("max position", limits.max_position_size ? money(limits.max_position_size) : none),
      item("max per market", limits.max_market_exposure ? money(limits.max_market_exposure) : none),
      item("trades per day", limits.max_daily_trades ?? none),
      item("daily loss limit", limits.daily_loss_limit ? money(limits.daily_loss_limit) : none),
      item("trading", controls ? controls.state : "–"),
    ];
  }

  function renderControls(controls) {
    const state = document.getElementById("control-state");
    state.textContent = controls ? controls.state : "–";
    state.dataset.state = controls ? controls.state : "";
    document.getElementById("control-reason").textContent = controls && controls.reason ? `(${controls.reason})` : "";
    document.getElementById("pause").disabled = !controls || controls.state !== "running";
    document.getElementById("resume").disabled = !controls || controls.state === "running";
  }

  function renderFeeds(health) {
    const box = document.getElementById("feeds");
    const streaming = health && health.streaming;
    box.dataset.streaming = streaming ? "true" : "false";
    if (!streaming) {
      box.replaceChildren("Books: polled by REST scans");
      return;
    }
    const parts = [el("span", {}, "Books streamed: ")];
    for (const feed of streaming.feeds) {
      parts.push(el("span", { class: `feed ${feed.state}`, "data-venue": feed.venue, "data-state": feed.state },
        `${feed.venue} ${feed.state}${feed.reason && feed.state !== "live" ? ` (${feed.reason})` : ""}`), " · ");
    }
    const lat = streaming.detection_latency_ms;
    parts.push(el("span", { id: "latency" },
      lat.count ? `detection p50 ${lat.p50} ms, p99 ${lat.p99} ms over ${lat.count}` : "no detection yet"));
    box.replaceChildren(...parts);
  }

  function renderHealth(health) {
    const alert = document.getElementById("alert");
    const reasons = (health && health.reasons) || [];
    alert.hidden = reasons.length === 0;
    alert.replaceChildren(...reasons.map((r) => el("div", { "data-code": r.code }, r.message)));
  }

  function renderVenues(state) {
    const recon = state.reconciliation;
    const time = document.getElementById("recon-time");
    if (state.mode !== "live") {
      time.textContent = "(paper trading: positions are simulated, no venue account is used)";
      fill("venues", [], 6, "paper trading holds nothing on the venues");
      return;
    }
    if (!recon) {
      time.textContent = "(no reconciliation yet)";
      fill("venues", [], 6, "waiting for the first reconciliation");
      return;
    }
    const problems = recon.mismatches.length + recon.unresolved.length + recon.errors.length;
    time.textContent = `(last reconciliation ${when(recon.time)}: ${problems ? `${problems} problem(s)` : "all agree"})`;
    fill("venues", (recon.venues || []).map((v) => {
      const positions = el("div");
      for (const p of v.positions) {
        const same = p.venue !== null && p.venue === p.stored;
        positions.append(el("div", { class: same ? "" : "mismatch" }, `${p.market_id} · ${p.outcome_id}: ${number(p.stored)} / ${p.venue === null ? "?" : number(p.venue)}`));
      }
      const orders = el("div");
      for (const o of v.open_orders) {
        orders.append(el("div", { class: o.recorded ? "" : "mismatch" }, `${o.side} ${o.remaining} @ ${o.price} ${o.market_id}${o.recorded ? "" : " (no trade records it)"}`));
      }
      const moved = v.cash_change === null ? "–" : `${money(v.cash_change)} / ${money(v.stored_cash_change)}`;
      const agrees = el("span", { class: `badge ${v.agrees ? "agrees" : "mismatch"}`, "data-agrees": String(v.agrees) },
        v.reachable ? (v.agrees ? "agrees" : "MISMATCH") : "unreachable");
      return [v.label || v.venue, v.cash_total !== null ? money(v.cash_total) : money(v.cash_available), moved,
        v.positions.length ? positions : "none", v.open_orders.length ? orders : "none", agrees];
    }), 6, "no venue answered");
  }

  function render(state, opps, health) {
    const banner = document.getElementById("banner");
    banner.className = `banner banner-${state.mode}`;
    banner.dataset.mode = state.mode;
    document.getElementById("mode-label").textContent = state.mode === "live" ? "LIVE TRADING" : "PAPER TRADING";
    document.getElementById("balance").textContent = money(state.balance);
    document.getElementById("realized").replaceChildren(signed(state.realised_pnl));
    document.getElementById("unrealized").replaceChildren(signed(state.unrealised_pnl));
    const today = state.today || {};
    document.getElementById("today").textContent = `${today.trades ?? 0} trades, loss ${money(today.loss ?? "0")}`;
    document.getElementById("limits").replaceChildren(...limitItems(state.limits || {}, state.controls));
    renderControls(state.controls);
    renderHealth(health);
    renderFeeds(health);
    renderVenues(state);

    drawChart(state.pnl_history);

    const scanned = Date.parse(opps.scanned_at);
    const oppRows = (opps.opportunities || []).map((o) => [
      o.title, legList(o.legs, false), number(o.size), money(o.cost), money(o.fees), signed(o.profit), percent(o.roi_percent),
      o.first_seen && !isNaN(scanned) ? duration((scanned - Date.parse(o.first_seen)) / 1000) : "–",
    ]);
    document.getElementById("opp-count").textContent = `(${oppRows.length}, scanned ${when(opps.scanned_at)})`;
    fill("opportunities", oppRows, 8, "no opportunity right now");

    fill("recent", (opps.recent || []).slice(0, 20).map((o) => [
      o.title, when(o.first_seen), duration(o.lived_seconds), signed(o.best_profit), percent(o.best_roi_percent),
    ]), 5, "none has come and gone yet");

    fill("positions", (state.open_positions || []).map((t) => [
      when(t.created_at), t.title, legList(t.legs, true), money(t.cost), signed(t.expected_profit), badge(t.status),
      flattenButton(t),
    ]), 7, "no open position");

    fill("trades", (state.trades || []).slice(0, 50).map((t) => [
      when(t.created_at), t.title, legList(t.legs, true), money(t.cost),
      t.realised_pnl !== null && t.realised_pnl !== undefined ? signed(t.realised_pnl) : signed(t.expected_profit),
      badge(t.status), when(t.settled_at),
    ]), 7, "no trade yet");

    fill("errors", (state.errors || []).slice(0, 20).map((e) => [
      when(e.time), e.venue || "–", e.operation || "–", e.message,
    ]), 4, "no error");

    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  async function refresh() {
    try {
      const get = (url) => fetch(url, { cache: "no-store" }).then((r) => {
        if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
        return r.json();
      });
      const [state, opps, health] = await Promise.all([
        get("/api/trading/state"), get("/api/opportunities"), get("/api/health"),
      ]);
      render(state, opps, health);
    } catch (err) {
      document.getElementById("updated").textContent = `refresh failed: ${err}`;
    }
  }

  async function send(action, body) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(`/api/trading/${action}`, {
      method: "POST", headers, body: JSON.stringify(body || {}), cache: "no-store",
    });
    return { ok: response.ok, status: response.status, data: await response.json() };
  }

  async function control(action, question, body) {
    if (!window.confirm(question)) return;
    const result = document.getElementById("control-result");
    try {
      const { ok, status, data } = await send(action, body);
      if (!ok) {
        result.textContent = `${action} refused: ${data.message || status}`;
      } else {
        const cancelled = data.cancelled ? Object.entries(data.cancelled).map(([v, o]) => `${v}: ${o}`).join(", ") : "";
        result.textContent = `${action}: trading is ${data.state}${cancelled ? ` (${cancelled})` : ""}`;
      }
    } catch (err) {
      result.textContent = `${action} failed: ${err}`;
    }
    refresh();
  }

  function flattenButton(trade) {
    const button = el("button", { type: "button", class: "danger flatten", "data-trade": trade.id }, "Flatten");
    button.addEventListener("click", () => flatten(trade));
    return button;
  }

  async function flatten(trade) {
    // The prompt is the confirmation: cancelling it sends nothing.
    const answer = window.prompt(
      `FLATTEN "${trade.title}": sell back everything this trade holds at the best bids now.\n` +
      "The most you accept to lose on it, in dollars (leave empty: each leg no lower than its entry price less the unwind allowance):",
      "");
    if (answer === null) return;
    const body = { trade_id: trade.id, confirm: "flatten" };
    if (answer.trim()) body.max_loss = answer.trim();
    const result = document.getElementById("control-result");
    try {
      const { ok, status, data } = await send("flatten", body);
      result.textContent = ok
        ? `flatten: ${trade.title} is ${data.status.replace("_", " ")}, ${money(data.unwind_proceeds)} back from the sales`
        : `flatten refused: ${data.message || status}`;
    } catch (err) {
      result.textContent = `flatten failed: ${err}`;
    }
    refresh();
  }

  document.getElementById("api-token").addEventListener("input", (event) => { token = event.target.value.trim(); });
  document.getElementById("pause").addEventListener("click", () =>
    control("pause", "Pause trading? No new trades until you resume (scans and settlement go on).", { reason: "paused from the dashboard" }));
  document.getElementById("resume").addEventListener("click", () =>
    control("resume", "Resume trading?"));
  document.getElementById("kill").addEventListener("click", () =>
    control("kill", "KILL: cancel every resting order on every venue and stop trading until you resume?", { confirm: "kill", reason: "killed from the dashboard" }));

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
