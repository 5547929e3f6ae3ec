"""Trading systems: the one interface paper and live trading share, and paper trading itself.

:class:`TradingSystem` is what the service, the scheduler and a notebook call::

    system = PaperTradingSystem.from_settings(settings)
    result = system.execute(opportunity)      # never raises on a venue error
    result.status, result.reasons             # what happened, or why not
    system.state().balance
    system.check_settlements()                # settle resolved markets

:class:`BaseTradingSystem` holds everything the two modes share: the ledger, the
store, the risk chain, daily counters that roll over at midnight in the configured
timezone, the error history and notifications. Check, execution and recording happen
under one lock, so concurrent ``execute`` calls can never exceed a limit. A live
system (``RealTradingSystem``, which arrives with the order executor) only supplies
:meth:`BaseTradingSystem._execute` and the venues' balances.
"""

from __future__ import annotations

import abc
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from arbkit.accounts import (
    AccountId,
    AccountState,
    Route,
    account_cash_flow,
    account_positions,
    accounts_of,
    route_legs,
)
from arbkit.config import Secret, Settings, TradingLimits
from arbkit.engine.opportunity import Opportunity
from arbkit.errors import ConfigError, PersistenceError, RiskRejected, TradeNotFound, ValidationError
from arbkit.exchange import Exchange
from arbkit.models import Market, OrderBook, OutcomeKey, to_decimal, utcnow
from arbkit.trading.events import settlement_events, trade_events
from arbkit.trading.flatten import FlattenPlan, plan_flatten
from arbkit.trading.ledger import DailyCounters, Ledger
from arbkit.trading.notify import Event, EventKind, Notifier, NotifierHub, Severity
from arbkit.trading.postgres.limits import SharedLimits, SharedStore
from arbkit.trading.records import (
    ErrorRecord,
    LegStatus,
    Trade,
    TradeResult,
    TradingState,
    new_trade_id,
)
from arbkit.trading.risk import RiskChain, RiskContext, RiskDecision, RiskVerdict, default_chain
from arbkit.trading.settlement import Settlement, fetch_resolutions, settle_trade
from arbkit.trading.store import MAX_ERRORS, TradeStore, open_store

if TYPE_CHECKING:
    from arbkit.models import OrderBook

__all__ = [
    "BaseTradingSystem",
    "TradeResult",
    "TradingState",
    "TradingSystem",
]

logger = logging.getLogger(__name__)
ZERO = Decimal(0)

BooksArg = Mapping[Any, "OrderBook"] | Iterable["OrderBook"] | None
#: Books by ``(exchange, market_id, outcome_id)``, as :meth:`BaseTradingSystem._execute` gets them.
BookIndex = Mapping[OutcomeKey, "OrderBook"]


@attrs.frozen
class CashReading:
    """Each account's cash as the venues answered, read before the trading lock: ``spent`` is
    what this process had paid per account when they were asked (later payments are deducted),
    ``mark`` the shared store's balance mark taken just before (``None`` without one)."""

    balances: Mapping[AccountId, Decimal]
    spent: Mapping[AccountId, Decimal]
    mark: int | None = None


@runtime_checkable
class TradingSystem(Protocol):
    """The interface paper and live trading share exactly."""

    mode: str

    def execute(
        self, opportunity: Opportunity, *, books: BooksArg = None, raise_on_reject: bool = False
    ) -> TradeResult:
        """Check risk, trade, record. Never raises on a venue error (the result says what happened);
        raises :class:`RiskRejected` on a refusal only when ``raise_on_reject``."""
        ...

    def state(self) -> TradingState:
        """A consistent snapshot of balance, positions, history, P&L, daily counters and errors."""
        ...

    def check_settlements(self) -> list[Settlement]:
        """Settle every open trade whose markets have resolved; returns what was settled."""
        ...

    def flatten(self, trade_id: str, *, max_loss: Decimal | None = None) -> Trade:
        """Sell back what a trade holds at the best bids, losing at most ``max_loss`` dollars."""
        ...

    def reset(self, confirm: str) -> None:
        """Start again from the initial balance, forgetting history. ``confirm`` must match."""
        ...

    def record_error(self, error: BaseException, *, venue: str, operation: str) -> ErrorRecord:
        """Add a failure to the error history (and notify it)."""
        ...

    def add_notifier(self, notifier: Notifier | Callable[[Event], object]) -> Notifier:
        """Receive this system's events."""
        ...


