"""Flattening a trade: selling back every contract it holds, at the venues' best bids, within a loss bound.

:func:`plan_flatten` is the pure part both trading systems share: from the trade's record,
its markets and the current books, it prices the sell-back and fixes each leg's worst
acceptable price so that even if every order fills entirely at its limit, the loss on the
contracts sold (what they cost with fees, less what the sales bring net of fees) stays
within ``max_loss``. A plan that cannot keep that promise at the current bids is refused
with :class:`~arbkit.errors.RiskRejected` before anything is sent. The orders are
immediate-or-cancel sells at those limits, so they fill at the best bids the books give,
level by level, and never rest.

``max_loss`` ``None`` applies the unwind rule of the executor instead: each leg's worst
price is its average entry price less ``max_loss_per_contract``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import attrs

from arbkit.errors import RiskRejected, ValidationError
from arbkit.models import BookLevel, Market, OrderBook
from arbkit.trading.records import Trade, TradeLeg

__all__ = ["FlattenLeg", "FlattenPlan", "plan_flatten", "walk_bids"]

ZERO = Decimal(0)


@attrs.frozen
class FlattenLeg:
    """One leg's sell-back: ``size`` contracts, none below ``worst_price``."""

    index: int
    exchange: str
    market_id: str
    outcome_id: str
    size: Decimal
    worst_price: Decimal
    #: What selling ``size`` at the current bids would bring, net of fees (an estimate).
    expected_proceeds: Decimal
    #: The cost with fees of the ``size`` contracts: what the sale is measured against.
    basis: Decimal


@attrs.frozen
class FlattenPlan:
    """The sell-back of a whole trade, as priced before sending."""

    trade_id: str
    legs: tuple[FlattenLeg, ...]
    #: The loss if each order fills at the current bids (basis less expected proceeds).
    expected_loss: Decimal
    #: The loss if every order fills entirely at its worst price: never above ``max_loss``.
    worst_loss: Decimal
    max_loss: Decimal | None
    #: The markets and books (by leg index) the plan was priced from.
    markets: Mapping[int, Market] = attrs.field(factory=dict, repr=False, eq=False)
    books: Mapping[int, OrderBook] = attrs.field(factory=dict, repr=False, eq=False)

    def leg(self, index: int) -> FlattenLeg | None:
        return next((leg for leg in self.legs if leg.index == index), None)


def walk_bids(levels: Sequence[BookLevel], size: Decimal) -> list[tuple[Decimal, Decimal]]:
    """The ``(price, size)`` fills of selling ``size`` into ``levels`` (bids, best first)."""
    fills: list[tuple[Decimal, Decimal]] = []
    remaining = size
    for level in levels:
        if remaining <= ZERO:
            break
        take = min(level.size, remaining)
        fills.append((level.price, take))
        remaining -= take
    return fills


def _held_basis(leg: TradeLeg) -> Decimal:
    """Cost with fees of the contracts ``leg`` still holds (pro rata, to the micro-dollar)."""
    return leg.basis - leg.unwound_basis


