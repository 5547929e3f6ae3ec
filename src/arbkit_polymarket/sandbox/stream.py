"""The Polymarket sandbox's WebSocket side: the CLOB market and user channels from its own books.

Served by :class:`arbkit.sandbox.ws.WsSandboxServer` at ``/ws/market`` and ``/ws/user``,
as the real host serves them (reference polymarket.md section 8)::

    sandbox = PolymarketSandbox(); sandbox.load_scenario(...)
    with SandboxServer(sandbox) as http, serve_stream(sandbox) as ws:
        stream = PolymarketStream(client=client, url=ws.url + "/ws")

Market channel: ``{"assets_ids": [...], "type": "market"}`` (and later
``{"operation": "subscribe"|"unsubscribe", "assets_ids": [...]}``) answers one ``book``
array per market with every requested token's book, the REST ``/book`` summary and hash;
after that every change of the sandbox's books (orders, cancels, fills, scenario moves,
resolution) is published as one ``price_change`` per market, each entry the level's new
total, the token's best bid and ask and the hash (reference 2.8) of its whole book at the
message's timestamp; each trade first sends ``last_trade_price`` for both tokens (the
complement at 1 - p), so the next hash covers it; a tick change sends
``tick_size_change``; with ``custom_feature_enabled`` a resolution sends
``market_resolved``. The text ``PING`` is answered ``PONG``.

User channel: ``{"auth": {"apiKey", "secret", "passphrase"}, "type": "user"[, "markets"]}``
is checked against the sandbox's API keys with its own comparison (never arbkit's client
code); refused credentials close the socket with 1008 [the venue's way of refusing them is
UNCERTAIN]. Then ``order`` events (``PLACEMENT``/``UPDATE``/``CANCELLATION``, the REST
``OpenOrder`` fields) and ``trade`` events (the REST ``Trade`` fields, ``trader_side`` as
the recipient sees it) reach the connections of the owners concerned.

Stream faults (:class:`arbkit.sandbox.ws.WsFault`: drop, freeze, gap, duplicate, bad frame,
slow consumer) come through the HTTP control API: ``POST /_sandbox/stream/faults``,
``GET``/``DELETE`` the same, ``GET /_sandbox/stream`` for connections. Market topics are
``market:<condition id>`` and user topics ``user:<api key>``, so a fault can aim at one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arbkit.errors import ValidationError
from arbkit.sandbox import BookSide
from arbkit.sandbox.server import HttpError, Request
from arbkit.sandbox.ws import WsApp, WsConnection, WsFault, WsSandboxServer
from arbkit_polymarket.sandbox import wire
from arbkit_polymarket.sandbox.engine import OrderRecord, SandboxMarket
from arbkit_polymarket.sandbox.verify import same_api_credentials

if TYPE_CHECKING:
    from arbkit_polymarket.sandbox.app import PolymarketSandbox

__all__ = ["MARKET_PATH", "USER_PATH", "SandboxStream", "serve_stream"]

MARKET_PATH = "/ws/market"
USER_PATH = "/ws/user"
ONE = Decimal(1)
#: A refused user subscription closes with this code (policy violation).
AUTH_CLOSE = 1008

#: Order states that may still change (others are final).
_OPEN = frozenset({"LIVE", "DELAYED"})
# A level as the wire shows it: price -> (price text, size text).
_Levels = dict[Decimal, tuple[str, str]]


def _digest(summary: dict[str, Any]) -> str:
    # Reference 2.8: SHA-1 of the compact summary with "hash" empty, keys in summary order.
    body = json.dumps({**summary, "hash": ""}, separators=(",", ":"))
    return hashlib.sha1(body.encode()).hexdigest()  # noqa: S324 - the venue's content hash


def _dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), default=str)


class SandboxStream(WsApp):
    """The market and user channels of one :class:`PolymarketSandbox` (a :class:`WsApp`)."""

    venue = "polymarket"

    def __init__(self, sandbox: PolymarketSandbox) -> None:
        self.sandbox = sandbox
        self.server: WsSandboxServer | None = None
        # What the subscribers were last told, per token: bids/asks levels, tick, last trade.
        self.levels: dict[str, dict[str, _Levels]] = {}
        self.ticks: dict[str, str] = {}
        self.closed: set[str] = set()
        self.trades_sent = 0
        self.orders_sent: dict[str, tuple[str, Decimal]] = {}
        self.orders_seen = 0
        self.open_orders: set[str] = set()
        self.marks: dict[str, tuple[Any, ...]] = {}
        with sandbox.lock:
            self._baseline()

    # -- wiring ------------------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0, **options: Any) -> WsSandboxServer:
        """A started server for this stream (stop it, or use it as a context manager).

        ``options`` go to :class:`WsSandboxServer` (``send_queue``, ``ping_interval``).
        """
        server = WsSandboxServer(self, host, port, **options)
        self.server = server
        self.sandbox.stream = self
        return server.start()

    def _baseline(self) -> None:
        engine = self.sandbox.engine
        for market in engine.markets.values():
            for token in market.tokens:
                self.levels[token] = self._render(market, token)[1]
                self.ticks[token] = str(market.tick_size)
            if market.closed:
                self.closed.add(market.condition_id)
            self.marks[market.condition_id] = self._mark(market)
        self.trades_sent = len(engine.trades)
        self.orders_sent = {o.id: (o.status, o.size_matched) for o in engine.orders.values()}
        self.orders_seen = len(engine.orders)
        self.open_orders = {o.id for o in engine.orders.values() if o.status in _OPEN}

    @staticmethod
    def _mark(market: SandboxMarket) -> tuple[Any, ...]:
        # The texts too: the hash covers them, so "0.450" replacing "0.45" is a change.
        return (
            tuple((str(p), str(q)) for p, q in market.book.levels(BookSide.BID)),
            tuple((str(p), str(q)) for p, q in market.book.levels(BookSide.ASK)),
            str(market.tick_size),
            market.closed,
        )

    def _render(self, market: SandboxMarket, token: str) -> tuple[dict[str, Any], dict[str, _Levels]]:
        payload = wire.book_json(self.sandbox.engine, market, token, int(self.sandbox.clock() * 1000))
        levels = {
            side: {Decimal(level["price"]): (level["price"], level["size"]) for level in payload[side]}
            for side in ("bids", "asks")
        }
        return payload, levels

    # -- control API (``/_sandbox/stream...``, routed by the sandbox) ---------------------------
    def control(self, method: str, path: str, body: Any) -> Any:
        """Stream faults (``POST``/``GET``/``DELETE /_sandbox/stream/faults``) and status."""
        server = self.server
        if server is None:
            raise HttpError(409, {"error": "the stream is not being served"})
        if path == "/_sandbox/stream":
            return server.status()
        if method == "POST":
            items = body if isinstance(body, list) else [body]
            try:
                faults = [WsFault.from_json(item) for item in items]
            except ValidationError as exc:
                raise HttpError(400, {"error": str(exc)}) from None
            return {"faults": [server.inject(f).to_json() for f in faults]}
        if method == "DELETE":
            server.clear_faults()
        return {"faults": [f.to_json() for f in server.faults.pending()]}

    # -- WsApp ---------------------------------------------------------------------------------
    def accept(self, request: Request) -> None:
        """Both channel paths are open to anyone; the user channel checks its first frame."""
        if request.path not in (MARKET_PATH, USER_PATH):
            raise HttpError(404, {"error": "not found"})

    def on_message(self, conn: WsConnection, text: str) -> None:
        """Subscriptions, credentials and PING."""
        if text == "PING":
            conn.send("PONG")
            return
        try:
            message = json.loads(text)
        except ValueError:
            conn.send(_dumps({"error": "invalid message"}))
            return
        if not isinstance(message, dict):
            conn.send(_dumps({"error": "invalid message"}))
            return
        if conn.path == MARKET_PATH:
            self._market_message(conn, message)
        else:
            self._user_message(conn, message)

    # -- market channel ------------------------------------------------------------------------
    def _market_message(self, conn: WsConnection, message: dict[str, Any]) -> None:
        assets = message.get("assets_ids")
        if not isinstance(assets, list) or not all(isinstance(a, str) for a in assets):
            conn.send(_dumps({"error": "assets_ids must be a list of token ids"}))
            return
        if "custom_feature_enabled" in message:
            conn.state["custom"] = message.get("custom_feature_enabled") is True
        operation = message.get("operation", "subscribe" if message.get("type") == "market" else None)
        with self.sandbox.lock:
            if operation == "unsubscribe":
                self._unsubscribe(conn, assets)
            elif operation == "subscribe":
                self._subscribe(conn, assets)
            else:
                conn.send(_dumps({"error": "unknown operation"}))

    def _subscribe(self, conn: WsConnection, assets: list[str]) -> None:
        held: set[str] = conn.state.setdefault("assets", set())
        engine = self.sandbox.engine
        by_market: dict[str, list[str]] = {}
        for asset in dict.fromkeys(assets):
            market = engine.by_token.get(asset)
            if market is None or asset in held:  # unknown, or a duplicate: nothing new to send
                continue
            held.add(asset)
            by_market.setdefault(market.condition_id, []).append(asset)
        for condition_id, tokens in by_market.items():
            market = engine.markets[condition_id]
            books = [{**self._render(market, t)[0], "event_type": "book"} for t in tokens]
            conn.subscribe(f"market:{condition_id}", _dumps(books))

    def _unsubscribe(self, conn: WsConnection, assets: list[str]) -> None:
        held: set[str] = conn.state.setdefault("assets", set())
        held.difference_update(assets)
        engine = self.sandbox.engine
        for topic in list(conn.topics):
            market = engine.markets.get(topic.removeprefix("market:"))
            if market is None or not held.intersection(market.tokens):
                conn.unsubscribe(topic)

    # -- user channel -----------------------------------------------------------------------------
    def _user_message(self, conn: WsConnection, message: dict[str, Any]) -> None:
        if "auth" in message or message.get("type") == "user":
            auth = message.get("auth")
            owner = self._authenticate(auth)
            if owner is None:
                conn.close(AUTH_CLOSE, "Unauthorized/Invalid api key")
                return
            conn.state["owner"] = owner
            markets = message.get("markets")
            conn.state["markets"] = set(markets) if isinstance(markets, list) and markets else None
            conn.subscribe(f"user:{owner}")
            return
        if conn.state.get("owner") is None:
            conn.close(AUTH_CLOSE, "Unauthorized/Invalid api key")
            return
        markets = message.get("markets")
        if not isinstance(markets, list):
            conn.send(_dumps({"error": "markets must be a list"}))
            return
        chosen = conn.state.get("markets")
        if message.get("operation") == "subscribe" and chosen is not None:
            chosen.update(markets)
        elif message.get("operation") == "unsubscribe":
            if chosen is None:  # from all markets to all but these is not expressible: keep all
                return
            chosen.difference_update(markets)

    def _authenticate(self, auth: Any) -> str | None:
        """The API key whose secret and passphrase match (the sandbox's own check, :mod:`.verify`)."""
        if not isinstance(auth, dict) or not isinstance(auth.get("apiKey"), str):
            return None
        key = auth["apiKey"]
        with self.sandbox.lock:
            record = self.sandbox.api_keys.get(key)
        if record is None or not same_api_credentials(record, auth.get("secret"), auth.get("passphrase")):
            return None
        return str(key)

    # -- publishing (called by the sandbox after every change, its lock held) ------------------------
    def changed(self) -> None:
        """Publish what changed since the last call: trades, orders, ticks, levels, resolutions."""
        server = self.server
        if server is None:
            return
        sandbox = self.sandbox
        with sandbox.lock, server.publish_lock:
            stamp = str(int(sandbox.clock() * 1000))
            engine = sandbox.engine
            for trade in engine.trades[self.trades_sent :]:
                self._publish_trade(server, trade, stamp)
            self.trades_sent = len(engine.trades)
            # Only orders that can still change: the new ones and those last seen open.
            fresh = list(itertools.islice(engine.orders.values(), self.orders_seen, None))
            self.orders_seen = len(engine.orders)
            for order_id in [*self.open_orders, *(o.id for o in fresh)]:
                order = engine.orders.get(order_id)
                if order is not None:
                    self._publish_order(server, order, stamp)
            for market in engine.markets.values():
                # A cheap look at the YES book first: most changes leave most markets alone.
                mark = self._mark(market)
                if self.marks.get(market.condition_id) != mark:
                    self.marks[market.condition_id] = mark
                    self._publish_market(server, market, stamp)

    def _publish_trade(self, server: WsSandboxServer, trade: dict[str, Any], stamp: str) -> None:
        market = self.sandbox.engine.markets.get(trade["market"])
        if market is None:
            return
        price = Decimal(trade["price"])
        for token in market.tokens:
            own = token == trade["asset_id"]
            side = trade["side"] if own else ("SELL" if trade["side"] == "BUY" else "BUY")
            event = {
                "event_type": "last_trade_price",
                "market": market.condition_id,
                "asset_id": token,
                "price": str(price if own else ONE - price),
                "side": side,
                "size": trade["size"],
                "fee_rate_bps": trade.get("fee_rate_bps", "0"),
                "timestamp": stamp,
                "transaction_hash": trade.get("transaction_hash", ""),
            }
            server.publish(f"market:{market.condition_id}", self._for_asset(token, _dumps(event)))
        public = {k: v for k, v in trade.items() if k != "fee"}
        taker = trade["owner"]
        makers = {m["owner"] for m in trade["maker_orders"] if m.get("owner")}
        for owner in {taker, *makers}:
            view = {
                **public,
                "event_type": "trade",
                "type": "TRADE",
                "timestamp": stamp,
                "trade_owner": owner,
                "trader_side": "TAKER" if owner == taker else "MAKER",
            }
            server.publish(f"user:{owner}", self._for_market(trade["market"], _dumps(view)))

    def _publish_order(self, server: WsSandboxServer, order: OrderRecord, stamp: str) -> None:
        now = (order.status, order.size_matched)
        before = self.orders_sent.get(order.id)
        if before == now:
            return
        self.orders_sent[order.id] = now
        if order.status in _OPEN:
            self.open_orders.add(order.id)
        else:
            self.open_orders.discard(order.id)
        if before is None:
            kind = "PLACEMENT"
        elif order.status.startswith("CANCEL"):
            kind = "CANCELLATION"
        else:
            kind = "UPDATE"
        event = {
            **wire.order_json(self.sandbox.engine, order),
            "event_type": "order",
            "type": kind,
            "timestamp": stamp,
        }
        server.publish(f"user:{order.owner}", self._for_market(order.market, _dumps(event)))

    def _publish_market(self, server: WsSandboxServer, market: SandboxMarket, stamp: str) -> None:
        topic = f"market:{market.condition_id}"
        for token in market.tokens:
            tick = str(market.tick_size)
            old = self.ticks.get(token)
            if old is not None and old != tick:
                event = {
                    "event_type": "tick_size_change",
                    "market": market.condition_id,
                    "asset_id": token,
                    "old_tick_size": old,
                    "new_tick_size": tick,
                    "timestamp": stamp,
                }
                server.publish(topic, self._for_asset(token, _dumps(event)))
            self.ticks[token] = tick
        changes: list[dict[str, Any]] = []
        for token in market.tokens:
            payload, levels = self._render(market, token)
            before = self.levels.get(token)
            self.levels[token] = levels
            if before is None:  # a market new to the stream: subscribers get its snapshot
                self._snapshot_new(server, market, token, payload)
                continue
            payload["timestamp"] = stamp
            digest = _digest(payload)
            bids, asks = levels["bids"], levels["asks"]
            best_bid = str(max(bids)) if bids else "0"
            best_ask = str(min(asks)) if asks else "1"
            for side, word in (("bids", "BUY"), ("asks", "SELL")):
                old_side, new_side = before[side], levels[side]
                for price in sorted(set(old_side) | set(new_side)):
                    if old_side.get(price) == new_side.get(price):
                        continue
                    price_text, size_text = new_side.get(price) or (old_side[price][0], "0")
                    changes.append(
                        {
                            "asset_id": token,
                            "price": price_text,
                            "size": size_text,
                            "side": word,
                            "hash": digest,
                            "best_bid": best_bid,
                            "best_ask": best_ask,
                        }
                    )
        if changes:
            update: dict[str, Any] = {
                "event_type": "price_change",
                "market": market.condition_id,
                "price_changes": changes,
                "timestamp": stamp,
            }
            server.publish(topic, self._price_changes(update))
        if market.closed and market.condition_id not in self.closed:
            self.closed.add(market.condition_id)
            resolved = {
                "event_type": "market_resolved",
                "id": market.condition_id,
                "market": market.condition_id,
                "assets_ids": list(market.tokens),
                "winning_asset_id": market.winner or "",
                "winning_outcome": market.outcome_of(market.winner) if market.winner else "",
                "timestamp": stamp,
            }
            text = _dumps(resolved)
            server.publish(topic, lambda conn: text if conn.state.get("custom") else None)

    def _snapshot_new(self, server: WsSandboxServer, market: SandboxMarket, token: str, payload: Any) -> None:
        text = _dumps([{**payload, "event_type": "book"}])
        for conn in server.connections(MARKET_PATH):
            if token in conn.state.get("assets", ()):
                conn.subscribe(f"market:{market.condition_id}", text)

    # -- per-connection filters ------------------------------------------------------------------------
    @staticmethod
    def _for_asset(token: str, text: str) -> Any:
        return lambda conn: text if token in conn.state.get("assets", ()) else None

    @staticmethod
    def _for_market(condition_id: str, text: str) -> Any:
        def frame(conn: WsConnection) -> str | None:
            chosen = conn.state.get("markets")
            return text if chosen is None or condition_id in chosen else None

        return frame

    @staticmethod
    def _price_changes(event: dict[str, Any]) -> Any:
        whole = _dumps(event)

        def frame(conn: WsConnection) -> str | None:
            held = conn.state.get("assets", set())
            entries = [c for c in event["price_changes"] if c["asset_id"] in held]
            if not entries:
                return None
            if len(entries) == len(event["price_changes"]):
                return whole
            return _dumps({**event, "price_changes": entries})

        return frame


def serve_stream(
    sandbox: PolymarketSandbox, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> WsSandboxServer:
    """Start the sandbox's WebSocket server (``/ws/market``, ``/ws/user``) and wire it to publish."""
    return SandboxStream(sandbox).serve(host, port, **options)
