"""The Kalshi sandbox's exchange state: markets, accounts, V2 orders, matching, fees, settlement.

Every order is a bid or an ask on one YES book per market (:class:`arbkit.sandbox.BinaryBook`),
at a YES price, as V2 writes them (kalshi.md 3.8): a bid adds YES contracts, an ask adds NO
contracts. Positions are one signed count per market, as Kalshi nets them (3.4): an ask while
long YES closes YES and pays back ``price`` per contract; an ask while flat opens NO.

Money is ``Decimal`` dollars. Resting orders reserve the cash their opening part may cost;
fees follow the series fee type with the sandbox's own formula
(:mod:`arbkit_kalshi.sandbox.verify`), rounded up to $0.000001 per execution (5). The "house"
account supplies the scenario's liquidity with unlimited funds and is never charged.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import attrs

from arbkit.sandbox import BinaryBook, BookSide, RestingOrder
from arbkit_kalshi.sandbox.verify import PublicKey, fee_for

__all__ = [
    "HOUSE",
    "STRUCTURES",
    "Account",
    "Engine",
    "KalshiError",
    "SbMarket",
    "SbOrder",
    "SbPosition",
    "on_grid",
]

ZERO = Decimal(0)
ONE = Decimal(1)
UNIT = Decimal("0.0001")
HOUSE = "house"


def _bands(*parts: tuple[str, str, str]) -> tuple[tuple[Decimal, Decimal, Decimal], ...]:
    return tuple((Decimal(a), Decimal(b), Decimal(c)) for a, b, c in parts)


def _tapered(edge: str, center: str) -> tuple[tuple[Decimal, Decimal, Decimal], ...]:
    return _bands(("0", "0.1", edge), ("0.1", "0.9", center), ("0.9", "1", edge))


#: The venue's price level structures as ``(start, end, step)`` bands (kalshi.md 4.5).
STRUCTURES: dict[str, tuple[tuple[Decimal, Decimal, Decimal], ...]] = {
    "linear_cent": _bands(("0", "1", "0.01")),
    "deci_cent": _bands(("0", "1", "0.001")),
    "tapered_deci_cent": _tapered("0.001", "0.01"),
    "center_whole_edge_half_cent": _tapered("0.005", "0.01"),
    "center_whole_edge_quint_cent": _tapered("0.002", "0.01"),
    "center_half_edge_half_cent": _tapered("0.005", "0.005"),
    "center_half_edge_quint_cent": _tapered("0.002", "0.005"),
    "center_half_edge_deci_cent": _tapered("0.001", "0.005"),
    "center_quint_edge_quint_cent": _tapered("0.002", "0.002"),
    "center_quint_edge_deci_cent": _tapered("0.001", "0.002"),
    "center_centi_edge_centi_cent": _bands(("0", "1", "0.0001")),
    "center_deci_edge_centi_cent": _bands(
        ("0", "0.01", "0.0001"), ("0.01", "0.99", "0.001"), ("0.99", "1", "0.0001")
    ),
}


def on_grid(bands: Sequence[tuple[Decimal, Decimal, Decimal]], price: Decimal) -> bool:
    """Whether ``price`` is valid: inside (0, 1) and a whole step from the start of some band."""
    return ZERO < price < ONE and any(a <= price <= b and (price - a) % step == 0 for a, b, step in bands)


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
    price_level_structure: str = "linear_cent"
    bands: tuple[tuple[Decimal, Decimal, Decimal], ...] = STRUCTURES["linear_cent"]
    settlement_value: Decimal | None = None
    settled_time: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    book: BinaryBook = attrs.field(factory=BinaryBook)
    volume: Decimal = ZERO
    last_price: Decimal | None = None
    trades: list[dict[str, Any]] = attrs.field(factory=list)


@attrs.define
class SbPosition:
    """An account's signed position in one market (> 0 YES, < 0 NO) and its cost basis."""

    position: Decimal = ZERO
    exposure: Decimal = ZERO
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    traded: Decimal = ZERO
    updated_time: str = attrs.field(factory=now_iso)


@attrs.define
class Account:
    """A user (keyed by API key id) or the house."""

    key_id: str
    public_key: PublicKey | None
    balance: Decimal
    positions: dict[str, SbPosition] = attrs.field(factory=dict)
    client_ids: set[str] = attrs.field(factory=set)

    @property
    def is_house(self) -> bool:
        """The liquidity provider: unlimited funds, never charged."""
        return self.key_id == HOUSE


