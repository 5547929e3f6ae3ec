"""Paper trading: :class:`PaperTradingSystem`, and the fills it simulates.

A paper trade fills what an immediate-or-cancel order per leg would have filled in the
current books (read before the trading lock), by pure computation. Each leg walks
the current book of its outcome from the best ask up to the leg's limit price; the
trade fills the same number of contracts on every leg, which is the depth available
on the thinnest leg (rounded down to the venue's size step), capped at the size asked
for. Below a venue's minimum order size nothing fills, as the venue would refuse the
order. Fees are the market's own schedule over the actual fills (so per-order rounding
is the venue's). Prices off the market's tick are refused as the venue would refuse
them.

Sizes are whole multiples of every leg's step at its limit price (``Market.buy_step``: the
lot, or more where a venue spends whole cents), combined by
:func:`arbkit.engine.sizing.common_lot`: the rule the detector sizes with, so a paper trade
never fills a size the venue could not have bought exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

import attrs

from arbkit.accounts import AccountId
from arbkit.engine.opportunity import Leg, Opportunity
from arbkit.engine.sizing import common_lot
from arbkit.models import BookLevel, Market, MarketStatus, OrderBook, Side
from arbkit.trading.flatten import FlattenPlan, walk_bids
from arbkit.trading.records import (
    LegFill,
    LegStatus,
    OpportunitySummary,
    Trade,
    TradeLeg,
    TradeStatus,
    client_order_id,
)
from arbkit.trading.system import BaseTradingSystem, BookIndex, BooksArg, _index_books

__all__ = [
    "PaperTradingSystem",
    "depth_within",
    "order_fees",
    "simulate_execution",
    "simulate_flatten",
    "walk_levels",
]

ZERO = Decimal(0)

#: Books by ``(exchange, market_id, outcome_id)``.


def depth_within(levels: Sequence[BookLevel], limit_price: Decimal) -> Decimal:
    """Contracts available on ``levels`` (asks, best first) at ``limit_price`` or better."""
    return sum((level.size for level in levels if level.price <= limit_price), ZERO)


def walk_levels(
    levels: Sequence[BookLevel], limit_price: Decimal, size: Decimal
) -> list[tuple[Decimal, Decimal]]:
    """The ``(price, size)`` fills of buying ``size`` through ``levels`` up to ``limit_price``."""
    fills: list[tuple[Decimal, Decimal]] = []
    remaining = size
    for level in levels:
        if remaining <= ZERO or level.price > limit_price:
            break
        take = min(level.size, remaining)
        fills.append((level.price, take))
        remaining -= take
    return fills


def order_fees(market: Market, fills: Sequence[tuple[Decimal, Decimal]]) -> tuple[Decimal, list[Decimal]]:
    """One simulated order's fee on the market's schedule, and each fill's share of it.

    Per-fill fees where the venue charges per fill (their sum is the order's fee); a venue that
    rounds once per order (Kalshi) has its fee on the order only (every fill's share zero).
    """
    if market.fees is None:
        return ZERO, [ZERO] * len(fills)
    fee = market.fees.order_fee(fills, taker=True)
    per_fill = [market.fees.fee(p, s) for p, s in fills]
    return fee, per_fill if sum(per_fill, ZERO) == fee else [ZERO] * len(fills)


def _refusal(leg: Leg, book: OrderBook | None) -> tuple[LegStatus, str] | None:
    """Why the venue would refuse this leg's order outright, if it would."""
    market = leg.market
    if leg.side is not Side.BUY:
        return LegStatus.REJECTED, "paper trading simulates buy legs only"
    if market.status is not MarketStatus.OPEN:
        return LegStatus.REJECTED, f"market is {market.status.value}"
    if market.fees is None:
        return LegStatus.REJECTED, "fee schedule unknown: never traded"
    if leg.limit_price % market.tick_size != ZERO:
        return LegStatus.REJECTED, f"limit {leg.limit_price} is off the tick {market.tick_size}"
    if book is None:
        return LegStatus.FAILED, "no order book"
    return None


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def simulate_execution(
    opportunity: Opportunity,
    books: BookIndex,
    *,
    trade_id: str,
    mode: str,
    now: datetime,
    accounts: Sequence[AccountId] | None = None,
) -> Trade:
    """The trade that IOC orders for every leg of ``opportunity`` would have made against ``books``,
    leg ``i`` sent from ``accounts[i]`` (default: each venue's default account)."""
    legs = opportunity.legs
    leg_books = [books.get(leg.key) for leg in legs]
    refusals = [_refusal(leg, book) for leg, book in zip(legs, leg_books, strict=True)]
    requested = opportunity.size
    size = ZERO
    note = ""
    if any(refusals):
        note = "; ".join(f"{leg.exchange}: {r[1]}" for leg, r in zip(legs, refusals, strict=True) if r)
    else:
        depth = min(
            depth_within(book.asks, leg.limit_price)
            for leg, book in zip(legs, leg_books, strict=True)
            if book
        )
        step = common_lot([leg.market.buy_step(leg.limit_price) for leg in legs])
        size = _floor(min(depth, requested), step)
        minimum = max(leg.market.min_order_size for leg in legs)
        refused = not all(leg.market.buyable(size, leg.limit_price) for leg in legs)
        if size < minimum or refused:
            least = max(leg.market.min_order_cost for leg in legs)
            least_cost = f", minimum cost ${least}" if least else ""
            note = (
                f"only {depth} contracts within the limit prices (minimum order {minimum}{least_cost}, "
                f"step {step}); nothing filled"
            )
            size = ZERO
        elif size < requested:
            note = f"book depth filled {size} of {requested} contracts"

    trade_legs = []
    for index, (leg, book, refusal) in enumerate(zip(legs, leg_books, refusals, strict=True)):
        unfilled = TradeLeg.planned(
            leg, trade_id=trade_id, index=index, size=requested, account=accounts[index] if accounts else None
        )
        if refusal is not None:
            trade_legs.append(attrs.evolve(unfilled, status=refusal[0], error=refusal[1]))
            continue
        if size == ZERO or book is None:
            trade_legs.append(unfilled)
            continue
        fills = walk_levels(book.asks, leg.limit_price, size)
        cost = sum((p * s for p, s in fills), ZERO)
        fees, per_fill = order_fees(leg.market, fills)
        paper_id = f"paper-{client_order_id(trade_id, index)}"
        trade_legs.append(
            attrs.evolve(
                unfilled,
                filled_size=size,
                average_price=cost / size,  # for display: the cost is ``paid``, level by level
                paid=cost,
                fills=[
                    LegFill(Side.BUY, p, s, fee, order_id=paper_id)
                    for (p, s), fee in zip(fills, per_fill, strict=True)
                ],
                fees=fees,
                order_id=paper_id,
                status=LegStatus.FILLED if size == requested else LegStatus.PARTIAL,
            )
        )
    return Trade(
        id=trade_id,
        mode=mode,
        opportunity=OpportunitySummary.of(opportunity),
        legs=tuple(trade_legs),
        status=TradeStatus.OPEN if size > ZERO else TradeStatus.NO_FILL,
        created_at=now,
        updated_at=now,
        note=note,
    )


def simulate_flatten(trade: Trade, plan: FlattenPlan, *, now: datetime) -> Trade:
    """``trade`` after immediate-or-cancel sells of the plan's sizes, no lower than its prices.

    Each leg sells into the current bids of its outcome from the best down to the leg's
    worst price; proceeds are net of the market's fee on those fills. The trade is
    ``unwound`` once no leg holds anything, else it keeps its status with what is left.
    """
    legs = list(trade.legs)
    for step in plan.legs:
        leg, market, book = legs[step.index], plan.markets[step.index], plan.books[step.index]
        fills = [(p, s) for p, s in walk_bids(book.bids, step.size) if p >= step.worst_price]
        sold = sum((s for _, s in fills), ZERO)
        if sold <= ZERO:
            continue
        fee, per_fill = order_fees(market, fills)
        order_id = f"paper-{leg.client_order_id}-u{sum(1 for f in leg.fills if f.side is Side.SELL) + 1}"
        unwound = leg.unwound_size + sold
        legs[step.index] = attrs.evolve(
            leg,
            unwound_size=unwound,
            unwind_proceeds=leg.unwind_proceeds + sum((p * s for p, s in fills), ZERO) - fee,
            fills=leg.fills
            + tuple(
                LegFill(Side.SELL, p, s, f, order_id=order_id)
                for (p, s), f in zip(fills, per_fill, strict=True)
            ),
            status=LegStatus.UNWOUND if unwound >= leg.filled_size else leg.status,
        )
    held = [leg.held_size for leg in legs]
    if all(h <= ZERO for h in held):
        status = TradeStatus.UNWOUND
    elif all(h == held[0] for h in held):
        status = trade.status
    else:
        status = TradeStatus.EXPOSURE
    note = (
        "flattened"
        if status is TradeStatus.UNWOUND
        else "flatten left "
        + ", ".join(f"{leg.exchange} x{leg.held_size}" for leg in legs if leg.held_size > ZERO)
    )
    return attrs.evolve(
        trade,
        legs=tuple(legs),
        status=status,
        updated_at=now,
        note="; ".join(n for n in (trade.note, note) if n)[:1000],
    )


class PaperTradingSystem(BaseTradingSystem):
    """Paper trading that fills what live would have filled.

    Each leg is simulated as an IOC order against the *current* book of its outcome:
    the books passed to :meth:`execute` (fresh from the same scan), else fetched now
    through the exchange client. No credentials are needed.

    >>> system = PaperTradingSystem(initial_balance=Decimal(1000), store=store)  # doctest: +SKIP
    """

    mode = "paper"
    reads_books = True

    def _books_before_lock(self, opportunity: Opportunity, books: BooksArg) -> BooksArg:
        current = _index_books(books)
        for leg in opportunity.legs:
            key = leg.key
            if key not in current:
                current[key] = self.client(leg.exchange).order_book(leg.market, leg.outcome_id)
        return current

    def _execute(self, opportunity: Opportunity, *, trade_id: str, now: datetime, books: BookIndex) -> Trade:
        return simulate_execution(
            opportunity,
            books,
            trade_id=trade_id,
            mode=self.mode,
            now=now,
            accounts=self._leg_accounts(opportunity),
        )

    def _flatten(self, trade: Trade, plan: FlattenPlan, *, now: datetime) -> Trade:
        return simulate_flatten(trade, plan, now=now)
