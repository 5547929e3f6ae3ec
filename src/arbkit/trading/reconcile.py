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

Each report also carries, per account, what the venue itself reports next to what the store
holds (:class:`VenueView`): cash, positions and open orders, so a trader reads the truth of
each account, not only the differences; :attr:`ReconcileReport.totals` sums them per venue.

**Several accounts per venue** (:mod:`arbkit.accounts`): positions and open orders are
compared account by account (the store's legs of that account against that account's own
positions and orders), and every mismatch names its account (``kalshi:hedge ...``). The cash
of each account of a venue with several accounts is compared too (its cash change against
the records of its legs), besides the total; with one account per venue the total check
alone alerts, as before, and each venue's view still shows its own cash change.

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

from arbkit.accounts import DEFAULT_ACCOUNT, AccountId, account_cash_flow, account_positions
from arbkit.errors import ArbkitError
from arbkit.models import Balance, OutcomeKey
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

#: A position's identity: the one :class:`~arbkit.models.OutcomeKey`.
PositionKey = OutcomeKey


@attrs.frozen
class Mismatch:
    """One difference between the store and a venue. ``kind``: position, cash or open_order.

    ``account`` is the name of the venue's account it is on (``None``: the total over every
    account, as the ``all`` cash comparison is).
    """

    venue: str
    kind: str
    message: str
    market_id: str | None = None
    outcome_id: str | None = None
    stored: Decimal | None = None
    found: Decimal | None = None
    account: str | None = DEFAULT_ACCOUNT

    @property
    def label(self) -> str:
        """Where it is: ``"kalshi"`` (default account or total), ``"kalshi:hedge"``."""
        if self.account is None or self.account == DEFAULT_ACCOUNT:
            return self.venue
        return f"{self.venue}:{self.account}"


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
    """One account's own figures at its venue next to the store's, as of one reconciliation.

    ``cash_change`` is how the account's cash moved since the first reconciliation of this
    process; ``stored_cash_change`` how the store's records of this account's legs say it
    should have moved (costs and fees out, sell-backs and payouts in) over the same time.
    ``account`` is the account's name (``None`` in :attr:`ReconcileReport.totals`: the sum
    over every account of the venue).
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
    account: str | None = DEFAULT_ACCOUNT

    @property
    def label(self) -> str:
        """``"kalshi"`` (the default account, or the venue's total), ``"kalshi:hedge"``."""
        if self.account is None or self.account == DEFAULT_ACCOUNT:
            return self.venue
        return f"{self.venue}:{self.account}"

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
    and each account's own figures next to the store's (``venues``: one view per account, a
    venue's default account first; :attr:`totals`: one per venue)."""

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

    @property
    def totals(self) -> tuple[VenueView, ...]:
        """Per venue, its accounts' views summed (``account`` ``None``): cash and cash changes
        (``None`` if any account's is unknown), contracts per outcome, every open order."""
        by_venue: dict[str, list[VenueView]] = {}
        for view in self.venues:
            by_venue.setdefault(view.venue, []).append(view)
        return tuple(_total(venue, views) for venue, views in by_venue.items())


def _sum(values: list[Decimal | None]) -> Decimal | None:
    return None if any(v is None for v in values) else sum((v for v in values if v is not None), ZERO)


def _total(venue: str, views: list[VenueView]) -> VenueView:
    rows: dict[tuple[str, str], list[PositionRow]] = {}
    for view in views:
        for row in view.positions:
            rows.setdefault((row.market_id, row.outcome_id), []).append(row)
    positions = []
    for (market_id, outcome_id), found in sorted(rows.items()):
        # An account without the row holds none of it (an unreachable account's rows are None,
        # making the total unknown; the total view is then not ``reachable`` either).
        stored = sum((r.stored for r in found), ZERO)
        positions.append(PositionRow(market_id, outcome_id, stored, _sum([r.venue for r in found])))
    return VenueView(
        venue,
        reachable=all(v.reachable for v in views),
        cash_available=_sum([v.cash_available for v in views]),
        cash_total=_sum([v.cash_total if v.cash_total is not None else v.cash_available for v in views]),
        cash_change=_sum([v.cash_change for v in views]),
        stored_cash_change=_sum([v.stored_cash_change for v in views]),
        cash_precision=sum((v.cash_precision for v in views), ZERO),
        positions=tuple(positions),
        open_orders=tuple(o for v in views for o in v.open_orders),
        account=None,
    )


def venue_cash_flow(trades: tuple[Trade, ...] | list[Trade], venue: str) -> Decimal:
    """Dollars the records say moved on ``venue``'s accounts: sell-backs and payouts in,
    costs and fees out, over every trade's legs on that venue (every account's)."""
    return sum((v for a, v in account_cash_flow(trades).items() if a.venue == venue), ZERO)


def stored_positions(trades: tuple[Trade, ...] | list[Trade]) -> dict[PositionKey, Decimal]:
    """Contracts held per (venue, market, outcome) by trades that still hold a position."""
    held: dict[PositionKey, Decimal] = {}
    for trade in trades:
        if not trade.status.holds_position:
            continue
        for leg in trade.legs:
            if leg.held_size != ZERO:
                held[leg.key] = held.get(leg.key, ZERO) + leg.held_size
    return held


class Reconciler:
    """Compares a :class:`~arbkit.trading.live.RealTradingSystem`'s store with its venues (see the module)."""

    def __init__(self, system: RealTradingSystem) -> None:
        self.system = system
        self._baseline: tuple[Decimal, Decimal, Decimal] | None = None
        #: Per account, its cash and the store's flow on it at the first reading.
        self._venue_baseline: dict[AccountId, tuple[Decimal, Decimal, Decimal]] = {}
        self._alerted: set[str] = set()
        # What the venues reported during the current run (for the per-account views).
        self._found: dict[AccountId, dict[tuple[str, str], Decimal]] = {}
        self._balances: dict[AccountId, Balance] = {}
        self._orders: dict[AccountId, list[OpenOrderRow]] = {}
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
            mismatches.extend(self._account_cash(views))
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
        """Each account's positions against the store's legs of that account."""
        stored = account_positions(trades)
        found: dict[tuple[AccountId, str, str], Decimal] = {}
        asked: set[AccountId] = set()
        for account in self.system.account_ids:
            label = str(account)
            rows = self._ask(label, "positions", errors, self.system.client(account).positions)
            if rows is None:
                continue
            asked.add(account)
            reported = self._found.setdefault(account, {})
            for row in rows:  # type: ignore[attr-defined]
                if row.size != ZERO:
                    key = (account, row.market_id, row.outcome_id)
                    found[key] = found.get(key, ZERO) + row.size
                    reported[(row.market_id, row.outcome_id)] = found[key]
        out = []
        for key in sorted(set(stored) | set(found)):
            account, market_id, outcome_id = key
            if account not in asked:
                continue
            mine, theirs = stored.get(key, ZERO), found.get(key, ZERO)
            if mine != theirs:
                out.append(
                    Mismatch(
                        account.venue,
                        "position",
                        f"{account} {market_id} {outcome_id}: stored {mine}, venue holds {theirs}",
                        market_id,
                        outcome_id,
                        mine,
                        theirs,
                        account=account.name,
                    )
                )
        return out

    def _cash(self, ledger_cash: Decimal, errors: list[str]) -> list[Mismatch]:
        """The ledger's cash change against every account's summed cash change."""
        total = ZERO
        precision = ZERO  # what the venues' figures can hide (Kalshi reports $0.0001, truncated)
        for account in self.system.account_ids:
            balance = self._ask(str(account), "balance", errors, self.system.client(account).balance)
            if balance is None:
                return []  # a partial sum would be a false alarm
            self._balances[account] = balance  # type: ignore[assignment]
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
                account=None,
            )
        ]

    def _open_orders(self, trades: list[Trade], errors: list[str]) -> list[Mismatch]:
        """Working orders of every account in the markets its venue's trades use, unrecorded ones
        named with their account."""
        known = {oid for t in trades for leg in t.legs for oid in leg.order_ids}
        known |= {cid for t in trades for leg in t.legs for cid in leg.client_order_ids}
        markets: dict[str, set[str]] = {}
        for trade in trades:
            for leg in trade.legs:
                markets.setdefault(leg.exchange, set()).add(leg.market_id)
        out = []
        for account in self.system.account_ids:
            ids = markets.get(account.venue)
            if not ids:
                continue
            label = str(account)
            client = self.system.client(account)
            lister = getattr(client, "orders", None)
            if lister is None:
                continue
            for market_id in sorted(ids):
                market = self._ask(label, "market", errors, lambda c=client, m=market_id: c.market(m))
                if market is None:
                    continue
                rows = self._ask(label, "open orders", errors, lambda m=market, f=lister: f(market=m))
                for order in rows or []:  # type: ignore[attr-defined]
                    if order.status.is_final:
                        continue
                    recorded = order.id in known or (order.client_order_id or "") in known
                    self._orders.setdefault(account, []).append(
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
                            account.venue,
                            "open_order",
                            f"{label} order {order.id} rests in {market_id} and no trade records it",
                            market_id,
                            order.outcome_id,
                            found=order.size - order.filled_size,
                            account=account.name,
                        )
                    )
        return out

    def _views(self, trades: list[Trade]) -> tuple[VenueView, ...]:
        """Each account's figures from this run next to the store's (caller holds the trading lock)."""
        stored = account_positions(trades)
        flows = account_cash_flow(trades)
        views = []
        for account in self.system.account_ids:
            found = self._found.get(account)
            balance = self._balances.get(account)
            keys = {(m, o) for (a, m, o) in stored if a == account} | set(found or {})
            positions = tuple(
                PositionRow(
                    m,
                    o,
                    stored.get((account, m, o), ZERO),
                    None if found is None else found.get((m, o), ZERO),
                )
                for m, o in sorted(keys)
            )
            cash_change = stored_change = None
            precision = ZERO
            if balance is not None:
                value = balance.total if balance.total is not None else balance.available
                flow = flows.get(account, ZERO)
                step = min(_step(value), MAX_REPORTED_STEP)
                base_value, base_flow, base_step = self._venue_baseline.setdefault(
                    account, (value, flow, step)
                )
                cash_change, stored_change = value - base_value, flow - base_flow
                precision = step + base_step
            views.append(
                VenueView(
                    account.venue,
                    reachable=found is not None and balance is not None,
                    cash_available=None if balance is None else balance.available,
                    cash_total=None if balance is None else balance.total,
                    cash_change=cash_change,
                    stored_cash_change=stored_change,
                    cash_precision=precision,
                    positions=positions,
                    open_orders=tuple(self._orders.get(account, ())),
                    account=account.name,
                )
            )
        return tuple(views)

    def _account_cash(self, views: tuple[VenueView, ...]) -> list[Mismatch]:
        """The cash of each account of a venue with several: its change against its legs' records
        (one account per venue: the total check alone, as its view already shows the rest)."""
        per_venue: dict[str, int] = {}
        for view in views:
            per_venue[view.venue] = per_venue.get(view.venue, 0) + 1
        out = []
        for view in views:
            if per_venue[view.venue] < 2 or view.cash_change is None or view.stored_cash_change is None:
                continue
            if abs(view.cash_change - view.stored_cash_change) <= view.cash_precision:
                continue
            out.append(
                Mismatch(
                    view.venue,
                    "cash",
                    f"{view.label} cash moved {view.cash_change} since the first reconciliation, "
                    f"its records {view.stored_cash_change}",
                    stored=view.stored_cash_change,
                    found=view.cash_change,
                    account=view.account,
                )
            )
        return out


def _step(value: Decimal) -> Decimal:
    """The last digit a venue's figure carries (``1000.0000`` -> 0.0001): what it may have cut."""
    exponent = value.as_tuple().exponent
    return Decimal(1).scaleb(exponent) if isinstance(exponent, int) else ZERO
