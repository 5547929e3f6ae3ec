"""The leg executor: places an opportunity's legs concurrently and never leaves the books lying.

:class:`OrderExecutor` turns an :class:`~arbkit.engine.opportunity.Opportunity` into real orders
through :class:`~arbkit.exchange.Exchange` objects (it never names a venue):

1. The intent (trade id, legs, client order ids, each order's creation time, and each venue
   order id a client can tell in advance through ``order_id_for``) is journalled and fsynced
   (:mod:`arbkit.trading.execution.journal`) before the first order leaves. If it cannot be written, nothing
   is sent.
2. Every leg is sent at once from a small thread pool, as an immediate-or-cancel (or
   fill-or-kill) limit order at the leg's ``limit_price``, with the client order id
   derived from the trade id (:func:`arbkit.trading.records.client_order_id`).
3. **An order's fate** is decided in one place, :func:`arbkit.trading.execution.runs.order_fate`:
   *placed* (the venue answered with the order), *refused* (the venue answered for that
   order that it did not take it: a 4xx with its refusal body) or *unknown* (timeouts,
   drops, every 5xx, 429 and 503 alike: a limiter in front of the handler answers exactly
   as one behind it). Unknown is never taken for absent: the order is looked up by client
   order id (then venue id) for ``reconcile_seconds``, and if it is still not seen it is
   **fenced** by re-sending the identical order (same client order id; the same signed
   order where the venue has no client ids, so the same hash): the venue either takes
   it now (placed, once) or refuses it as a duplicate (it exists: looked up again). What
   stays unknown is left in the journal, unfinished, for the reconciliation job
   (:mod:`arbkit.trading.reconcile`), and its trade is never settled meanwhile.
4. An order the venue holds undecided (Polymarket ``delayed``, a sports taker delay) is in
   flight: followed until its trades decide it (``in_flight_seconds``), never cancelled as
   if it were resting.
5. Hedging: legs that filled only partly are topped up at their limit price while the
   first fill is younger than ``max_unhedged_seconds``; what is still unequal after that
   is unwound: each excess is sold back on a short limit-price ladder from the best bid
   down to the worst acceptable price (``max_unwind_loss_per_contract`` under the entry
   price), re-reading the book between steps. A residual smaller than the coarsest leg's
   size increment (a Polymarket buy spent in whole cents yields 50.9945 shares against 51
   Kalshi contracts) cannot be traded on any venue: the trade is open with that residual
   recorded, not stuck in exposure. Whatever else cannot be sold is recorded as exposure:
   the trade never pretends to be flat.
6. Resting remainders are cancelled; a cancel that fails is retried and reported.
7. A journal write that fails mid-trade does not raise: the trade goes on being hedged and
   recorded in memory, and the report carries ``journal_failure`` so the trading system
   stops trading (its kill switch) and alerts.

Every state change is one journal record, so :meth:`OrderExecutor.resume` can finish an
interrupted trade after a crash from the journal and the venues alone.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from arbkit.accounts import AccountId, accounts_of
from arbkit.codec import structure
from arbkit.engine.opportunity import Opportunity
from arbkit.errors import ArbkitError, OrderNotFound, PersistenceError, RateLimited, ValidationError
from arbkit.exchange import Exchange
from arbkit.models import Fill, Order, OrderRequest, OrderStatus, Side, TimeInForce, utcnow
from arbkit.trading.execution.journal import INTENT, Journal, JournalEntry, OrderIntent, OrderOutcome
from arbkit.trading.execution.runs import (
    DONE,
    EXISTS,
    IN_FLIGHT,
    NEW,
    NOT_PLACED,
    REFUSED,
    REJECTED,
    RESTING,
    SKIPPED,
    UNKNOWN,
    ExecutionConfig,
    ExecutionReport,
    LegRun,
    OrderAttempt,
    ceil_to,
    floor_to,
    leg_record,
    order_fate,
    reason,
)
from arbkit.trading.flatten import FlattenPlan
from arbkit.trading.records import (
    LegFill,
    LegStatus,
    OpportunitySummary,
    Trade,
    TradeLeg,
    TradeStatus,
    trade_from_dict,
    trade_to_dict,
)

__all__ = ["ExecutionConfig", "ExecutionReport", "OrderExecutor"]

log = logging.getLogger(__name__)
ZERO = Decimal(0)
ORDER = "order"
RESULT = "result"


class OrderExecutor:
    """Places, reconciles, hedges and unwinds the legs of live trades (see the module docstring)."""

    def __init__(
        self, journal: Journal, config: ExecutionConfig | None = None, *, max_workers: int = 8
    ) -> None:
        self.journal = journal
        self.config = config or ExecutionConfig()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="arbkit-leg")
        self._errors: list[tuple[str, str, BaseException]] = []
        self._errors_lock = threading.Lock()
        self._journal_failure: str | None = None

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown(wait=True)

    # -- entry points ------------------------------------------------------------------------
    def execute(
        self,
        opportunity: Opportunity,
        *,
        trade_id: str,
        now: datetime,
        clients: Mapping[str, Exchange] | Mapping[AccountId, Exchange],
        accounts: Sequence[AccountId] | None = None,
    ) -> ExecutionReport:
        """Trade ``opportunity``; never raises on a venue error nor on a journal failure.

        Leg ``i`` is sent from account ``accounts[i]`` (default: its venue's default account),
        whose client ``clients`` holds (keyed by :class:`~arbkit.accounts.AccountId`, or by
        ``"kalshi"`` / ``"kalshi:hedge"``; resolved by the caller's thread).
        A journal that cannot be written is reported in ``ExecutionReport.journal_failure``:
        before the intent, nothing is sent; later, the trade is finished in memory.
        """
        self._errors = []
        self._journal_failure = None
        legs = []
        by_account = accounts_of(clients)
        for index, leg in enumerate(opportunity.legs):
            account = accounts[index] if accounts is not None else AccountId(leg.exchange)
            record = TradeLeg.planned(
                leg, trade_id=trade_id, index=index, size=opportunity.size, account=account
            )
            run = LegRun(index, record, leg.market, by_account[account])
            run.orders.append(
                OrderAttempt(
                    index,
                    "entry",
                    record.client_order_id,
                    leg.side,
                    leg.limit_price,
                    leg.size,
                    created_at=now,
                )
            )
            legs.append(run)
        for run in legs:
            self._precompute_id(run, run.orders[0])
        skeleton = Trade(
            id=trade_id,
            mode="live",
            opportunity=OpportunitySummary.of(opportunity),
            legs=tuple(r.record for r in legs),
            status=TradeStatus.FAILED,
            created_at=now,
            updated_at=now,
        )
        intent_ok = self._journal(
            trade_id,
            INTENT,
            trade=trade_to_dict(skeleton),
            orders=[r.orders[0].intent(r.record) for r in legs],
        )
        started = time.monotonic()
        # A leg the venue would refuse outright (size, tick, credentials): send nothing at all.
        send = intent_ok and not any(r.hard_failure for r in legs)
        todo = [r for r in legs if r.orders[0].state == NEW] if send else []
        for run in legs:
            order = run.orders[0]
            if run not in todo and order.state == NEW:
                order.state = SKIPPED
                order.error = order.error or (
                    "not sent: the journal could not be written" if not intent_ok else "not sent"
                )
                if intent_ok:
                    self._journal(trade_id, RESULT, **order.result())
        if self.config.concurrent:
            list(self._pool.map(lambda r: self._send(trade_id, r, r.orders[0]), todo))
        else:
            for run in todo:
                self._send(trade_id, run, run.orders[0])
        self._hedge(trade_id, legs, deadline=started + self.config.max_unhedged_seconds, topups=True)
        return ExecutionReport(
            self._build(skeleton, legs, now), tuple(self._errors), journal_failure=self._journal_failure
        )

    def resume(
        self,
        entry: JournalEntry,
        *,
        now: datetime,
        clients: Callable[[AccountId], Exchange],
        known: Trade | None = None,
    ) -> ExecutionReport:
        """Finish an interrupted trade: reconcile every order of ``entry``, fence the unseen, hedge.

        Orders without a journalled answer are looked up (by client order id, then venue
        order id); one still not seen is fenced by re-sending the identical order (the venue
        refuses a duplicate if the first landed). An order that cannot be decided stays
        unknown (the trade is then ``exposure`` with the entry unfinished, for the next
        reconciliation). Raises only when a venue cannot be asked at all.

        ``known`` is the stored record of the trade, if any: orders it lists that the journal
        lacks (sent after the journal failed) are adopted from the venue by their ids, so
        recovery never forgets an order the process did send.
        """
        self._errors = []
        self._journal_failure = None
        skeleton, legs = self._rebuild(entry, clients=clients, known=known)
        self._hedge(entry.trade_id, legs, deadline=time.monotonic(), topups=False)
        return ExecutionReport(
            self._build(skeleton, legs, now), tuple(self._errors), journal_failure=self._journal_failure
        )

    def _rebuild(
        self, entry: JournalEntry, *, clients: Callable[[AccountId], Exchange], known: Trade | None
    ) -> tuple[Trade, list[LegRun]]:
        """The legs of a journalled trade with every order's fate decided as far as the venues tell."""
        intent = entry.intent
        if intent is None:
            raise ArbkitError(f"journal entry {entry.trade_id} has no intent record")
        skeleton = trade_from_dict(intent.data["trade"])
        # Each leg's orders are looked up, fenced and hedged on the account that sent them.
        legs = [LegRun(i, leg, None, clients(leg.account_id)) for i, leg in enumerate(skeleton.legs)]
        results = {
            outcome.client_order_id: outcome
            for outcome in (structure(r.data, OrderOutcome) for r in entry.steps(RESULT))
        }
        planned = [
            structure(data, OrderIntent)
            for data in [*intent.data.get("orders", []), *(r.data for r in entry.steps(ORDER))]
        ]
        for plan in planned:
            run = legs[plan.leg]
            order = OrderAttempt(
                run.index,
                plan.purpose,
                plan.client_order_id,
                plan.side,
                plan.price,
                plan.size,
                order_id=plan.order_id,
                created_at=plan.created_at,
            )
            done = results.get(order.client_order_id)
            if done is not None:
                order.order_id = done.order_id or order.order_id
                order.state = done.state
                order.filled, order.cost, order.fees = done.filled, done.cost, done.fees
                order.error = done.error
            run.orders.append(order)
        for run in legs:
            # The market the stored record still holds (this process made the trade), else
            # asked once from the venue (a trade from before a restart).
            held = known.legs[run.index].market if known is not None and run.index < len(known.legs) else None
            run.market = held or run.client.market(run.record.market_id)
            if known is not None and run.index < len(known.legs):
                stored = known.legs[run.index]
                entry_order = run.orders[0] if run.orders else None
                if (
                    stored.status is LegStatus.REJECTED
                    and entry_order is not None
                    and entry_order.state == NEW
                ):
                    # The store holds the venue's refusal the journal missed: never re-send it.
                    entry_order.state = REJECTED
                    entry_order.error = stored.error or "refused by the venue (from the stored record)"
                    self._journal(entry.trade_id, RESULT, **entry_order.result())
                self._adopt(run, stored)
            for order in run.orders:
                if order.state in (NEW, UNKNOWN, RESTING, NOT_PLACED, IN_FLIGHT):
                    self._resolve(entry.trade_id, run, order)
            run.hard_failure = any(o.state == REJECTED and o.purpose == "entry" for o in run.orders)
        return skeleton, legs

    def flatten(
        self,
        entry: JournalEntry,
        plan: FlattenPlan,
        *,
        now: datetime,
        clients: Callable[[AccountId], Exchange],
        known: Trade | None = None,
    ) -> ExecutionReport:
        """Sell back what each leg of a journalled trade holds, at no worse than the plan's prices.

        The trade is rebuilt as :meth:`resume` does (so an order still undecided is looked up
        first, and nothing is sold while any leg is unknown), then one immediate-or-cancel
        sell per leg goes out at once, sized at what the leg holds now (never more than the
        plan), limited at the plan's worst price. The entry must already hold a ``flatten``
        record (it reopens the entry, so a crash here is finished by recovery).
        """
        self._errors = []
        self._journal_failure = None
        skeleton, legs = self._rebuild(entry, clients=clients, known=known)
        if not any(run.unknown for run in legs):
            work = []
            for run in legs:
                step = plan.leg(run.index)
                if step is None or run.market is None:
                    continue
                size = min(floor_to(run.held, run.market.size_increment), step.size)
                if size > ZERO:
                    work.append((run, self._sell_back(entry.trade_id, run, step.worst_price, size)))
            self._run_all(work)
        return ExecutionReport(
            self._build(skeleton, legs, now), tuple(self._errors), journal_failure=self._journal_failure
        )

    def _sell_back(self, trade_id: str, run: LegRun, price: Decimal, size: Decimal) -> Callable[[], None]:
        order = _unwind_order(run, price, size)
        return lambda: self._send_extra(trade_id, run, order)

    # -- the journal -------------------------------------------------------------------------
    def _journal(self, trade_id: str, step: str, **data: object) -> bool:
        """Append one record; a failure is remembered (the trade goes on in memory), not raised."""
        try:
            self.journal.append(trade_id, step, **data)
        except PersistenceError as exc:
            with self._errors_lock:
                first = self._journal_failure is None
                self._journal_failure = self._journal_failure or str(exc)
            if first:
                self._error("journal", f"journal {step} of {trade_id}", exc)
            return False
        return True

    # -- one order ---------------------------------------------------------------------------
    def _error(self, venue: str, operation: str, exc: BaseException) -> None:
        with self._errors_lock:
            self._errors.append((venue, operation, exc))
        log.warning("%s %s failed: %s", venue, operation, exc)

    def _request(self, run: LegRun, order: OrderAttempt) -> OrderRequest:
        assert run.market is not None
        tif = TimeInForce.IOC if order.purpose == "unwind" else self.config.time_in_force
        return OrderRequest(
            run.market,
            run.record.outcome_id,
            order.side,
            order.price,
            order.size,
            tif,
            client_order_id=order.client_order_id,
            created_at=order.created_at,
        )

    def _precompute_id(self, run: LegRun, order: OrderAttempt) -> None:
        """Ask the client for the order's venue id before sending, so the journal holds it."""
        order_id_for = getattr(run.client, "order_id_for", None)
        if order_id_for is None:
            return
        try:
            order.order_id = str(order_id_for(self._request(run, order)))
        except ArbkitError as exc:  # the venue would refuse it (size, tick, minimum, credentials)
            order.state, order.error = REJECTED, str(exc)
            order.inexpressible = isinstance(exc, ValidationError)
            run.hard_failure = order.purpose == "entry"
            self._error(run.account, f"prepare order {order.client_order_id}", exc)

    def _same_order(self, run: LegRun, order: OrderAttempt) -> bool:
        """Whether re-sending ``order`` now sends the very same order (so the venue deduplicates).

        A client with ``order_id_for`` (the id is a hash of the signed order) must give the
        journalled id again; one without identifies orders by client order id, which the
        venue keeps unique.
        """
        order_id_for = getattr(run.client, "order_id_for", None)
        if order_id_for is None or order.order_id is None:
            return True
        try:
            return bool(str(order_id_for(self._request(run, order))) == order.order_id)
        except ArbkitError:
            return False

    def _send(self, trade_id: str, run: LegRun, order: OrderAttempt) -> None:
        """Send one order and decide its fate (placed / refused / unknown), then journal it.

        Unknown is looked up for ``reconcile_seconds``, then fenced by an identical re-send
        (``place_attempts`` sends in all); what is still undecided stays ``unknown``.
        """
        venue = run.account
        attempts = max(1, self.config.place_attempts)
        for attempt in range(attempts):
            try:
                placed = run.client.place_order(self._request(run, order))
            except Exception as exc:
                fate = order_fate(exc)
                self._error(venue, f"place order {order.client_order_id}", exc)
                if fate == REFUSED:
                    # The venue answered for this very order (same client order id / hash).
                    order.state, order.error = REJECTED, reason(exc)
                    run.hard_failure = run.hard_failure or order.purpose == "entry"
                    break
                order.state, order.error = UNKNOWN, reason(exc)
                if self._reconcile(run, order) or fate == EXISTS:
                    break  # found; or it exists but cannot be read yet (stays unknown)
                if attempt + 1 >= attempts or not self._same_order(run, order):
                    break
                self._pause(exc)
            else:
                self._apply(run, order, placed, exact=False)
                self._follow(run, order)
                break
        self._journal(trade_id, RESULT, **order.result())
        self._prefetch_fills(run, order)

    def _prefetch_fills(self, run: LegRun, order: OrderAttempt) -> None:
        """Start reading the fills of a finished order whose venue reported no fee (Polymarket), so
        the lookup overlaps the other legs instead of following them (concurrent execution only)."""
        fees = run.market.fees if run.market is not None else None
        if (
            self.config.concurrent
            and fees is not None
            and order.state == DONE
            and order.order_id
            and order.filled > ZERO
            and order.fees == ZERO
            and not order.fills
        ):
            order.prefetched = self._pool.submit(self._fetch_fills, run, order)

    def _pause(self, exc: BaseException) -> None:
        pause = self.config.retry_pause_seconds
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            pause = max(pause, min(float(exc.retry_after), self.config.max_unhedged_seconds / 2))
        if pause > 0:
            time.sleep(pause)

    def _adopt(self, run: LegRun, leg: TradeLeg) -> None:
        """Add the orders a stored leg records but the journal does not (see :meth:`resume`)."""
        journalled_cids = {o.client_order_id for o in run.orders}
        journalled_ids = {o.order_id for o in run.orders if o.order_id}
        wanted: list[tuple[str | None, str | None]] = [
            (cid, None) for cid in leg.client_order_ids if cid not in journalled_cids
        ]
        wanted += [(None, oid) for oid in leg.order_ids if oid not in journalled_ids]
        for cid, oid in wanted:
            found: Order | None = None
            try:
                if cid is not None:
                    found = run.client.find_order(cid, market=run.market)
                if found is None and oid is not None:
                    found = run.client.get_order(oid, market=run.market)
            except OrderNotFound:
                found = None
            except ArbkitError as exc:  # cannot be read now: unknown until a later run reads it
                self._error(run.account, f"adopt order {cid or oid}", exc)
                order = OrderAttempt(
                    run.index, _purpose(cid), cid or f"adopted-{oid}", Side.BUY, ZERO, ZERO, adopted=True
                )
                order.order_id, order.state = oid, UNKNOWN
                order.error = f"order {cid or oid} is on the stored record but cannot be read"
                run.orders.append(order)
                continue
            if found is None:
                continue  # the venue has no such order: it was refused or never sent
            if found.id in journalled_ids or (found.client_order_id or "") in journalled_cids:
                continue
            coid = found.client_order_id or cid or f"adopted-{found.id}"
            purpose = _purpose(coid)
            order = OrderAttempt(
                run.index,
                purpose,
                coid,
                # The side it was sent with (a netting venue may report a sell as a buy of NO).
                Side.SELL if purpose == "unwind" else Side.BUY,
                found.price,
                found.size,
                order_id=found.id,
                adopted=True,
            )
            self._apply(run, order, found, exact=True)
            run.orders.append(order)
            journalled_ids.add(found.id)
            journalled_cids.add(order.client_order_id)

    def _resolve(self, trade_id: str, run: LegRun, order: OrderAttempt) -> None:
        """Recovery: decide an order the journal left undecided (look up, then fence by re-send)."""
        if order.adopted:  # known only from the store: looked up, never re-sent
            if not self._reconcile(run, order):
                order.state = UNKNOWN
            self._journal(trade_id, RESULT, **order.result())
            return
        was_acknowledged = order.state in (RESTING, IN_FLIGHT)
        if self._reconcile(run, order):
            self._journal(trade_id, RESULT, **order.result())
            return
        if was_acknowledged or not self._same_order(run, order):
            # The venue took it (it cannot be re-sent), or this process cannot rebuild the very
            # same order: it stays unknown until a lookup finds it.
            order.state = UNKNOWN
            order.error = order.error or "outcome unknown: not found at the venue yet"
            self._journal(trade_id, RESULT, **order.result())
            return
        self._send(trade_id, run, order)

    def _apply(self, run: LegRun, order: OrderAttempt, placed: Order, *, exact: bool) -> None:
        """Take the venue's word on an order: id, fills, cost, fees, whether it can still fill."""
        order.order_id = placed.id
        order.filled = placed.filled_size
        price = placed.average_price if placed.average_price else order.price
        # What the venue says was paid, exactly; an average x size only when it gave no total.
        order.cost = placed.fill_cost if placed.fill_cost is not None else order.filled * price
        if _complement(run, placed.outcome_id, placed.side, order.side):
            order.cost = order.filled - order.cost  # the same contracts, at 1 - the price
        order.fees = placed.fees
        if exact and order.filled > ZERO:
            self._exact_fills(run, order)
        # An order the venue reported no fee for (Polymarket's payloads carry none) is priced
        # per fill once the trade is hedged (_price_unreported_fees): never delaying the hedge.
        if placed.status.is_final:
            order.state = DONE
        elif placed.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
            order.state = IN_FLIGHT  # taken but undecided (a taker delay): not resting
        else:
            order.state = RESTING
        order.error = None

    def _follow(self, run: LegRun, order: OrderAttempt) -> None:
        """After the venue's answer: cancel a resting remainder, follow an in-flight order."""
        if order.state == RESTING:
            self._finish_resting(run, order)
        elif order.state == IN_FLIGHT:
            self._await_in_flight(run, order)

    def _await_in_flight(self, run: LegRun, order: OrderAttempt) -> None:
        """Follow an order the venue holds undecided until it is final; never cancel it."""
        assert order.order_id is not None
        deadline = time.monotonic() + self.config.in_flight_seconds
        pause = 0.05
        while True:
            try:
                found = run.client.get_order(order.order_id, market=run.market)
            except ArbkitError as exc:
                self._error(run.account, f"order {order.order_id} in flight", exc)
                found = None
            if found is not None:
                self._apply(run, order, found, exact=found.status.is_final)
                if order.state == DONE:
                    return
                if order.state == RESTING:  # it came to rest: an ordinary resting remainder
                    self._finish_resting(run, order)
                    return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                order.error = f"order {order.order_id} still in flight at the venue"
                return  # stays IN_FLIGHT: the reconciliation job follows it
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.5)

    def _exact_fills(self, run: LegRun, order: OrderAttempt) -> None:
        """Replace an order lookup's average (some venues report the limit) with its actual fills."""
        self._apply_fills(run, order, self._fetch_fills(run, order))

    def _fetch_fills(self, run: LegRun, order: OrderAttempt) -> list[Fill] | None:
        """The venue's fills of ``order`` (``None`` when they cannot be read now)."""
        try:
            return run.client.fills(order_id=order.order_id, market=run.market)
        except ArbkitError as exc:
            self._error(run.account, f"fills of {order.order_id}", exc)
            return None

    def _apply_fills(self, run: LegRun, order: OrderAttempt, fills: list[Fill] | None) -> None:
        if not fills:
            return
        fills = [
            attrs.evolve(f, outcome_id=run.record.outcome_id, side=order.side, price=Decimal(1) - f.price)
            if _complement(run, f.outcome_id, f.side, order.side)
            else f
            for f in fills
        ]
        size = sum((f.size for f in fills), ZERO)
        if size == order.filled:
            order.cost = sum((f.price * f.size for f in fills), ZERO)
            order.fees = sum((f.fee for f in fills), ZERO)
            in_time = sorted(fills, key=lambda f: f.timestamp)  # oldest first
            order.fills = [LegFill(f.side, f.price, f.size, f.fee, f.order_id) for f in in_time]

    def _lookup(self, run: LegRun, order: OrderAttempt) -> Order | None:
        found = run.client.find_order(order.client_order_id, market=run.market)
        if found is None and order.order_id:
            try:
                found = run.client.get_order(order.order_id, market=run.market)
            except OrderNotFound:
                found = None
        return found

    def _reconcile(self, run: LegRun, order: OrderAttempt) -> bool:
        """Look for an order for ``reconcile_seconds``; True once found (and applied).

        Never sends anything, and not finding it decides nothing: the caller fences it.
        """
        deadline = time.monotonic() + self.config.reconcile_seconds
        pause = 0.02
        while True:
            try:
                found = self._lookup(run, order)
            except ArbkitError as exc:
                self._error(run.account, f"reconcile {order.client_order_id}", exc)
                found = None
            if found is not None:
                self._apply(run, order, found, exact=True)
                self._follow(run, order)
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(pause, remaining))  # the last look is at the deadline itself
            pause = min(pause * 2, 0.25)

    def _finish_resting(self, run: LegRun, order: OrderAttempt) -> None:
        """Cancel what remains of an order that can still fill; retry a failing cancel, report it."""
        assert order.order_id is not None
        venue = run.account
        for attempt in range(max(1, self.config.cancel_attempts)):
            final: Order | None = None
            try:
                final = run.client.cancel_order(order.order_id, market=run.market)
            except ArbkitError as exc:
                self._error(venue, f"cancel {order.order_id} (attempt {attempt + 1})", exc)
            if final is None or not final.status.is_final:
                try:  # it may have filled or been cancelled meanwhile
                    final = run.client.get_order(order.order_id, market=run.market)
                except ArbkitError as exc:
                    self._error(venue, f"order {order.order_id} after cancel", exc)
            if final is not None and final.status.is_final:
                self._apply(run, order, final, exact=False)
                return
            time.sleep(self.config.retry_pause_seconds)
        order.error = (
            f"cancel of {order.order_id} failed {self.config.cancel_attempts} times; it may still rest"
        )

    # -- hedging -----------------------------------------------------------------------------
    def _hedge(self, trade_id: str, legs: Sequence[LegRun], *, deadline: float, topups: bool) -> None:
        """Bring every leg to the same held size: top up short legs, then unwind the excess."""
        if any(run.unknown for run in legs):
            return  # cannot hedge what is not known; recover() finishes it
        target = max(run.held for run in legs)
        if target <= ZERO:
            return
        if topups and not any(run.hard_failure for run in legs):
            for _ in range(self.config.max_topups):
                short = [r for r in legs if ZERO < r.held < target and r.market is not None]
                if not short or time.monotonic() >= deadline:
                    break
                self._run_all([(r, self._topup(trade_id, r, target)) for r in short])
            if any(run.unknown for run in legs):
                return
        hedged = min(run.held for run in legs)
        excess = [(r, r.held - hedged) for r in legs if r.held > hedged]
        self._run_all([(r, _bind(self._unwind, trade_id, r, x)) for r, x in excess])

    def _run_all(self, work: Sequence[tuple[LegRun, Callable[[], None]]]) -> None:
        if self.config.concurrent and len(work) > 1:
            list(self._pool.map(lambda item: item[1](), work))
        else:
            for _, job in work:
                job()

    def _topup(self, trade_id: str, run: LegRun, target: Decimal) -> Callable[[], None]:
        assert run.market is not None
        # A top-up the venue cannot buy exactly, or would refuse as too small, is not sent:
        # the other legs' excess is unwound instead.
        price = run.record.limit_price
        size = floor_to(target - run.held, run.market.buy_step(price))
        if not run.market.buyable(size, price):
            size = ZERO
        number = sum(1 for o in run.orders if o.purpose == "topup") + 1
        order = OrderAttempt(
            run.index,
            "topup",
            f"{run.record.client_order_id}-t{number}",
            Side.BUY,
            run.record.limit_price,
            size,
            created_at=utcnow(),
        )

        def job() -> None:
            if size > ZERO:
                self._send_extra(trade_id, run, order)

        return job

    def _send_extra(self, trade_id: str, run: LegRun, order: OrderAttempt) -> None:
        """Journal a top-up or unwind order, then send it (or journal why it was not sent).

        If the journal fails, the order is still sent: a hedge recorded in memory (and in the
        store) is worth more than a naked leg that is journalled.
        """
        run.orders.append(order)
        self._precompute_id(run, order)
        self._journal(trade_id, ORDER, **order.intent(run.record))
        if order.state == NEW:
            self._send(trade_id, run, order)
        else:
            self._journal(trade_id, RESULT, **order.result())

    def _unwind(self, trade_id: str, run: LegRun, amount: Decimal) -> None:
        """Sell ``amount`` back on a ladder from the best bid to the worst acceptable price."""
        market = run.market
        if market is None:
            return
        remaining = floor_to(amount, market.size_increment)
        bought = run.total(Side.BUY)
        entry = run.total(Side.BUY, "cost") / bought if bought else run.record.limit_price
        tick = market.tick_size
        worst = max(tick, ceil_to(entry - self.config.max_unwind_loss_per_contract, tick))
        steps = max(1, self.config.unwind_ladder_steps)
        for step in range(steps):
            if remaining <= ZERO:
                return
            if step:
                time.sleep(self.config.unwind_step_pause_seconds)
            try:
                book = run.client.order_book(market, run.record.outcome_id)
                bid = book.best_bid.price if book.best_bid else worst
            except ArbkitError as exc:
                self._error(run.account, "order book for unwind", exc)
                bid = worst
            # Step k of n sells at the bid moved k/(n-1) of the way to the worst price.
            start = max(bid, worst)
            share = Decimal(step) / Decimal(steps - 1) if steps > 1 else Decimal(1)
            price = max(worst, floor_to(start - (start - worst) * share, tick))
            order = _unwind_order(run, price, remaining)
            self._send_extra(trade_id, run, order)
            if order.state in (UNKNOWN, RESTING, IN_FLIGHT):
                return  # do not sell what may already be sold
            remaining -= order.filled

    # -- the record --------------------------------------------------------------------------
    def _price_unreported_fees(self, legs: Sequence[LegRun]) -> None:
        """Fees the venue did not report, from its fills: each fill at its own price (Polymarket
        charges per fill; its client prices each one). Only when the fills cannot be had is the
        fee priced from the schedule at the average price (overstated a little: the fee is
        concave in the price). Runs after hedging, so it never delays a hedge."""
        for run in legs:
            fees = run.market.fees if run.market is not None else None
            for order in run.orders:
                if order.prefetched is not None:
                    future, order.prefetched = order.prefetched, None
                    if order.fees == ZERO and not order.fills:
                        self._apply_fills(run, order, future.result())
                if fees is None or order.filled <= ZERO or order.fees != ZERO or order.fills:
                    continue
                if order.order_id:
                    self._exact_fills(run, order)
                if order.fees == ZERO and not order.fills:
                    order.fees = fees.order_fee([(order.cost / order.filled, order.filled)], taker=True)

    def _build(self, skeleton: Trade, legs: Sequence[LegRun], now: datetime) -> Trade:
        self._price_unreported_fees(legs)
        records = [leg_record(run) for run in legs]
        held = [run.held for run in legs]
        bought = sum((run.total(Side.BUY) for run in legs), ZERO)
        notes = []
        residual = max(held) - min(held) if held else ZERO
        if any(run.unknown for run in legs):
            status = TradeStatus.EXPOSURE
            notes.append("an order's outcome is unknown; the reconciliation job will resolve it")
        elif bought == ZERO:
            status = TradeStatus.NO_FILL
        elif all(h == ZERO for h in held):
            status = TradeStatus.UNWOUND
        elif all(h == held[0] for h in held):
            status = TradeStatus.OPEN
        elif min(held) > ZERO and all(
            _untradeable_excess(run, min(held), legs, self.config.max_residual_dollars) for run in legs
        ):
            # No venue can trade the difference: under the coarsest leg's size increment (51
            # Kalshi contracts against 50.9945 Polymarket shares), or an unwind the venue cannot
            # express (0.0176 shares is under Polymarket's $1 marketable minimum). Hedged on
            # min(held); the excess is a small extra long position, recorded.
            status = TradeStatus.OPEN
            notes.append(
                f"unhedged residual of {residual} contracts (too small for the venues to trade): "
                + ", ".join(f"{r.record.exchange} x{r.held}" for r in legs)
            )
        else:
            status = TradeStatus.EXPOSURE
            notes.append(
                "legs could not be brought to equal size: "
                + ", ".join(
                    f"{r.record.exchange} {r.record.outcome_name} x{r.held}" for r in legs if r.held > ZERO
                )
            )
        errors = [o.error for run in legs for o in run.orders if o.error]
        if errors and (status is not TradeStatus.OPEN or residual > ZERO):
            notes.append("; ".join(dict.fromkeys(e for e in errors if e)))
        requested = skeleton.opportunity.expected_size
        if status is TradeStatus.OPEN and held[0] < requested:
            notes.append(f"filled {held[0]} of {requested} contracts")
        return attrs.evolve(
            skeleton, legs=tuple(records), status=status, updated_at=now, note="; ".join(notes)[:1000]
        )


