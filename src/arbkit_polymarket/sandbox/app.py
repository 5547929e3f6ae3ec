"""The Polymarket sandbox's wire protocol: CLOB paths at the root, Gamma under ``/gamma``,
the Data API under ``/data-api`` (both real hosts have a ``/markets`` route, so one
server separates them by prefix: point the client at ``gamma_url=server.url + "/gamma"``).

What the real CLOB verifies is verified here (reference polymarket.md sections 4, 5, 9.3):
L1 ClobAuth signatures and L2 HMACs with a timestamp window, the EIP-712 order signature
recovered against the market's exchange contract (neg-risk or standard) and compared
with the API key's address, V1 orders, off-grid prices, amount precision, minimum sizes
and balances, each refused with the reference's status and ``{"error": ...}`` body.
Every check is the sandbox's own (:mod:`.verify`, eth-account and hmac directly), never
the code arbkit's client signs with.

Sports taker delay (reference 5.7): on a market with ``secondsDelay`` > 0 an order that
would match at once answers ``status: "delayed"`` and is matched ``taker_delay`` seconds
later (the market's ``secondsDelay`` unless the sandbox was given another delay); until
then ``GET /data/order/{id}`` shows it ``DELAYED``. Due orders are matched before the next
request is handled (or by :meth:`PolymarketSandbox.settle_delayed`), so no thread races a test.

Heartbeats (reference 5.11): the first accepted ``POST /v1/heartbeats`` enrols the API key;
each send must carry the id the last one returned (else 400 ``Invalid Heartbeat ID``);
``heartbeat_timeout`` seconds without an accepted send cancel every open order of the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from arbkit.models import Side
from arbkit.sandbox import HttpError, Request, Response, SandboxApp
from arbkit.sandbox.faults import Fault
from arbkit_polymarket.sandbox import wire
from arbkit_polymarket.sandbox.engine import Engine, OrderRecord, SandboxMarket
from arbkit_polymarket.sandbox.market_data import MarketDataRoutes
from arbkit_polymarket.sandbox.verify import (
    CHAIN_ID,
    EXCHANGE,
    NEG_RISK_EXCHANGE,
    TICK_DECIMALS,
    checksum,
    expected_hmac,
    recover_clob_auth,
    recover_order,
)

if TYPE_CHECKING:
    from arbkit_polymarket.sandbox.stream import SandboxStream

__all__ = ["PolymarketSandbox"]

#: Accepted clock skew for L1/L2 timestamps [UNCERTAIN for the CLOB; the RFQ API documents 30 s].
MAX_SKEW_SECONDS = 30
UNITS = Decimal(10**6)
V1_FIELDS = ("taker", "nonce", "feeRateBps")
ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")
#: ``POST /orders`` takes at most this many orders (reference 5.7).
BATCH_LIMIT = 15
#: ``DELETE /orders`` takes at most this many ids (reference 5.8).
CANCEL_LIMIT = 3000
HEARTBEAT_TIMEOUT = 10.0
_ORDER_FIELDS = (
    "salt",
    "maker",
    "signer",
    "tokenId",
    "makerAmount",
    "takerAmount",
    "side",
    "signatureType",
    "timestamp",
    "signature",
)


def _bad(message: str, status: int = 400) -> HttpError:
    return HttpError(status, {"error": message})


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


class PolymarketSandbox(MarketDataRoutes, SandboxApp):
    """A loopback Polymarket (CLOB V2 + Gamma + Data API) with a matching engine per market.

    ``taker_delay`` (seconds) replaces every delayed market's ``secondsDelay`` (tests use a
    short one); ``None`` keeps each market's own (about 3 s on real sports markets).
    """

    venue = "polymarket"

    def __init__(
        self,
        *,
        chain_id: int = CHAIN_ID,
        taker_delay: float | None = None,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
    ) -> None:
        super().__init__()
        self.chain_id = chain_id
        self.engine = Engine()
        # api key -> {"address", "secret", "passphrase", "nonce"}
        self.api_keys: dict[str, dict[str, Any]] = {}
        self.clock = time.time
        self.engine.clock = lambda: self.clock()
        self.funders: dict[str, str] = {}  # owner EOA -> proxy/Safe wallet
        self.taker_delay = taker_delay
        self.heartbeat_timeout = heartbeat_timeout
        # delayed orders: (due time, order, its fault) in arrival order
        self.delayed: list[tuple[float, OrderRecord, Fault | None]] = []
        # api key -> [expected heartbeat id, deadline]
        self.heartbeats: dict[str, list[Any]] = {}
        #: The WebSocket side (:mod:`.stream`, set by its ``serve``): told after every change.
        self.stream: SandboxStream | None = None
        self._add_routes()

    # -- errors ---------------------------------------------------------------------------------
    def not_found(self, request: Request) -> Response:
        """The CLOB's 404 body."""
        return Response.json({"error": "not found"}, 404)

    def fault_body(self, status: int, message: str) -> Any:
        """Injected statuses carry the CLOB's error shape, e.g. 503 "Trading is currently disabled"."""
        defaults = {
            425: "matching engine is restarting",
            429: "Too Many Requests",
            500: "could not run the execution",
            503: "Trading is currently disabled. Check polymarket.com for updates",
        }
        return {"error": message if message != "injected fault" else defaults.get(status, message)}

    # -- time-driven venue behaviour (delayed takers, heartbeat expiry) ---------------------------
    def dispatch(self, request: Request) -> Response:
        """Carry out what is due (delayed matches, heartbeat cancels), then handle the request."""
        waiting = (len(self.delayed), len(self.heartbeats))
        if not request.path.startswith("/_sandbox/faults"):
            self.settle_delayed()
        # Reads change nothing, unless a delay or a heartbeat deadline ran out just now.
        moved = request.method != "GET" or waiting != (len(self.delayed), len(self.heartbeats))
        try:
            return super().dispatch(request)
        finally:
            if moved:
                self.publish()

    def publish(self) -> None:
        """Stream what the last change did (book levels, trades, orders) when a stream is served."""
        if self.stream is not None:
            self.stream.changed()

    def settle_delayed(self) -> int:
        """Match the delayed orders whose delay has passed and expire stale heartbeats.

        Returns how many delayed orders were matched.
        """
        with self.lock:
            now = self.clock()
            for key, (_, deadline) in list(self.heartbeats.items()):
                if now >= deadline:  # the dead-man switch: cancel all of the key's orders
                    del self.heartbeats[key]
                    for order in list(self.engine.orders.values()):
                        if order.owner != key:
                            continue
                        if order.status == "DELAYED":
                            order.status = "CANCELED"
                        else:
                            self.engine.cancel(order)
            due = [entry for entry in self.delayed if entry[0] <= now]
            self.delayed = [entry for entry in self.delayed if entry[0] > now]
            for _, record, fault in due:
                if record.status != "DELAYED":  # cancelled while it waited
                    continue
                market = self.engine.markets[record.market]
                try:
                    if market.closed or not self.engine.can_afford(record, market, record.price):
                        raise _bad("not enough balance / allowance")
                    self._execute(record, market, fault)
                except HttpError as exc:  # FOK not filled, FAK without a match: killed
                    record.status = "CANCELED"
                    record.error = str(exc.payload.get("error", "")) if isinstance(exc.payload, dict) else ""
            return len(due)

    def delay_of(self, market: SandboxMarket) -> float:
        """Seconds a marketable order waits on ``market`` (0: no taker delay)."""
        if market.seconds_delay <= 0:
            return 0.0
        return float(market.seconds_delay) if self.taker_delay is None else self.taker_delay

    # -- authentication ---------------------------------------------------------------------------
    def _fresh(self, timestamp: str | None, error: str) -> int:
        try:
            ts = int(timestamp or "")
        except ValueError:
            raise _bad(error, 401) from None
        if abs(self.clock() - ts) > MAX_SKEW_SECONDS:
            raise _bad(error, 401)
        return ts

    def verify_l1(self, request: Request) -> tuple[str, int]:
        """Check ClobAuth headers with eth-account; returns (address, nonce)."""
        error = "Invalid L1 Request headers"
        address, signature = request.header("POLY_ADDRESS"), request.header("POLY_SIGNATURE")
        nonce_text = request.header("POLY_NONCE") or "0"
        timestamp = request.header("POLY_TIMESTAMP") or ""
        self._fresh(timestamp, error)
        if not address or not signature or not nonce_text.isdigit():
            raise _bad(error, 401)
        try:
            address = checksum(address)
            recovered = recover_clob_auth(address, timestamp, int(nonce_text), signature, self.chain_id)
        except (ValueError, TypeError):
            raise _bad(error, 401) from None
        if recovered != address:
            raise _bad(error, 401)
        return address, int(nonce_text)

    def verify_l2(self, request: Request) -> dict[str, Any]:
        """Recompute the HMAC over ``timestamp + METHOD + path + body``; returns the key record."""
        error = "Unauthorized/Invalid api key"
        key = request.header("POLY_API_KEY") or ""
        record = self.api_keys.get(key)
        if record is None:
            raise _bad(error, 401)
        timestamp = request.header("POLY_TIMESTAMP") or ""
        self._fresh(timestamp, error)
        expected = expected_hmac(record["secret"], timestamp, request.method, request.path, request.body)
        given = request.header("POLY_SIGNATURE") or ""
        address = (request.header("POLY_ADDRESS") or "").lower()
        passphrase = request.header("POLY_PASSPHRASE") or ""
        if not (
            hmac.compare_digest(expected, given)
            and hmac.compare_digest(passphrase, record["passphrase"])
            and address == record["address"].lower()
        ):
            raise _bad(error, 401)
        return {**record, "key": key}

    def create_api_key(self, address: str, nonce: int = 0) -> dict[str, str]:
        """Issue credentials for (address, nonce) as ``POST /auth/api-key`` does."""
        seed = hashlib.sha256(f"{address.lower()}:{nonce}".encode()).hexdigest()
        key = f"{seed[:8]}-{seed[8:12]}-{seed[12:16]}-{seed[16:20]}-{seed[20:32]}"
        existing = self.api_keys.get(key)
        if existing is None:
            existing = {
                "address": checksum(address),
                "nonce": nonce,
                "secret": base64.urlsafe_b64encode(hashlib.sha256(f"s:{seed}".encode()).digest()).decode(),
                "passphrase": hashlib.sha256(f"p:{seed}".encode()).hexdigest(),
            }
            self.api_keys[key] = existing
        return {"apiKey": key, "secret": existing["secret"], "passphrase": existing["passphrase"]}

    # -- Python handle -----------------------------------------------------------------------------
    def add_account(self, address: str, balance: Decimal | int | str = 0) -> None:
        """Fund an address with pUSD (dollars)."""
        with self.lock:
            self.engine.account(checksum(address)).cash += Decimal(str(balance))

    def give_tokens(self, address: str, token_id: str, size: Decimal | int | str) -> None:
        """Credit outcome tokens to an address (to test SELLs)."""
        with self.lock:
            self.engine.account(checksum(address)).tokens[token_id] += Decimal(str(size))

    def set_book(self, condition_id: str, bids: list[Any], asks: list[Any]) -> None:
        """Replace the house liquidity of a market, in its first (YES) token's prices."""
        with self.lock:
            if condition_id not in self.engine.markets:
                raise HttpError(404, {"error": f"unknown market {condition_id}"})
            self.engine.set_book(condition_id, bids, asks)
            self.publish()

    def resolve(self, condition_id: str, *, winner: str | None = None, result: str = "winner") -> None:
        """Resolve a market: a winning token id, or ``result="50-50"`` / ``"void"``."""
        with self.lock:
            if condition_id not in self.engine.markets:
                raise HttpError(404, {"error": f"unknown market {condition_id}"})
            self.engine.resolve(condition_id, winner=winner, result=result)
            self.publish()

    def set_tick_size(self, condition_id: str, tick_size: Decimal | str) -> None:
        """Move a market's tick, as the venue does near 0.04/0.96 (streamed as ``tick_size_change``)."""
        tick = Decimal(str(tick_size))
        if tick not in TICK_DECIMALS:
            raise _bad(f"tick size {tick} is not one of the venue's")
        with self.lock:
            if condition_id not in self.engine.markets:
                raise HttpError(404, {"error": f"unknown market {condition_id}"})
            self.engine.markets[condition_id].tick_size = tick
            self.publish()

    def balance_of(self, address: str) -> Decimal:
        """pUSD held by an address, including what its resting orders reserve."""
        with self.lock:
            account = self.engine.account(checksum(address))
            reserved = sum(
                (
                    o.reserved
                    for o in self.engine.orders.values()
                    if o.maker.lower() == address.lower() and o.side is Side.BUY
                ),
                Decimal(0),
            )
            return account.cash + reserved

    def tokens_of(self, address: str, token_id: str) -> Decimal:
        """Tokens of one outcome held by an address (not counting resting SELL reservations)."""
        with self.lock:
            return self.engine.account(checksum(address)).tokens.get(token_id, Decimal(0))

    # -- control hooks ---------------------------------------------------------------------------------
    def control_book(self, data: Any) -> Any:
        """``POST /_sandbox/book {"condition_id", "bids": [[p, s]], "asks": [[p, s]]}``."""
        if not isinstance(data, dict) or "condition_id" not in data:
            raise _bad("expected {condition_id, bids, asks}")
        self.set_book(str(data["condition_id"]), data.get("bids", []), data.get("asks", []))
        return {"ok": True}

    def control_resolve(self, data: Any) -> Any:
        """``POST /_sandbox/resolve {"condition_id", "winner": token}`` (or ``"result": "void"|"50-50"``)."""
        if not isinstance(data, dict) or "condition_id" not in data:
            raise _bad("expected {condition_id, winner | result}")
        try:
            self.resolve(
                str(data["condition_id"]), winner=data.get("winner"), result=str(data.get("result", "winner"))
            )
        except ValueError as exc:
            raise _bad(str(exc)) from None
        return {"ok": True}

    def _control_tick(self, request: Request, _: dict[str, str]) -> Response:
        """``POST /_sandbox/tick-size {"condition_id", "tick_size"}``."""
        data = request.json()
        if not isinstance(data, dict) or "condition_id" not in data or "tick_size" not in data:
            raise _bad("expected {condition_id, tick_size}")
        self.set_tick_size(str(data["condition_id"]), self.decimal_arg(data["tick_size"], "tick_size"))
        return Response.json({"ok": True})

    def control_state(self) -> Any:
        """Balances, token holdings and orders."""
        engine = self.engine
        return {
            "accounts": {
                a.address: {"cash": str(a.cash), "tokens": {t: str(s) for t, s in a.tokens.items() if s}}
                for a in engine.accounts.values()
            },
            "orders": [wire.order_json(self.engine, o) for o in engine.orders.values()],
            "trades": len(engine.trades),
        }

    # -- routes -------------------------------------------------------------------------------------
    def _add_routes(self) -> None:
        r = self.router
        r.add("GET", "/auth/derive-api-key", self._derive)
        r.add("POST", "/auth/api-key", self._create)
        r.add("GET", "/auth/api-keys", self._list_keys)
        r.add("DELETE", "/auth/api-key", self._delete_key)
        r.add("GET", "/auth/ban-status/closed-only", self._closed_only)
        r.add("POST", "/order", self._post_order)
        r.add("POST", "/orders", self._post_orders)
        r.add("DELETE", "/order", self._cancel)
        r.add("DELETE", "/orders", self._cancel_many)
        r.add("DELETE", "/cancel-all", self._cancel_all)
        r.add("DELETE", "/cancel-market-orders", self._cancel_market)
        r.add("GET", "/data/order/{order_id}", self._get_order)
        r.add("GET", "/data/orders", self._list_orders)
        r.add("GET", "/data/trades", self._list_trades)
        r.add("GET", "/balance-allowance", self._balance)
        r.add("GET", "/balance-allowance/update", self._balance)
        r.add("POST", "/v1/heartbeats", self._heartbeat)
        for method in ("GET", "POST", "DELETE"):
            r.add(method, "/_sandbox/stream/faults", self._stream_control)
        r.add("GET", "/_sandbox/stream", self._stream_control)
        r.add("POST", "/_sandbox/tick-size", self._control_tick)
        self.add_public_routes()

    def _stream_control(self, request: Request, _: dict[str, str]) -> Response:
        # Stream faults: drop, freeze, gap, duplicate, bad_frame, slow_consumer (arbkit.sandbox.ws).
        if self.stream is None:
            raise _bad("no stream is served: start it with arbkit_polymarket.sandbox.stream", 409)
        body = request.json() if request.method == "POST" else None
        return Response.json(self.stream.control(request.method, request.path, body))

    def _derive(self, request: Request, _: dict[str, str]) -> Response:
        address, nonce = self.verify_l1(request)
        with self.lock:
            for key, record in self.api_keys.items():
                if record["address"] == address and record["nonce"] == nonce:
                    return Response.json(
                        {"apiKey": key, "secret": record["secret"], "passphrase": record["passphrase"]}
                    )
        raise _bad("Could not derive api key!", 404)

    def _create(self, request: Request, _: dict[str, str]) -> Response:
        # A repeated create answers the same (deterministic) credentials for (address, nonce):
        # both SDKs then use them as they are (reference 4.2).
        address, nonce = self.verify_l1(request)
        with self.lock:
            return Response.json(self.create_api_key(address, nonce))

    def _list_keys(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        with self.lock:
            keys = [k for k, rec in self.api_keys.items() if rec["address"] == key["address"]]
        return Response.json({"apiKeys": keys})

    def _delete_key(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        with self.lock:
            self.api_keys.pop(key["key"], None)
            self.heartbeats.pop(key["key"], None)
        return Response.json("OK")

    def _closed_only(self, request: Request, _: dict[str, str]) -> Response:
        self.verify_l2(request)
        return Response.json({"closed_only": False})

    # -- orders ---------------------------------------------------------------------------------------
    def _post_order(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        body = request.json()
        fault = self.order_fault(request)
        with self.lock:
            return Response.json(self._submit(body, key, fault))

    def _post_orders(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        body = request.json()
        if not isinstance(body, list) or not body:
            raise _bad("Invalid order payload")
        if len(body) > BATCH_LIMIT:
            raise _bad("Payload exceeds the limit")
        fault = self.order_fault(request)
        out = []
        with self.lock:
            for item in body:
                # One answer per order; an order refused on its own merits is a success:false
                # entry, not a failed batch [UNCERTAIN: the venue's per-item error text].
                try:
                    out.append(self._submit(item, key, fault))
                except HttpError as exc:
                    message = exc.payload.get("error", "") if isinstance(exc.payload, dict) else ""
                    out.append(self._rejected(str(message)))
        return Response.json(out)

    @staticmethod
    def _rejected(message: str) -> dict[str, Any]:
        """``success: false`` with every key of a ``SendOrderResponse`` (the SDKs require them all).

        [A venue capture shows ``orderID: null`` in such a reply; the official py-sdk parser
        needs a string, so the sandbox sends ``""``.]
        """
        return {
            "success": False,
            "errorMsg": message,
            "orderID": "",
            "status": "",
            "makingAmount": "",
            "takingAmount": "",
            "transactionsHashes": [],
            "tradeIDs": [],
        }

    def _submit(self, body: Any, key: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
            raise _bad("Invalid order payload")
        order = body["order"]
        if any(field in order for field in V1_FIELDS):
            raise _bad("invalid order version, please use the latest clob-client")
        if body.get("owner") != key["key"]:
            raise _bad("the order owner has to be the owner of the API KEY")
        order_type = body.get("orderType", "GTC")
        if order_type not in ORDER_TYPES or any(f not in order for f in _ORDER_FIELDS):
            raise _bad("Invalid order payload")
        post_only = body.get("postOnly", False) is True
        if post_only and order_type not in ("GTC", "GTD"):
            raise _bad("invalid post-only order: only GTC and GTD orders may be post-only")
        return self._accept(order, order_type, key, fault, post_only)

    def _verify_signature(self, order: dict[str, Any], neg_risk: bool) -> str:
        try:
            signer, order_id = recover_order(order, neg_risk=neg_risk, chain_id=self.chain_id)
            claimed = checksum(order["signer"])
        except (ValueError, TypeError, KeyError):
            raise _bad("invalid signature") from None
        if signer != claimed:
            raise _bad("invalid signature")
        return order_id

    def _accept(
        self,
        order: dict[str, Any],
        order_type: str,
        key: dict[str, Any],
        fault: Fault | None,
        post_only: bool,
    ) -> dict[str, Any]:
        engine = self.engine
        market = engine.by_token.get(str(order["tokenId"]))
        if market is None:
            raise _bad("Invalid token id")
        if market.closed or not market.accepting_orders:
            raise _bad("the market is not yet ready to process new orders")
        if order["side"] not in ("BUY", "SELL"):
            raise _bad("Invalid side")
        order_id = self._verify_signature(order, market.neg_risk)
        if checksum(order["signer"]) != key["address"]:
            raise _bad("the order signer address has to be the address of the API KEY")
        sig_type = int(order["signatureType"])
        expected_maker = self.funders.get(key["address"]) if sig_type in (1, 2) else key["address"]
        if sig_type == 3 or (expected_maker is not None and checksum(order["maker"]) != expected_maker):
            raise _bad("invalid signature")
        if order_id in engine.orders:
            raise _bad(f"order {order_id} already exists")
        side = Side.BUY if order["side"] == "BUY" else Side.SELL
        try:
            maker_units, taker_units = int(order["makerAmount"]), int(order["takerAmount"])
        except (TypeError, ValueError):
            raise _bad("Invalid order payload") from None
        if maker_units <= 0 or taker_units <= 0:
            raise _bad("invalid amounts")
        shares_units, money_units = (
            (taker_units, maker_units) if side is Side.BUY else (maker_units, taker_units)
        )
        shares, money = Decimal(shares_units) / UNITS, Decimal(money_units) / UNITS
        price = money / shares
        marketable = order_type in ("FOK", "FAK")
        self._check_amounts(market.tick_size, side, shares, money, price, marketable)
        expiration = int(order.get("expiration") or 0)
        if order_type == "GTD" and expiration <= self.clock() + 60:
            raise _bad("invalid expiration")
        if not marketable and shares < market.min_order_size:
            raise _bad(
                f"order {order_id} is invalid. "
                f"Size ({shares}) lower than the minimum: {market.min_order_size}"
            )
        record = OrderRecord(
            id=order_id,
            owner=key["key"],
            maker=checksum(order["maker"]),
            market=market.condition_id,
            token=market.tokens[market.tokens.index(str(order["tokenId"]))],
            side=side,
            price=price,
            original_size=shares,
            order_type=order_type,
            expiration=expiration,
            created_at=int(self.clock()),
        )
        if fault is not None and fault.kind == "reject":
            message = fault.message if fault.message != "injected fault" else "order rejected by the sandbox"
            if fault.status == 200:  # the other rejection shape: HTTP 200 with success false
                return self._rejected(message)
            raise _bad(message)
        if (fault is not None and fault.kind == "insufficient") or not engine.can_afford(
            record, market, price
        ):
            raise _bad("not enough balance / allowance")
        crosses = engine.fillable(market, record.token, record.side, record.price, record.maker.lower()) > 0
        if post_only and crosses:
            raise _bad("invalid post-only order: order crosses book")
        delay = self.delay_of(market)
        if delay > 0 and (crosses or marketable):
            # Sports taker delay: accepted now, matched when the delay ends (reference 5.7).
            record.status = "DELAYED"
            engine.orders[record.id] = record
            self.delayed.append((self.clock() + delay, record, fault))
            return self._response(record, "delayed", [])
        return self._execute(record, market, fault)

    def _check_amounts(
        self, tick: Decimal, side: Side, shares: Decimal, money: Decimal, price: Decimal, marketable: bool
    ) -> None:
        _, _, amount_dp = TICK_DECIMALS[tick]
        word = side.value
        if marketable:
            maker_dp, taker_dp = (2, 4)
            maker, taker = (money, shares) if side is Side.BUY else (shares, money)
            if _decimals(maker) > maker_dp or _decimals(taker) > taker_dp:
                raise _bad(
                    f"invalid amounts, the market {word} orders maker amount supports a max accuracy of "
                    f"{maker_dp} decimals, taker amount a max of {taker_dp} decimals"
                )
        else:
            money_dp, share_dp = amount_dp, 2
            if _decimals(shares) > share_dp or _decimals(money) > money_dp:
                maker_dp, taker_dp = (money_dp, share_dp) if side is Side.BUY else (share_dp, money_dp)
                raise _bad(
                    f"invalid amounts, the {word} orders maker amount supports a max accuracy of "
                    f"{maker_dp} decimals, taker amount a max of {taker_dp} decimals"
                )
        off_grid = not marketable and price % tick != 0
        if off_grid or not tick <= price <= 1 - tick:
            raise _bad(f"invalid price ({price.normalize()}), min: {tick} - max: {1 - tick}")

    def _execute(self, record: OrderRecord, market: SandboxMarket, fault: Fault | None) -> dict[str, Any]:
        engine = self.engine
        available = engine.fillable(market, record.token, record.side, record.price, record.maker.lower())
        if fault is not None and fault.kind == "no_fill":
            available = Decimal(0)
        take = min(available, record.original_size)
        if fault is not None and fault.kind == "partial_fill":
            take = (take * fault.fill_ratio).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
        if record.order_type == "FOK" and take < record.original_size:
            raise _bad("order couldn't be fully filled. FOK orders are fully filled or killed.")
        if record.order_type == "FAK" and take <= 0:
            raise _bad(
                "no orders found to match with FAK order. "
                "FAK orders are partially filled or killed if no match is found."
            )
        engine.orders[record.id] = record
        record.status = "LIVE"
        trades = engine.execute(record, record.price, take) if take > 0 else []
        shares = sum((Decimal(t["size"]) for t in trades), Decimal(0))
        if record.order_type in ("GTC", "GTD") and shares < record.original_size:
            engine.rest(record)
            status = "live"
        else:
            record.status = "MATCHED" if shares >= record.original_size else "CANCELED"
            status = "matched"
        return self._response(record, status, trades)

    @staticmethod
    def _response(record: OrderRecord, status: str, trades: list[dict[str, Any]]) -> dict[str, Any]:
        """A ``SendOrderResponse`` with all eight keys, amounts as decimal strings (``""`` = none)."""
        shares = sum((Decimal(t["size"]) for t in trades), Decimal(0))
        money = sum((Decimal(t["size"]) * Decimal(t["price"]) for t in trades), Decimal(0))
        making, taking = (money, shares) if record.side is Side.BUY else (shares, money)
        return {
            "success": True,
            "errorMsg": "",
            "orderID": record.id,
            "status": status,
            "makingAmount": str(making) if trades else "",
            "takingAmount": str(taking) if trades else "",
            "transactionsHashes": [t["transaction_hash"] for t in trades],
            "tradeIDs": [t["id"] for t in trades],
        }

    # -- cancels --------------------------------------------------------------------------------------
    def _owned(self, key: dict[str, Any], order_id: str) -> OrderRecord | None:
        order = self.engine.orders.get(order_id)
        return order if order is not None and order.owner == key["key"] else None

    def _cancel_ids(self, key: dict[str, Any], ids: list[str]) -> dict[str, Any]:
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        for order_id in ids:
            order = self._owned(key, order_id)
            if order is None:
                not_canceled[order_id] = "order not found"
            elif order.status == "DELAYED":
                order.status = "CANCELED"
                canceled.append(order_id)
            elif self.engine.cancel(order):
                canceled.append(order_id)
            else:
                not_canceled[order_id] = "already canceled or matched"
        return {"canceled": canceled, "not_canceled": not_canceled}

    def _open_ids(
        self, key: dict[str, Any], market: str | None = None, asset: str | None = None
    ) -> list[str]:
        return [
            o.id
            for o in self.engine.orders.values()
            if o.owner == key["key"]
            and o.status in ("LIVE", "DELAYED")
            and (market is None or o.market == market)
            and (asset is None or o.token == asset)
        ]

    def _cancel(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        body = request.json()
        order_id = body.get("orderID") if isinstance(body, dict) else None
        if not isinstance(order_id, str) or not order_id:
            raise _bad("Invalid payload")
        with self.lock:
            return Response.json(self._cancel_ids(key, [order_id]))

    def _cancel_many(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        body = request.json()
        if not isinstance(body, list) or not all(isinstance(i, str) and i for i in body):
            raise _bad("Invalid payload")
        if len(body) > CANCEL_LIMIT:
            raise _bad("Payload exceeds the limit")
        with self.lock:
            return Response.json(self._cancel_ids(key, list(dict.fromkeys(body))))

    def _cancel_all(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        with self.lock:
            return Response.json(self._cancel_ids(key, self._open_ids(key)))

    def _cancel_market(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        body = request.json()
        if not isinstance(body, dict):
            raise _bad("Invalid payload")
        market, asset = body.get("market"), body.get("asset_id")
        if (market is None and asset is None) or not all(
            v is None or (isinstance(v, str) and v) for v in (market, asset)
        ):
            raise _bad("Invalid payload")
        with self.lock:
            return Response.json(self._cancel_ids(key, self._open_ids(key, market, asset)))

    # -- reads ----------------------------------------------------------------------------------------
    def _get_order(self, request: Request, params: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        with self.lock:
            order = self._owned(key, params["order_id"])
            if order is None:
                raise _bad("order not found", 404)
            return Response.json(wire.order_json(self.engine, order))

    def _list_orders(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        wanted_id, market, asset = request.arg("id"), request.arg("market"), request.arg("asset_id")
        with self.lock:
            rows = [
                wire.order_json(self.engine, self.engine.orders[oid])
                for oid in self._open_ids(key, market, asset)
                if wanted_id is None or oid == wanted_id
            ]
        return Response.json(self.page(rows, request))

    def _list_trades(self, request: Request, _: dict[str, str]) -> Response:
        """The key's trades, newest first, filtered by ``id``, ``market``, ``asset_id``,
        ``maker_address`` and ``after``/``before`` (unix seconds, on ``match_time``)."""
        key = self.verify_l2(request)
        wanted_id, market, asset = request.arg("id"), request.arg("market"), request.arg("asset_id")
        maker = (request.arg("maker_address") or "").lower()
        try:
            after = int(request.arg("after") or 0)
            before = int(request.arg("before") or 0)
        except ValueError:
            raise _bad("Invalid payload") from None
        rows = []
        with self.lock:
            for trade in reversed(self.engine.trades):
                if wanted_id is not None and trade["id"] != wanted_id:
                    continue
                if market is not None and trade["market"] != market:
                    continue
                if asset is not None and trade["asset_id"] != asset:
                    continue
                matched = int(trade["match_time"])
                if (after and matched < after) or (before and matched > before):
                    continue
                public = {k: v for k, v in trade.items() if k != "fee"}
                if trade["owner"] == key["key"]:
                    row = public
                elif any(m["owner"] == key["key"] for m in trade["maker_orders"]):
                    row = {**public, "trader_side": "MAKER"}
                else:
                    continue
                if maker and maker not in self._trade_makers(row, key):
                    continue
                rows.append(row)
        return Response.json(self.page(rows, request))

    @staticmethod
    def _trade_makers(row: dict[str, Any], key: dict[str, Any]) -> set[str]:
        if row["trader_side"] == "TAKER":
            return {str(row["maker_address"]).lower()}
        return {str(m["maker_address"]).lower() for m in row["maker_orders"] if m["owner"] == key["key"]}

    # -- heartbeats -----------------------------------------------------------------------------------
    def _heartbeat(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        body = request.json()
        given = body.get("heartbeat_id") if isinstance(body, dict) else None
        if not isinstance(given, str):
            raise _bad("Invalid payload")
        with self.lock:
            expected = self.heartbeats.get(key["key"], [""])[0]
            if given != expected:
                raise HttpError(400, {"error_msg": "Invalid Heartbeat ID", "heartbeat_id": expected})
            next_id = str(uuid.uuid4())
            self.heartbeats[key["key"]] = [next_id, self.clock() + self.heartbeat_timeout]
        return Response.json({"heartbeat_id": next_id})

    def _balance(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        asset_type = request.arg("asset_type", "COLLATERAL")
        if request.arg("signature_type") not in ("0", "1", "2", "3"):
            raise _bad("Invalid signature_type")
        address = key["address"]
        if asset_type == "COLLATERAL":
            # Funds live with the maker; a type-1/2 account reads its funder via its open orders' maker.
            amount = self.balance_of(self._maker_of(key))
        elif asset_type == "CONDITIONAL":
            amount = self.tokens_of(self._maker_of(key), request.arg("token_id") or "")
        else:
            raise _bad("Invalid asset_type")
        units = (amount * UNITS).to_integral_value()
        allowance = str(2**256 - 1)
        return Response.json(
            {
                "balance": str(units),
                "allowances": {EXCHANGE: allowance, NEG_RISK_EXCHANGE: allowance},
                "address": address,
            }
        )

    def _maker_of(self, key: dict[str, Any]) -> str:
        return str(self.funders.get(key["address"], key["address"]))

    def link_funder(self, owner: str, funder: str) -> None:
        """Declare ``funder`` the proxy/Safe wallet of ``owner`` (signature types 1 and 2)."""
        with self.lock:
            self.funders[checksum(owner)] = checksum(funder)

    @staticmethod
    def decimal_arg(value: Any, what: str) -> Decimal:
        """A Decimal from a control-API value; ``HttpError(400)`` otherwise."""
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise _bad(f"{what} is not a number") from None

    def load_json_file(self, path: str) -> Any:
        """Load a scenario file."""
        with open(path, encoding="utf-8") as handle:
            return self.load_scenario(json.load(handle, parse_float=Decimal))
