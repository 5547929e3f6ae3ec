"""The domain model: frozen, slotted attrs classes shared by every exchange.

One unit convention across venues:

* prices are ``Decimal`` dollars per contract, strictly inside (0, 1);
* sizes are ``Decimal`` contracts (Kalshi) or shares (Polymarket), which pay $1 each if they win;
* money is ``Decimal`` dollars.

Adapters convert at their boundary (Kalshi cents, Polymarket 10^6 base units) so the
rest of the library never sees a venue's units. Floats are refused everywhere: a
float cannot hold 0.1 exactly, and money must be exact.

Example::

    >>> from decimal import Decimal
    >>> book = OrderBook.build("kalshi", "KXNBAGAME-X-LAL", "yes",
    ...                        bids=[("0.45", "10")], asks=[("0.48", "5"), ("0.47", "3")])
    >>> book.best_ask.price
    Decimal('0.47')
"""

from __future__ import annotations

import enum
import functools
import itertools
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from arbkit.errors import ValidationError
from arbkit.games import GameInfo
from arbkit.values import (
    ONE,
    ZERO,
    as_decimal,
    aware,
    common_multiple,
    decimal_from_text,
    maybe_decimal,
    non_empty,
    non_negative,
    positive,
    probability,
    shared_text,
    to_decimal,
    utcnow,
)

if TYPE_CHECKING:
    from arbkit.engine.fees import FeeSchedule

__all__ = [
    "Balance",
    "BookKey",
    "BookLevel",
    "Fill",
    "Market",
    "MarketStatus",
    "Order",
    "OrderBook",
    "OrderRequest",
    "OrderStatus",
    "Outcome",
    "OutcomeKey",
    "OutcomeResult",
    "Position",
    "Resolution",
    "ResolutionState",
    "Side",
    "TimeInForce",
    "decimal_from_text",
    "to_decimal",
    "utcnow",
]


class OutcomeKey(NamedTuple):
    """``(exchange, market_id, outcome_id)``: the one identity of an outcome's contracts.

    A book (:attr:`OrderBook.key`), a position (:attr:`Position.key`), a resolution's payout
    (:meth:`Resolution.payout_of`), a trade leg and a match's outcome are all found by it; a
    plain tuple of the same three strings is equal to it and finds the same entry.
    """

    exchange: str
    market_id: str
    outcome_id: str


#: The key of one order book: an :class:`OutcomeKey`.
BookKey = OutcomeKey


def _outcome_tuple(value: Iterable[Outcome]) -> tuple[Outcome, ...]:
    return tuple(value)


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType({key: shared_text(item) for key, item in (value or {}).items()})


class Side(enum.StrEnum):
    """Whether an order buys or sells the outcome's contracts."""

    BUY = "buy"
    SELL = "sell"


class TimeInForce(enum.StrEnum):
    """How long an order may rest. IOC is Polymarket's FAK."""

    GTC = "GTC"
    GTD = "GTD"
    FOK = "FOK"
    IOC = "IOC"


class MarketStatus(enum.StrEnum):
    """A venue-neutral market state. Unknown venue states map to ``UNKNOWN``, never crash."""

    UNOPENED = "unopened"
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"
    RESOLVED = "resolved"
    UNKNOWN = "unknown"


class OrderStatus(enum.StrEnum):
    """A venue-neutral order state. ``filled_size`` tells partial fills apart."""

    PENDING = "pending"
    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """True when the order can no longer fill."""
        return self in {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}


class ResolutionState(enum.StrEnum):
    """Where a market is in its resolution."""

    PENDING = "pending"
    RESOLVED = "resolved"
    VOID = "void"


class OutcomeResult(enum.StrEnum):
    """What happened to one outcome: won / lost / void / 50-50 / pending."""

    WON = "won"
    LOST = "lost"
    VOID = "void"
    FIFTY_FIFTY = "fifty_fifty"
    PENDING = "pending"


