"""The Kalshi sandbox's WebSocket stream: Kalshi's protocol served from the sandbox's own books.

Reference: kalshi.md section 11 (written from it, sharing no code with the client). Built
on the shared toolkit :class:`arbkit.sandbox.WsSandboxServer`, which brings the fault
injection (drop, freeze, gap, duplicate, bad frame, slow consumer).

* Handshake at ``/trade-api/ws/v2``: the three ``KALSHI-ACCESS-*`` headers over
  ``timestamp + "GET" + "/trade-api/ws/v2"``, verified by the sandbox's own
  :mod:`~arbkit_kalshi.sandbox.verify` (through :meth:`KalshiSandbox.authenticate`); a
  missing or bad signature is refused with 401 on the upgrade ([A] 11.1).
* Commands ([A] 11.2): ``subscribe`` (one ``subscribed`` per channel, each its own sid),
  ``unsubscribe``, ``update_subscription`` (``add_markets``, ``delete_markets``,
  ``get_snapshot``), ``list_subscriptions``; the AsyncAPI's error codes for bad ones.
* Data (11.3, 11.5): ``orderbook_snapshot`` on subscribe, then ``orderbook_delta`` for each
  change of resting size at a (side, price), with ``seq`` +1 per message per sid across its
  markets; ``ticker`` on any top-of-book, last-price or volume change; ``fill`` and
  ``user_order`` to the owning key's connections; ``market_lifecycle_v2`` (sequenced) on
  status changes and settlement. Empty snapshot sides are omitted, as on the real stream.

Every change the sandbox makes (an order, a cancel, a scenario or book load, a status
change, a settlement) is published when its request finishes, under the sandbox lock, so
a snapshot and the deltas after it always add up to the REST book. Not modelled: the
``client_order_id`` annotation on the owner's deltas ([O]), ``trade``, ``market_positions``
and the paid/RFQ channels (subscribing to them succeeds and streams nothing), Kalshi's
``heartbeat`` ping payload (the toolkit's keepalive pings carry a random one).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from arbkit.errors import ValidationError
from arbkit.sandbox import BookSide, HttpError, Request, WsApp, WsConnection, WsFault, WsSandboxServer
from arbkit_kalshi.sandbox.engine import ONE, ZERO, SbMarket, SbOrder
from arbkit_kalshi.sandbox.wire import count, error_json, money, order_json, price

if TYPE_CHECKING:
    from arbkit_kalshi.sandbox.app import KalshiSandbox

__all__ = ["WS_PATH", "SandboxStream", "serve_stream"]

#: Where the stream is served (kalshi.md 1: REST under /trade-api/v2, WS under /trade-api/ws/v2).
WS_PATH = "/trade-api/ws/v2"
BOOK = "orderbook_delta"
TICKER = "ticker"
FILL = "fill"
USER_ORDERS = "user_orders"
LIFECYCLE = "market_lifecycle_v2"
#: Channels the AsyncAPI lists (11.2); the ones not modelled here subscribe and stay silent.
CHANNELS = frozenset(
    {
        BOOK,
        TICKER,
        "trade",
        FILL,
        "market_positions",
        LIFECYCLE,
        "multivariate_market_lifecycle",
        "communications",
        "order_group_updates",
        USER_ORDERS,
        "cfbenchmarks_value",
        "cfbenchmarks_value_5hz",
        "pyth_value",
    }
)
#: Channels that take a market filter (11.2); lifecycle and communications take none.
_FILTERED = frozenset({BOOK, TICKER, "trade", FILL, USER_ORDERS, "market_positions"})
_SEQUENCED = frozenset({BOOK, LIFECYCLE})
_TICKER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
Levels = dict[tuple[str, Decimal], Decimal]


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


@attrs.define
class _Sub:
    sid: int
    channel: str
    #: ``None``: every market (no filter given).
    markets: set[str] | None
    seq: int = 0
    #: ``use_yes_price``: the NO side in YES-leg prices (1 - q) instead of NO prices ([A] 11.2).
    yes_prices: bool = False

    def no_price(self, level: Decimal) -> Decimal:
        """A NO bid's price as this subscription reports it."""
        return ONE - level if self.yes_prices else level


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _dumps(body: Mapping[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


class SandboxStream(WsApp):
    """Kalshi's WebSocket fed by a :class:`KalshiSandbox` (start it with :meth:`serve`).

    >>> app = KalshiSandbox()                                  # doctest: +SKIP
    >>> with serve_stream(app) as server:                      # doctest: +SKIP
    ...     KalshiStream(url=server.url + WS_PATH, api_key_id=key_id, private_key=pem)
    """

    venue = "kalshi"

    def __init__(self, sandbox: KalshiSandbox) -> None:
        self.sandbox = sandbox
        self.server: WsSandboxServer | None = None
        self._levels: dict[str, Levels] = {}
        self._tops: dict[str, tuple[Any, ...]] = {}
        self._status: dict[str, tuple[str, str]] = {}
        self._fills: tuple[int, int] = (0, 0)  # (id of the engine's fill list, fills published)
        self._conns: dict[int, WsConnection] = {}

    def serve(self, host: str = "127.0.0.1", port: int = 0, **options: Any) -> WsSandboxServer:
        """A started server for this stream (stop it, or use it as a context manager).

        ``options`` go to :class:`WsSandboxServer` (``send_queue``, ``ping_interval``: Kalshi
        pings every 10 s, 11.4, the default here). The URL to give a client is
        ``server.url + WS_PATH`` (``KALSHI_WS_URL``; a bare ``ws://host:port`` works too).
        """
        options.setdefault("ping_interval", 10.0)
        server = WsSandboxServer(self, host, port, **options)
        self.server = server
        with self.sandbox.lock:
            self.sandbox.stream = self
            self._baseline()
        return server.start()

    def _baseline(self) -> None:
        engine = self.sandbox.engine
        engine.touched_markets.clear()
        engine.touched_orders.clear()
        self._status = {t: (m.status, m.result) for t, m in engine.markets.items()}
        self._fills = (id(engine.fills), len(engine.fills))

    def control(self, method: str, path: str, body: Any) -> Any:
        """Stream faults (``POST``/``GET``/``DELETE /_sandbox/stream/faults``) and status."""
        server = self.server
        if server is None:
            raise HttpError(409, error_json("conflict", "the stream is not being served"))
        if path == "/_sandbox/stream":
            status = server.status()
            status["fired"] = [list(item) for item in server.faults.fired]
            return status
        if method == "POST":
            items = body if isinstance(body, list) else [body]
            try:
                faults = [WsFault.from_json(item) for item in items]
            except ValidationError as exc:
                raise HttpError(400, error_json("invalid_parameters", str(exc))) from None
            return {"faults": [server.inject(f).to_json() for f in faults]}
        if method == "DELETE":
            server.clear_faults()
        return {"faults": [f.to_json() for f in server.faults.pending()]}

    # -- WsApp -----------------------------------------------------------------------------------
    def accept(self, request: Request) -> None:
        if request.path != WS_PATH:
            raise HttpError(404, error_json("not_found", f"no stream at {request.path}"))
        # The sandbox's own verification (verify.py), never the client's signer.
        self.sandbox.authenticate(request, required=True)

    def on_open(self, conn: WsConnection) -> None:
        from arbkit_kalshi.sandbox.app import KEY_HEADER

        conn.state["account"] = conn.request.header(KEY_HEADER)
        conn.state["subs"] = {}
        conn.state["next_sid"] = 1
        with self.sandbox.lock:
            self._conns[conn.id] = conn

    def on_close(self, conn: WsConnection) -> None:
        with self.sandbox.lock:
            self._conns.pop(conn.id, None)

    def on_message(self, conn: WsConnection, text: str) -> None:
        command_id = 0
        try:
            try:
                data = json.loads(text)
            except ValueError:
                raise _Refused(1, "Unable to process message") from None
            if not isinstance(data, Mapping):
                raise _Refused(1, "Unable to process message")
            raw_id = data.get("id", 0)
            if isinstance(raw_id, bool) or not isinstance(raw_id, int):
                raise _Refused(1, "Unable to process message")
            command_id = raw_id
            cmd = data.get("cmd")
            params = data.get("params")
            with self.sandbox.lock:
                if cmd == "subscribe":
                    self._subscribe(conn, command_id, params)
                elif cmd == "unsubscribe":
                    self._unsubscribe(conn, command_id, params)
                elif cmd == "update_subscription":
                    self._update(conn, command_id, params)
                elif cmd == "list_subscriptions":
                    subs = [{"channel": s.channel, "sid": s.sid} for s in self._subs(conn).values()]
                    conn.send(_dumps({"id": command_id, "type": "ok", "msg": subs}))
                else:
                    raise _Refused(5, "Unknown command")
        except _Refused as exc:
            conn.send(
                _dumps({"id": command_id, "type": "error", "msg": {"code": exc.code, "msg": exc.message}})
            )

    # -- commands -------------------------------------------------------------------------------
    def _subs(self, conn: WsConnection) -> dict[int, _Sub]:
        subs: dict[int, _Sub] = conn.state["subs"]
        return subs

    def _tickers(self, params: Mapping[str, Any]) -> list[str] | None:
        one, many = params.get("market_ticker"), params.get("market_tickers")
        if one is not None and many is not None:
            raise _Refused(11, "Invalid parameter: market_ticker and market_tickers are exclusive")
        if one is None and many is None:
            return None
        tickers = [one] if one is not None else many
        if not isinstance(tickers, list) or not tickers:
            raise _Refused(11, "Invalid parameter: market_tickers")
        for ticker in tickers:
            if not isinstance(ticker, str) or not ticker or not set(ticker) <= _TICKER_CHARS:
                raise _Refused(11, "Invalid parameter: market ticker")
            if ticker not in self.sandbox.engine.markets:
                # 16 is "retired" in the AsyncAPI but still listed by the quick start (UNCERTAIN).
                raise _Refused(16, f"Market not found: {ticker}")
        return list(dict.fromkeys(tickers))

    def _subscribe(self, conn: WsConnection, command_id: int, params: Any) -> None:
        if not isinstance(params, Mapping):
            raise _Refused(2, "Params required")
        channels = params.get("channels")
        if not isinstance(channels, list) or not channels:
            raise _Refused(3, "Channels required")
        for channel in channels:
            if not isinstance(channel, str) or channel not in CHANNELS:
                raise _Refused(8, "Unknown channel name")
        tickers = self._tickers(params)
        for channel in channels:
            if channel == BOOK and tickers is None:
                raise _Refused(14, "Market Ticker required")
            if channel not in _FILTERED and tickers is not None:
                raise _Refused(11, f"Invalid parameter: {channel} takes no market filter")
        for channel in dict.fromkeys(channels):
            sid = conn.state["next_sid"]
            conn.state["next_sid"] = sid + 1
            sub = _Sub(sid, channel, None if tickers is None else set(tickers))
            sub.yes_prices = channel == BOOK and params.get("use_yes_price") is True
            self._subs(conn)[sid] = sub
            conn.send(
                _dumps({"id": command_id, "type": "subscribed", "msg": {"channel": channel, "sid": sid}})
            )
            if channel == BOOK:
                self._snapshots(conn, sub, tickers or [])
            elif channel == TICKER and params.get("send_initial_snapshot") is True:
                for ticker in tickers if tickers is not None else list(self.sandbox.engine.markets):
                    self._send_ticker(conn, sub, self.sandbox.engine.markets[ticker])

    def _unsubscribe(self, conn: WsConnection, command_id: int, params: Any) -> None:
        sids = params.get("sids") if isinstance(params, Mapping) else None
        if not isinstance(sids, list) or not sids:
            raise _Refused(4, "Subscription IDs required")
        subs = self._subs(conn)
        for sid in sids:
            if not isinstance(sid, int) or sid not in subs:
                raise _Refused(7, "Unknown subscription ID")
        for sid in sids:
            sub = subs.pop(sid)
            if sub.channel == BOOK:
                self._leave(conn, sub, sub.markets or set())
            conn.send(_dumps({"id": command_id, "sid": sid, "seq": sub.seq, "type": "unsubscribed"}))

    def _update(self, conn: WsConnection, command_id: int, params: Any) -> None:
        if not isinstance(params, Mapping):
            raise _Refused(2, "Params required")
        sids = params.get("sids")
        if sids is None and "sid" in params:
            sids = [params["sid"]]
        if not isinstance(sids, list) or len(sids) != 1:
            raise _Refused(12, "Exactly one subscription ID is required")
        sub = self._subs(conn).get(sids[0]) if isinstance(sids[0], int) else None
        if sub is None:
            raise _Refused(7, "Unknown subscription ID")
        action = params.get("action")
        if not action:
            raise _Refused(15, "Action required")
        if action not in ("add_markets", "delete_markets", "get_snapshot"):
            raise _Refused(13, "Unsupported action")
        if sub.channel not in _FILTERED or (action == "get_snapshot" and sub.channel != BOOK):
            raise _Refused(13, "Unsupported action")
        tickers = self._tickers(params)
        if tickers is None:
            raise _Refused(14, "Market Ticker required")
        if action == "add_markets":
            added = [t for t in tickers if sub.markets is not None and t not in sub.markets]
            if sub.markets is not None:
                sub.markets.update(added)
            if sub.channel == BOOK:
                self._snapshots(conn, sub, added)  # a snapshot per added market (UNCERTAIN, 11.2)
        elif action == "delete_markets":
            gone = set(tickers) & (sub.markets or set())
            if sub.markets is not None:
                sub.markets -= gone
            if sub.channel == BOOK:
                self._leave(conn, sub, gone)
        else:
            for ticker in tickers:
                if sub.markets is None or ticker not in sub.markets:
                    raise _Refused(11, f"Invalid parameter: {ticker} is not in the subscription")
            self._snapshots(conn, sub, tickers, command_id=command_id)
        listed = sorted(sub.markets or ())
        conn.send(
            _dumps(
                {
                    "id": command_id,
                    "sid": sub.sid,
                    "seq": sub.seq,
                    "type": "ok",
                    "msg": {"market_tickers": listed},
                }
            )
        )

    # -- frames -------------------------------------------------------------------------------------
    def _sequenced(self, sub: _Sub, kind: str, msg: Mapping[str, Any], command_id: int | None = None) -> Any:
        # The frame function runs under the toolkit's publish lock even when a fault swallows the
        # frame, so seq advances exactly as it would on the venue and the client sees the gap.
        def frame(_: WsConnection) -> str:
            sub.seq += 1
            body: dict[str, Any] = {"type": kind, "sid": sub.sid, "seq": sub.seq, "msg": msg}
            if command_id is not None:
                body["id"] = command_id
            return _dumps(body)

        return frame

    def _snapshots(
        self, conn: WsConnection, sub: _Sub, tickers: Iterable[str], *, command_id: int | None = None
    ) -> None:
        for ticker in tickers:
            market = self.sandbox.engine.markets[ticker]
            levels = self._levels.setdefault(ticker, _levels_of(market))
            msg: dict[str, Any] = {"market_ticker": ticker, "market_id": _market_id(ticker)}
            for side in ("yes", "no"):
                ladder = sorted(
                    (p if side == "yes" else sub.no_price(p), s)
                    for (sd, p), s in levels.items()
                    if sd == side
                )
                if ladder:  # an empty side is omitted on the WebSocket ([A] 11.3)
                    msg[f"{side}_dollars_fp"] = [[price(p), count(s)] for p, s in ladder]
            conn.subscribe(f"orderbook:{ticker}", self._sequenced(sub, "orderbook_snapshot", msg, command_id))

    def _leave(self, conn: WsConnection, sub: _Sub, tickers: Iterable[str]) -> None:
        for ticker in tickers:
            still = any(
                s.channel == BOOK and s.markets is not None and ticker in s.markets and s.sid != sub.sid
                for s in self._subs(conn).values()
            )
            if not still:
                conn.unsubscribe(f"orderbook:{ticker}")

    def _send_ticker(self, conn: WsConnection, sub: _Sub, market: SbMarket) -> None:
        top = _top(market)
        yes_bid, bid_size, yes_ask, ask_size, last, volume = top
        now_ms = self.sandbox.clock()
        msg = {
            "market_ticker": market.ticker,
            "market_id": _market_id(market.ticker),
            "price_dollars": "" if last is None else price(last),
            "yes_bid_dollars": price(yes_bid),
            "yes_ask_dollars": price(yes_ask),
            "yes_bid_size_fp": count(bid_size),
            "yes_ask_size_fp": count(ask_size),
            "last_trade_size_fp": count(ZERO),
            "volume_fp": count(volume),
            "open_interest_fp": count(ZERO),
            "dollar_volume": int(volume),
            "dollar_open_interest": 0,
            "ts": now_ms // 1000,
            "ts_ms": now_ms,
        }
        conn.send(_dumps({"type": "ticker", "sid": sub.sid, "msg": msg}), f"ticker:{market.ticker}")

    # -- publishing (called by KalshiSandbox under its lock after every change) ----------------------------
    def changed(self) -> None:
        """Send every book, order, fill and status change since the last call to the subscribers."""
        server = self.server
        if server is None:
            return
        engine = self.sandbox.engine
        with self.sandbox.lock, server.publish_lock:
            markets, orders = engine.touched_markets, engine.touched_orders
            engine.touched_markets, engine.touched_orders = set(), set()
            for ticker in sorted(markets):
                market = engine.markets.get(ticker)
                if market is not None:
                    self._publish_book(market)
                    self._publish_ticker(market)
                    self._publish_status(market)
            self._publish_fills()
            for order_id in sorted(orders):
                order = engine.orders.get(order_id)
                if order is not None and order.account in self._owners():
                    self._publish_order(order)
            for gone in set(self._levels) - set(engine.markets):
                del self._levels[gone]  # a scenario load removed the market

    def _owners(self) -> set[str]:
        return {str(c.state.get("account")) for c in self._conns.values()}

    def _subscribers(self, channel: str, ticker: str | None = None) -> list[tuple[WsConnection, _Sub]]:
        out = []
        for conn in self._conns.values():
            for sub in self._subs(conn).values():
                if sub.channel == channel and (
                    ticker is None or sub.markets is None or ticker in sub.markets
                ):
                    out.append((conn, sub))
        return out

    def _publish_book(self, market: SbMarket) -> None:
        old = self._levels.get(market.ticker)
        if old is None:
            return  # nobody streams this market; its first snapshot reads the book then
        new = _levels_of(market)
        self._levels[market.ticker] = new
        changes = []
        for key in sorted(old.keys() | new.keys()):
            change = new.get(key, ZERO) - old.get(key, ZERO)
            if change:
                changes.append((key, change))
        if not changes:
            return
        # Cuts before additions: between the deltas of one change the client's book may lack
        # liquidity but never shows a level that is gone beside the one replacing it (a phantom cross).
        changes.sort(key=lambda item: item[1] > 0)
        subscribers = self._subscribers(BOOK, market.ticker)
        ts_ms = self.sandbox.clock()
        for (side, level), change in changes:
            msg = {
                "market_ticker": market.ticker,
                "market_id": _market_id(market.ticker),
                "price_dollars": price(level),
                "delta_fp": count(change) if change > 0 else "-" + count(-change),
                "side": side,
                "ts_ms": ts_ms,
            }
            for conn, sub in subscribers:
                body = msg
                if side == "no" and sub.yes_prices:
                    body = {**msg, "price_dollars": price(sub.no_price(level))}
                conn.send(self._sequenced(sub, "orderbook_delta", body), f"orderbook:{market.ticker}")

    def _publish_ticker(self, market: SbMarket) -> None:
        top = _top(market)
        if self._tops.get(market.ticker) == top:
            return
        self._tops[market.ticker] = top
        for conn, sub in self._subscribers(TICKER, market.ticker):
            self._send_ticker(conn, sub, market)

    def _publish_status(self, market: SbMarket) -> None:
        now = (market.status, market.result)
        before = self._status.get(market.ticker)
        self._status[market.ticker] = now
        if before is None or before == now:
            return
        events: list[dict[str, Any]] = []
        seconds = self.sandbox.clock() // 1000
        status = market.status
        if status == "active" and before[0] == "inactive":
            events.append({"event_type": "deactivated", "is_deactivated": False})
        elif status == "active":
            events.append({"event_type": "activated"})
        elif status == "inactive":
            events.append({"event_type": "deactivated", "is_deactivated": True})
        elif status == "closed":
            events.append({"event_type": "close_date_updated", "close_ts": seconds})
        if market.result and not before[1]:
            value = market.settlement_value if market.settlement_value is not None else ZERO
            events.append(
                {
                    "event_type": "determined",
                    "result": market.result,
                    "settlement_value": price(value),
                    "determination_ts": seconds,
                }
            )
        if status == "finalized" and before[0] != "finalized":
            events.append({"event_type": "settled", "settled_ts": seconds})
        for event in events:
            msg = {"market_ticker": market.ticker, **event}
            for conn, sub in self._subscribers(LIFECYCLE):
                conn.send(self._sequenced(sub, "market_lifecycle_v2", msg), "lifecycle")

    def _publish_fills(self) -> None:
        fills = self.sandbox.engine.fills
        list_id, done = self._fills
        if list_id != id(fills):
            done = 0  # a scenario load started a new list
        new = fills[done:]
        self._fills = (id(fills), len(fills))
        if not new:
            return
        for fill in new:
            subscribers = [
                (conn, sub)
                for conn, sub in self._subscribers(FILL, fill["ticker"])
                if conn.state.get("account") == fill["account"]
            ]
            if not subscribers:
                continue
            order = self.sandbox.engine.orders.get(fill["order_id"])
            yes_price: Decimal = fill["yes_price"]
            bid = fill["book_side"] == "bid"
            ts_ms = _ms(fill["created_time"])
            post: Decimal = fill.get("post_position", ZERO)
            msg = {
                "trade_id": fill["trade_id"],
                "order_id": fill["order_id"],
                "client_order_id": order.client_order_id if order is not None else "",
                "market_ticker": fill["ticker"],
                "exchange_index": 0,
                "is_taker": fill["is_taker"],
                "yes_price_dollars": price(yes_price),
                "count_fp": count(fill["count"]),
                "fee_cost": money(fill["fee_cost"]),
                "post_position_fp": count(post) if post >= 0 else "-" + count(-post),
                "outcome_side": "yes" if bid else "no",
                "book_side": fill["book_side"],
                "subaccount": 0,
                "ts": ts_ms // 1000,
                "ts_ms": ts_ms,
            }
            for conn, sub in subscribers:
                conn.send(_dumps({"type": "fill", "sid": sub.sid, "msg": msg}), "fill")

    def _publish_order(self, order: SbOrder) -> None:
        subscribers = [
            (conn, sub)
            for conn, sub in self._subscribers(USER_ORDERS, order.ticker)
            if conn.state.get("account") == order.account
        ]
        if not subscribers:
            return
        rest = order_json(order)
        msg = {
            key: rest[key]
            for key in (
                "order_id",
                "user_id",
                "ticker",
                "status",
                "outcome_side",
                "book_side",
                "yes_price_dollars",
                "fill_count_fp",
                "remaining_count_fp",
                "initial_count_fp",
                "taker_fill_cost_dollars",
                "maker_fill_cost_dollars",
                "taker_fees_dollars",
                "maker_fees_dollars",
                "client_order_id",
                "self_trade_prevention_type",
                "exchange_index",
            )
        }
        msg["created_ts_ms"] = _ms(order.created_time)
        msg["last_updated_ts_ms"] = _ms(order.updated_time)
        msg["subaccount_number"] = 0
        for conn, sub in subscribers:
            conn.send(_dumps({"type": "user_order", "sid": sub.sid, "msg": msg}), "user_orders")


def _levels_of(market: SbMarket) -> Levels:
    """Resting size per (side, price) in Kalshi's WS terms: YES bids, and NO bids at 1 - ask."""
    out: Levels = {}
    for level, size in market.book.levels(BookSide.BID):
        out["yes", level] = size
    for level, size in market.book.levels(BookSide.ASK):
        out["no", ONE - level] = size
    return out


def _top(market: SbMarket) -> tuple[Any, ...]:
    bids = market.book.levels(BookSide.BID)
    asks = market.book.levels(BookSide.ASK)
    return (
        bids[0][0] if bids else ZERO,
        bids[0][1] if bids else ZERO,
        asks[0][0] if asks else ONE,
        asks[0][1] if asks else ZERO,
        market.last_price,
        market.volume,
    )


def _market_id(ticker: str) -> str:
    """A stable UUID-shaped id per ticker (the real ``market_id`` is Kalshi's UUID)."""
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, "kalshi-sandbox:" + ticker))


def serve_stream(
    sandbox: KalshiSandbox, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> WsSandboxServer:
    """Start the sandbox's WebSocket server (``/trade-api/ws/v2``) and wire it to publish every change."""
    return SandboxStream(sandbox).serve(host, port, **options)
