"""What the engine finds and the trading systems execute: an :class:`Opportunity` and its legs.

An opportunity buys a complete set of mutually exclusive, exhaustive outcomes
(YES on one venue and NO on the other, or home/draw/away across venues) in equal
contract counts, so exactly one leg pays $1 per contract whatever happens. The
profit is known at detection time: ``payout - cost - fees``.

All amounts are ``Decimal``. Instances are frozen and carry the books'
timestamps, so a stale opportunity can be refused before any order is sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from arbkit.errors import ValidationError
from arbkit.models import Market, OutcomeKey, Side, to_decimal, utcnow

if TYPE_CHECKING:
    from arbkit.engine.matching import MarketMatch

__all__ = ["Leg", "Opportunity"]

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _dec(value: object) -> Decimal:
    if type(value) is Decimal and value.is_finite():  # what the engine passes: nothing to convert
        return value
    return to_decimal(value, field="amount")


def _side(value: str) -> Side:
    return value if type(value) is Side else Side(value)


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: Decimal) -> None:
    if value < ZERO:
        raise ValidationError(f"{attribute.name} must not be negative, got {value}")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: Decimal) -> None:
    if value <= ZERO:
        raise ValidationError(f"{attribute.name} must be positive, got {value}")


def _probability(instance: object, attribute: attrs.Attribute[Any], value: Decimal) -> None:
    if not ZERO < value < Decimal(1):
        raise ValidationError(f"{attribute.name} must be inside (0, 1), got {value}")


@attrs.frozen
class Leg:
    """One order of an opportunity: ``side`` ``size`` contracts of ``outcome_id`` on ``market``.

    ``limit_price`` is the worst price the size walks to in the book (the order's
    limit); ``cost`` is what the size costs walking the levels (before fees) and
    ``fee`` the venue's fee for it.
    """

    market: Market
    outcome_id: str
    side: Side = attrs.field(converter=_side)
    limit_price: Decimal = attrs.field(converter=_dec, validator=_probability)
    size: Decimal = attrs.field(converter=_dec, validator=_positive)
    cost: Decimal = attrs.field(converter=_dec, validator=_non_negative)
    fee: Decimal = attrs.field(converter=_dec, validator=_non_negative)
    book_timestamp: datetime = attrs.field(factory=utcnow)

    def __attrs_post_init__(self) -> None:
        self.market.outcome(self.outcome_id)

    @property
    def exchange(self) -> str:
        """The venue of this leg."""
        return self.market.exchange

    @property
    def key(self) -> OutcomeKey:
        """``(exchange, market_id, outcome_id)``: the book this leg walks."""
        return OutcomeKey(self.market.exchange, self.market.id, self.outcome_id)

    @property
    def average_price(self) -> Decimal:
        """``cost / size``: the mean fill price expected."""
        return self.cost / self.size

    @property
    def reserve(self) -> Decimal:
        """What the venue holds back from the balance for this leg's order.

        The order is checked at its limit: ``limit_price x size`` plus the fee at the limit
        (or the fills' own fee when higher; :func:`arbkit.engine.sizing.order_reserve`), and never
        less than ``cost + fee``. Balances are checked against this, not the walked cost, so
        a venue never refuses the second leg for balance after the first filled.
        """
        from arbkit.engine.sizing import order_reserve

        return max(
            self.cost + self.fee,
            order_reserve(self.market.fees, self.limit_price, self.size, fill_fee=self.fee),
        )

    @property
    def outcome_name(self) -> str:
        """The human name of the outcome bought."""
        return self.market.outcome(self.outcome_id).name


def _legs(value: Iterable[Leg]) -> tuple[Leg, ...]:
    return tuple(value)


@attrs.frozen
class Opportunity:
    """A set of legs whose guaranteed payout exceeds their cost plus fees.

    ``roi_percent`` is profit over money committed (cost + fees), in percent, as
    PolyMix reported it.
    """

    legs: tuple[Leg, ...] = attrs.field(converter=_legs)
    payout: Decimal = attrs.field(converter=_dec, validator=_non_negative)
    title: str = ""
    match: MarketMatch | None = attrs.field(default=None, eq=False)
    detected_at: datetime = attrs.field(factory=utcnow)
    kind: str = "binary"

    @legs.validator
    def _check_legs(self, attribute: attrs.Attribute[Any], value: tuple[Leg, ...]) -> None:
        if len(value) < 2:
            raise ValidationError("an opportunity needs at least two legs")
        sizes = {leg.size for leg in value}
        if len(sizes) != 1:
            raise ValidationError("legs must be sized in equal contracts")

    @property
    def size(self) -> Decimal:
        """Contracts per leg."""
        return self.legs[0].size

    @property
    def cost(self) -> Decimal:
        """Dollars paid for all legs, before fees."""
        return sum((leg.cost for leg in self.legs), ZERO)

    @property
    def fees(self) -> Decimal:
        """Dollars of fees for all legs."""
        return sum((leg.fee for leg in self.legs), ZERO)

    @property
    def total_cost(self) -> Decimal:
        """Cost plus fees: the money committed."""
        return self.cost + self.fees

    @property
    def profit(self) -> Decimal:
        """Guaranteed payout minus cost and fees."""
        return self.payout - self.total_cost

    @property
    def reserve(self) -> Decimal:
        """What the venues hold back for all legs' orders (see :attr:`Leg.reserve`)."""
        return sum((leg.reserve for leg in self.legs), ZERO)

    @property
    def roi_percent(self) -> Decimal:
        """Profit over money committed, in percent."""
        if self.total_cost == ZERO:
            return ZERO
        return self.profit / self.total_cost * HUNDRED

    @property
    def oldest_book(self) -> datetime:
        """The timestamp of the stalest book a leg was priced from."""
        return min(leg.book_timestamp for leg in self.legs)

    @property
    def exchanges(self) -> tuple[str, ...]:
        """The venues involved, in leg order."""
        return tuple(leg.exchange for leg in self.legs)

    @property
    def key(self) -> str:
        """A stable id of *what* is bought (markets, outcomes, sides), independent of prices.

        Two detections of the same arbitrage in consecutive scans share a key.
        """
        text = "|".join(f"{leg.exchange}:{leg.market.id}:{leg.outcome_id}:{leg.side}" for leg in self.legs)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