def _fee(market: Market, fills: Sequence[tuple[Decimal, Decimal]]) -> Decimal:
    return market.fees.order_fee(fills, taker=True) if market.fees is not None and fills else ZERO


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def plan_flatten(
    trade: Trade,
    markets: Mapping[int, Market],
    books: Mapping[int, OrderBook],
    *,
    max_loss: Decimal | None,
    max_loss_per_contract: Decimal = Decimal("0.10"),
) -> FlattenPlan:
    """Price the sell-back of everything ``trade`` holds (``markets``/``books`` by leg index).

    Raises :class:`~arbkit.errors.ValidationError` when there is nothing to sell and
    :class:`~arbkit.errors.RiskRejected` when the bound cannot be kept at the current bids
    (the message gives the figures).
    """
    if max_loss is not None and max_loss < ZERO:
        raise ValidationError(f"max_loss must be zero or more, got {max_loss}")
    held = [(i, leg) for i, leg in enumerate(trade.legs) if leg.held_size > ZERO]
    if not held:
        raise ValidationError(f"trade {trade.id} holds no contracts to flatten")
    priced: list[tuple[int, TradeLeg, Market, Decimal, Decimal, Decimal]] = []
    expected_loss = ZERO
    for index, leg in held:
        market, book = markets[index], books[index]
        size = _floor(leg.held_size, market.size_increment) if market.size_increment > ZERO else leg.held_size
        if size <= ZERO:
            continue
        fills = walk_bids(book.bids, size)
        sold = sum((s for _, s in fills), ZERO)
        if sold < size:
            raise RiskRejected(
                [
                    f"{leg.exchange} {leg.market_id} bids hold {sold} of the {size} contracts to sell: "
                    "not flattened (nothing sent)"
                ]
            )
        proceeds = sum((p * s for p, s in fills), ZERO) - _fee(market, fills)
        basis = _held_basis(leg) * size / leg.held_size
        expected_loss += basis - proceeds
        priced.append((index, leg, market, size, proceeds, basis))
    if not priced:
        raise ValidationError(f"trade {trade.id} holds less than one tradeable lot on every leg")
    # Start every leg at the lowest bid the walk reaches; with a dollar bound, lower the
    # legs a tick at a time in turn while the worst case stays within it (room for books
    # that move between this reading and the orders).
    worst = {
        index: min(p for p, _ in walk_bids(books[index].bids, size)) for index, _, _, size, _, _ in priced
    }

    def worst_case(prices: Mapping[int, Decimal]) -> Decimal:
        total = ZERO
        for index, _, market, size, _, basis in priced:
            price = prices[index]
            total += basis - (price * size - _fee(market, [(price, size)]))
        return total

    if max_loss is None:
        for index, leg, market, _, _, _ in priced:
            entry = leg.average_price if leg.average_price is not None else leg.limit_price
            steps = ((entry - max_loss_per_contract) / market.tick_size).to_integral_value(ROUND_CEILING)
            bound = max(market.tick_size, steps * market.tick_size)
            if worst[index] < bound:
                raise RiskRejected(
                    [
                        f"{leg.exchange} {leg.market_id}: selling {leg.held_size} needs bids down to "
                        f"{worst[index]}, below {bound} (entry {entry:.4f} less {max_loss_per_contract} a "
                        "contract): nothing sent; give a dollar bound to flatten anyway"
                    ]
                )
            worst[index] = bound
    else:
        if worst_case(worst) > max_loss:
            raise RiskRejected(
                [
                    f"flattening trade {trade.id} at the current bids could lose up to "
                    f"${worst_case(worst).quantize(Decimal('0.01'), rounding=ROUND_CEILING)} "
                    f"(expected ${expected_loss.quantize(Decimal('0.01'), rounding=ROUND_CEILING)}), "
                    f"more than the bound ${max_loss}: nothing sent"
                ]
            )
        moved = True
        while moved:
            moved = False
            for index, _, market, _, _, _ in priced:
                lower = worst[index] - market.tick_size
                if lower < market.tick_size:
                    continue
                trial = {**worst, index: lower}
                if worst_case(trial) <= max_loss:
                    worst = trial
                    moved = True
    legs = tuple(
        FlattenLeg(
            index=index,
            exchange=leg.exchange,
            market_id=leg.market_id,
            outcome_id=leg.outcome_id,
            size=size,
            worst_price=worst[index],
            expected_proceeds=proceeds,
            basis=basis,
        )
        for index, leg, _, size, proceeds, basis in priced
    )
    return FlattenPlan(
        trade_id=trade.id,
        legs=legs,
        expected_loss=expected_loss,
        worst_loss=worst_case(worst),
        max_loss=max_loss,
        markets=dict(markets),
        books=dict(books),
    )
