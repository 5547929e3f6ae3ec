"""Depth-aware sizing of a complete set: how many contracts of every leg to buy, exactly.

Every leg of a set is bought in the same number of contracts ``S`` (exactly one leg
pays $1 per contract, so the payout is ``S``). Walking the ask ladders together,
each extra contract costs ``sum(ask_i + marginal fee_i)``: the ladders are sorted
best first, so this marginal cost only rises, and profit ``S - cost(S) - fees(S)``
grows while it is below $1. :func:`size_set` finds the largest ``S`` that

* stays where the marginal contract still earns something after fees,
* is a whole number of every venue's lot (``Market.size_increment``) and at least
  every venue's ``min_order_size``,
* keeps the money committed (cost + fees) within the budget and each venue's balance,
* keeps the ROI at or above the minimum,

then prices it exactly: cost level by level and each venue's fee through
``FeeSchedule.order_fee`` (one order per leg, so Kalshi rounds once per order).
All arithmetic is ``Decimal``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs

from arbkit.fees import FeeSchedule
from arbkit.models import BookLevel, Market

__all__ = ["LegQuote", "LegSize", "SetSize", "common_lot", "size_set", "walk_asks"]

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
_RATE_PROBE = Decimal(1_000_000)


@attrs.frozen
class LegQuote:
    """One leg to size: the ``market`` (lot, minimum, fees), and its ask ladder best first."""

    market: Market
    asks: tuple[BookLevel, ...]

    @property
    def fees(self) -> FeeSchedule:
        """The market's fee schedule (the caller only passes markets whose schedule is known)."""
        assert self.market.fees is not None
        return self.market.fees


@attrs.frozen
class LegSize:
    """The exact price of one leg at the chosen size."""

    cost: Decimal
    fee: Decimal
    limit_price: Decimal


@attrs.frozen
class SetSize:
    """The chosen size (contracts per leg) and each leg's exact cost, fee and limit price."""

    size: Decimal
    legs: tuple[LegSize, ...]

    @property
    def total(self) -> Decimal:
        """Money committed: cost plus fees of every leg."""
        return sum((leg.cost + leg.fee for leg in self.legs), ZERO)

    @property
    def profit(self) -> Decimal:
        """Guaranteed payout (one dollar per contract) minus the money committed."""
        return self.size - self.total


def common_lot(increments: Sequence[Decimal]) -> Decimal:
    """The smallest size that is a whole number of every lot (their least common multiple).

    >>> common_lot([Decimal("0.01"), Decimal("1")])
    Decimal('1')
    """
    exponent = max(-min(int(inc.as_tuple().exponent) for inc in increments), 0)
    scale = Decimal(10) ** exponent
    lcm = 1
    for inc in increments:
        lcm = math.lcm(lcm, int(inc * scale))
    return Decimal(lcm) / scale


def walk_asks(asks: Sequence[BookLevel], size: Decimal) -> tuple[list[tuple[Decimal, Decimal]], Decimal]:
    """The ``(price, size)`` fills that buying ``size`` walks through, and their cost.

    Raises ``ValueError`` when the ladder holds fewer than ``size`` contracts.
    """
    fills: list[tuple[Decimal, Decimal]] = []
    cost = ZERO
    remaining = size
    for level in asks:
        take = level.size if level.size < remaining else remaining
        fills.append((level.price, take))
        cost += level.price * take
        remaining -= take
        if not remaining:
            return fills, cost
    raise ValueError(f"the book holds fewer than {size} contracts")


_rate_cache: dict[tuple[FeeSchedule, Decimal], Decimal] = {}


def _fee_rate(fees: FeeSchedule, price: Decimal) -> Decimal:
    """Fee per contract at ``price`` before per-order rounding (probed on a large order)."""
    try:
        return _rate_cache[fees, price]
    except KeyError:
        pass
    except TypeError:  # an unhashable third-party schedule: compute every time
        return fees.fee(price, _RATE_PROBE) / _RATE_PROBE
    rate = fees.fee(price, _RATE_PROBE) / _RATE_PROBE
    if len(_rate_cache) > 100_000:
        _rate_cache.clear()
    _rate_cache[fees, price] = rate
    return rate


