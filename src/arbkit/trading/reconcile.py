"""The reconciliation job: stored state compared with every venue, continuously.

A live system's store says which contracts it holds, how much cash it moved and which
orders it has out; the venues say what is true. :class:`Reconciler` compares the two on
every run (the PolyMix scheduler runs it every 60 s, next to settlement; ``recover()`` at
start is its first half):

1. **Unknown legs are resolved**: every unfinished journal entry is resumed
   (:meth:`arbkit.trading.live.RealTradingSystem.recover`): its orders are looked up by client
   order id, fenced by an identical re-send when still not seen, and the legs hedged.
   A trade with a leg still unknown stays unsettled and is reported as ``unresolved``.
2. **Settlement runs**, so positions the venues have already paid out are booked before
   they are compared.
3. **Positions**: the contracts held per (venue, market, outcome) by open trades must equal
   each venue's own positions; a venue position no trade records is a mismatch too.
4. **Cash**: the ledger's cash change since the first run must equal the venues' summed
   cash change (``Balance.total`` when a venue reports it, else ``available``), to the
   precision the venues report (Kalshi's balance is truncated to $0.0001).
5. **Open orders**: a venue order still resting in a market arbkit trades, not recorded
   by any trade, is a mismatch (where the client can list orders).

Each report also carries, per venue, what the venue itself reports next to what the store
holds (:class:`VenueView`): cash, positions and open orders, so a trader reads the truth of
each account, not only the differences.

Every mismatch is added to the system's error history and notified (an ``error`` event
titled "Reconciliation mismatch"; one that stands from run to run is alerted once, and is in
every report); nothing is corrected silently. The run never raises on
a venue error: a venue that cannot be asked is reported and skipped.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from arbkit.errors import ArbkitError
from arbkit.models import Balance
from arbkit.trading.records import LegStatus, Trade

if TYPE_CHECKING:
    from arbkit.trading.live import RealTradingSystem

__all__ = [
    "DEFAULT_INTERVAL_SECONDS",
    "Mismatch",
    "OpenOrderRow",
    "PositionRow",
    "ReconcileReport",
    "Reconciler",
    "VenueView",
    "venue_cash_flow",
]

logger = logging.getLogger(__name__)
ZERO = Decimal(0)
#: The coarsest balance precision the cash comparison allows per venue and reading (Kalshi's
#: ``balance_dollars`` is truncated to $0.0001, kalshi.md 3.3; pUSD balances are exact).
MAX_REPORTED_STEP = Decimal("0.0001")
#: How often the PolyMix scheduler runs the job.
DEFAULT_INTERVAL_SECONDS = 60.0

PositionKey = tuple[str, str, str]


@attrs.frozen
class Mismatch:
    """One difference between the store and a venue. ``kind``: position, cash or open_order."""

    venue: str
    kind: str
    message: str
    market_id: str | None = None
    outcome_id: str | None = None
    stored: Decimal | None = None
    found: Decimal | None = None


@attrs.frozen
class PositionRow:
    """Contracts of one outcome: what the store's open trades hold and what the venue reports."""

    market_id: str
    outcome_id: str
    stored: Decimal
    venue: Decimal | None  # None: the venue could not be asked


@attrs.frozen
class OpenOrderRow:
    """An order the venue reports as still working, and whether a trade records it."""

    order_id: str
    market_id: str
    outcome_id: str
    side: str
    price: Decimal
    remaining: Decimal
    recorded: bool


@attrs.frozen
class VenueView:
    """One venue's own figures next to the store's, as of one reconciliation.

    ``cash_change`` is how the venue's cash moved since the first reconciliation of this
    process; ``stored_cash_change`` how the store's records of this venue's legs say it
    should have moved (costs and fees out, sell-backs and payouts in) over the same time.
    """

    venue: str
    reachable: bool
    cash_available: Decimal | None = None
    cash_total: Decimal | None = None
    cash_change: Decimal | None = None
    stored_cash_change: Decimal | None = None
    #: What the venue's two readings can hide between them (its reporting step, as for the total).
    cash_precision: Decimal = ZERO
    positions: tuple[PositionRow, ...] = ()
    open_orders: tuple[OpenOrderRow, ...] = ()

    @property
    def agrees(self) -> bool:
        """Positions equal, no unrecorded working order, cash moved as recorded (to the venue's precision)."""
        if not self.reachable:
            return False
        if any(row.venue is not None and row.venue != row.stored for row in self.positions):
            return False
        if any(not order.recorded for order in self.open_orders):
            return False
        if self.cash_change is None or self.stored_cash_change is None:
            return True
        return abs(self.cash_change - self.stored_cash_change) <= self.cash_precision


