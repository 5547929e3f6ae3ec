// PolyMix dashboard: polls the service's JSON API and renders it. No external libraries, no CDN.
// Amounts arrive as exact decimal strings; they are shown as sent and only turned into numbers
// to place points on the chart.
(function () {
  "use strict";
  const REFRESH_MS = 5000;

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

  function money(value) {
    if (value === null || value === undefined || value === "") return "–";
    const text = String(value);
    const negative = text.startsWith("-");
    const digits = negative ? text.slice(1) : text;
    const [whole, frac = ""] = digits.split(".");
    const cents = (frac + "00").slice(0, 2);
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-$" : "$") + grouped + "." + cents;
  }

  function signed(value) {
    const span = el("span", {}, money(value));
    if (value !== null && value !== undefined && value !== "") {
      span.className = String(value).startsWith("-") ? "neg" : Number(value) > 0 ? "pos" : "";
    }
    return span;
  }

  function when(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
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
      const line = el("div", { class: "leg" }, `${leg.exchange} · ${outcome} · ${leg.side || "buy"} ${price} × ${size}`);
      if (withOrders && (leg.order_id || leg.client_order_id)) {
        line.append(" ", el("span", { class: "oid" }, leg.order_id || "", leg.client_order_id ? ` (${leg.client_order_id})` : ""));
      }
      box.append(line);
    }
    return box;
  }

  function badge(status) {
    return el("span", { class: `badge ${status}` }, status);
  }

  function drawChart(points) {
    const box = document.getElementById("pnl-chart");
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 1000 200");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("data-points", String((points || []).length));
    const series = [{ t: null, v: 0 }].concat((points || []).map((p) => ({ t: p.time, v: Number(p.pnl) })));
    const values = series.map((p) => p.v);
    const lo = Math.min(0, ...values), hi = Math.max(0, ...values);
    const span = hi - lo || 1;
    const x = (i) => (series.length === 1 ? 0 : (i / (series.length - 1)) * 990 + 5);
    const y = (v) => 190 - ((v - lo) / span) * 180;
    const zero = document.createElementNS(ns, "line");
    zero.setAttribute("class", "zero");
    zero.setAttribute("x1", "0"); zero.setAttribute("x2", "1000");
    zero.setAttribute("y1", String(y(0))); zero.setAttribute("y2", String(y(0)));
    svg.append(zero);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("class", "line");
    line.setAttribute("points", series.map((p, i) => `${x(i).toFixed(1)},${y(p.v).toFixed(1)}`).join(" "));
    svg.append(line);
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", "8"); label.setAttribute("y", "16");
    const last = points && points.length ? points[points.length - 1].pnl : "0";
    label.textContent = `cumulative realised P&L ${money(last)} over ${points ? points.length : 0} settlements`;
    svg.append(label);
    box.replaceChildren(svg);
  }

  function render(state, opps) {
    const banner = document.getElementById("banner");
    banner.className = `banner banner-${state.mode}`;
    banner.dataset.mode = state.mode;
    document.getElementById("mode-label").textContent = state.mode === "live" ? "🔴 LIVE TRADING" : "📄 PAPER TRADING";
    document.getElementById("balance").textContent = money(state.balance);
    document.getElementById("realized").replaceChildren(signed(state.realised_pnl));
    document.getElementById("unrealized").replaceChildren(signed(state.unrealised_pnl));
    const today = state.today || {};
    document.getElementById("today").textContent = `${today.trades ?? 0} trades, loss ${money(today.loss ?? "0")}`;
    const limits = state.limits || {};
    document.getElementById("limits").textContent =
      `bet ${money(limits.bet_amount)} · min ROI ${limits.min_roi_percent ?? "–"}% · max/day ${limits.max_daily_trades ?? "∞"} · loss limit ${limits.daily_loss_limit ? money(limits.daily_loss_limit) : "∞"}`;

    drawChart(state.pnl_history);

    const oppRows = (opps.opportunities || []).map((o) => [
      o.title, legList(o.legs, false), o.size, money(o.cost), money(o.fees), signed(o.profit), `${Number(o.roi_percent).toFixed(2)}%`,
    ]);
    document.getElementById("opp-count").textContent = `(${oppRows.length}, scanned ${when(opps.scanned_at)})`;
    fill("opportunities", oppRows, 7, "no opportunity right now");

    fill("positions", (state.open_positions || []).map((t) => [
      when(t.created_at), t.title, legList(t.legs, true), money(t.cost), signed(t.expected_profit), badge(t.status),
    ]), 6, "no open position");

    fill("trades", (state.trades || []).slice(0, 50).map((t) => [
      when(t.created_at), t.title, legList(t.legs, true), money(t.cost),
      t.realised_pnl !== null && t.realised_pnl !== undefined ? signed(t.realised_pnl) : signed(t.expected_profit),
      badge(t.status),
    ]), 6, "no trade yet");

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
      const [state, opps] = await Promise.all([get("/api/trading/state"), get("/api/opportunities")]);
      render(state, opps);
    } catch (err) {
      document.getElementById("updated").textContent = `refresh failed: ${err}`;
    }
  }

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
