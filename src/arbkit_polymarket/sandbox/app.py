"""The Polymarket sandbox's wire protocol: CLOB paths at the root, Gamma under ``/gamma``,
the Data API under ``/data-api`` (both real hosts have a ``/markets`` route, so one
server separates them by prefix: point the client at ``gamma_url=server.url + "/gamma"``).

What the real CLOB verifies is verified here (reference polymarket.md sections 4, 5, 9.3):
L1 ClobAuth signatures and L2 HMACs with a timestamp window, the EIP-712 order signature
recovered against the market's exchange contract (neg-risk or standard) and compared
with the API key's address, V1 orders, off-grid prices, amount precision, minimum sizes
and balances, each refused with the reference's status and ``{"error": ...}`` body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from arbkit.models import Side
from arbkit.sandbox import HttpError, Request, Response, SandboxApp
from arbkit.sandbox.faults import Fault
from arbkit_polymarket.auth import clob_auth_digest, hmac_signature
from arbkit_polymarket.crypto import checksum, recover_address, typed_digest
from arbkit_polymarket.orders import (
    CHAIN_ID,
    EXCHANGE,
    NEG_RISK_EXCHANGE,
    TICK_SIZES,
    exchange_domain,
    order_struct_hash,
)
from arbkit_polymarket.sandbox.engine import Engine, OrderRecord
from arbkit_polymarket.sandbox.render import RenderMixin

__all__ = ["PolymarketSandbox"]

#: Accepted clock skew for L1/L2 timestamps [UNCERTAIN for the CLOB; the RFQ API documents 30 s].
MAX_SKEW_SECONDS = 30
UNITS = Decimal(10**6)
V1_FIELDS = ("taker", "nonce", "feeRateBps")
ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")
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


class PolymarketSandbox(RenderMixin, SandboxApp):
    """A loopback Polymarket (CLOB V2 + Gamma + Data API) with a matching engine per market."""

    venue = "polymarket"

    def __init__(self, *, chain_id: int = CHAIN_ID) -> None:
        super().__init__()
        self.chain_id = chain_id
        self.engine = Engine()
        # api key -> {"address", "secret", "passphrase", "nonce"}
        self.api_keys: dict[str, dict[str, Any]] = {}
        self._domains = {
            False: exchange_domain(EXCHANGE, chain_id),
            True: exchange_domain(NEG_RISK_EXCHANGE, chain_id),
        }
        self.clock = time.time
        self.funders: dict[str, str] = {}  # owner EOA -> proxy/Safe wallet
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
        """Check ClobAuth headers; returns (address, nonce)."""
        error = "Invalid L1 Request headers"
        address, signature = request.header("POLY_ADDRESS"), request.header("POLY_SIGNATURE")
        nonce_text = request.header("POLY_NONCE") or "0"
        ts = self._fresh(request.header("POLY_TIMESTAMP"), error)
        if not address or not signature or not nonce_text.isdigit():
            raise _bad(error, 401)
        try:
            address = checksum(address)
            digest = clob_auth_digest(address, ts, int(nonce_text), self.chain_id)
            recovered = recover_address(digest, bytes.fromhex(signature.removeprefix("0x")))
        except ValueError:
            raise _bad(error, 401) from None
        if recovered != address:
            raise _bad(error, 401)
        return address, int(nonce_text)

    def verify_l2(self, request: Request) -> dict[str, Any]:
        """Check the HMAC headers over ``timestamp + METHOD + path + body``; returns the key record."""
        error = "Unauthorized/Invalid api key"
        key = request.header("POLY_API_KEY") or ""
        record = self.api_keys.get(key)
        if record is None:
            raise _bad(error, 401)
        ts = self._fresh(request.header("POLY_TIMESTAMP"), error)
        expected = hmac_signature(record["secret"], ts, request.method, request.path, request.body)
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

    def resolve(self, condition_id: str, *, winner: str | None = None, result: str = "winner") -> None:
        """Resolve a market: a winning token id, or ``result="50-50"`` / ``"void"``."""
        with self.lock:
            if condition_id not in self.engine.markets:
                raise HttpError(404, {"error": f"unknown market {condition_id}"})
            self.engine.resolve(condition_id, winner=winner, result=result)

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

    def control_state(self) -> Any:
        """Balances, token holdings and orders."""
        engine = self.engine
        return {
            "accounts": {
                a.address: {"cash": str(a.cash), "tokens": {t: str(s) for t, s in a.tokens.items() if s}}
                for a in engine.accounts.values()
            },
            "orders": [self.render_order(o) for o in engine.orders.values()],
            "trades": len(engine.trades),
        }

    # -- routes -------------------------------------------------------------------------------------
    def _add_routes(self) -> None:
        r = self.router
        r.add("GET", "/auth/derive-api-key", self._derive)
        r.add("POST", "/auth/api-key", self._create)
        r.add("POST", "/order", self._post_order)
        r.add("DELETE", "/order", self._cancel)
        r.add("GET", "/data/order/{order_id}", self._get_order)
        r.add("GET", "/data/orders", self._list_orders)
        r.add("GET", "/data/trades", self._list_trades)
        r.add("GET", "/balance-allowance", self._balance)
        r.add("GET", "/balance-allowance/update", self._balance)
        self.add_public_routes()

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
        address, nonce = self.verify_l1(request)
        with self.lock:
            return Response.json(self.create_api_key(address, nonce))

    def _post_order(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        body = request.json()
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
        with self.lock:
            return Response.json(self._accept(order, order_type, key, request))

    def _verify_signature(self, order: dict[str, Any], neg_risk: bool) -> str:
        try:
            struct_hash = order_struct_hash(
                salt=int(order["salt"]),
                maker=checksum(order["maker"]),
                signer=checksum(order["signer"]),
                token_id=int(order["tokenId"]),
                maker_amount=int(order["makerAmount"]),
                taker_amount=int(order["takerAmount"]),
                side=0 if order["side"] == "BUY" else 1,
                signature_type=int(order["signatureType"]),
                timestamp_ms=int(order["timestamp"]),
                metadata=str(order.get("metadata") or "0x" + "00" * 32),
                builder=str(order.get("builder") or "0x" + "00" * 32),
            )
            digest = typed_digest(self._domains[neg_risk], struct_hash)
            recovered = recover_address(digest, bytes.fromhex(str(order["signature"]).removeprefix("0x")))
        except (ValueError, TypeError):
            raise _bad("invalid signature") from None
        if recovered != checksum(order["signer"]):
            raise _bad("invalid signature")
        return "0x" + digest.hex()

    def _accept(self, order: dict[str, Any], order_type: str, key: dict[str, Any], request: Request) -> Any:
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
        maker_units, taker_units = int(order["makerAmount"]), int(order["takerAmount"])
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
        )
        fault = self.order_fault(request)
        if fault is not None and fault.kind == "reject":
            message = fault.message if fault.message != "injected fault" else "order rejected by the sandbox"
            if fault.status == 200:  # the other rejection shape: HTTP 200 with success false
                return {"success": False, "errorMsg": message, "orderID": None}
            raise _bad(message)
        if (fault is not None and fault.kind == "insufficient") or not engine.can_afford(
            record, market, price
        ):
            raise _bad("not enough balance / allowance")
        return self._match(record, market, fault)

    def _check_amounts(
        self, tick: Decimal, side: Side, shares: Decimal, money: Decimal, price: Decimal, marketable: bool
    ) -> None:
        _, _, amount_dp = TICK_SIZES[tick]
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

    def _match(self, record: OrderRecord, market: Any, fault: Fault | None) -> dict[str, Any]:
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
        trades = engine.execute(record, record.price, take) if take > 0 else []
        shares = sum((Decimal(t["size"]) for t in trades), Decimal(0))
        money = sum((Decimal(t["size"]) * Decimal(t["price"]) for t in trades), Decimal(0))
        if record.order_type in ("GTC", "GTD") and shares < record.original_size:
            engine.rest(record)
            status = "live"
        else:
            record.status = "MATCHED" if shares >= record.original_size else "CANCELED"
            status = "matched"
        making, taking = (money, shares) if record.side is Side.BUY else (shares, money)
        return {
            "success": True,
            "errorMsg": "",
            "orderID": record.id,
            "status": status,
            "makingAmount": str(making) if trades else "",
            "takingAmount": str(taking) if trades else "",
            "transactionsHashes": [],
            "tradeIDs": [t["id"] for t in trades],
        }

    def _owned(self, key: dict[str, Any], order_id: str) -> OrderRecord | None:
        order = self.engine.orders.get(order_id)
        return order if order is not None and order.owner == key["key"] else None

    def _cancel(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        body = request.json()
        order_id = body.get("orderID") if isinstance(body, dict) else None
        if not isinstance(order_id, str):
            raise _bad("Invalid payload")
        with self.lock:
            order = self._owned(key, order_id)
            if order is None:
                return Response.json({"canceled": [], "not_canceled": {order_id: "order not found"}})
            if self.engine.cancel(order):
                return Response.json({"canceled": [order_id], "not_canceled": {}})
            return Response.json({"canceled": [], "not_canceled": {order_id: "already canceled or matched"}})

    def _get_order(self, request: Request, params: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        with self.lock:
            order = self._owned(key, params["order_id"])
            if order is None:
                raise _bad("order not found", 404)
            return Response.json(self.render_order(order))

    def _list_orders(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        market = request.arg("market")
        with self.lock:
            rows = [
                self.render_order(o)
                for o in self.engine.orders.values()
                if o.owner == key["key"] and o.status == "LIVE" and (market is None or o.market == market)
            ]
        return Response.json(self.page(rows, request))

    def _list_trades(self, request: Request, _: dict[str, str]) -> Response:
        key = self.verify_l2(request)
        market = request.arg("market")
        rows = []
        with self.lock:
            for trade in reversed(self.engine.trades):
                if market is not None and trade["market"] != market:
                    continue
                if trade["owner"] == key["key"]:
                    rows.append({k: v for k, v in trade.items() if k != "fee"})
                elif any(m["owner"] == key["key"] for m in trade["maker_orders"]):
                    rows.append({**{k: v for k, v in trade.items() if k != "fee"}, "trader_side": "MAKER"})
        return Response.json(self.page(rows, request))

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