class BaseTradingSystem(abc.ABC):
    """What paper and live trading share. Subclasses implement :meth:`_execute`.

    Parameters: ``initial_balance`` (used when the store is empty), ``store``, ``risk``
    (default: a chain that only checks the balance), ``exchanges`` (clients by account:
    ``"kalshi"`` or ``AccountId("kalshi")`` is the venue's default account, built on demand
    through the plugins when missing; ``"kalshi:hedge"`` or ``AccountId("kalshi", "hedge")``
    a named one, see :mod:`arbkit.accounts`), ``account_funds`` (paper: the cash each account
    starts with, so legs are routed to the account that has the cash; without it paper cash is
    one pool and every leg goes to its venue's first account), ``notifiers``, ``zone`` (the
    timezone in which a trading day rolls over), ``clock`` (injectable for tests),
    ``reset_key`` (if set, ``reset`` requires it; otherwise the mode name).
    """

    mode: str = "paper"
    #: Whether :meth:`_execute` needs the books read before the lock (:meth:`_books_before_lock`).
    reads_books: bool = False

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
        account_funds: Mapping[str, Decimal] | Mapping[AccountId, Decimal] | None = None,
    ) -> None:
        from arbkit.trading.risk import BalanceCheck

        self.store = store
        self.risk = risk if risk is not None else RiskChain([BalanceCheck()])
        #: Limits held by the store's database for every instance on it (None: this process only).
        self.shared_limits: SharedLimits | None = (
            SharedLimits.from_chain(self.risk) if isinstance(store, SharedStore) else None
        )
        self._balance_mark: int | None = None
        self._seen_balances: Mapping[str, Decimal] | None = None
        #: The exchange client of every account (:mod:`arbkit.accounts`), default accounts first.
        self.accounts: dict[AccountId, Exchange] = accounts_of(exchanges)
        #: One client per venue for market data: its default account's, else its first account's.
        self.exchanges: dict[str, Exchange] = {}
        for account, venue_client in self.accounts.items():
            self.exchanges.setdefault(account.venue, venue_client)
        #: Paper: the cash each account started with (``None``: one pool, the ledger balance).
        self.account_funds: dict[AccountId, Decimal] | None = (
            None
            if account_funds is None
            else {a: to_decimal(v, field="account funds") for a, v in accounts_of(account_funds).items()}
        )
        # Dollars this process has paid per account (cost and fees), so balances read before
        # the trading lock are lowered by what trades recorded meanwhile spent.
        self._spent: dict[AccountId, Decimal] = {}
        #: The accounts of the trade being executed (set under the lock, for ``_execute``).
        self._route: Route | None = None
        #: Each account's cash as last read (live: the venue's answer; paper: funds plus flows).
        self._last_balances: dict[AccountId, Decimal] = {}
        self.notifiers = NotifierHub(notifiers)
        self.zone = zone
        self._clock = clock
        self._reset_key = reset_key
        self._settings = settings
        self._lock = threading.RLock()
        self._tripped: set[tuple[date, str]] = set()
        stored = store.load()
        today = self._today()
        if stored is None:
            self._ledger = Ledger(self.mode, initial_balance, initial_balance, DailyCounters(today))
            self._trades: list[Trade] = []
            self._errors: deque[ErrorRecord] = deque(maxlen=MAX_ERRORS)
        else:
            if stored.ledger.mode != self.mode:
                raise PersistenceError(
                    f"{store!r} holds {stored.ledger.mode} trading state; refusing to use it for {self.mode}"
                )
            self._ledger = stored.ledger
            self._trades = list(stored.trades)
            self._errors = deque(stored.errors, maxlen=MAX_ERRORS)
        self._index = {t.id: i for i, t in enumerate(self._trades)}
        # A counter stored by an older version (which could count a corrected trade twice)
        # is replaced by the recount from the records.
        self._ledger = self._counted(self._ledger)
        self._halted: str | None = None

    # -- the kill switch ----------------------------------------------------------------------

    @property
    def halted(self) -> str | None:
        """Why new trades are refused (the kill switch), or ``None`` while trading."""
        return self._halted

    def halt(self, reason: str) -> None:
        """Stop new trades (settlement and reconciliation go on) and alert, once per reason."""
        with self._lock:
            first = self._halted is None
            self._halted = self._halted or reason
        if first:
            logger.error("TRADING HALTED: %s", reason)
            self._emit(
                [self._event(EventKind.ERROR, "Trading halted", reason, Severity.ERROR, venue="trading")]
            )

    def resume_trading(self) -> None:
        """Lift the kill switch (after the cause, e.g. a full disk, was fixed)."""
        with self._lock:
            self._halted = None

    def _settleable(self, trade: Trade) -> bool:
        """Whether settlement may pay ``trade`` now: never while a leg's outcome is unknown."""
        return all(leg.status is not LegStatus.UNKNOWN for leg in trade.legs)

    # -- construction -------------------------------------------------------------------------

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
    ) -> BaseTradingSystem:
        """Build from :class:`Settings`: its limits, store (kind, data dir or URL, instance name),
        timezone and reset key, and a client for each named account ``ARBKIT_ACCOUNTS`` declares
        that ``exchanges`` does not bring."""
        limits: TradingLimits = settings.live if cls.mode == "live" else settings.paper
        return cls(
            initial_balance=limits.initial_balance,
            store=store or _open_store(settings, cls.mode),
            risk=risk if risk is not None else default_chain(_for_mode(settings, cls.mode)),
            exchanges=_with_named_accounts(settings, exchanges),
            notifiers=notifiers,
            zone=settings.zone,
            clock=clock,
            reset_key=settings.reset_confirm_key,
            settings=settings,
        )

    # -- helpers ------------------------------------------------------------------------------

    def _today(self, now: datetime | None = None) -> date:
        return (now or self._clock()).astimezone(self.zone).date()

    def _roll_day(self, now: datetime) -> None:
        """Start fresh daily counters at midnight in ``zone`` (caller holds the lock)."""
        today = self._today(now)
        if self._ledger.daily.day != today:
            self._ledger = self._counted(self._ledger.rolled(today))
            self._tripped = {t for t in self._tripped if t[0] == today}
            try:
                self.store.save_ledger(self._ledger)
            except PersistenceError as exc:
                self._remember_error(exc, venue="store", operation="save daily counters", now=now)

    @property
    def account_ids(self) -> tuple[AccountId, ...]:
        """Every account this system trades from, per venue the default account first."""
        found = dict.fromkeys(self.accounts)
        found.update(dict.fromkeys(self.account_funds or {}))
        return tuple(accounts_of(found))

    def client(self, venue: str | AccountId) -> Exchange:
        """The exchange client of an account (``AccountId`` or ``"kalshi:hedge"``), or of a venue
        (``"kalshi"``: its default account, else its first account). A default account's client
        is built through the plugins on first use; a named account's must have been given."""
        with self._lock:
            account = AccountId.parse(venue)
            client = self.accounts.get(account)
            if client is None and isinstance(venue, str) and account.is_default:
                client = self.exchanges.get(account.venue)  # the venue's first named account
            if client is None:
                if not account.is_default:
                    raise ConfigError(
                        f"no exchange client for account {account}: give one in exchanges= "
                        "(named accounts are not built on demand)"
                    )
                from arbkit.plugins import exchange

                client = exchange(account.venue, self._settings)
                self.accounts[account] = client
                self.exchanges.setdefault(account.venue, client)
            return client

    def _counted(self, ledger: Ledger) -> Ledger:
        """``ledger`` with its daily loss recounted from the trades by
        :func:`arbkit.trading.records.daily_loss`, the one place it is computed: never accumulated, so
        an unwind inside a trade that stays hedged is counted and a corrected record is not
        counted twice (caller holds the lock, after updating ``_trades``)."""
        return ledger.recounted(self._trades, self.zone)

    def _fetch_balances(self) -> CashReading | None:
        """Each account's cash as the venues say (live), read before the trading lock is taken,
        with what this process had spent per account when asked; ``None`` on paper."""
        return None

    def _account_cash(self, fetched: CashReading | None) -> dict[AccountId, Decimal] | None:
        """Free cash per account now (caller holds the lock): what was fetched less what trades
        recorded since spent (live), else each account's funds plus its recorded cash flow (paper
        with ``account_funds``), else ``None`` (one pool)."""
        if fetched is not None:
            balances, spent_then = fetched.balances, fetched.spent
            cash = {
                a: value - max(self._spent.get(a, ZERO) - spent_then.get(a, ZERO), ZERO)
                for a, value in balances.items()
            }
        elif self.account_funds is not None:
            flow = account_cash_flow(self._trades)
            cash = {a: funds + flow.get(a, ZERO) for a, funds in self.account_funds.items()}
        else:
            return None
        self._last_balances.update(cash)
        return cash

    def balances(self) -> Mapping[str, Decimal] | None:
        """Cash per venue for sizing opportunities (a leg goes to one account: the largest free
        cash of the venue's accounts), or ``None`` when the ledger is one pool (paper)."""
        fetched = self._fetch_balances()
        with self._lock:
            cash = self._account_cash(fetched)
        if cash is None:
            return None
        venues: dict[str, Decimal] = {}
        for account, value in cash.items():
            venues[account.venue] = max(value, venues.get(account.venue, value))
        return venues

    def account_balances(self) -> Mapping[AccountId, Decimal] | None:
        """Free cash per account as the venues say now (paper: funds plus flows), ``None``
        when paper cash is one pool."""
        fetched = self._fetch_balances()
        with self._lock:
            return self._account_cash(fetched)

    def _risk_context(
        self,
        now: datetime,
        opportunity: Opportunity | None = None,
        fetched: CashReading | None = None,
    ) -> RiskContext:
        """The risk chain's view of this system (caller holds the lock), with ``opportunity``'s
        legs routed to accounts on the cash that was ``fetched`` (see :mod:`arbkit.accounts`)."""
        exposure: dict[tuple[str, str], Decimal] = {}
        for trade in self._trades:
            if trade.status.holds_position:
                for key, amount in trade.exposure_by_market().items():
                    exposure[key] = exposure.get(key, ZERO) + amount
        cash = self._account_cash(fetched)
        route = route_legs(opportunity.legs, self.account_ids, cash) if opportunity is not None else None
        venue_cash: dict[str, Decimal] | None = None
        if cash is not None:
            venue_cash = {}
            for account, value in cash.items():  # the routed account's cash, else the largest
                venue_cash[account.venue] = max(value, venue_cash.get(account.venue, value))
            if route is not None and opportunity is not None:
                for leg, routed in zip(opportunity.legs, route.accounts, strict=True):
                    if routed is not None and routed in cash:
                        venue_cash[leg.exchange] = cash[routed]
        return RiskContext(
            mode=self.mode,
            now=now,
            balance=self._ledger.balance,
            daily_trades=self._ledger.daily.trades,
            daily_loss=self._ledger.daily.loss,
            venue_balances=venue_cash,
            market_exposure=exposure,
            route=route,
            account_balances=cash,
            account_exposure=_account_exposure(self._trades),
        )

    def _remember_error(
        self, exc: BaseException, *, venue: str, operation: str, now: datetime
    ) -> ErrorRecord:
        record = ErrorRecord.of(exc, venue=venue, operation=operation, now=now)
        self._errors.append(record)
        try:
            self.store.append_error(record)
        except PersistenceError:
            logger.warning("could not save an error record to %r", self.store)
        return record

    def _emit(self, events: Iterable[Event]) -> None:
        for event in events:
            self.notifiers.notify(event)

    def _event(
        self, kind: EventKind, title: str, message: str, severity: Severity = Severity.INFO, **data: Any
    ) -> Event:
        trade_id = data.pop("trade_id", None)
        return Event(
            kind, self.mode, title, message, severity, trade_id=trade_id, data=data, time=self._clock()
        )

    # -- the TradingSystem interface ----------------------------------------------------------

    def add_notifier(self, notifier: Notifier | Callable[[Event], object]) -> Notifier:
        """Receive this system's events (a notifier or a plain callable)."""
        return self.notifiers.add(notifier)

    def record_error(self, error: BaseException, *, venue: str, operation: str) -> ErrorRecord:
        """Add a failure to the error history and notify it."""
        with self._lock:
            record = self._remember_error(error, venue=venue, operation=operation, now=self._clock())
        self._emit(
            [
                self._event(
                    EventKind.ERROR,
                    f"{venue} error",
                    f"{operation}: {record.message}",
                    Severity.ERROR,
                    venue=venue,
                    operation=operation,
                    code=record.code,
                )
            ]
        )
        return record

    def execute(
        self, opportunity: Opportunity, *, books: BooksArg = None, raise_on_reject: bool = False
    ) -> TradeResult:
        """Run the risk chain, trade and record, all under one lock. Never raises on a venue error.

        The accounts' cash is read first, before the lock (network I/O never holds it); each
        leg is routed to an account of its venue that has the cash (:mod:`arbkit.accounts`).
        """
        events: list[Event] = []
        fetched = self._fetch_balances() if self._halted is None else None
        try:
            if self.reads_books and self._worth_fetching(opportunity, fetched):
                books = self._books_before_lock(opportunity, books)
        except Exception as exc:  # a venue error is reported on the result, never raised
            with self._lock:
                failed = self._execution_failed(opportunity, exc, self._clock(), events)
            self._emit(events)
            return failed
        with self._lock:
            now = self._clock()
            self._roll_day(now)
            route: Route | None = None
            if self._halted is not None:
                verdict = RiskVerdict(
                    (RiskDecision(False, "kill_switch", f"trading halted: {self._halted}"),)
                )
            else:
                context = self._risk_context(now, opportunity, fetched)
                route = context.route
                verdict = self.risk.evaluate(opportunity, context)
            if not verdict.allowed:
                events.extend(self._rejection_events(opportunity, verdict, now))
                result = TradeResult(opportunity, reasons=verdict.reasons)
            else:
                self._route = route
                try:
                    result = self._execute_and_record(opportunity, books, now, events)
                finally:
                    self._route = None
        self._emit(events)
        if raise_on_reject:
            result.raise_for_rejection()
        return result

    def _execution_failed(
        self, opportunity: Opportunity, exc: BaseException, now: datetime, events: list[Event]
    ) -> TradeResult:
        """Record a failed execution and announce it (caller holds the lock)."""
        venue = getattr(exc, "exchange", None) or "trading"
        record = self._remember_error(exc, venue=venue, operation="execute", now=now)
        events.append(
            self._event(EventKind.ERROR, "Trade failed", record.message, Severity.ERROR, venue=venue)
        )
        return TradeResult(opportunity, error=record.message)

    def _worth_fetching(self, opportunity: Opportunity, fetched: CashReading | None) -> bool:
        """Whether the risk chain would pass the trade now: a trade it refuses is refused
        without reading a book. Only a first look: the check that counts is made again under
        the lock, with whatever other threads did meanwhile."""
        with self._lock:
            if self._halted is not None:
                return False
            now = self._clock()
            self._roll_day(now)
            return self.risk.evaluate(opportunity, self._risk_context(now, opportunity, fetched)).allowed

    def _books_before_lock(self, opportunity: Opportunity, books: BooksArg) -> BooksArg:
        """The books :meth:`_execute` will need, read before the trading lock is taken (no
        network I/O under it). Live trading needs none (its orders meet the venue's own book);
        paper reads every leg's book that was not passed in."""
        return books

    def _rejection_events(self, opportunity: Opportunity, verdict: RiskVerdict, now: datetime) -> list[Event]:
        title = opportunity.title or opportunity.legs[0].market.title
        events = [
            self._event(
                EventKind.RISK_REJECTED,
                "Trade rejected",
                f"{title}: " + "; ".join(verdict.reasons),
                Severity.WARNING,
                reasons=list(verdict.reasons),
            )
        ]
        today = self._today(now)
        for limit in verdict.tripped_limits:
            if (today, limit) not in self._tripped:
                self._tripped.add((today, limit))
                reason = next(d.reason for d in verdict.decisions if d.limit == limit and not d.allowed)
                events.append(
                    self._event(
                        EventKind.LIMIT_TRIPPED, "Limit tripped", reason, Severity.WARNING, limit=limit
                    )
                )
        return events

    def _execute_and_record(
        self, opportunity: Opportunity, books: BooksArg, now: datetime, events: list[Event]
    ) -> TradeResult:
        """On a store several instances share, the limits its database holds for all of them are
        passed (and the trade's exposure reserved) first; then trade and record (caller holds the lock)."""
        gate = self.store if isinstance(self.store, SharedStore) and self.shared_limits is not None else None
        if gate is not None:
            refused = self._reserve_shared(gate, opportunity, now, events)
            if refused is not None:
                return refused
        try:
            return self._trade_and_record(opportunity, books, now, events)
        finally:
            if gate is not None:
                self._release_shared(gate, now)  # nothing left to release once the trade is recorded

    def _reserve_shared(
        self, gate: SharedStore, opportunity: Opportunity, now: datetime, events: list[Event]
    ) -> TradeResult | None:
        """Pass the limits the database holds for every instance, or the refusal (fails closed)."""
        assert self.shared_limits is not None
        try:
            verdict = gate.reserve(
                opportunity,
                day=self._today(now),
                limits=self.shared_limits,
                venue_balances=self._seen_balances,
                mark=self._balance_mark,
            )
        except PersistenceError as exc:
            record = self._remember_error(exc, venue="store", operation="shared limits", now=now)
            verdict = RiskVerdict(
                (
                    RiskDecision(
                        False, "shared_limits", f"the shared limits cannot be checked: {record.message}"
                    ),
                )
            )
        if verdict.allowed:
            return None
        events.extend(self._rejection_events(opportunity, verdict, now))
        return TradeResult(opportunity, reasons=verdict.reasons)

    def _release_shared(self, gate: SharedStore, now: datetime) -> None:
        try:
            gate.release()
        except PersistenceError as exc:
            # Held until this instance's lease expires (then released by the next check).
            self._remember_error(exc, venue="store", operation="release a reservation", now=now)

    def _sync_shared(self) -> None:
        """On a shared store, take in the trades other instances recorded or changed and the
        shared ledger (caller holds the lock): this instance's state is then everyone's."""
        if not isinstance(self.store, SharedStore):
            return
        try:
            trades, ledger = self.store.changes()
        except PersistenceError as exc:
            self._remember_error(
                exc, venue="store", operation="read other instances' trades", now=self._clock()
            )
            return
        for trade in trades:
            if trade.id in self._index:
                self._trades[self._index[trade.id]] = trade
            else:
                self._index[trade.id] = len(self._trades)
                self._trades.append(trade)
        if ledger is not None:
            self._ledger = ledger
            self._roll_day(self._clock())

    def _trade_and_record(
        self, opportunity: Opportunity, books: BooksArg, now: datetime, events: list[Event]
    ) -> TradeResult:
        trade_id = new_trade_id(now)
        try:
            trade = self._execute(opportunity, trade_id=trade_id, now=now, books=_index_books(books))
        except Exception as exc:
            return self._execution_failed(opportunity, exc, now, events)
        self._note_spent(trade, None)
        new_ledger, trade = self._ledger.recording(trade)
        # Memory is the truth of what happened (live orders cannot be un-sent), so it is
        # updated even if the store fails; the failure is reported on the result.
        self._ledger = new_ledger
        self._index[trade.id] = len(self._trades)
        self._trades.append(trade)
        new_ledger = self._ledger = self._counted(new_ledger)
        error = None
        try:
            self.store.append_trade(trade, new_ledger)
        except PersistenceError as exc:
            record = self._remember_error(exc, venue="store", operation=f"save trade {trade.id}", now=now)
            error = f"trade {trade.id} happened but was not saved: {record.message}"
            events.append(
                self._event(EventKind.ERROR, "Store failed", error, Severity.ERROR, trade_id=trade.id)
            )
        events.extend(trade_events(self.mode, trade, now))
        return TradeResult(opportunity, trade=trade, error=error)

    @abc.abstractmethod
    def _execute(self, opportunity: Opportunity, *, trade_id: str, now: datetime, books: BookIndex) -> Trade:
        """Place (or simulate) the legs and return the trade record. Called under the lock;
        leg ``i`` goes from account ``self._leg_accounts(opportunity)[i]``."""

    def _leg_accounts(self, opportunity: Opportunity) -> tuple[AccountId, ...]:
        """The account each leg of the trade being executed was routed to (caller holds the lock)."""
        route = self._route
        if route is None:
            route = route_legs(opportunity.legs, self.account_ids, None)
        return tuple(route.for_leg(i, leg.exchange) for i, leg in enumerate(opportunity.legs))

    def _note_spent(self, trade: Trade, old: Trade | None) -> None:
        """Count what ``trade`` paid per account beyond its earlier record (caller holds the lock)."""
        before: dict[AccountId, Decimal] = {}
        for leg in old.legs if old is not None else ():
            before[leg.account_id] = before.get(leg.account_id, ZERO) + leg.basis
        after: dict[AccountId, Decimal] = {}
        for leg in trade.legs:
            after[leg.account_id] = after.get(leg.account_id, ZERO) + leg.basis
        for account, paid in after.items():
            more = paid - before.get(account, ZERO)
            if more > ZERO:
                self._spent[account] = self._spent.get(account, ZERO) + more

    # -- flattening ---------------------------------------------------------------------------
    def flatten(self, trade_id: str, *, max_loss: Decimal | None = None) -> Trade:
        """Sell back everything trade ``trade_id`` holds at the venues' best bids, within a loss bound.

        ``max_loss`` bounds, in dollars, what the contracts sold may lose against what they
        cost with fees, even if every sell fills at its limit; ``None`` limits each leg to its
        average entry price less the unwind allowance per contract (the executor's rule).
        The sells are immediate-or-cancel, priced from the current books
        (:func:`arbkit.trading.flatten.plan_flatten`); a bound that cannot be kept at the current
        bids is refused with :class:`~arbkit.errors.RiskRejected` before anything is sent.
        Returns the trade as recorded afterwards: ``unwound`` once nothing is held, else
        still holding what did not sell. Raises :class:`~arbkit.errors.TradeNotFound` for
        an unknown id and :class:`~arbkit.errors.ValidationError` for a trade with no position.
        """
        trade = self._flattenable(trade_id)
        # The markets and books are read before the trading lock is taken (no network I/O
        # under it but the orders themselves); the plan is priced from what was read.
        markets: dict[int, Market] = {}
        books: dict[int, OrderBook] = {}
        for i, leg in enumerate(trade.legs):
            if leg.held_size > ZERO:
                client = self.client(leg.account_id)  # the account that holds the contracts
                markets[i] = client.market(leg.market_id)
                books[i] = client.order_book(markets[i], leg.outcome_id)
        plan = plan_flatten(
            trade, markets, books, max_loss=max_loss, max_loss_per_contract=self._unwind_allowance()
        )
        events: list[Event] = []
        with self._lock:
            if self._flattenable(trade_id) != trade:
                raise RiskRejected([f"trade {trade_id} changed while the flatten was priced: try again"])
            now = self._clock()
            flattened = self._flatten(trade, plan, now=now)
            flattened = self._record_correction(flattened, now)
            events.extend(trade_events(self.mode, flattened, now))
            self._after_flatten(flattened)
        self._emit(events)
        return flattened

    def _flattenable(self, trade_id: str) -> Trade:
        """The recorded trade, if it holds a position whose every order is decided."""
        with self._lock:
            index = self._index.get(trade_id)
            if index is None:
                raise TradeNotFound(trade_id)
            trade = self._trades[index]
        if not trade.status.holds_position:
            raise ValidationError(f"trade {trade_id} is {trade.status.value}: it holds no position")
        if any(leg.status is LegStatus.UNKNOWN for leg in trade.legs):
            raise RiskRejected(
                [f"trade {trade_id} has an order whose outcome is unknown: reconcile it before flattening"]
            )
        return trade

    def _unwind_allowance(self) -> Decimal:
        """How far below its average entry price a leg may be sold back without a dollar bound."""
        return Decimal("0.10")

    def _flatten(self, trade: Trade, plan: FlattenPlan, *, now: datetime) -> Trade:
        """Send (or simulate) the plan's sells and return the trade as it is now. Under the lock.

        Paper and live trading implement it; a trading system of one's own that does not is
        refused here, before anything is sent.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot flatten a trade")

    def _after_flatten(self, trade: Trade) -> None:  # noqa: B027 - a hook, empty on paper
        """After the flattened trade is stored (live: its journal entry is finished). Under the lock."""

    def _record_correction(self, trade: Trade, now: datetime) -> Trade:
        """Put a changed (or recovered) trade in the ledger and the store, correcting its earlier
        record: cash moves by the difference, the day's trade count only for a new trade, the
        daily loss recounted (caller holds the lock)."""
        old = self._trades[self._index[trade.id]] if trade.id in self._index else None
        self._note_spent(trade, old)
        self._ledger, trade = self._ledger.recording(trade, previous=old)
        try:
            if old is not None:
                self._trades[self._index[trade.id]] = trade
                self._ledger = self._counted(self._ledger)  # recounted: a correction never counts twice
                self.store.update_trade(trade, self._ledger)
            else:
                self._index[trade.id] = len(self._trades)
                self._trades.append(trade)
                self._ledger = self._counted(self._ledger)
                self.store.append_trade(trade, self._ledger)
        except PersistenceError as exc:
            self._remember_error(exc, venue="store", operation=f"save trade {trade.id}", now=now)
        return trade

    def state(self) -> TradingState:
        """A consistent snapshot (taken under the lock)."""
        with self._lock:
            now = self._clock()
            self._roll_day(now)
            trades = tuple(self._trades)
            ledger = self._ledger
            errors = tuple(self._errors)
        open_positions = tuple(t for t in trades if t.status.holds_position)
        unrealised = ZERO
        for trade in open_positions:
            unrealised += trade.expected_profit
        return TradingState(
            accounts=self._account_states(trades),
            mode=self.mode,
            initial_balance=ledger.initial_balance,
            balance=ledger.balance,
            open_positions=open_positions,
            trade_history=trades,
            realised_pnl=ledger.realised_pnl,
            unrealised_pnl=unrealised,
            day=ledger.daily.day,
            daily_trades=ledger.daily.trades,
            daily_loss=ledger.daily.loss,
            recent_errors=errors,
        )

    def _account_states(self, trades: tuple[Trade, ...]) -> tuple[AccountState, ...]:
        """Cash, exposure and positions per account by the records (no venue is asked)."""
        flow = account_cash_flow(trades)
        held = account_positions(trades)
        exposure = _account_exposure(trades)
        with self._lock:
            last = dict(self._last_balances)
            funds = dict(self.account_funds or {})
            configured = self.account_ids
        known = dict.fromkeys(configured) | dict.fromkeys(flow) | dict.fromkeys(a for a, _, _ in held)
        states = []
        for account in accounts_of(known):
            balance = last.get(account)
            if account in funds:
                balance = funds[account] + flow.get(account, ZERO)
            states.append(
                AccountState(
                    account=account,
                    balance=balance,
                    cash_flow=flow.get(account, ZERO),
                    exposure=exposure.get(account, ZERO),
                    positions=tuple(
                        (market, outcome, size)
                        for (a, market, outcome), size in sorted(held.items(), key=lambda kv: kv[0][1:])
                        if a == account
                    ),
                )
            )
        return tuple(states)

    def trade(self, trade_id: str) -> Trade:
        """One recorded trade by id (``KeyError`` if unknown)."""
        with self._lock:
            return self._trades[self._index[trade_id]]

    def check_settlements(self) -> list[Settlement]:
        """Ask each venue about every open trade's markets and settle those fully resolved.

        Venue errors are recorded and the affected trades wait for the next check. On a store
        several instances share, what the others recorded or settled is read first.
        """
        with self._lock:
            self._sync_shared()
            open_trades = [t for t in self._trades if t.status.holds_position and self._settleable(t)]
        if not open_trades:
            return []
        failures: list[Event] = []

        def on_error(exc: BaseException, venue: str, operation: str) -> None:
            with self._lock:
                record = self._remember_error(exc, venue=venue, operation=operation, now=self._clock())
            failures.append(
                self._event(
                    EventKind.ERROR,
                    f"{venue} error",
                    f"{operation}: {record.message}",
                    Severity.ERROR,
                    venue=venue,
                )
            )

        # Network calls happen outside the lock so trading is not blocked meanwhile.
        resolutions = fetch_resolutions(open_trades, self.client, on_error=on_error)
        settled: list[Settlement] = []
        events: list[Event] = list(failures)
        with self._lock:
            now = self._clock()
            self._roll_day(now)
            for candidate in open_trades:
                current = self._trades[self._index[candidate.id]]
                if not self._settleable(current):  # a leg became unknown meanwhile
                    continue
                settlement = settle_trade(current, resolutions, now=now)
                if settlement is None:  # still pending, or settled meanwhile by another caller
                    continue
                self._ledger = self._ledger.settling(
                    payout=settlement.payout, realised_pnl=settlement.realised_pnl
                )
                self._trades[self._index[current.id]] = settlement.trade
                self._ledger = self._counted(self._ledger)
                try:
                    self.store.update_trade(settlement.trade, self._ledger)
                except PersistenceError as exc:
                    self._remember_error(
                        exc, venue="store", operation=f"save settlement {current.id}", now=now
                    )
                settled.append(settlement)
                events.extend(settlement_events(self.mode, settlement, now))
        self._emit(events)
        return settled

    def reset(self, confirm: str) -> None:
        """Forget all trades and errors and start again from the initial balance.

        ``confirm`` must equal the configured reset key (``TRADING_RESET_CONFIRM_KEY``), or
        the mode name (``"paper"`` / ``"live"``) when no key is set. A live system with open
        positions refuses: they would never be settled.
        """
        ok = self._reset_key.matches(confirm) if self._reset_key is not None else confirm == self.mode
        if not ok:
            raise ValidationError("reset not confirmed: wrong confirmation")
        with self._lock:
            if self.mode == "live" and any(t.status.holds_position for t in self._trades):
                raise ValidationError("live trading has open positions; settle them before a reset")
            ledger = self._ledger
            fresh = Ledger(
                self.mode, ledger.initial_balance, ledger.initial_balance, DailyCounters(self._today())
            )
            self.store.reset(fresh)
            self._ledger, self._trades, self._index = fresh, [], {}
            self._errors = deque(maxlen=MAX_ERRORS)
            self._tripped = set()


def _with_named_accounts(
    settings: Settings, exchanges: Mapping[str, Exchange] | Mapping[AccountId, Exchange] | None
) -> Mapping[str, Exchange] | Mapping[AccountId, Exchange] | None:
    """``exchanges``, and when the settings declare a named account it lacks, the client of
    every account of theirs it lacks (``arbkit.exchange(venue, settings, account=name)``), the
    default ones too, so that legs are routed over all of them. Without named accounts,
    ``exchanges`` as given: default accounts not given are built on first use, as before."""
    from arbkit.plugins import exchange
    from arbkit.plugins import exchanges as installed

    # A venue no plugin provides is left out here and reported by whoever scans it (Bot).
    offered = set(installed())
    declared = [AccountId(venue, name) for venue, name in settings.accounts if venue in offered]
    clients = accounts_of(exchanges)
    missing = [account for account in declared if account not in clients]
    if all(account.is_default for account in missing):
        return exchanges

    for account in missing:
        clients[account] = exchange(account.venue, settings, account=account.name)
    return clients


def _open_store(settings: Settings, mode: str) -> TradeStore:
    """The store the settings name: its kind, data dir or URL, and this instance's name."""
    return open_store(
        settings.store, settings.data_dir, mode, url=settings.store_url, instance=settings.instance
    )


def _for_mode(settings: Settings, mode: str) -> Settings:
    """``settings`` with ``live_trading`` matching ``mode`` (so ``settings.limits`` is that mode's)."""
    live = mode == "live"
    return settings if settings.live_trading == live else attrs.evolve(settings, live_trading=live)


def _account_exposure(trades: Iterable[Trade]) -> dict[AccountId, Decimal]:
    """Dollars still at stake per account in trades that hold a position (cost and fees held)."""
    exposure: dict[AccountId, Decimal] = {}
    for trade in trades:
        if not trade.status.holds_position:
            continue
        for leg in trade.legs:
            if leg.held_size > ZERO and leg.filled_size > ZERO:
                share = leg.basis * leg.held_size / leg.filled_size
                exposure[leg.account_id] = exposure.get(leg.account_id, ZERO) + share
    return exposure


def _index_books(books: BooksArg) -> dict[OutcomeKey, OrderBook]:
    """Books by ``(exchange, market_id, outcome_id)``, read from each book itself (never from keys)."""
    if books is None:
        return {}
    values = books.values() if isinstance(books, Mapping) else books
    return {b.key: b for b in values}