def _upper_bound(quotes: Sequence[LegQuote], caps: Sequence[tuple[Decimal, tuple[int, ...]]]) -> Decimal:
    """Contracts up to which the marginal contract is profitable and every cap has room (approximate).

    Fees here are per-contract rates without per-order rounding; :func:`size_set`
    checks the exact figures afterwards.
    """
    count = len(quotes)
    index = [0] * count
    used = [ZERO] * count
    spent = [ZERO] * len(caps)
    size = ZERO
    while True:
        levels = [quotes[i].asks[index[i]] for i in range(count)]
        unit = [lv.price + _fee_rate(quotes[i].fees, lv.price) for i, lv in enumerate(levels)]
        if sum(unit, ZERO) >= ONE:
            return size
        segment = min(lv.size - used[i] for i, lv in enumerate(levels))
        for c, (limit, members) in enumerate(caps):
            rate = sum((unit[i] for i in members), ZERO)
            room = limit - spent[c]
            if room < rate * segment:
                return size + max(room, ZERO) / rate
        size += segment
        for c, (_, members) in enumerate(caps):
            spent[c] += segment * sum((unit[i] for i in members), ZERO)
        for i, lv in enumerate(levels):
            used[i] += segment
            if used[i] == lv.size:
                index[i] += 1
                used[i] = ZERO
                if index[i] == len(quotes[i].asks):
                    return size


def size_set(
    quotes: Sequence[LegQuote],
    *,
    budget: Decimal | None,
    min_roi_percent: Decimal,
    balances: Mapping[str, Decimal] | None = None,
) -> SetSize | None:
    """The most profitable equal-contract size for buying every leg, or ``None`` if none qualifies.

    ``budget`` caps the money committed (cost + fees) in dollars; ``balances`` caps
    what the legs on each exchange commit (an exchange missing from ``balances``
    has nothing to spend). Returns ``None`` when no size pays a positive profit at
    ``min_roi_percent`` or more within the venues' minimums and lots.
    """
    if any(not q.asks for q in quotes):
        return None
    caps: list[tuple[Decimal, tuple[int, ...]]] = []
    if budget is not None:
        caps.append((budget, tuple(range(len(quotes)))))
    if balances is not None:
        for exchange in sorted({q.market.exchange for q in quotes}):
            members = tuple(i for i, q in enumerate(quotes) if q.market.exchange == exchange)
            caps.append((balances.get(exchange, ZERO), members))
    lot = common_lot([q.market.size_increment for q in quotes])
    minimum = max(max(q.market.min_order_size for q in quotes), lot)
    lowest = int((minimum / lot).to_integral_value(rounding="ROUND_CEILING"))
    highest = int(_upper_bound(quotes, caps) / lot)
    if highest < lowest:
        return None

    def price(lots: int) -> SetSize | None:
        size = lots * lot
        legs = []
        for q in quotes:
            fills, cost = walk_asks(q.asks, size)
            legs.append(LegSize(cost=cost, fee=q.fees.order_fee(fills), limit_price=fills[-1][0]))
        result = SetSize(size=size, legs=tuple(legs))
        total = result.total
        profit = size - total
        if profit <= ZERO or profit * HUNDRED < min_roi_percent * total:
            return None
        for limit, members in caps:
            if sum((legs[i].cost + legs[i].fee for i in members), ZERO) > limit:
                return None
        return result

    best = price(highest)
    if best is not None:
        return best
    found = price(lowest)
    if found is None:
        return None
    # Cost and ROI move one way with size (up to fee rounding): bisect for the largest size that passes.
    low, high = lowest, highest
    while high - low > 1:
        middle = (low + high) // 2
        candidate = price(middle)
        if candidate is None:
            high = middle
        else:
            low, found = middle, candidate
    return found
