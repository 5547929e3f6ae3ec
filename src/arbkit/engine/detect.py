"""Opportunity detection: buy one contract of every outcome of a match for less than it pays.

A :class:`~arbkit.engine.matching.MarketMatch` groups equivalent contracts by outcome
(mutually exclusive and exhaustive), so a complete set, one contract from each group,
pays exactly $1. Two-way (binary) arbitrage is the two-group case: YES on one venue
and NO on the other, in both directions; a soccer game is three groups (home, draw,
away) and each is bought at its cheapest venue.

:func:`detect` looks at one match, :func:`find_opportunities` at many::

    opportunities = find_opportunities(matches, books, bet_amount=Decimal(100), min_roi_percent=Decimal(1))

Books are keyed by :class:`~arbkit.models.OutcomeKey` ``(exchange, market_id, outcome_id)``
and list asks best first; a venue that lists only one side of a binary book has its other
side derived by its adapter
(Kalshi's NO ask is 1 minus the best YES bid), so the engine only reads ``asks``.
A market whose fee schedule is unknown (``fees is None``) or that is not open is
never traded. Sizing and exact fees are in :mod:`arbkit.engine.sizing`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from arbkit.engine.matching.model import MarketMatch, OutcomeRef
from arbkit.engine.opportunity import Leg, Opportunity
from arbkit.engine.sizing import SetSize, _Ladder, _size_ladders
from arbkit.models import BookKey, OrderBook, Side, utcnow

__all__ = ["detect", "find_opportunities"]

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


def _sources(
    match: MarketMatch, books: Mapping[BookKey, OrderBook], oldest: datetime | None
) -> list[list[tuple[Decimal, OutcomeRef, OrderBook]]] | None:
    """Per outcome group, the tradable contracts with asks; ``None`` if a group has none.

    Also ``None`` as soon as the groups' best asks sum to $1 or more: fees are never
    negative, so no set can then pay, and most matched pairs end here, before any sizing
    (or sorting: the best set is picked by :func:`_rank`, whatever the order tried).
    """
    groups = []
    floor = ZERO
    get = books.get
    for contracts in match.tradable_contracts:
        found = []
        cheapest: Decimal | None = None
        for key, ref in contracts:
            book = get(key)
            if book is None:
                continue
            asks = book.asks
            if not asks or (oldest is not None and book.timestamp < oldest):
                continue
            price = asks[0].price
            found.append((price, ref, book))
            if cheapest is None or price < cheapest:
                cheapest = price
        if cheapest is None:
            return None
        floor += cheapest
        if floor >= ONE:
            return None
        groups.append(found)
    return groups


def detect(
    match: MarketMatch,
    books: Mapping[BookKey, OrderBook],
    *,
    bet_amount: Decimal,
    min_roi_percent: Decimal = ZERO,
    max_position: Decimal | None = None,
    balances: Mapping[str, Decimal] | None = None,
    now: datetime | None = None,
    max_book_age: timedelta | None = None,
) -> Opportunity | None:
    """The most profitable complete set of ``match`` at the current books, or ``None``.

    * ``bet_amount``: dollars to commit (cost + fees) at most; ``max_position``
      (dollars per trade) lowers that cap further when given.
    * ``min_roi_percent``: the least profit over money committed, in percent.
    * ``balances``: dollars available per exchange; legs on an exchange never commit
      more than it holds (an exchange missing from the mapping holds nothing).
    * ``max_book_age``: books older than this (against ``now``) are not used.

    Matches that are not :attr:`~arbkit.engine.matching.MarketMatch.tradable` (refused by the
    resolution policy, or unconfirmed proposals) give ``None``.
    """
    now = now or utcnow()
    oldest = now - max_book_age if max_book_age is not None else None
    budget = bet_amount if max_position is None else min(bet_amount, max_position)
    return _detect(match, books, budget, min_roi_percent, balances, now, oldest)


def _detect(
    match: MarketMatch,
    books: Mapping[BookKey, OrderBook],
    budget: Decimal,
    min_roi_percent: Decimal,
    balances: Mapping[str, Decimal] | None,
    now: datetime,
    oldest: datetime | None,
) -> Opportunity | None:
    """:func:`detect` with its arguments resolved (called once per match of a scan)."""
    if not match.tradable:
        return None
    sources = _sources(match, books, oldest)
    if sources is None:
        return None
    # Each book's ladder is prepared once for every set it is tried in; an Opportunity is
    # built only for the best set (and for a set tying it, whose key then decides).
    ladders: dict[int, _Ladder] = {}
    best: tuple[_Set, SetSize, Opportunity | None] | None = None
    best_rank = (ZERO, ZERO)
    for combination in itertools.product(*sources):
        if sum((source[0] for source in combination), ZERO) >= ONE:
            continue
        prepared = []
        for _, ref, book in combination:
            ladder = ladders.get(id(book))
            if ladder is None:
                ladder = ladders[id(book)] = _Ladder(book.asks, ref.market.fees)  # type: ignore[arg-type]
            prepared.append(ladder)
        sized = _size_ladders(
            prepared,
            [ref.market for _, ref, _ in combination],
            budget=budget,
            min_roi_percent=min_roi_percent,
            balances=balances,
        )
        if sized is None:
            continue
        rank = _set_figures(sized)
        if best is None or rank < best_rank:
            best, best_rank = (combination, sized, None), rank
        elif rank == best_rank:
            held = best[2] or _opportunity(match, best[0], best[1], now)
            opportunity = _opportunity(match, combination, sized, now)
            best = (combination, sized, opportunity) if opportunity.key < held.key else (*best[:2], held)
    if best is None:
        return None
    return best[2] or _opportunity(match, best[0], best[1], now)


_Set = tuple[tuple[Decimal, OutcomeRef, OrderBook], ...]


def _opportunity(match: MarketMatch, combination: _Set, sized: SetSize, now: datetime) -> Opportunity:
    legs = tuple(
        Leg(
            market=ref.market,
            outcome_id=ref.outcome_id,
            side=Side.BUY,
            limit_price=leg.limit_price,
            size=sized.size,
            cost=leg.cost,
            fee=leg.fee,
            book_timestamp=book.timestamp,
        )
        for (_, ref, book), leg in zip(combination, sized.legs, strict=True)
    )
    return Opportunity(
        legs=legs,
        payout=sized.size,
        title=match.title,
        match=match,
        detected_at=now,
        kind="binary" if len(legs) == 2 else f"{len(legs)}-way",
    )


def _set_figures(sized: SetSize) -> tuple[Decimal, Decimal]:
    """:func:`_figures` of the opportunity ``sized`` would make, without making it."""
    total = sum((leg.cost for leg in sized.legs), ZERO) + sum((leg.fee for leg in sized.legs), ZERO)
    profit = sized.size - total
    return -profit, (-(profit / total * HUNDRED) if total else ZERO)


def _figures(opportunity: Opportunity) -> tuple[Decimal, Decimal]:
    """``(-profit, -roi_percent)``, computed as :class:`Opportunity` does but summing once."""
    total = opportunity.total_cost
    profit = opportunity.payout - total
    return -profit, (-(profit / total * HUNDRED) if total else ZERO)


def _rank(opportunity: Opportunity) -> tuple[Decimal, Decimal, str]:
    """Sort key: highest profit first, then highest ROI, then the stable key (deterministic)."""
    return (-opportunity.profit, -opportunity.roi_percent, opportunity.key)


def _sort(found: list[Opportunity]) -> None:
    """Sort by :func:`_rank`, hashing the key only where profit and ROI tie (it costs the most)."""
    ranked = sorted(((_figures(o), n) for n, o in enumerate(found)), key=lambda item: item[0])
    ordered = []
    start = 0
    while start < len(ranked):
        end = start + 1
        while end < len(ranked) and ranked[end][0] == ranked[start][0]:
            end += 1
        run = [found[n] for _, n in ranked[start:end]]
        if len(run) > 1:
            run.sort(key=lambda o: o.key)
        ordered.extend(run)
        start = end
    found[:] = ordered


def find_opportunities(
    matches: Iterable[MarketMatch],
    books: Mapping[BookKey, OrderBook],
    *,
    bet_amount: Decimal,
    min_roi_percent: Decimal = ZERO,
    max_position: Decimal | None = None,
    balances: Mapping[str, Decimal] | None = None,
    now: datetime | None = None,
    max_book_age: timedelta | None = None,
) -> list[Opportunity]:
    """:func:`detect` on every match, sorted by profit (then ROI, then key), highest first.

    Each opportunity is sized on its own against the full ``balances``; deciding which
    of several to take with one balance is the trading system's job.
    """
    now = now or utcnow()
    oldest = now - max_book_age if max_book_age is not None else None
    budget = bet_amount if max_position is None else min(bet_amount, max_position)
    found = []
    for match in matches:
        opportunity = _detect(match, books, budget, min_roi_percent, balances, now, oldest)
        if opportunity is not None:
            found.append(opportunity)
    _sort(found)
    return found