@attrs.frozen
class Outcome:
    """One tradable outcome of a market.

    ``id`` is what the venue needs to trade it (a Polymarket CLOB token id, or
    ``"yes"``/``"no"`` on Kalshi); ``name`` is the human label ("Los Angeles Lakers").
    """

    id: str = attrs.field(validator=non_empty)
    name: str = attrs.field(converter=shared_text, validator=attrs.validators.instance_of(str))


def _game(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, GameInfo):
        raise ValidationError(f"{attribute.name} must be a GameInfo, not {type(value).__name__}")


@functools.lru_cache(maxsize=4096)
def buy_step(lot: Decimal, cost_increment: Decimal | None, price: Decimal) -> Decimal:
    """The smallest size a buy limited at ``price`` can be a whole number of: the ``lot``,
    or the least multiple of it whose cost at ``price`` is a whole ``cost_increment``.

    >>> buy_step(Decimal("0.01"), Decimal("0.01"), Decimal("0.50"))
    Decimal('0.02')
    >>> buy_step(Decimal("0.01"), Decimal("0.01"), Decimal("0.37"))
    Decimal('1.00')
    """
    if cost_increment is None:
        return lot
    cost = lot * price  # of one lot; the least whole cost is their common multiple
    return lot * int(common_multiple([cost, cost_increment]) / cost)


@attrs.frozen
class Market:
    """A market on one exchange, with everything needed to match and trade it.

    ``fees`` is ``None`` when the venue's fee schedule is unknown: such a market is
    never traded, because assuming zero fees invents edges. ``meta`` keeps the raw
    identifiers and venue fields an adapter needs later (neg-risk flag, event ticker,
    sports fields, rules text); it is read-only and ignored by equality. ``game`` is the
    venue-neutral :class:`~arbkit.games.GameInfo` of a sports market.
    """

    exchange: str = attrs.field(validator=non_empty)
    id: str = attrs.field(validator=non_empty)
    title: str = attrs.field(converter=shared_text, validator=attrs.validators.instance_of(str))
    outcomes: tuple[Outcome, ...] = attrs.field(converter=_outcome_tuple)
    status: MarketStatus = attrs.field(converter=MarketStatus)
    close_time: datetime | None = attrs.field(default=None, validator=aware)
    tick_size: Decimal = attrs.field(default=Decimal("0.01"), converter=as_decimal, validator=probability)
    min_order_size: Decimal = attrs.field(default=ZERO, converter=as_decimal, validator=non_negative)
    fees: FeeSchedule | None = attrs.field(default=None, eq=False)
    event_id: str | None = None
    event_title: str | None = attrs.field(default=None, converter=shared_text)
    start_time: datetime | None = attrs.field(default=None, validator=aware)
    rules: str = ""
    meta: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, eq=False, hash=False, repr=False
    )
    #: Order sizes must be whole multiples of this many contracts (the venue's lot).
    #: Whole contracts by default, which every venue accepts; adapters set a finer
    #: lot where the venue allows it (Polymarket shares to 0.01, Kalshi fractional markets).
    size_increment: Decimal = attrs.field(default=ONE, converter=as_decimal, validator=positive)
    #: Set where the venue expresses a buy that crosses the book as the money it spends, in
    #: whole multiples of this many dollars (Polymarket's marketable orders spend whole cents):
    #: such an order buys exactly ``size`` only when ``size x limit price`` is a whole multiple,
    #: and a few hundredths fewer otherwise, leaving a two-venue set unhedged.
    #: :meth:`buy_step` gives the sizes that are exact. ``None``: every lot is exact.
    cost_increment: Decimal | None = attrs.field(
        default=None, converter=maybe_decimal, validator=attrs.validators.optional(positive)
    )
    #: The least a buy that crosses the book may spend at this venue (size x limit price):
    #: Polymarket refuses a marketable order under $1. Zero: no such minimum.
    min_order_cost: Decimal = attrs.field(default=ZERO, converter=as_decimal, validator=non_negative)
    #: The sports game the market is on, as its adapter reads it (``None`` for any other
    #: market); the sports matcher reads only this. Like ``meta``, ignored by equality.
    game: GameInfo | None = attrs.field(default=None, validator=_game, eq=False, hash=False, repr=False)

    @outcomes.validator
    def _check_outcomes(self, attribute: attrs.Attribute[Any], value: tuple[Outcome, ...]) -> None:
        if not value:
            raise ValidationError("a market needs at least one outcome")
        ids = [o.id for o in value]
        if len(set(ids)) != len(ids):
            raise ValidationError(f"market {self.id!r} has duplicate outcome ids")

    def outcome(self, outcome_id: str) -> Outcome:
        """The outcome with that id; :class:`ValidationError` if there is none."""
        for outcome in self.outcomes:
            if outcome.id == outcome_id:
                return outcome
        raise ValidationError(f"market {self.id!r} has no outcome {outcome_id!r}")

    def buy_step(self, price: Decimal) -> Decimal:
        """The size step of a buy limited at ``price`` that the venue fills exactly: the lot, or
        the least multiple of it whose cost is a whole :attr:`cost_increment`."""
        return buy_step(self.size_increment, self.cost_increment, price)

    def buyable(self, size: Decimal, price: Decimal) -> bool:
        """Whether the venue fills a buy of exactly ``size`` limited at ``price``: a whole
        :meth:`buy_step`, costing at least :attr:`min_order_cost`."""
        return size > ZERO and not size % self.buy_step(price) and size * price >= self.min_order_cost

    @property
    def tradable(self) -> bool:
        """Open, and with a known fee schedule."""
        return self.status is MarketStatus.OPEN and self.fees is not None