@attrs.define
class SbOrder:
    """A V2 order as the sandbox keeps it (``book`` is ``bid`` or ``ask``, ``yes_price`` its limit)."""

    order_id: str
    account: str
    ticker: str
    book: str
    yes_price: Decimal
    count: Decimal
    client_order_id: str
    time_in_force: str
    self_trade_prevention: str = "taker_at_cross"
    status: str = "resting"
    filled: Decimal = ZERO
    taker_cost: Decimal = ZERO
    maker_cost: Decimal = ZERO
    taker_fees: Decimal = ZERO
    maker_fees: Decimal = ZERO
    reserved: Decimal = ZERO
    expiration_time: int | None = None
    cancel_order_on_pause: bool = False
    #: Sent with ``reduce_only`` (an exit: it may only shrink the position).
    reduce_only: bool = False
    created_time: str = attrs.field(factory=now_iso)
    updated_time: str = attrs.field(factory=now_iso)

    @property
    def book_side(self) -> BookSide:
        """BID adds YES contracts; ASK adds NO contracts."""
        return BookSide.BID if self.book == "bid" else BookSide.ASK

    @property
    def outcome_side(self) -> str:
        """``yes`` for a bid, ``no`` for an ask (kalshi.md 3.7)."""
        return "yes" if self.book == "bid" else "no"

    @property
    def direction(self) -> int:
        """+1 when a fill adds YES contracts to the position, -1 when it adds NO."""
        return 1 if self.book == "bid" else -1

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
        #: Markets and orders changed since the stream last published (sandbox/stream.py).
        self.touched_markets: set[str] = set()
        self.touched_orders: set[str] = set()

    # -- set-up ------------------------------------------------------------------------------
    def fee_terms(self, market: SbMarket) -> tuple[str, Decimal]:
        """``(fee_type, multiplier)`` of a market: the event's overrides win over the series."""
        series = self.series.get(market.series_ticker, {})
        event = self.events.get(market.event_ticker, {})
        fee_type = event.get("fee_type_override") or series.get("fee_type") or "quadratic"
        raw = event.get("fee_multiplier_override")
        if raw is None:
            raw = series.get("fee_multiplier", 1)
        return str(fee_type), Decimal(str(raw))

    def set_book(
        self, ticker: str, yes_bids: Sequence[Sequence[Any]] = (), no_bids: Sequence[Sequence[Any]] = ()
    ) -> None:
        """Replace the house liquidity of a market: YES bids at p, NO bids at q (an ask at 1-q)."""
        market = self.market(ticker)
        self.touched_markets.add(ticker)
        market.book.cancel_account(HOUSE)
        for price, size in yes_bids:
            self._house(market, BookSide.BID, Decimal(str(price)), Decimal(str(size)))
        for price, size in no_bids:
            self._house(market, BookSide.ASK, ONE - Decimal(str(price)), Decimal(str(size)))

    def _house(self, market: SbMarket, side: BookSide, price: Decimal, size: Decimal) -> None:
        if not on_grid(market.bands, price) or size <= 0:
            raise KalshiError(
                400, "invalid_parameters", f"bad house level {price} x {size} for {market.ticker}"
            )
        if market.book.fillable(side, price, HOUSE) > 0:
            raise KalshiError(400, "invalid_parameters", "house YES and NO bids must not cross")
        market.book.add(RestingOrder(f"house-{uuid.uuid4()}", HOUSE, side, price, size))

    def market(self, ticker: str) -> SbMarket:
        """A market by ticker, or a 404 error."""
        market = self.markets.get(ticker)
        if market is None:
            raise KalshiError(404, "market_not_found", f"market {ticker} not found")
        return market

    def position(self, account: Account, ticker: str) -> SbPosition:
        """The account's position row for a market (created empty)."""
        return account.positions.setdefault(ticker, SbPosition())

    def own_order(self, account: Account, order_id: str) -> SbOrder:
        """The caller's order, or 404 (another account's order does not exist for the caller)."""
        order = self.orders.get(order_id)
        if order is None or order.account != account.key_id:
            raise KalshiError(404, "not_found", f"order {order_id} not found")
        return order

    # -- orders --------------------------------------------------------------------------------
    def _closable(self, account: Account, ticker: str, direction: int) -> Decimal:
        pos = self.position(account, ticker).position
        return max(ZERO, -pos) if direction > 0 else max(ZERO, pos)

    def _reserve_for(self, account: Account, order: SbOrder, count: Decimal) -> Decimal:
        opening = max(ZERO, count - self._closable(account, order.ticker, order.direction))
        return opening * _own(order.direction, order.yes_price)

    def place(
        self,
        account: Account,
        market: SbMarket,
        order: SbOrder,
        *,
        post_only: bool = False,
        reduce_only: bool = False,
        fault: Any = None,
    ) -> SbOrder:
        """Validate funds, match, and rest or cancel the remainder per time in force."""
        if market.status != "active":
            raise KalshiError(400, "market_closed", f"market {market.ticker} is not open for trading")
        if order.client_order_id and order.client_order_id in account.client_ids:
            # 409 per SDK-3.34; the code string is UNCERTAIN (FIX calls it ORDER_ALREADY_EXISTS).
            raise KalshiError(
                409, "order_already_exists", "an order with this client_order_id already exists"
            )
        kind = getattr(fault, "kind", None)
        if kind == "reject":
            raise KalshiError(400, "invalid_order", getattr(fault, "message", "order rejected"))
        if kind == "insufficient":
            raise KalshiError(400, "insufficient_balance", "insufficient balance for this order")
        if reduce_only:
            order.count = min(order.count, self._closable(account, market.ticker, order.direction))
        book, side, limit = market.book, order.book_side, order.yes_price
        fillable = ZERO if kind == "no_fill" else book.fillable(side, limit, account.key_id)
        fee_type, multiplier = self.fee_terms(market)
        reserve = self._reserve_for(account, order, order.count)
        worst_fee = fee_for(fee_type, multiplier, order.count, limit, taker=True) if order.count else ZERO
        if order.count > 0 and not account.is_house and account.balance < reserve + worst_fee:
            raise KalshiError(400, "insufficient_balance", "insufficient balance for this order")
        self._record(account, order)
        if order.count <= 0 or (post_only and fillable > 0):
            order.status = "canceled"  # ReduceOnlyCancel / PostOnlyCrossCancel
            return order
        if kind != "partial_fill" and order.time_in_force == "fill_or_kill" and fillable < order.count:
            order.status = "canceled"
            return order
        if not account.is_house:
            account.balance -= reserve
        order.reserved = reserve
        target = ZERO if kind == "no_fill" else order.count
        if kind == "partial_fill":
            ratio = Decimal(str(getattr(fault, "fill_ratio", "0.5")))
            target = (min(fillable, order.count) * ratio).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
            if order.count == order.count.to_integral_value():
                # A fault, not venue behaviour: a whole-contract order is partly filled in whole contracts.
                target = target.to_integral_value(rounding=ROUND_FLOOR)
        stopped = self._match(market, order, account, target)
        keep = order.time_in_force == "good_till_canceled" and kind != "partial_fill" and not stopped
        if order.filled >= order.count:
            order.status = "executed"
        elif keep:
            book.add(RestingOrder(order.order_id, account.key_id, side, limit, order.count - order.filled))
        else:
            order.status = "canceled"
        if order.status != "resting":
            self._release(account, order)
        return order

    def _match(self, market: SbMarket, order: SbOrder, account: Account, target: Decimal) -> bool:
        """Take liquidity up to ``target`` contracts; ``True`` if self-trade prevention stopped it."""
        book, side, limit = market.book, order.book_side, order.yes_price
        crossing_own = [
            o
            for o in book.orders(account.key_id)
            if o.side is side.opposite and (o.price <= limit if side is BookSide.BID else o.price >= limit)
        ]
        stopped = False
        if crossing_own and order.self_trade_prevention == "maker":
            for resting in crossing_own:  # cancel our resting orders, keep matching
                self.cancel(account, resting.order_id)
        elif crossing_own:
            # taker_at_cross: fill only at prices better than our own order, then cancel the rest.
            stopped = True
            if side is BookSide.BID:
                limit = min(o.price for o in crossing_own) - UNIT
            else:
                limit = max(o.price for o in crossing_own) + UNIT
        left = target - order.filled
        if left > 0 and ZERO < limit < ONE:
            for match in book.take(order.order_id, account.key_id, side, limit, left):
                self._execute(
                    market, order, account, match.maker_order_id, match.maker_account, match.price, match.size
                )
        return stopped

    def _record(self, account: Account, order: SbOrder) -> SbOrder:
        self.orders[order.order_id] = order
        self.touched_orders.add(order.order_id)
        self.touched_markets.add(order.ticker)
        if order.client_order_id:
            account.client_ids.add(order.client_order_id)
        return order

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
        when = now_iso()
        market.trades.append(
            {
                "trade_id": trade_id,
                "yes_price": price,
                "count": size,
                "taker_book_side": taker.book,
                "created_time": when,
            }
        )
        self._fill(market, taker, taker_account, price, size, taker=True, trade_id=trade_id)
        maker = self.orders.get(maker_id)
        maker_account = self.accounts.get(maker_account_id)
        if maker is not None and maker_account is not None:
            self._fill(market, maker, maker_account, price, size, taker=False, trade_id=trade_id)
            if maker.filled >= maker.count:
                maker.status = "executed"
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
        own = _own(order.direction, yes_price)
        self.touched_orders.add(order.order_id)
        order.filled += qty
        order.updated_time = now_iso()
        fee_type, multiplier = self.fee_terms(market)
        fee = fee_for(fee_type, multiplier, qty, yes_price, taker=taker)
        if taker:
            order.taker_cost += own * qty
            order.taker_fees += fee
        else:
            order.maker_cost += own * qty
            order.maker_fees += fee
        if not account.is_house:
            self._account_fill(account, market.ticker, order, yes_price, qty, fee)
        held = account.positions.get(market.ticker)
        self.fills.append(
            {
                # One id per trade, as Kalshi's fills carry it (kalshi.md 3.5: trade_id = fill_id).
                "fill_id": trade_id,
                "trade_id": trade_id,
                "order_id": order.order_id,
                "account": account.key_id,
                "ticker": market.ticker,
                "book_side": order.book,
                "yes_price": yes_price,
                "count": qty,
                "is_taker": taker,
                "fee_cost": fee,
                "created_time": now_iso(),
                "post_position": held.position if held is not None else ZERO,
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
        pos.updated_time = now_iso()

    def cancel(self, account: Account, order_id: str) -> tuple[SbOrder, Decimal]:
        """Cancel what remains of an order; 404 when it is not the caller's resting order."""
        order = self.own_order(account, order_id)
        if order.status != "resting":
            raise KalshiError(404, "not_found", f"order {order_id} is not resting")
        market = self.market(order.ticker)
        self.touched_orders.add(order_id)
        self.touched_markets.add(order.ticker)
        reduced = order.count - order.filled
        market.book.cancel(order_id)
        order.status = "canceled"
        order.updated_time = now_iso()
        self._release(account, order)
        return order, reduced

    def cancel_everything(self, account: Account) -> int:
        """Cancel every resting order of one account (``DELETE /portfolio/events/orders``)."""
        resting = [o for o in self.orders.values() if o.account == account.key_id and o.status == "resting"]
        for order in resting:
            self.cancel(account, order.order_id)
        return len(resting)

    def decrease(self, account: Account, order_id: str, new_remaining: Decimal) -> SbOrder:
        """Shrink a resting order in place (it keeps its queue position); 0 cancels it."""
        order = self.own_order(account, order_id)
        if order.status != "resting":
            raise KalshiError(404, "not_found", f"order {order_id} is not resting")
        remaining = order.count - order.filled
        if new_remaining >= remaining or new_remaining < 0:
            raise KalshiError(400, "invalid_parameters", "a decrease must leave fewer contracts than remain")
        if new_remaining == 0:
            self.cancel(account, order_id)
            return order
        resting = self.market(order.ticker).book.get(order_id)
        assert resting is not None
        self.touched_orders.add(order_id)
        self.touched_markets.add(order.ticker)
        resting.remaining = new_remaining
        released = order.reserved * (remaining - new_remaining) / remaining
        order.reserved -= released
        account.balance += released
        order.count = order.filled + new_remaining
        order.updated_time = now_iso()
        return order

    def amend(
        self, account: Account, order_id: str, ticker: str, book: str, price: Decimal, total: Decimal
    ) -> SbOrder:
        """Change price and/or total count; a smaller size at the same price keeps queue position.

        Otherwise the order leaves the book and is matched again at its new price (an amend
        can cross and fill), keeping its id.
        """
        order = self.own_order(account, order_id)
        if order.status != "resting":
            raise KalshiError(404, "not_found", f"order {order_id} is not resting")
        if ticker != order.ticker:
            raise KalshiError(400, "order_ticker_mismatch", "ticker does not match the order")
        if book != order.book:
            raise KalshiError(400, "order_side_mismatch", "side does not match the order")
        if total <= order.filled:
            raise KalshiError(
                400, "invalid_order_size", "count is the total and must exceed the filled count"
            )
        market = self.market(order.ticker)
        self.touched_orders.add(order_id)
        self.touched_markets.add(order.ticker)
        if price == order.yes_price and total <= order.count:
            return self.decrease(account, order_id, total - order.filled) if total < order.count else order
        market.book.cancel(order_id)
        self._release(account, order)
        order.yes_price, order.count = price, total
        reserve = self._reserve_for(account, order, total - order.filled)
        if account.balance < reserve:
            order.status = "canceled"
            raise KalshiError(400, "insufficient_balance", "insufficient balance for the amended order")
        account.balance -= reserve
        order.reserved = reserve
        order.updated_time = now_iso()
        self._match(market, order, account, total)
        if order.filled >= order.count:
            order.status = "executed"
            self._release(account, order)
        else:
            market.book.add(
                RestingOrder(order.order_id, account.key_id, order.book_side, price, total - order.filled)
            )
        return order

    def queue_position(self, order: SbOrder) -> Decimal:
        """Contracts resting ahead of ``order`` at its price (0-indexed: 0 = first in line)."""
        market = self.market(order.ticker)
        mine = market.book.get(order.order_id)
        if mine is None:
            return ZERO
        return sum(
            (
                o.remaining
                for o in market.book.orders()
                if o.side is mine.side and o.price == mine.price and o.seq < mine.seq
            ),
            ZERO,
        )

    def cancel_all(self, market: SbMarket) -> None:
        """Cancel every resting order of a market (users' and the house's)."""
        self.touched_markets.add(market.ticker)
        for resting in market.book.orders():
            self.touched_orders.add(resting.order_id)
            market.book.cancel(resting.order_id)
            order = self.orders.get(resting.order_id)
            account = self.accounts.get(resting.account)
            if order is not None and account is not None:
                order.status = "canceled"
                self._release(account, order)

    # -- lifecycle -----------------------------------------------------------------------------
    def set_status(self, ticker: str, status: str) -> None:
        """Move a market to a lifecycle status; reactivating a paused market cancels resting orders."""
        market = self.market(ticker)
        if status not in MARKET_STATUSES:
            raise KalshiError(400, "invalid_parameters", f"unknown market status {status!r}")
        if market.status == "inactive" and status == "active":
            self.cancel_all(market)  # kalshi.md 4.3: reactivation cancels all resting orders
        market.status = status
        self.touched_markets.add(ticker)

    def resolve(self, ticker: str, result: str, settlement_value: Decimal | None = None) -> SbMarket:
        """Determine and settle a market: ``yes``, ``no`` or ``scalar`` (``void`` = scalar); pays positions.

        The SDK's enums have no ``void`` (kalshi.md 4.4): a void market is a ``scalar`` result
        with its refund value (how the real API reports voids is UNCERTAIN).
        """
        market = self.market(ticker)
        result = result.lower()
        if result == "yes":
            value: Decimal = ONE
        elif result == "no":
            value = ZERO
        elif result in ("void", "scalar"):
            if settlement_value is None:
                raise KalshiError(400, "invalid_parameters", f"a {result} result needs settlement_value")
            value, result = settlement_value, "scalar"
        else:
            raise KalshiError(400, "invalid_parameters", f"unknown result {result!r}")
        if not ZERO <= value <= ONE:
            raise KalshiError(400, "invalid_parameters", "settlement_value must be within [0, 1]")
        self.cancel_all(market)
        self.touched_markets.add(ticker)
        market.result, market.settlement_value = result, value
        market.status, market.settled_time = "finalized", now_iso()
        for account in self.accounts.values():
            pos = account.positions.get(ticker)
            if account.is_house or pos is None or pos.position == 0:
                continue
            size = abs(pos.position)
            revenue = size * (value if pos.position > 0 else ONE - value)
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
            pos.updated_time = market.settled_time
        return market


#: The Market object's status vocabulary (kalshi.md 4.3; the SDK rejects anything else).
MARKET_STATUSES = frozenset(
    {"initialized", "inactive", "active", "closed", "determined", "disputed", "amended", "finalized"}
)