def _unwind_order(run: LegRun, price: Decimal, size: Decimal) -> OrderAttempt:
    """The leg's next sell-back order (client order id ``<entry>-u<n>``), immediate-or-cancel."""
    number = sum(1 for o in run.orders if o.purpose == "unwind") + 1
    return OrderAttempt(
        run.index,
        "unwind",
        f"{run.record.client_order_id}-u{number}",
        Side.SELL,
        price,
        size,
        created_at=utcnow(),
    )


def _complement(run: LegRun, outcome_id: str, side: Side, sent: Side) -> bool:
    """Whether the venue reports our order as the opposite trade of the other outcome.

    A netting venue read back by a process that did not send the order (after a restart)
    may report selling YES at p as buying NO at 1 - p (Kalshi's V2 YES book: an ask is a NO
    bid). In a binary market those are the same contracts; the record keeps our terms.
    """
    return outcome_id != run.record.outcome_id and side is not sent


def _purpose(client_order_id: str | None) -> str:
    """An adopted order's purpose, read from its client order id (``-u<n>`` unwind, ``-t<n>`` top-up)."""
    tail = (client_order_id or "").rsplit("-", 1)[-1]
    if tail[:1] == "u" and tail[1:].isdigit():
        return "unwind"
    if tail[:1] == "t" and tail[1:].isdigit():
        return "topup"
    return "entry"


def _untradeable_excess(run: LegRun, hedged: Decimal, legs: Sequence[LegRun], cap: Decimal) -> bool:
    """Whether what ``run`` holds above ``hedged`` is too small for its venue to sell back.

    Under the coarsest size step of the legs, or (worth at most ``cap`` dollars) its last
    unwind was refused by the client before sending as inexpressible (the venue's minimum
    size or notional).
    """
    excess = run.held - hedged
    if excess < _coarsest_increment(legs):
        return True
    unwinds = [o for o in run.orders if o.purpose == "unwind"]
    return bool(unwinds) and unwinds[-1].inexpressible and excess * run.record.limit_price <= cap


def _coarsest_increment(legs: Sequence[LegRun]) -> Decimal:
    """The largest size step among the legs' markets (1 when a market is not known)."""
    steps = [run.market.size_increment if run.market is not None else Decimal(1) for run in legs]
    return max(steps, default=Decimal(1))


def _bind(
    fn: Callable[[str, LegRun, Decimal], None], trade_id: str, run: LegRun, amount: Decimal
) -> Callable[[], None]:
    return lambda: fn(trade_id, run, amount)
