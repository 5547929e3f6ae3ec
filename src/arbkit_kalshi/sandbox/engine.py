"""The Kalshi sandbox's exchange state: markets, accounts, orders, matching, fees, settlement.

Everything is in YES-price terms on one :class:`arbkit.sandbox.BinaryBook` per market: a
buy-YES at p and a sell-NO at 1-p are bids at p; a buy-NO at q and a sell-YES at 1-q are
asks at 1-q (reference: kalshi.md 3.8 "Price semantics"). Positions are one signed count
per market, as Kalshi nets them (3.4): buying NO while long YES closes YES and pays back
``1 - price`` per contract.

Money is ``Decimal`` dollars. Resting orders reserve the cash their opening part may cost;
taker fees follow the market's series fee type (:func:`arbkit_kalshi.parse.fee_schedule`),
accumulated per order and rounded up to the cent (5). The "house" account supplies the
scenario's liquidity with unlimited funds and is never charged.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import attrs
from cryptography.hazmat.primitives.asymmetric import rsa

from arbkit.fees import FeeSchedule, NoFees
from arbkit.sandbox import BinaryBook, BookSide, RestingOrder
from arbkit_kalshi.parse import fee_schedule

__all__ = ["HOUSE", "Account", "Engine", "KalshiError", "SbMarket", "SbOrder", "SbPosition"]

ZERO = Decimal(0)
ONE = Decimal(1)
HOUSE = "house"


class KalshiError(Exception):
    """A refusal the sandbox answers with Kalshi's error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{status} {code}: {message}")


def now_iso() -> str:
    """The current time as Kalshi writes it (RFC3339, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@attrs.define
class SbMarket:
    """One market and its book."""

    ticker: str
    event_ticker: str
    series_ticker: str
    title: str = ""
    yes_sub_title: str = ""
    no_sub_title: str = ""
    status: str = "active"
    result: str = ""
    close_time: str = "2030-01-01T00:00:00Z"
    rules_primary: str = ""
    rules_secondary: str = ""
    fractional: bool = False
    tick: Decimal = Decimal("0.01")
    settlement_value: Decimal | None = None
    settled_time: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    book: BinaryBook = attrs.field(factory=BinaryBook)
    volume: Decimal = ZERO
    last_price: Decimal | None = None


@attrs.define
class SbPosition:
    """An account's signed position in one market (> 0 YES, < 0 NO) and its cost basis."""

    position: Decimal = ZERO
    exposure: Decimal = ZERO
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    traded: Decimal = ZERO
    resting_orders: int = 0


@attrs.define
class Account:
    """A user (keyed by API key id) or the house."""

    key_id: str
    public_key: rsa.RSAPublicKey | None
    balance: Decimal
    positions: dict[str, SbPosition] = attrs.field(factory=dict)
    client_ids: set[str] = attrs.field(factory=set)

    @property
    def is_house(self) -> bool:
        """The liquidity provider: unlimited funds, never charged."""
        return self.key_id == HOUSE


@attrs.define
class SbOrder:
    """An order as the sandbox keeps it; :mod:`~arbkit_kalshi.sandbox.wire` renders it."""

    order_id: str
    account: str
    ticker: str
    side: str
    action: str
    yes_price: Decimal
    count: Decimal
    client_order_id: str
    time_in_force: str | None
    status: str = "resting"
    filled: Decimal = ZERO
    taker_cost: Decimal = ZERO
    maker_cost: Decimal = ZERO
    taker_fees: Decimal = ZERO
    maker_fees: Decimal = ZERO
    reserved: Decimal = ZERO
    expiration_ts: int | None = None
    created_time: str = attrs.field(factory=now_iso)
    updated_time: str = attrs.field(factory=now_iso)
    taker_fills: list[tuple[Decimal, Decimal]] = attrs.field(factory=list)
    maker_fills: list[tuple[Decimal, Decimal]] = attrs.field(factory=list)

    @property
    def book_side(self) -> BookSide:
        """BID when the order adds YES exposure (buy YES / sell NO), else ASK."""
        buys_yes = (self.side == "yes") == (self.action == "buy")
        return BookSide.BID if buys_yes else BookSide.ASK

    @property
    def direction(self) -> int:
        """+1 when a fill adds YES contracts to the position, -1 when it adds NO."""
        return 1 if self.book_side is BookSide.BID else -1

    @property
    def side_price(self) -> Decimal:
        """The limit in the order's own terms (the ``side`` contract's price)."""
        return self.yes_price if self.side == "yes" else ONE - self.yes_price

    @property
    def remaining(self) -> Decimal:
        """Contracts still resting (0 once final)."""
        return self.count - self.filled if self.status == "resting" else ZERO


