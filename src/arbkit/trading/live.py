"""Live trading: :class:`RealTradingSystem`, the same interface as paper trading, with real orders.

It shares everything with :class:`~arbkit.trading.paper.PaperTradingSystem` (the risk chain,
the ledger and its daily limits, the stores, settlement, notifications, the error
history) and differs only in how a trade is carried out: by the
:class:`~arbkit.trading.execution.executor.OrderExecutor`, behind a write-ahead
:class:`~arbkit.trading.execution.journal.Journal`.

    system = RealTradingSystem.from_settings(Settings.from_env())   # LIVE_TRADING=true
    system.recover()                      # finish anything a crash interrupted (done at start too)
    result = system.execute(opportunity)  # never raises on a venue error
    system.state().recent_errors          # the last 100 errors, with venue, operation, code

At start it refuses to run without credentials for every configured venue
(:class:`~arbkit.errors.ConfigError` naming what is missing), logs
``LIVE TRADING ENABLED - real trades will be executed`` once, and runs the reconciliation
job once (:mod:`arbkit.trading.reconcile`: every unfinished journal entry is finished, resolved
trades settled, and the store compared with every venue). Before each trade the risk
chain's balance policy is given each venue's own ``balance()`` (a venue that cannot be
asked counts as unknown, so the trade is refused: the check fails closed).
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from pathlib import Path

import attrs

from arbkit.accounts import AccountId, accounts_of
from arbkit.config import Secret, Settings
from arbkit.engine.opportunity import Opportunity
from arbkit.errors import (
    ArbkitError,
    AuthenticationError,
    ConfigError,
    ExchangeError,
    PersistenceError,
)
from arbkit.exchange import Exchange
from arbkit.models import utcnow
from arbkit.trading.events import trade_events
from arbkit.trading.execution.executor import ExecutionConfig, ExecutionReport, OrderExecutor
from arbkit.trading.execution.journal import FINAL, FLATTEN, INTENT, Journal
from arbkit.trading.flatten import FlattenPlan
from arbkit.trading.notify import Event, EventKind, Notifier, Severity
from arbkit.trading.postgres.journal import PostgresJournal
from arbkit.trading.postgres.limits import SharedLimits, SharedStore
from arbkit.trading.reconcile import Mismatch, Reconciler, ReconcileReport
from arbkit.trading.records import LegStatus, Trade, TradeResult, trade_to_dict
from arbkit.trading.risk import RiskChain, RiskContext
from arbkit.trading.store import TradeStore
from arbkit.trading.system import BaseTradingSystem, BookIndex, BooksArg, CashReading

__all__ = ["BANNER", "JOURNAL_FILE", "RealTradingSystem", "ReconciliationMismatch"]

logger = logging.getLogger(__name__)
ZERO = Decimal(0)
#: Logged once when a live system starts.
BANNER = "LIVE TRADING ENABLED - real trades will be executed"
#: The journal's file name in ``Settings.data_dir`` when none is given.
JOURNAL_FILE = "live_trading_journal.jsonl"


class ReconciliationMismatch(ExchangeError):
    """The store and a venue disagree (positions, cash or orders); see :mod:`arbkit.trading.reconcile`."""


class RealTradingSystem(BaseTradingSystem):
    """Trades real money through the exchange clients; see the module docstring.

    Extra parameters beyond :class:`~arbkit.trading.system.BaseTradingSystem`'s: ``journal`` (a
    :class:`Journal` or a path; default ``<data_dir>/live_trading_journal.jsonl``),
    ``execution`` (:class:`ExecutionConfig`), ``venues`` (the venues that must have
    credentials; default the settings' exchanges, else the given clients' venues) and
    ``recover_on_start``. Every account given in ``exchanges`` must have working
    credentials, and a venue without any gets its default account.
    """

    mode = "live"

    def __init__(
        self,
        *,
        initial_balance: Decimal,
        store: TradeStore,
        risk: RiskChain | None = None,
        exchanges: Mapping[str, Exchange] | Mapping[AccountId, Exchange] | None = None,
        notifiers: Iterable[Notifier] = (),
        zone: tzinfo = UTC,
        clock: Callable[[], datetime] = utcnow,
        reset_key: Secret | None = None,
        settings: Settings | None = None,
        journal: Journal | str | Path | None = None,
        execution: ExecutionConfig | None = None,
        venues: Iterable[str] | None = None,
        recover_on_start: bool = True,
        shared_limits: SharedLimits | None = None,
    ) -> None:
        super().__init__(
            initial_balance=initial_balance,
            store=store,
            risk=risk,
            exchanges=exchanges,
            notifiers=notifiers,
            zone=zone,
            clock=clock,
            reset_key=reset_key,
            settings=settings,
        )
        if venues is not None:
            self.venues = tuple(venues)
        elif settings is not None:
            self.venues = tuple(settings.exchanges)
        else:
            self.venues = tuple(self.exchanges)
        if not self.venues:
            raise ConfigError("live trading needs at least one exchange", variable="ARBKIT_EXCHANGES")
        #: Accounts (``"kalshi"``, ``"kalshi:hedge"``) that have answered a balance request
        #: (credentials verified); a venue's default account is named by the venue alone.
        self.verified: set[str] = set()
        self._check_credentials()
        if journal is None and isinstance(store, SharedStore):
            journal = store.journal()  # the store's database holds the journal too (PostgreSQL)
        if not isinstance(journal, Journal):
            folder = settings.data_dir if settings is not None else Path()
            journal = Journal(Path(journal) if journal is not None else folder / JOURNAL_FILE)
        self.journal = journal
        self.executor = OrderExecutor(journal, execution)
        self.reconciler = Reconciler(self)
        self._journal_broken: str | None = None
        if shared_limits is not None and self.shared_limits is not None:
            self.shared_limits = shared_limits
        self._balance_pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="arbkit-balance")
        logger.warning(BANNER)
        if recover_on_start:
            # The reconciliation job's first run: finish what a crash interrupted (recover()),
            # settle, and compare the store with every venue, so a difference is alerted at once.
            self.reconciler.run()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        store: TradeStore | None = None,
        risk: RiskChain | None = None,
        exchanges: Mapping[str, Exchange] | Mapping[AccountId, Exchange] | None = None,
        notifiers: Iterable[Notifier] = (),
        clock: Callable[[], datetime] = utcnow,
    ) -> RealTradingSystem:
        """Build from :class:`Settings` (live limits, store, data dir, timezone, credentials)."""
        system = super().from_settings(
            settings, store=store, risk=risk, exchanges=exchanges, notifiers=notifiers, clock=clock
        )
        assert isinstance(system, RealTradingSystem)
        return system

    def close(self) -> None:
        """Stop worker threads and close the journal (the exchange clients stay open)."""
        self.executor.close()
        self._balance_pool.shutdown(wait=True)
        self.journal.close()

    @property
    def account_ids(self) -> tuple[AccountId, ...]:
        """Every account traded from: those given for the configured venues, and the default
        account of a configured venue given none."""
        given = [a for a in self.accounts if a.venue in self.venues]
        have = {a.venue for a in given}
        found = dict.fromkeys(given) | {AccountId(v): None for v in self.venues if v not in have}
        return tuple(accounts_of(found))

    # -- start-up -----------------------------------------------------------------------------
    def _check_credentials(self) -> None:
        """Ask every account for its balance; missing or refused credentials stop the start."""
        missing = []
        for account in self.account_ids:
            venue = str(account)
            try:
                balance = self.client(account).balance()
            except AuthenticationError as exc:
                missing.append(f"{venue} ({exc})")
            except ArbkitError as exc:  # reachable later perhaps; the balance check fails closed
                self._remember_error(exc, venue=venue, operation="balance at start", now=self._clock())
                logger.warning(
                    "%s did not answer at start (%s): its credentials are unverified, and trading on it "
                    "is blocked until it answers a balance request",
                    venue,
                    type(exc).__name__,
                )
            else:
                self.verified.add(venue)
                if balance.available <= 0:
                    logger.warning(
                        "%s account has no cash available (%s %s): nothing can be bought there until funded",
                        venue,
                        balance.available,
                        balance.currency,
                    )
                else:
                    logger.info("%s balance at start: %s %s", venue, balance.available, balance.currency)
        if missing:
            raise ConfigError(
                "live trading needs working credentials for every configured exchange; missing or "
                "refused: " + "; ".join(missing)
            )

    # -- balances -----------------------------------------------------------------------------
    def _fetch_balances(self) -> CashReading:
        """Each account's cash, asked concurrently before the trading lock is taken; an account
        that fails is left out (its legs are refused: fails closed)."""
        mark: int | None = None
        if isinstance(self.store, SharedStore):
            # Taken before asking: reservations released after it may not show in the answers.
            try:
                mark = self.store.balance_mark()
            except PersistenceError as exc:
                with self._lock:
                    self._remember_error(exc, venue="store", operation="balance mark", now=self._clock())
        with self._lock:
            spent = dict(self._spent)
            clients = {account: self.client(account) for account in self.account_ids}
        futures = {a: self._balance_pool.submit(client.balance) for a, client in clients.items()}
        balances: dict[AccountId, Decimal] = {}
        for account, future in futures.items():
            try:
                balances[account] = future.result().available
            except ArbkitError as exc:
                with self._lock:
                    self._remember_error(exc, venue=str(account), operation="balance", now=self._clock())
            else:
                self.verified.add(str(account))
        return CashReading(balances, spent, mark)

    def _risk_context(
        self,
        now: datetime,
        opportunity: Opportunity | None = None,
        fetched: CashReading | None = None,
    ) -> RiskContext:
        if fetched is None:  # never trade on the ledger's pool: live cash is the venues'
            fetched = CashReading({}, {})
        context = super()._risk_context(now, opportunity, fetched)
        # What the shared limits compare reservations with (caller holds the lock).
        self._seen_balances = context.venue_balances
        self._balance_mark = fetched.mark
        return context

    # -- trading ------------------------------------------------------------------------------
    def _execute(self, opportunity: Opportunity, *, trade_id: str, now: datetime, books: BookIndex) -> Trade:
        accounts = self._leg_accounts(opportunity)
        clients = {account: self.client(account) for account in accounts}
        report = self.executor.execute(
            opportunity, trade_id=trade_id, now=now, clients=clients, accounts=accounts
        )
        self._remember_report(report, now)
        if report.journal_failure is not None:
            self._journal_broken = (
                f"the trade journal failed during trade {trade_id}: {report.journal_failure}"
            )
        return report.trade

    def _remember_report(self, report: ExecutionReport, now: datetime) -> None:
        for venue, operation, exc in report.errors:
            self._remember_error(exc, venue=venue, operation=operation, now=now)

    def _execute_and_record(
        self, opportunity: Opportunity, books: BooksArg, now: datetime, events: list[Event]
    ) -> TradeResult:
        self._journal_broken = None
        result = super()._execute_and_record(opportunity, books, now, events)
        self._finish_journal(result.trade)
        if self._journal_broken is not None:
            self._trip(self._journal_broken, events)
        return result

    def _trip(self, reason: str, events: list[Event]) -> None:
        """The kill switch (caller holds the lock): refuse new trades, alert once."""
        if self._halted is None:
            self._halted = reason
            logger.error("TRADING HALTED: %s", reason)
            events.append(
                self._event(EventKind.ERROR, "Trading halted", reason, Severity.ERROR, venue="journal")
            )

    def _finish_journal(self, trade: Trade | None) -> None:
        """Mark a recorded trade final, unless an order's outcome is still unknown."""
        if trade is None or any(leg.status is LegStatus.UNKNOWN for leg in trade.legs):
            return
        try:
            self.journal.append(trade.id, FINAL, status=trade.status.value)
        except PersistenceError as exc:
            self._remember_error(exc, venue="journal", operation=f"finish {trade.id}", now=self._clock())
            self._journal_broken = f"the trade journal failed finishing trade {trade.id}: {exc}"

    def _settleable(self, trade: Trade) -> bool:
        """Never settle a trade whose journal entry is unfinished: recovery may still change it."""
        return super()._settleable(trade) and trade.id not in self._unfinished_ids()

    def _unfinished_ids(self) -> set[str]:
        try:
            if isinstance(self.journal, PostgresJournal):
                return self.journal.unfinished_ids()  # every instance's, not only this one's
            return {entry.trade_id for entry in self.journal.unfinished()}
        except PersistenceError:
            return {t.id for t in self._trades}  # cannot tell: settle nothing

    # -- reconciliation -----------------------------------------------------------------------
    def reconcile(self) -> ReconcileReport:
        """One run of the reconciliation job (:class:`arbkit.trading.reconcile.Reconciler`); never raises
        on a venue error. Resolves unknown legs, settles, compares positions, cash and orders."""
        return self.reconciler.run()

    def report_mismatch(self, mismatch: Mismatch) -> None:
        """Record a reconciliation mismatch in the error history and alert it."""
        error = ReconciliationMismatch(mismatch.message, exchange=mismatch.venue)
        with self._lock:
            record = self._remember_error(
                error, venue=mismatch.label, operation=f"reconcile {mismatch.kind}", now=self._clock()
            )
        self._emit(
            [
                self._event(
                    EventKind.ERROR,
                    "Reconciliation mismatch",
                    record.message,
                    Severity.ERROR,
                    venue=mismatch.venue,
                    account=mismatch.label,
                    mismatch=mismatch.kind,
                )
            ]
        )

    # -- recovery -----------------------------------------------------------------------------
    def recover(self) -> list[Trade]:
        """Reconcile every unfinished journal entry against the venues and finish it.

        Orders without an answer are looked up by client order id; one still not seen is
        fenced by re-sending the identical order (never a second order); legs left unequal
        are unwound; each trade is recorded (or its earlier record corrected) and the entry
        marked final. An entry with an order still undecided, or whose venues cannot be
        asked, stays unfinished (and its trade unsettled) for the next call, which the
        reconciliation job makes every minute. Returns the trades.
        """
        done: list[Trade] = []
        events: list[Event] = []
        with self._lock:
            self._journal_broken = None
            self._sync_shared()
            try:
                unfinished = self.journal.unfinished()
            except PersistenceError as exc:
                self._remember_error(exc, venue="journal", operation="read", now=self._clock())
                self._trip(f"the trade journal cannot be read: {exc}", events)
                unfinished = []
            for entry in unfinished:
                now = self._clock()
                try:
                    index = self._index.get(entry.trade_id)
                    known = self._trades[index] if index is not None else self._adopt(entry.trade_id)
                    report = self.executor.resume(entry, now=now, clients=self.client, known=known)
                except Exception as exc:
                    venue = getattr(exc, "exchange", None) or "journal"
                    record = self._remember_error(
                        exc, venue=venue, operation=f"recover {entry.trade_id}", now=now
                    )
                    events.append(
                        self._event(
                            EventKind.ERROR, "Recovery failed", record.message, Severity.ERROR, venue=venue
                        )
                    )
                    continue
                self._remember_report(report, now)
                if report.journal_failure is not None:
                    self._journal_broken = f"the trade journal failed recovering {entry.trade_id}"
                before = self._trades[self._index[entry.trade_id]] if entry.trade_id in self._index else None
                trade = self._record_correction(report.trade, now)
                if before is None or before.legs != trade.legs or before.status is not trade.status:
                    events.extend(trade_events(self.mode, trade, now))
                self._finish_journal(trade)
                done.append(trade)
            if self._journal_broken is not None:
                self._trip(self._journal_broken, events)
        self._emit(events)
        if done:
            logger.warning("recovered %d interrupted live trade(s)", len(done))
        return done

    def _adopt(self, trade_id: str) -> Trade | None:
        """A trade another instance recorded and this one took over (a shared store), now in
        memory; its money is already in the shared ledger, so only corrections are written."""
        if not isinstance(self.store, SharedStore):
            return None
        trade = self.store.load_trade(trade_id)
        if trade is None:
            return None
        self._index[trade.id] = len(self._trades)
        self._trades.append(trade)
        self._ledger = self._counted(self._ledger)
        self.store.rebase(self._ledger)
        return trade

    # -- flattening ---------------------------------------------------------------------------
    def _unwind_allowance(self) -> Decimal:
        return self.executor.config.max_unwind_loss_per_contract

    def _flatten(self, trade: Trade, plan: FlattenPlan, *, now: datetime) -> Trade:
        """Journal the sell-back (reopening the trade's entry), send it, record what the venues did.

        A journal that cannot be written refuses the flatten before any order is sent. A
        crash after the ``flatten`` record leaves the entry unfinished: recovery rebuilds
        the trade from the venues and brings its legs to equal size.
        """
        entry = self.journal.entry(trade.id)
        if entry is None or entry.intent is None:
            # A trade the journal does not know (an older journal): its orders are adopted
            # from the venues by the ids on the record.
            skeleton = attrs.evolve(trade, legs=tuple(attrs.evolve(leg, fills=()) for leg in trade.legs))
            self.journal.append(trade.id, INTENT, trade=trade_to_dict(skeleton), orders=[])
        self.journal.append(
            trade.id,
            FLATTEN,
            max_loss=None if plan.max_loss is None else str(plan.max_loss),
            legs=[
                {"leg": leg.index, "size": str(leg.size), "worst_price": str(leg.worst_price)}
                for leg in plan.legs
            ],
        )
        entry = self.journal.entry(trade.id)
        assert entry is not None
        report = self.executor.flatten(entry, plan, now=now, clients=self.client, known=trade)
        self._remember_report(report, now)
        if report.journal_failure is not None:
            self._trip(f"the trade journal failed flattening trade {trade.id}", [])
        return report.trade

    def _after_flatten(self, trade: Trade) -> None:
        self._finish_journal(trade)

    def __repr__(self) -> str:
        return f"RealTradingSystem(venues={list(self.venues)!r}, journal={self.journal!r})"