@attrs.frozen
class ReconcileReport:
    """What one run found: trades recovered, trades still unresolved, mismatches, venue errors,
    and each venue's own figures next to the store's (``venues``)."""

    time: datetime
    recovered: tuple[Trade, ...] = ()
    unresolved: tuple[str, ...] = ()
    mismatches: tuple[Mismatch, ...] = ()
    errors: tuple[str, ...] = ()
    venues: tuple[VenueView, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the store matches every venue and no leg is unknown."""
        return not (self.unresolved or self.mismatches or self.errors)


def venue_cash_flow(trades: tuple[Trade, ...] | list[Trade], venue: str) -> Decimal:
    """Dollars the records say moved on ``venue``'s account: sell-backs and payouts in,
    costs and fees out, over every trade's legs on that venue."""
    flow = ZERO
    for trade in trades:
        for leg in trade.legs:
            if leg.exchange == venue:
                flow += leg.unwind_proceeds + (leg.payout or ZERO) - leg.cost - leg.fees
    return flow


def stored_positions(trades: tuple[Trade, ...] | list[Trade]) -> dict[PositionKey, Decimal]:
    """Contracts held per (venue, market, outcome) by trades that still hold a position."""
    held: dict[PositionKey, Decimal] = {}
    for trade in trades:
        if not trade.status.holds_position:
            continue
        for leg in trade.legs:
            if leg.held_size != ZERO:
                key = (leg.exchange, leg.market_id, leg.outcome_id)
                held[key] = held.get(key, ZERO) + leg.held_size
    return held


class Reconciler:
    """Compares a :class:`~arbkit.trading.live.RealTradingSystem`'s store with its venues (see the module)."""

    def __init__(self, system: RealTradingSystem) -> None:
        self.system = system
        self._baseline: tuple[Decimal, Decimal, Decimal] | None = None
        #: Per venue, its cash and the store's flow on it at the first reading.
        self._venue_baseline: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
        self._alerted: set[str] = set()
        # What the venues reported during the current run (for the per-venue views).
        self._found: dict[str, dict[tuple[str, str], Decimal]] = {}
        self._balances: dict[str, Balance] = {}
        self._orders: dict[str, list[OpenOrderRow]] = {}
        self.last: ReconcileReport | None = None

    def run(self) -> ReconcileReport:
        """One reconciliation; never raises on a venue error."""
        system = self.system
        recovered = tuple(system.recover())
        system.check_settlements()
        errors: list[str] = []
        mismatches: list[Mismatch] = []
        # The venues are read under the trading lock: no trade can move money between reading
        # the store and reading the venues (a snapshot taken apart reports a false mismatch).
        self._found, self._balances, self._orders = {}, {}, {}
        with system._lock:
            trades = list(system._trades)
            ledger_cash = system._ledger.balance
            mismatches.extend(self._positions(trades, errors))
            mismatches.extend(self._cash(ledger_cash, errors))
            mismatches.extend(self._open_orders(trades, errors))
            views = self._views(trades)
        unresolved = tuple(t.id for t in trades if any(leg.status is LegStatus.UNKNOWN for leg in t.legs))
        report = ReconcileReport(
            system._clock(), recovered, unresolved, tuple(mismatches), tuple(errors), views
        )
        current = {m.message for m in mismatches}
        for mismatch in mismatches:
            if mismatch.message not in self._alerted:  # a standing mismatch is alerted once
                system.report_mismatch(mismatch)
        self._alerted = current
        self.last = report
        if not report.ok:
            logger.warning(
                "reconciliation: %d mismatch(es), %d unresolved trade(s), %d error(s)",
                len(mismatches),
                len(unresolved),
                len(errors),
            )
        return report

    def _ask(self, venue: str, what: str, errors: list[str], call: object) -> object | None:
        try:
            return call() if callable(call) else None
        except ArbkitError as exc:
            errors.append(f"{venue} {what}: {exc}")
            self.system.record_error(exc, venue=venue, operation=f"reconcile {what}")
            return None

    def _positions(self, trades: list[Trade], errors: list[str]) -> list[Mismatch]:
        stored = stored_positions(trades)
        found: dict[PositionKey, Decimal] = {}
        asked: set[str] = set()
        for venue in self.system.venues:
            rows = self._ask(venue, "positions", errors, self.system.client(venue).positions)
            if rows is None:
                continue
            asked.add(venue)
            reported = self._found.setdefault(venue, {})
            for row in rows:  # type: ignore[attr-defined]
                if row.size != ZERO:
                    key = (venue, row.market_id, row.outcome_id)
                    found[key] = found.get(key, ZERO) + row.size
                    reported[(row.market_id, row.outcome_id)] = found[key]
        out = []
        for key in sorted(set(stored) | set(found)):
            if key[0] not in asked:
                continue
            mine, theirs = stored.get(key, ZERO), found.get(key, ZERO)
            if mine != theirs:
                out.append(
                    Mismatch(
                        key[0],
                        "position",
                        f"{key[0]} {key[1]} {key[2]}: stored {mine}, venue holds {theirs}",
                        key[1],
                        key[2],
                        mine,
                        theirs,
                    )
                )
        return out

    def _cash(self, ledger_cash: Decimal, errors: list[str]) -> list[Mismatch]:
        total = ZERO
        precision = ZERO  # what the venues' figures can hide (Kalshi reports $0.0001, truncated)
        for venue in self.system.venues:
            balance = self._ask(venue, "balance", errors, self.system.client(venue).balance)
            if balance is None:
                return []  # a partial sum would be a false alarm
            self._balances[venue] = balance  # type: ignore[assignment]
            value: Decimal = balance.total if balance.total is not None else balance.available  # type: ignore[attr-defined]
            total += value
            precision += min(_step(value), MAX_REPORTED_STEP)
        if self._baseline is None:
            self._baseline = (ledger_cash, total, precision)
            return []
        ledger0, venues0, precision0 = self._baseline
        moved_ledger, moved_venues = ledger_cash - ledger0, total - venues0
        if abs(moved_ledger - moved_venues) < precision + precision0:
            return []
        return [
            Mismatch(
                "all",
                "cash",
                f"ledger cash moved {moved_ledger} since the first reconciliation, "
                f"the venues' {moved_venues}",
                stored=moved_ledger,
                found=moved_venues,
            )
        ]

    def _open_orders(self, trades: list[Trade], errors: list[str]) -> list[Mismatch]:
        known = {oid for t in trades for leg in t.legs for oid in leg.order_ids}
        known |= {cid for t in trades for leg in t.legs for cid in leg.client_order_ids}
        markets: dict[str, set[str]] = {}
        for trade in trades:
            for leg in trade.legs:
                markets.setdefault(leg.exchange, set()).add(leg.market_id)
        out = []
        for venue, ids in markets.items():
            client = self.system.client(venue)
            lister = getattr(client, "orders", None)
            if lister is None:
                continue
            for market_id in sorted(ids):
                market = self._ask(venue, "market", errors, lambda c=client, m=market_id: c.market(m))
                if market is None:
                    continue
                rows = self._ask(venue, "open orders", errors, lambda m=market, f=lister: f(market=m))
                for order in rows or []:  # type: ignore[attr-defined]
                    if order.status.is_final:
                        continue
                    recorded = order.id in known or (order.client_order_id or "") in known
                    self._orders.setdefault(venue, []).append(
                        OpenOrderRow(
                            order.id,
                            market_id,
                            order.outcome_id,
                            order.side.value,
                            order.price,
                            order.size - order.filled_size,
                            recorded,
                        )
                    )
                    if recorded:
                        continue
                    out.append(
                        Mismatch(
                            venue,
                            "open_order",
                            f"{venue} order {order.id} rests in {market_id} and no trade records it",
                            market_id,
                            order.outcome_id,
                            found=order.size - order.filled_size,
                        )
                    )
        return out

    def _views(self, trades: list[Trade]) -> tuple[VenueView, ...]:
        """Each venue's figures from this run next to the store's (caller holds the trading lock)."""
        stored = stored_positions(trades)
        views = []
        for venue in self.system.venues:
            found = self._found.get(venue)
            balance = self._balances.get(venue)
            keys = {(m, o) for (v, m, o) in stored if v == venue} | set(found or {})
            positions = tuple(
                PositionRow(
                    m, o, stored.get((venue, m, o), ZERO), None if found is None else found.get((m, o), ZERO)
                )
                for m, o in sorted(keys)
            )
            cash_change = stored_change = None
            precision = ZERO
            if balance is not None:
                value = balance.total if balance.total is not None else balance.available
                flow = venue_cash_flow(trades, venue)
                step = min(_step(value), MAX_REPORTED_STEP)
                base_value, base_flow, base_step = self._venue_baseline.setdefault(venue, (value, flow, step))
                cash_change, stored_change = value - base_value, flow - base_flow
                precision = step + base_step
            views.append(
                VenueView(
                    venue,
                    reachable=found is not None and balance is not None,
                    cash_available=None if balance is None else balance.available,
                    cash_total=None if balance is None else balance.total,
                    cash_change=cash_change,
                    stored_cash_change=stored_change,
                    cash_precision=precision,
                    positions=positions,
                    open_orders=tuple(self._orders.get(venue, ())),
                )
            )
        return tuple(views)


def _step(value: Decimal) -> Decimal:
    """The last digit a venue's figure carries (``1000.0000`` -> 0.0001): what it may have cut."""
    exponent = value.as_tuple().exponent
    return Decimal(1).scaleb(exponent) if isinstance(exponent, int) else ZERO