def _own(direction: int, yes_price: Decimal) -> Decimal:
    """Cash per contract to open a position in ``direction`` at ``yes_price``."""
    return yes_price if direction > 0 else ONE - yes_price


class Engine:
    """All exchange state of the sandbox. Not thread-safe: the app holds its lock."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything (markets, accounts, orders)."""
        self.series: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.markets: dict[str, SbMarket] = {}
        self.accounts: dict[str, Account] = {HOUSE: Account(HOUSE, None, ZERO)}
        self.orders: dict[str, SbOrder] = {}
        self.fills: list[dict[str, Any]] = []
        self.settlements: list[dict[str, Any]] = []

    # -- set-up ------------------------------------------------------------------------------
    def fees_of(self, market: SbMarket) -> FeeSchedule:
        """The market's fee schedule (series fee type and multiplier, event overrides)."""
        series = self.series.get(market.series_ticker, {})
        event = self.events.get(market.event_ticker, {})
        fee_type = event.get("fee_type_override") or series.get("fee_type") or "quadratic"
        multiplier = Decimal(str(event.get("fee_multiplier_override") or series.get("fee_multiplier") or 1))
        return fee_schedule(fee_type, multiplier) or NoFees()

    def set_book(
        self, ticker: str, yes_bids: Sequence[Sequence[Any]] = (), no_bids: Sequence[Sequence[Any]] = ()
    ) -> None:
        """Replace the house liquidity of a market: YES bids at p, NO bids at q (an ask at 1-q)."""
        market = self.market(ticker)
        market.book.cancel_account(HOUSE)
        for price, size in yes_bids:
            self._house(market, BookSide.BID, Decimal(str(price)), Decimal(str(size)))
        for price, size in no_bids:
            self._house(market, BookSide.ASK, ONE - Decimal(str(price)), Decimal(str(size)))

    def _house(self, market: SbMarket, side: BookSide, price: Decimal, size: Decimal) -> None:
        if not ZERO < price < ONE or size <= 0:
            raise KalshiError(400, "invalid_parameters", f"bad house level {price} x {size}")
        crossing = market.book.fillable(side, price, HOUSE)
        if crossing > 0:
            raise KalshiError(400, "invalid_parameters", "house YES and NO bids must not cross")
        market.book.add(RestingOrder(f"house-{uuid.uuid4()}", HOUSE, side, price, size))

    def market(self, ticker: str) -> SbMarket:
        """A market by ticker, or a 404 error."""
        market = self.markets.get(ticker)
        if market is None:
            raise KalshiError(404, "not_found", f"market {ticker} not found")
        return market

    def position(self, account: Account, ticker: str) -> SbPosition:
        """The account's position row for a market (created empty)."""
        return account.positions.setdefault(ticker, SbPosition())

    # -- orders --------------------------------------------------------------------------------
    def place(
        self,
        account: Account,
        market: SbMarket,
        order: SbOrder,
        *,
        post_only: bool = False,
        max_cost: Decimal | None = None,
        fault: Any = None,
    ) -> SbOrder:
        """Validate funds, match, and rest or cancel the remainder per time in force."""
        if market.status not in ("active", "open"):
            raise KalshiError(400, "market_closed", f"market {market.ticker} is not open for trading")
        if order.client_order_id and order.client_order_id in account.client_ids:
            raise KalshiError(
                409, "order_already_exists", "an order with this client_order_id already exists"
            )
        kind = getattr(fault, "kind", None)
        if kind == "reject":
            raise KalshiError(400, "invalid_order", getattr(fault, "message", "order rejected"))
        if kind == "insufficient":
            raise KalshiError(400, "insufficient_balance", "insufficient balance for this order")
        book, side, limit = market.book, order.book_side, order.yes_price
        fillable = ZERO if kind == "no_fill" else book.fillable(side, limit, account.key_id)
        if post_only and fillable > 0:
            raise KalshiError(400, "post_only_cross", "post only order would cross the book")
        fees = self.fees_of(market)
        pos = self.position(account, market.ticker)
        closable = max(ZERO, -pos.position) if order.direction > 0 else max(ZERO, pos.position)
        reserve = max(ZERO, order.count - closable) * _own(order.direction, limit)
        if not account.is_house and account.balance < reserve + fees.fee(order.side_price, order.count):
            raise KalshiError(400, "insufficient_balance", "insufficient balance for this order")
        if (
            max_cost is not None
            and self._walk_cost(book, side, limit, order.count, account.key_id) > max_cost
        ):
            order.status = "canceled"  # buy_max_cost implies fill-or-kill (kalshi.md 3.8)
            return self._record(account, order)
        target = ZERO if kind == "no_fill" else order.count
        if kind == "partial_fill":
            ratio = Decimal(str(getattr(fault, "fill_ratio", "0.5")))
            target = (min(fillable, order.count) * ratio).quantize(Decimal("0.01"))
            if not market.fractional:
                target = target.to_integral_value(rounding=ROUND_FLOOR)
        elif order.time_in_force == "fill_or_kill" and fillable < order.count:
            order.status = "canceled"
            return self._record(account, order)
        if not account.is_house:
            account.balance -= reserve
        order.reserved = reserve
        self._record(account, order)
        for match in book.take(order.order_id, account.key_id, side, limit, target) if target > 0 else []:
            self._execute(
                market, order, account, match.maker_order_id, match.maker_account, match.price, match.size
            )
        keep = (
            order.time_in_force in (None, "good_till_canceled")
            and kind != "partial_fill"
            and order.filled < order.count
        )
        if order.filled >= order.count:
            order.status = "executed"
        elif keep:
            book.add(RestingOrder(order.order_id, account.key_id, side, limit, order.count - order.filled))
            self.position(account, market.ticker).resting_orders += 1
        else:
            order.status = "canceled"
        if order.status != "resting":
            self._release(account, order)
        return order

    def _record(self, account: Account, order: SbOrder) -> SbOrder:
        self.orders[order.order_id] = order
        if order.client_order_id:
            account.client_ids.add(order.client_order_id)
        return order

    def _walk_cost(
        self, book: BinaryBook, side: BookSide, limit: Decimal, count: Decimal, account: str
    ) -> Decimal:
        cost, left = ZERO, count
        for price, size in book.levels(side.opposite):
            if left <= 0 or (price > limit if side is BookSide.BID else price < limit):
                break
            qty = min(left, size)
            cost += qty * _own(1 if side is BookSide.BID else -1, price)
            left -= qty
        return cost

    def _release(self, account: Account, order: SbOrder) -> None:
        if not account.is_house:
            account.balance += order.reserved
        order.reserved = ZERO

    def _execute(
        self,
        market: SbMarket,
        taker: SbOrder,
        taker_account: Account,
        maker_id: str,
        maker_account_id: str,
        price: Decimal,
        size: Decimal,
    ) -> None:
        trade_id = str(uuid.uuid4())
        market.volume += size
        market.last_price = price
        self._fill(market, taker, taker_account, price, size, taker=True, trade_id=trade_id)
        maker = self.orders.get(maker_id)
        maker_account = self.accounts.get(maker_account_id)
        if maker is not None and maker_account is not None:
            self._fill(market, maker, maker_account, price, size, taker=False, trade_id=trade_id)
            if maker.filled >= maker.count:
                maker.status = "executed"
                self.position(maker_account, market.ticker).resting_orders -= 1
                self._release(maker_account, maker)

    def _fill(
        self,
        market: SbMarket,
        order: SbOrder,
        account: Account,
        yes_price: Decimal,
        qty: Decimal,
        *,
        taker: bool,
        trade_id: str,
    ) -> None:
        own_side = yes_price if order.side == "yes" else ONE - yes_price
        order.filled += qty
        order.updated_time = now_iso()
        fills = order.taker_fills if taker else order.maker_fills
        fills.append((own_side, qty))
        if taker:
            order.taker_cost += own_side * qty
        else:
            order.maker_cost += own_side * qty
        fee_total = self.fees_of(market).order_fee(fills, taker=taker)
        fee = fee_total - (order.taker_fees if taker else order.maker_fees)
        if taker:
            order.taker_fees = fee_total
        else:
            order.maker_fees = fee_total
        if not account.is_house:
            self._account_fill(account, market.ticker, order, yes_price, qty, fee)
        self.fills.append(
            {
                "fill_id": trade_id + ("-t" if taker else "-m"),
                "trade_id": trade_id,
                "order_id": order.order_id,
                "account": account.key_id,
                "ticker": market.ticker,
                "side": order.side,
                "action": order.action,
                "yes_price": yes_price,
                "count": qty,
                "is_taker": taker,
                "fee_cost": fee,
                "created_time": now_iso(),
                "client_order_id": order.client_order_id,
            }
        )

    def _account_fill(
        self, account: Account, ticker: str, order: SbOrder, yes_price: Decimal, qty: Decimal, fee: Decimal
    ) -> None:
        pos = self.position(account, ticker)
        d = order.direction
        own = _own(d, yes_price)
        closable = max(ZERO, -pos.position) if d > 0 else max(ZERO, pos.position)
        closing = min(qty, closable)
        opening = qty - closing
        credit = closing * (ONE - own)  # a YES+NO pair collapses to $1
        if closing:
            removed = pos.exposure * closing / abs(pos.position)
            pos.exposure -= removed
            pos.realized += credit - removed
        debit = opening * own
        release = min(order.reserved, opening * _own(d, order.yes_price))
        order.reserved -= release
        account.balance += release + credit - debit - fee
        pos.exposure += debit
        pos.position += d * qty
        pos.fees += fee
        pos.traded += qty * own

    def cancel(self, account: Account, order_id: str) -> tuple[SbOrder, Decimal]:
        """Cancel what remains of an order; 404 when it is not the caller's resting order."""
        order = self.orders.get(order_id)
        if order is None or order.account != account.key_id or order.status != "resting":
            raise KalshiError(404, "not_found", f"order {order_id} not found")
        market = self.market(order.ticker)
        reduced = order.count - order.filled
        market.book.cancel(order_id)
        order.status = "canceled"
        order.updated_time = now_iso()
        self.position(account, order.ticker).resting_orders -= 1
        self._release(account, order)
        return order, reduced

    def cancel_all(self, market: SbMarket) -> None:
        """Cancel every resting order of a market (users' and the house's)."""
        for resting in market.book.orders():
            market.book.cancel(resting.order_id)
            order = self.orders.get(resting.order_id)
            account = self.accounts.get(resting.account)
            if order is not None and account is not None:
                order.status = "canceled"
                self.position(account, market.ticker).resting_orders -= 1
                self._release(account, order)

    # -- lifecycle -----------------------------------------------------------------------------
    def set_status(self, ticker: str, status: str) -> None:
        """Move a market to a lifecycle status; reactivating a paused market cancels resting orders."""
        market = self.market(ticker)
        if market.status == "inactive" and status == "active":
            self.cancel_all(market)  # kalshi.md 4.3: reactivation cancels all resting orders
        market.status = status

    def resolve(self, ticker: str, result: str, settlement_value: Decimal | None = None) -> SbMarket:
        """Determine and settle a market: ``yes``, ``no``, ``void`` or ``scalar``; pays positions."""
        market = self.market(ticker)
        result = result.lower()
        if result == "yes":
            value: Decimal | None = ONE
        elif result == "no":
            value = ZERO
        elif result in ("void", "scalar"):
            value = settlement_value
            if result == "scalar" and value is None:
                raise KalshiError(400, "invalid_parameters", "a scalar result needs settlement_value")
        else:
            raise KalshiError(400, "invalid_parameters", f"unknown result {result!r}")
        if value is not None and not ZERO <= value <= ONE:
            raise KalshiError(400, "invalid_parameters", "settlement_value must be within [0, 1]")
        self.cancel_all(market)
        market.result, market.settlement_value = result, value
        market.status, market.settled_time = "finalized", now_iso()
        for account in self.accounts.values():
            pos = account.positions.get(ticker)
            if account.is_house or pos is None or pos.position == 0:
                continue
            size = abs(pos.position)
            # A void market without a value refunds the cost basis.
            revenue = pos.exposure if value is None else size * (value if pos.position > 0 else ONE - value)
            account.balance += revenue
            self.settlements.append(
                {
                    "account": account.key_id,
                    "ticker": ticker,
                    "event_ticker": market.event_ticker,
                    "market_result": result,
                    "yes_count": size if pos.position > 0 else ZERO,
                    "no_count": size if pos.position < 0 else ZERO,
                    "yes_cost": pos.exposure if pos.position > 0 else ZERO,
                    "no_cost": pos.exposure if pos.position < 0 else ZERO,
                    "revenue": revenue,
                    "value": value,
                    "settled_time": market.settled_time,
                }
            )
            pos.realized += revenue - pos.exposure
            pos.position, pos.exposure = ZERO, ZERO
        return market
