"""Settlement: turning resolved markets into realised P&L, one trade at a time.

:func:`settle_trade` is pure: given a trade and the venues' :class:`~arbkit.models.Resolution`
of its markets it returns a :class:`Settlement` (or ``None`` while any leg is pending).
:func:`fetch_resolutions` asks each venue once per market.

Rules:

* a held contract pays what its venue says (1 won, 0 lost, 0.5 in a 50-50 split);
* a void market pays what its venue pays and nothing else: Kalshi reports a void or
  refund as a settlement value per YES contract (``scalar`` + ``settlement_value``,
  NO paying 1 minus it; kalshi.md 4.4), which the adapter turns into payouts;
  Polymarket's 50-50 is a resolution paying 0.5 per token, and a market closed with
  ``outcomePrices`` ``["0","0"]`` pays nothing (polymarket.md 3.4). A void without a
  venue-given value is booked as a payout of **zero**, never as a refund at cost: the
  venue pays nothing, and inventing a refund would show cash the account does not
  have. Such a settlement is flagged ``void`` with a note saying so, and the
  reconciliation job's cash comparison catches any later payment the venue makes;
* an arbitrage leg set is complementary, so per contract exactly $1 should come back.
  When resolved legs pay more or less than that (one venue says YES, the other NO on
  an "equivalent" market), or one venue voids what the other resolved, the trade is
  settled at what the venues *actually* pay and flagged ``disagreement`` loudly:
  never averaged away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal

import attrs

from arbkit.exchange import Exchange
from arbkit.models import Market, OutcomeResult, Resolution, ResolutionState
from arbkit.trading.records import Trade, TradeStatus

__all__ = ["DISAGREEMENT_FLAG", "LegSettlement", "Settlement", "fetch_resolutions", "settle_trade"]

logger = logging.getLogger(__name__)
ZERO = Decimal(0)
ONE = Decimal(1)
DISAGREEMENT_FLAG = "disagreement"
VOID_FLAG = "void"

ResolutionKey = tuple[str, str]


@attrs.frozen
class LegSettlement:
    """How one leg resolved: its result, per-contract payout, contracts held and dollars paid."""

    exchange: str
    market_id: str
    outcome_id: str
    result: OutcomeResult
    payout_per_contract: Decimal
    held_size: Decimal
    payout: Decimal


@attrs.frozen
class Settlement:
    """The settlement of one trade. ``trade`` is the updated, settled record."""

    trade: Trade
    legs: tuple[LegSettlement, ...]
    payout: Decimal
    realised_pnl: Decimal
    disagreement: bool = False
    void: bool = False
    note: str = ""

    @property
    def trade_id(self) -> str:
        """The settled trade's id."""
        return self.trade.id


