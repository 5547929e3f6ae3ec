"""Depth-aware sizing of a complete set: how many contracts of every leg to buy, exactly.

Every leg of a set is bought in the same number of contracts ``S`` (exactly one leg
pays $1 per contract, so the payout is ``S``). :func:`size_set` returns the **most
profitable feasible** ``S``: among the sizes that

* are a whole number of every venue's lot (``Market.size_increment``) and at least
  every venue's ``min_order_size``, and cost a whole ``Market.cost_increment`` at each
  limit price where a venue has one (:meth:`Market.buy_step`: such a venue spends money in
  whole cents, and an order whose cost is not whole buys a few hundredths fewer than the
  other legs) and at least its ``Market.min_order_cost``,
* the books can fill,
* keep the money committed (cost + fees) within the budget,
* keep what each venue *reserves* for the orders (limit price x size + the fee at the
  limit price, :func:`order_reserve`) within that venue's balance, so the second leg
  is never refused for balance after the first filled,
* pay a positive profit at an ROI at or above the minimum,

the one with the largest exact profit (ties: the smaller size, the higher ROI). Cost is
priced level by level and each venue's fee through ``FeeSchedule.order_fee`` (one order
per leg, so Kalshi rounds once per order). All arithmetic is ``Decimal``.

How it searches: without per-order rounding, profit is a concave function of ``S``
(the ladders are sorted best first, so each extra contract costs at least as much as
the one before), and money committed only grows with ``S``. Rounding moves each leg's
fee by a known slack (nothing below the unrounded fee for Kalshi's round-up, half a
``quantum`` per fill for Polymarket's per-fill rounding). So the search

1. rejects at once a set whose first contract, at the best asks plus the unrounded fee
   rates, costs $1 or more (the profit can then only fall, and the slack cannot lift
   the smallest size above zero): most matched pairs end here;
2. walks the ladders together, level boundary by level boundary, to where the unrounded
   profit peaks (the first boundary past which one more contract costs $1 or more) or,
   first, to where a cap, the books or the ROI stop allowing a larger size even with the
   slack (solved within that stretch, where every bound is linear in the size);
3. walks away from the peak on both sides, pricing exactly every size whose unrounded
   profit plus the slack of the fills it walks could still beat the best exact profit
   found so far, and stops on each side at the first that cannot (upwards: that cannot
   even with the whole ladders' slack; a size short of it skips to the next level
   boundary, where the slack grows). At most :data:`MAX_EXACT_CANDIDATES` sizes are priced
   in all, which only a plateau of near-zero marginal profit reaches; past that the best
   found so far is returned.

Each ladder is prepared level by level only as far as the search reads it: cumulative
size, cost, unrounded money and (for :class:`~arbkit.engine.fees.QuadraticFee` and
:class:`~arbkit.engine.fees.PowerFee`, whose formulas are known exactly) the fee before each
level, so a size is priced exactly in ``O(log levels)`` with one rounding per leg. Any
other schedule is priced through its own ``order_fee`` on the walked fills.

A size that fails a cap by a cent of fee rounding is therefore never the answer, but
the next size down is still found; and a minimum order above the point where the
marginal contract stops paying is still bought when the whole order pays.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

import attrs

from arbkit.engine.fees import FeeSchedule, NoFees, PowerFee, QuadraticFee
from arbkit.models import BookLevel, Market
from arbkit.values import common_multiple

__all__ = [
    "MAX_EXACT_CANDIDATES",
    "LegQuote",
    "LegSize",
    "SetSize",
    "common_lot",
    "order_reserve",
    "size_set",
    "walk_asks",
]

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
_RATE_PROBE = Decimal(1_000_000)
#: Rounding slack assumed per fill for a fee schedule that does not say its ``quantum``.
DEFAULT_FEE_QUANTUM = Decimal("0.01")
#: The most sizes :func:`size_set` prices exactly for one set of legs.
MAX_EXACT_CANDIDATES = 4096


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
    """The exact price of one leg at the chosen size.

    ``cost`` and ``fee`` are what the fills cost (walked level by level); ``reserve`` is
    what the venue holds back from the balance for the order (:func:`order_reserve`; sized
    without balances, it is left at ``cost + fee``).
    """

    cost: Decimal
    fee: Decimal
    limit_price: Decimal
    reserve: Decimal = ZERO


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
    return common_multiple(increments)


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


def order_reserve(
    fees: FeeSchedule | None, limit_price: Decimal, size: Decimal, *, fill_fee: Decimal = ZERO
) -> Decimal:
    """What a venue holds back from the balance for a buy of ``size`` at ``limit_price``.

    Both venues check the order against the balance at its limit, not at the prices it
    will fill at: Kalshi reserves cash for the order's price times its count plus the fee
    (kalshi.md 3.3: "resting buy orders reserve cash"), and the Polymarket CLOB checks the
    order's pUSD maker amount (limit x shares) with the taker fee budgeted on top
    (polymarket.md 5.5, 7: "budget notional + fee"). The fee is priced at the limit; where
    the fills' own fee is higher (a quadratic fee peaks at 0.50) that is used instead.
    UNCERTAIN: neither reference states the exact reserve formula; this is the larger of
    the plausible ones, so an order sized against it is never refused for balance.
    """
    limit_fee = ZERO if fees is None else fees.fee(limit_price, size)
    return limit_price * size + max(limit_fee, fill_fee)


#: Probed fee rates per schedule object, keyed by ``id`` (the schedule is kept alive with its
#: table, so an id is never reused while cached): hashing an attrs schedule on every lookup
#: cost more than the sizing itself. Only schedules whose formula is not known are probed.
_rate_tables: dict[int, tuple[FeeSchedule, dict[Decimal, Decimal]]] = {}


def _fee_rate(fees: FeeSchedule, price: Decimal) -> Decimal:
    """Fee per contract at ``price`` before per-order rounding (probed on a large order)."""
    entry = _rate_tables.get(id(fees))
    if entry is None or entry[0] is not fees:
        if len(_rate_tables) > 1_000:
            _rate_tables.clear()
        entry = _rate_tables[id(fees)] = (fees, {})
    table = entry[1]
    rate = table.get(price)
    if rate is None:
        rate = fees.fee(price, _RATE_PROBE) / _RATE_PROBE
        if len(table) > 100_000:
            table.clear()
        table[price] = rate
    return rate


def _quantum(fees: FeeSchedule) -> Decimal:
    quantum = getattr(fees, "quantum", None)
    if not isinstance(quantum, Decimal) or quantum < ZERO:
        quantum = DEFAULT_FEE_QUANTUM
    return quantum


def _slack(fees: FeeSchedule, levels: int) -> Decimal:
    """How far below its unrounded value rounding can bring a leg's fee, at most.

    Kalshi's fee (:class:`QuadraticFee`) is rounded *up* once per order: never below. A
    per-fill fee rounded half-even (:class:`PowerFee`) can lose half a quantum per fill.
    Any other schedule: a whole quantum (or a cent) per fill.
    """
    if isinstance(fees, NoFees | QuadraticFee):
        return ZERO
    if isinstance(fees, PowerFee):
        return _quantum(fees) / 2 * levels
    return _quantum(fees) * (levels + 1)


_NO_FEE, _QUADRATIC, _POWER, _OTHER = 0, 1, 2, 3

_Terms = tuple[int, Decimal, int, Decimal, Decimal, Decimal, Decimal]

#: :func:`_terms` per schedule object, keyed by ``id`` (the schedule is kept alive with them).
_terms_cache: dict[int, tuple[FeeSchedule, _Terms]] = {}


def _terms(fees: FeeSchedule) -> _Terms:
    """``(kind, rate, exponent, quantum, slack per level, slack once, probe)`` of a schedule.

    ``rate`` is ``rate x multiplier`` for a quadratic fee (the product ``QuadraticFee._raw``
    starts with); a ladder of ``n`` levels gets the slack ``per level x n + once``
    (:func:`_slack`).
    """
    entry = _terms_cache.get(id(fees))
    if entry is not None and entry[0] is fees:
        return entry[1]
    kind = type(fees)
    found: _Terms
    if kind is QuadraticFee:
        rate = fees.rate * fees.multiplier  # type: ignore[attr-defined]
        found = (_QUADRATIC, rate, 1, fees.quantum, ZERO, ZERO, ZERO)  # type: ignore[attr-defined]
    elif kind is PowerFee:
        per_level = _slack(fees, 1)
        found = (_POWER, fees.rate, fees.exponent, fees.quantum, per_level, ZERO, ZERO)  # type: ignore[attr-defined]
    elif kind is NoFees:
        found = (_NO_FEE, ZERO, 1, DEFAULT_FEE_QUANTUM, ZERO, ZERO, ZERO)
    else:
        once = _slack(fees, 0)
        per_level = _slack(fees, 1) - once
        found = (_OTHER, ZERO, 1, _quantum(fees), per_level, once, _quantum(fees) / _RATE_PROBE)
    if len(_terms_cache) > 1_000:
        _terms_cache.clear()
    _terms_cache[id(fees)] = (fees, found)
    return found


#: One prepared level: contracts before it, price, the fee formula's price factor, exact cost
#: and fee (for a quadratic fee: unrounded) of everything before it, unrounded money (cost +
#: fee rate) before it, and its unit (price + fee rate).
_Level = tuple[Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]


class _Ladder:
    """One leg's ask ladder prepared for pricing a size in ``O(log levels)``, level by level
    as far as it is read (most searches never look past the first level or two).

    For :class:`QuadraticFee`, :class:`PowerFee` and :class:`NoFees` (exact types: a
    subclass may change the formula) the exact fee is computed here in the same order of
    operations as the schedule's ``order_fee`` on the walked fills, so the figures are
    identical to walking them; any other schedule is asked through ``order_fee`` and its
    unrounded rate is probed (:func:`_fee_rate`), off by at most ``probe`` per contract.
    """

    __slots__ = ("_cost", "_end", "_fee", "_money", "asks", "ends", "exponent", "fees", "kind",
                 "levels", "once", "per_level", "probe", "quantum", "rate", "slack")  # fmt: skip

    def __init__(self, asks: tuple[BookLevel, ...], fees: FeeSchedule) -> None:
        self.asks = asks
        self.fees = fees
        self.kind, self.rate, self.exponent, self.quantum, per_level, once, self.probe = _terms(fees)
        self.per_level = per_level
        self.once = once
        self.slack = per_level * len(asks) + once if per_level or once else ZERO
        self.ends: list[Decimal] = []  # contracts up to the end of each level
        self.levels: list[_Level] = []
        self._end = self._cost = self._fee = self._money = ZERO
        self.extend()

    def extend(self) -> bool:
        """Prepare one more level; ``False`` when the ladder has none left.

        The exact fee of a whole level is added only when the level after it is prepared
        (most sizes end in the first level, so its fee is never needed whole).
        """
        index = len(self.ends)
        if index == len(self.asks):
            return False
        kind = self.kind
        if index and kind != _NO_FEE and kind != _OTHER:
            _, before_price, before_factor, _, _, _, _ = self.levels[-1]
            before_size = self.asks[index - 1].size
            if kind == _QUADRATIC:
                # QuadraticFee._raw: rate x multiplier x C x P x (1 - P), summed, rounded once.
                self._fee += self.rate * before_size * before_price * (ONE - before_price)
            else:
                # PowerFee.fee: C x rate x (P x (1 - P)) ** exponent, rounded per fill.
                whole = before_size * self.rate * before_factor
                self._fee += whole.quantize(self.quantum, rounding=ROUND_HALF_EVEN)
        level = self.asks[index]
        price = level.price
        size = level.size
        if kind == _QUADRATIC:
            factor = price
            rate = self.rate * price * (ONE - price)
        elif kind == _POWER:
            factor = (price * (ONE - price)) ** self.exponent
            rate = self.rate * factor
        elif kind == _NO_FEE:
            factor = rate = ZERO
        else:
            factor = ZERO
            rate = _fee_rate(self.fees, price)
        unit = price + rate
        self.levels.append((self._end, price, factor, self._cost, self._fee, self._money, unit))
        self._end += size
        self.ends.append(self._end)
        self._cost += price * size
        self._money += size * unit
        return True

    def locate(self, size: Decimal) -> int:
        """The index of the level the ``size``-th contract is bought at; ``-1`` past the depth."""
        ends = self.ends
        while size > ends[-1]:
            if not self.extend():
                return -1
        return bisect.bisect_left(ends, size)

    def exact(self, index: int, size: Decimal, reserve: bool) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """``(cost, fee, limit price, reserve)`` of buying ``size`` (its last level at ``index``).

        Without ``reserve`` the reserve is left at ``cost + fee``.
        """
        begin, price, factor, cost, fee, _, _ = self.levels[index]
        take = size - begin
        cost += price * take
        kind = self.kind
        limit_fee = ZERO
        if kind == _QUADRATIC:
            rate = self.rate
            fee = (fee + rate * take * price * (ONE - price)).quantize(self.quantum, rounding=ROUND_CEILING)
            if reserve:
                limit_fee = (rate * size * price * (ONE - price)).quantize(
                    self.quantum, rounding=ROUND_CEILING
                )
        elif kind == _POWER:
            fee += (take * self.rate * factor).quantize(self.quantum, rounding=ROUND_HALF_EVEN)
            if reserve:
                limit_fee = (size * self.rate * factor).quantize(self.quantum, rounding=ROUND_HALF_EVEN)
        elif kind == _OTHER:
            fills, cost = walk_asks(self.asks, size)
            fee = self.fees.order_fee(fills)
            if reserve:
                limit_fee = self.fees.fee(price, size)
        committed = cost + fee
        if not reserve:
            return cost, fee, price, committed
        # order_reserve(fees, price, size, fill_fee=fee), never below cost + fee.
        return cost, fee, price, max(committed, price * size + max(limit_fee, fee))


#: ``(lot, smallest number of lots)`` per set of ``(size_increment, min_order_size)``.
_lot_cache: dict[tuple[tuple[Decimal, Decimal], ...], tuple[Decimal, int]] = {}


def _lot_and_lowest(markets: Sequence[Market]) -> tuple[Decimal, int]:
    key = tuple((m.size_increment, m.min_order_size) for m in markets)
    found = _lot_cache.get(key)
    if found is None:
        lot = common_lot([increment for increment, _ in key])
        minimum = max(max(smallest for _, smallest in key), lot)
        lowest = int((minimum / lot).to_integral_value(rounding=ROUND_CEILING))
        if len(_lot_cache) > 10_000:
            _lot_cache.clear()
        found = _lot_cache[key] = (lot, lowest)
    return found


def _next_buyable(
    size: Decimal,
    lot: Decimal,
    step: int,
    legs: Sequence[tuple[int, int]],
    ladders: Sequence[_Ladder],
    markets: Sequence[Market],
) -> int | None:
    """``None`` when every leg of ``legs`` (``(leg, level index)``) can buy ``size`` at its limit
    price as its venue takes a crossing buy: exactly (:meth:`Market.buy_step`) and for at least
    :attr:`Market.min_order_cost`. Otherwise the number of lots to look at next in the direction
    of ``step``: every size before it fails the same leg (``0`` when every smaller size does).
    """
    for i, index in legs:
        market = markets[i]
        begin, price = ladders[i].levels[index][:2]
        end = ladders[i].ends[index]
        if size * price < market.min_order_cost:
            if step < 0:  # the limit price only falls with the size: every smaller one costs less
                return 0
            least = (market.min_order_cost / price / lot).to_integral_value(rounding=ROUND_CEILING)
            return min(int(least), int(end / lot) + 1)
        unit = market.buy_step(price)
        if not size % unit:
            continue
        unit = _common_step(lot, unit)  # the sizes that are whole lots and exact at this price
        if step < 0:  # the next exact size below, or the level below's last size
            return max(int((size // unit) * unit / lot), int(begin / lot))
        above = ((size // unit) + 1) * unit
        return min(int(above / lot), int(end / lot) + 1)
    return None


@functools.lru_cache(maxsize=1024)
def _common_step(lot: Decimal, unit: Decimal) -> Decimal:
    return common_multiple([lot, unit])


def _largest(low: int, high: int, ok: Callable[[int], bool]) -> int | None:
    """The largest ``k`` in ``[low, high]`` with ``ok(k)``, for ``ok`` true up to a point then false."""
    if high < low or not ok(low):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        if ok(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _settle(guess: int, low: int, high: int, ok: Callable[[int], bool]) -> int | None:
    """:func:`_largest`, starting from a ``guess`` that is usually right or one off."""
    if high < low:
        return None
    guess = min(max(guess, low), high)
    if ok(guess):
        if guess == high or not ok(guess + 1):
            return guess
        return _largest(guess + 1, high, ok)
    if guess == low:
        return None
    if ok(guess - 1):
        return guess - 1
    return _largest(low, guess - 2, ok)


def size_set(
    quotes: Sequence[LegQuote],
    *,
    budget: Decimal | None,
    min_roi_percent: Decimal,
    balances: Mapping[str, Decimal] | None = None,
) -> SetSize | None:
    """The most profitable feasible equal-contract size for buying every leg, or ``None``.

    ``budget`` caps the money committed (cost + fees) in dollars; ``balances`` caps what
    each exchange reserves for its legs' orders (:func:`order_reserve`; an exchange missing
    from ``balances`` has nothing to spend). Returns ``None`` when no size pays a positive
    profit at ``min_roi_percent`` or more within the venues' minimums, lots and balances.
    """
    if not quotes or any(not q.asks for q in quotes):
        return None
    return _size_ladders(
        [_Ladder(q.asks, q.fees) for q in quotes],
        [q.market for q in quotes],
        budget=budget,
        min_roi_percent=min_roi_percent,
        balances=balances,
    )


def _size_ladders(
    ladders: Sequence[_Ladder],
    markets: Sequence[Market],
    *,
    budget: Decimal | None,
    min_roi_percent: Decimal,
    balances: Mapping[str, Decimal] | None,
) -> SetSize | None:
    """:func:`size_set` on prepared, non-empty ladders (one per market; a ladder may be
    shared by several calls: preparing more of it changes no figure)."""
    lot, lowest = _lot_and_lowest(markets)
    slacks = [ladder.slack for ladder in ladders]
    slack = sum(slacks, ZERO)
    probe = sum((ladder.probe for ladder in ladders), ZERO)

    # 1. The first contract at the best asks and the unrounded fee rates: at $1 or more, the
    #    unrounded profit only falls from zero, and the slack cannot lift the smallest size.
    first = sum((ladder.levels[0][6] for ladder in ladders), ZERO)
    if first >= ONE and lowest * lot * (ONE - first + probe) + slack <= ZERO:
        return None

    caps: list[tuple[Decimal, tuple[int, ...], bool]] = []  # (limit, legs, on reserves)
    if budget is not None:
        caps.append((budget, tuple(range(len(markets))), False))
    if balances is not None:
        for exchange in sorted({m.exchange for m in markets}):
            members = tuple(i for i, m in enumerate(markets) if m.exchange == exchange)
            caps.append((balances.get(exchange, ZERO), members, True))
    rate = ONE + min_roi_percent / HUNDRED

    def exceeds(size: Decimal, money: Sequence[Decimal], units: Sequence[Decimal]) -> list[Decimal]:
        """How far each bound is exceeded at ``size`` (a size may pass only if none is positive).

        Each bound holds for every size an exact check would pass (the unrounded figures less
        every leg's rounding slack), and only tightens as the size grows.
        """
        off = size * probe
        found = []
        for limit, members, on_reserve in caps:
            spent = -off - limit
            for i in members:
                figure = money[i]
                if on_reserve:
                    held = size * units[i]
                    if held > figure:
                        figure = held
                spent += figure - slacks[i]
            found.append(spent)
        found.append((sum(money, ZERO) - slack - off) * rate - size)  # the ROI
        return found

    def figures(size: Decimal) -> tuple[list[int], list[Decimal], list[Decimal]] | None:
        """Per leg the level index, unrounded money and unit at ``size``; ``None`` past the depth."""
        indexes = []
        money = []
        units = []
        for ladder in ladders:
            index = ladder.locate(size)
            if index < 0:
                return None
            begin, _, _, _, _, before, unit = ladder.levels[index]
            indexes.append(index)
            money.append(before + (size - begin) * unit)
            units.append(unit)
        return indexes, money, units

    def may_pass(lots: int) -> bool:
        size = lots * lot
        found = figures(size)
        return found is not None and max(exceeds(size, found[1], found[2])) <= ZERO

    # 2. Walk the ladders together, one stretch between level boundaries at a time: every
    #    figure is linear in the size within a stretch. Stop where the unrounded profit peaks
    #    (the stretch costs $1 or more per contract), where a bound is exceeded first (the
    #    largest size it allows is then in this stretch), or at the depth of the books.
    at = [0] * len(ladders)
    start = ZERO
    top: int | None = None
    while True:
        levels = [ladder.levels[at[i]] for i, ladder in enumerate(ladders)]
        units = [level[6] for level in levels]
        if sum(units, ZERO) >= ONE:
            break
        end = min(ladder.ends[at[i]] for i, ladder in enumerate(ladders))
        over_end = exceeds(end, [level[5] + (end - level[0]) * level[6] for level in levels], units)
        if max(over_end) > ZERO:
            over_start = exceeds(start, [level[5] + (start - level[0]) * level[6] for level in levels], units)
            guess = end
            for low, high in zip(over_start, over_end, strict=True):
                if high > ZERO:
                    guess = min(guess, start if low >= ZERO else start + (end - start) * -low / (high - low))
            # Every bound is linear within the stretch and the divisions round to nearest,
            # so ``guess`` never falls below the true crossing: one lot more always fails,
            # and only a guess one lot too far (or a reserve at the stretch's start) needs
            # a step back.
            top = int(guess / lot)
            if top < lowest:
                return None
            if not may_pass(top):
                top = _settle(top - 1, lowest, top - 1, may_pass)
                if top is None:
                    return None
            break
        exhausted = False
        for i, ladder in enumerate(ladders):
            if ladder.ends[at[i]] == end:
                at[i] += 1
                if at[i] == len(ladder.ends) and not ladder.extend():
                    exhausted = True
        if exhausted:  # the depth: every bound holds there and the profit still rises
            top = int(end / lot)
            if top < lowest:
                return None
            break
        start = end

    if top is not None:  # capped: the unrounded profit rises all the way to the top
        peak = top
    else:  # the peak is at ``start``, or the next lot
        peak = max(int(start / lot), lowest)
        here = figures(peak * lot)
        if here is None:  # the smallest order is deeper than the books
            return None
        after = figures((peak + 1) * lot)
        if after is not None and lot - sum(after[1], ZERO) + sum(here[1], ZERO) > ZERO:
            peak += 1
            here = after
        if max(exceeds(peak * lot, here[1], here[2])) > ZERO:
            top = _settle(peak - 1, lowest, peak - 1, may_pass)
            if top is None:
                return None
            peak = top

    # 3. Every size that could still beat the best: its unrounded profit plus the slack is
    #    above the best exact profit so far. Walking away from the peak on each side, the
    #    unrounded profit only falls, so the first size that cannot beat ends that side.
    #    The slack of a size is that of the fills it walks (``per level x (index + 1) + once``
    #    per leg), at most the whole ladders' ``slack``. Downwards both only fall, so the first
    #    size that cannot beat ends that side. Upwards a size's own slack can grow again past a
    #    level boundary: a size that cannot beat with its own slack skips to the next boundary,
    #    and the side ends at the first size that cannot beat even with the whole slack. (A
    #    schedule priced through a probed rate, ``probe``, always uses the whole slack.)
    with_reserve = balances is not None
    best: tuple[Decimal, list[tuple[Decimal, Decimal, Decimal, Decimal]]] | None = None
    best_profit = ZERO
    budget_left = MAX_EXACT_CANDIDATES
    count = len(ladders)
    tight = not probe and slack > ZERO
    once = sum((ladder.once for ladder in ladders), ZERO)
    constrained = [i for i, m in enumerate(markets) if m.cost_increment is not None or m.min_order_cost]
    for lots, step in ((peak, 1), (peak - 1, -1)):
        while budget_left > 0 and lots >= lowest and (top is None or lots <= top):
            size = lots * lot
            bound = size + size * probe if probe else size
            own = once
            indexes = []
            for ladder in ladders:
                ends = ladder.ends
                index = bisect.bisect_left(ends, size) if size <= ends[-1] else ladder.locate(size)
                if index < 0:
                    break
                begin, _, _, _, _, before, unit = ladder.levels[index]
                bound -= before + (size - begin) * unit
                if tight and ladder.per_level:
                    own += ladder.per_level * (index + 1)
                indexes.append(index)
            if len(indexes) < count:
                break
            whole = bound + slack
            # A smaller size that only ties the best still wins the tie: it must be priced.
            if whole < best_profit or whole <= ZERO or (step > 0 and whole == best_profit):
                break
            if top is None and lots > peak and not may_pass(lots):
                break
            if tight:
                near = bound + own
                if near < best_profit or near <= ZERO or (step > 0 and near == best_profit):
                    if step < 0:
                        break
                    # Up to the next level boundary the size's own slack stays and its
                    # unrounded profit only falls (past the peak): none of them can beat.
                    boundary = min(ladder.ends[i] for ladder, i in zip(ladders, indexes, strict=True))
                    lots = max(lots + 1, int(boundary / lot) + 1)
                    continue
            if constrained:
                skip = _next_buyable(
                    size, lot, step, [(i, indexes[i]) for i in constrained], ladders, markets
                )
                if skip is not None:
                    lots = skip
                    continue
            budget_left -= 1
            lots += step
            priced = [ladder.exact(i, size, with_reserve) for ladder, i in zip(ladders, indexes, strict=True)]
            total = ZERO
            for cost, fee, _, _ in priced:
                total += cost + fee
            profit = size - total
            if profit <= ZERO or profit * HUNDRED < min_roi_percent * total:
                continue
            if best is not None and (profit < best_profit or (profit == best_profit and size >= best[0])):
                continue
            for limit, members, on_reserve in caps:
                spent = ZERO
                for i in members:
                    leg = priced[i]
                    spent += leg[3] if on_reserve else leg[0] + leg[1]
                if spent > limit:
                    break
            else:
                best, best_profit = (size, priced), profit
    if best is None:
        return None
    return SetSize(
        size=best[0],
        legs=tuple([LegSize(cost=c, fee=f, limit_price=p, reserve=r) for c, f, p, r in best[1]]),
    )