@attrs.frozen
class BookLevel:
    """One price level: ``size`` contracts available at ``price``."""

    price: Decimal = attrs.field(converter=as_decimal, validator=probability)
    size: Decimal = attrs.field(converter=as_decimal, validator=positive)


def _levels(value: Iterable[BookLevel | tuple[object, object]]) -> tuple[BookLevel, ...]:
    if type(value) is tuple and all(type(v) is BookLevel for v in value):
        return value  # already levels (a built book, an evolved copy): shared, not copied
    return tuple(v if isinstance(v, BookLevel) else BookLevel(*v) for v in value)


@attrs.frozen
class OrderBook:
    """The book of one outcome: bids best (highest) first, asks best (lowest) first.

    Use :meth:`build` to make one from unsorted levels; the constructor refuses
    levels in the wrong order so that a parser bug cannot pass silently.
    """

    exchange: str = attrs.field(validator=non_empty)
    market_id: str = attrs.field(validator=non_empty)
    outcome_id: str = attrs.field(validator=non_empty)
    bids: tuple[BookLevel, ...] = attrs.field(converter=_levels)
    asks: tuple[BookLevel, ...] = attrs.field(converter=_levels)
    timestamp: datetime = attrs.field(factory=utcnow, validator=aware)
    source: str = "rest"

    @bids.validator
    def _check_bids(self, attribute: attrs.Attribute[Any], value: tuple[BookLevel, ...]) -> None:
        prices = [level.price for level in value]
        if any(a <= b for a, b in itertools.pairwise(prices)):
            raise ValidationError("bids must be strictly descending (best first)")

    @asks.validator
    def _check_asks(self, attribute: attrs.Attribute[Any], value: tuple[BookLevel, ...]) -> None:
        prices = [level.price for level in value]
        if any(a >= b for a, b in itertools.pairwise(prices)):
            raise ValidationError("asks must be strictly ascending (best first)")

    @classmethod
    def build(
        cls,
        exchange: str,
        market_id: str,
        outcome_id: str,
        *,
        bids: Iterable[BookLevel | tuple[object, object]] = (),
        asks: Iterable[BookLevel | tuple[object, object]] = (),
        timestamp: datetime | None = None,
        source: str = "rest",
    ) -> OrderBook:
        """Make a book from levels in any order, merging equal prices.

        The venue's position of a level in its array is never trusted: levels are
        sorted here by price.
        """
        return cls(
            exchange=exchange,
            market_id=market_id,
            outcome_id=outcome_id,
            bids=_merge(_levels(bids), descending=True),
            asks=_merge(_levels(asks), descending=False),
            timestamp=timestamp or utcnow(),
            source=source,
        )

    @property
    def key(self) -> OutcomeKey:
        """``(exchange, market_id, outcome_id)``."""
        return OutcomeKey(self.exchange, self.market_id, self.outcome_id)

    @property
    def best_bid(self) -> BookLevel | None:
        """The highest bid, or ``None`` for an empty side."""
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> BookLevel | None:
        """The lowest ask, or ``None`` for an empty side."""
        return self.asks[0] if self.asks else None

    def age_seconds(self, now: datetime | None = None) -> float:
        """Seconds since the book was fetched (a duration, not money)."""
        return ((now or utcnow()) - self.timestamp).total_seconds()