def settle_trade(
    trade: Trade, resolutions: Mapping[ResolutionKey, Resolution], *, now: datetime
) -> Settlement | None:
    """Settle ``trade`` if every leg it holds has resolved, else ``None``.

    ``resolutions`` is keyed by ``(exchange, market_id)``.
    """
    if not trade.status.holds_position:
        return None
    leg_results: list[LegSettlement] = []
    settled_legs = []
    unpaid: list[str] = []
    for leg in trade.legs:
        held = leg.held_size
        if held <= ZERO:
            settled_legs.append(leg)
            continue
        resolution = resolutions.get((leg.exchange, leg.market_id))
        if resolution is None or resolution.state is ResolutionState.PENDING:
            return None
        result = resolution.result(leg.outcome_id)
        if result is OutcomeResult.PENDING:
            return None
        per_contract = resolution.payout(leg.outcome_id)
        if per_contract is None:  # void with no venue-given value: the venue pays nothing
            per_contract = ZERO
            unpaid.append(f"{leg.exchange}:{leg.market_id} void, the venue paid nothing")
        payout = held * per_contract
        leg_results.append(
            LegSettlement(leg.exchange, leg.market_id, leg.outcome_id, result, per_contract, held, payout)
        )
        settled_legs.append(attrs.evolve(leg, payout=payout))

    payout = sum((r.payout for r in leg_results), ZERO)
    pnl = payout + trade.unwind_proceeds - trade.total_cost
    results = {r.result for r in leg_results}
    void = bool(leg_results) and results == {OutcomeResult.VOID}
    disagreement, note = _disagreement(trade, leg_results)
    flags = list(trade.flags)
    if disagreement and DISAGREEMENT_FLAG not in flags:
        flags.append(DISAGREEMENT_FLAG)
    if void and VOID_FLAG not in flags:
        flags.append(VOID_FLAG)
    if not note:
        note = "; ".join(f"{r.exchange}:{r.market_id} {r.outcome_id} {r.result.value}" for r in leg_results)
    if unpaid:
        note = f"{note}; " + "; ".join(unpaid)
    settled = attrs.evolve(
        trade,
        legs=tuple(settled_legs),
        status=TradeStatus.SETTLED,
        settled_at=now,
        updated_at=now,
        realised_pnl=pnl,
        flags=tuple(flags),
        note=(f"{trade.note}; " if trade.note else "") + note,
    )
    if disagreement:
        logger.error("VENUE DISAGREEMENT on trade %s: %s", trade.id, note)
    return Settlement(settled, tuple(leg_results), payout, pnl, disagreement, void, note)


def _disagreement(trade: Trade, legs: list[LegSettlement]) -> tuple[bool, str]:
    """Whether hedged legs resolved inconsistently, and a message saying how."""
    if trade.status is not TradeStatus.OPEN or len(legs) < 2:
        return False, ""
    results = [r.result for r in legs]
    voided = [r for r in legs if r.result is OutcomeResult.VOID]
    if voided and len(voided) != len(legs):
        names = ", ".join(f"{r.exchange} {r.result.value}" for r in legs)
        return True, f"venues disagree: one voided, another resolved ({names})"
    if voided:
        return False, ""
    per_contract = sum((r.payout_per_contract for r in legs), ZERO)
    expected = trade.opportunity.expected_payout / trade.opportunity.expected_size
    if per_contract != expected:
        names = ", ".join(f"{r.exchange} {r.outcome_id}={r.result.value}" for r in legs)
        won = results.count(OutcomeResult.WON)
        what = "both legs won" if won > 1 else "no leg won" if per_contract < expected else "payouts differ"
        return (
            True,
            f"venues disagree ({what}): {names}; paid {per_contract} per contract, expected {expected}",
        )
    return False, ""


def fetch_resolutions(
    trades: Iterable[Trade],
    client_for: Callable[[str], Exchange],
    *,
    on_error: Callable[[BaseException, str, str], None],
) -> dict[ResolutionKey, Resolution]:
    """Ask each venue once per market held by ``trades``; failures go to ``on_error`` and are skipped.

    ``client_for`` is given the account of the first leg holding the market (``"kalshi"`` for a
    venue's default account, ``"kalshi:hedge"`` for a named one: see :mod:`arbkit.accounts`).
    ``on_error(exc, venue, operation)`` records a venue error; the market is retried next time.
    """
    wanted: dict[ResolutionKey, tuple[str, Market | None]] = {}
    for trade in trades:
        for leg in trade.legs:
            if leg.held_size > ZERO:
                account, known = wanted.get((leg.exchange, leg.market_id), (str(leg.account_id), None))
                wanted[(leg.exchange, leg.market_id)] = (account, known or leg.market)
    found: dict[ResolutionKey, Resolution] = {}
    for (venue, market_id), (account, market) in wanted.items():
        try:
            client = client_for(account)
            # The market the trade was made on, when this process has it: no second request.
            found[(venue, market_id)] = client.resolution(market or client.market(market_id))
        except Exception as exc:
            on_error(exc, venue, f"resolution {market_id}")
    return found