def _merge(levels: tuple[BookLevel, ...], *, descending: bool) -> tuple[BookLevel, ...]:
    # Levels at distinct prices are kept as they are: a scan builds ~10^5 of them, and
    # re-creating each (and a new size Decimal) doubled the memory a scan's books take.
    merged: dict[Decimal, BookLevel] = {}
    for level in levels:
        seen = merged.get(level.price)
        merged[level.price] = level if seen is None else BookLevel(level.price, seen.size + level.size)
    return tuple(merged[p] for p in sorted(merged, reverse=descending))


def _client_order_id(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and (not value or len(value) > 64 or not value.isprintable()):
        raise ValidationError("client_order_id must be 1-64 printable characters")


@attrs.frozen
class OrderRequest:
    """What to send: buy or sell ``size`` of ``outcome_id`` in ``market`` at ``price`` or better."""

    market: Market
    outcome_id: str = attrs.field(validator=non_empty)
    side: Side = attrs.field(converter=Side)
    price: Decimal = attrs.field(converter=as_decimal, validator=probability)
    size: Decimal = attrs.field(converter=as_decimal, validator=positive)
    time_in_force: TimeInForce = attrs.field(default=TimeInForce.GTC, converter=TimeInForce)
    client_order_id: str | None = attrs.field(default=None, validator=_client_order_id)
    expires_at: datetime | None = attrs.field(default=None, validator=aware)
    #: When the order was first built. A client that signs orders (Polymarket) signs this
    #: time, so re-sending the same request, even from another process, is the same order.
    created_at: datetime | None = attrs.field(default=None, validator=aware)

    def __attrs_post_init__(self) -> None:
        self.market.outcome(self.outcome_id)  # raises on an outcome the market does not have
        if self.time_in_force is TimeInForce.GTD and self.expires_at is None:
            raise ValidationError("a GTD order needs expires_at")

    @property
    def notional(self) -> Decimal:
        """``price * size`` in dollars, before fees."""
        return self.price * self.size


@attrs.frozen
class Order:
    """An order as the exchange reports it, in core units.

    ``raw_status`` keeps the venue's own word; ``status`` is the neutral reading.
    """

    exchange: str = attrs.field(validator=non_empty)
    id: str = attrs.field(validator=non_empty)
    market_id: str = attrs.field(validator=non_empty)
    outcome_id: str = attrs.field(validator=non_empty)
    side: Side = attrs.field(converter=Side)
    price: Decimal = attrs.field(converter=as_decimal, validator=probability)
    size: Decimal = attrs.field(converter=as_decimal, validator=non_negative)
    status: OrderStatus = attrs.field(converter=OrderStatus)
    filled_size: Decimal = attrs.field(default=ZERO, converter=as_decimal, validator=non_negative)
    average_price: Decimal | None = attrs.field(default=None, converter=maybe_decimal, validator=non_negative)
    fees: Decimal = attrs.field(default=ZERO, converter=as_decimal, validator=non_negative)
    client_order_id: str | None = None
    raw_status: str = ""
    created_at: datetime | None = attrs.field(default=None, validator=aware)
    #: Exact dollars the filled part cost, as the venue reported them (Kalshi's fill cost,
    #: Polymarket's matched pUSD amount); ``None`` when the venue gave only an average.
    fill_cost: Decimal | None = attrs.field(default=None, converter=maybe_decimal, validator=non_negative)

    @property
    def remaining_size(self) -> Decimal:
        """Contracts not yet filled (zero once the order is final)."""
        return ZERO if self.status.is_final else max(self.size - self.filled_size, ZERO)

    @property
    def cost(self) -> Decimal:
        """Dollars exchanged for the filled part, before fees (exact when the venue reported it)."""
        if self.fill_cost is not None:
            return self.fill_cost
        return self.filled_size * (self.average_price or ZERO)


@attrs.frozen
class Fill:
    """One execution of an order."""

    exchange: str = attrs.field(validator=non_empty)
    order_id: str = attrs.field(validator=non_empty)
    market_id: str = attrs.field(validator=non_empty)
    outcome_id: str = attrs.field(validator=non_empty)
    side: Side = attrs.field(converter=Side)
    price: Decimal = attrs.field(converter=as_decimal, validator=probability)
    size: Decimal = attrs.field(converter=as_decimal, validator=positive)
    fee: Decimal = attrs.field(default=ZERO, converter=as_decimal, validator=non_negative)
    timestamp: datetime = attrs.field(factory=utcnow, validator=aware)
    fill_id: str | None = None
    is_taker: bool = True


@attrs.frozen
class Balance:
    """Cash on one exchange, in dollars. ``total`` includes what open orders reserve."""

    exchange: str = attrs.field(validator=non_empty)
    available: Decimal = attrs.field(converter=as_decimal)
    total: Decimal | None = attrs.field(default=None, converter=maybe_decimal)
    currency: str = "USD"


@attrs.frozen
class Position:
    """Contracts of one outcome held on one exchange (``size`` > 0 is long)."""

    exchange: str = attrs.field(validator=non_empty)
    market_id: str = attrs.field(validator=non_empty)
    outcome_id: str = attrs.field(validator=non_empty)
    size: Decimal = attrs.field(converter=as_decimal)
    average_price: Decimal | None = attrs.field(default=None, converter=maybe_decimal, validator=non_negative)
    cost: Decimal | None = attrs.field(default=None, converter=maybe_decimal)

    @property
    def key(self) -> OutcomeKey:
        """``(exchange, market_id, outcome_id)``: the book and the trade legs of these contracts."""
        return OutcomeKey(self.exchange, self.market_id, self.outcome_id)


def _payouts(value: Mapping[str, object] | None) -> Mapping[str, Decimal]:
    return MappingProxyType({k: to_decimal(v, field=f"payout[{k}]") for k, v in (value or {}).items()})


@attrs.frozen
class Resolution:
    """How a market resolved: the dollars one contract of each outcome pays.

    ``payouts`` maps outcome id to the per-contract payout (1 for the winner, 0 for
    losers, 0.5 each in a 50-50 split). A void market may refund at a venue-given
    value; when the venue gives none, ``payouts`` is empty and the state is ``VOID``.
    """

    exchange: str = attrs.field(validator=non_empty)
    market_id: str = attrs.field(validator=non_empty)
    state: ResolutionState = attrs.field(converter=ResolutionState)
    payouts: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_payouts, eq=False, hash=False)
    resolved_at: datetime | None = attrs.field(default=None, validator=aware)
    raw_result: str = ""

    @payouts.validator
    def _check_payouts(self, attribute: attrs.Attribute[Any], value: Mapping[str, Decimal]) -> None:
        for outcome_id, payout in value.items():
            if not ZERO <= payout <= ONE:
                raise ValidationError(f"payout for {outcome_id!r} must be within [0, 1], got {payout}")

    def payout(self, outcome_id: str) -> Decimal | None:
        """Per-contract payout of that outcome, or ``None`` while unknown."""
        if self.state is ResolutionState.PENDING:
            return None
        return self.payouts.get(outcome_id)

    def result(self, outcome_id: str) -> OutcomeResult:
        """Won / lost / void / 50-50 / pending for one outcome."""
        if self.state is ResolutionState.PENDING:
            return OutcomeResult.PENDING
        if self.state is ResolutionState.VOID:
            return OutcomeResult.VOID
        payout = self.payouts.get(outcome_id)
        if payout is None:
            return OutcomeResult.PENDING
        if payout == ONE:
            return OutcomeResult.WON
        if payout == ZERO:
            return OutcomeResult.LOST
        return OutcomeResult.FIFTY_FIFTY
