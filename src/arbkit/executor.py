"""The leg executor: places an opportunity's legs concurrently and never leaves the books lying.

:class:`OrderExecutor` turns an :class:`~arbkit.opportunity.Opportunity` into real orders
through :class:`~arbkit.exchange.Exchange` objects (it never names a venue):

1. The intent (trade id, legs, client order ids, and each venue order id a client can
   tell in advance through ``order_id_for``) is journalled and fsynced
   (:mod:`arbkit.journal`) before the first order leaves.
2. Every leg is sent at once from a small thread pool, as an immediate-or-cancel (or
   fill-or-kill) limit order at the leg's ``limit_price``, with the client order id
   derived from the trade id (:func:`arbkit.trade.client_order_id`). Placing legs one
   after the other (PolyMix's way) leaves the first leg naked for a whole round trip.
3. ``OutcomeUnknown`` (timeout, 5xx after sending, dropped connection) is reconciled by
   ``find_order(client_order_id)`` / ``get_order(order_id)`` with a short bounded retry;
   an order is never re-sent blindly. An order the venue certainly did not take (429,
   503, no connection, or not found after reconciling) is sent again under the *same*
   client order id, which every venue refuses as a duplicate if the first did land.
4. Hedging: legs that filled only partly are topped up at their limit price while the
   first fill is younger than ``max_unhedged_seconds``; what is still unequal after that
   is unwound: each excess is sold back on a short limit-price ladder from the best bid
   down to the worst acceptable price (``max_unwind_loss_per_contract`` under the entry
   price), re-reading the book between steps, so one thin book cannot turn a small loss
   into a large one. Whatever cannot be sold is recorded as exposure: the trade never
   pretends to be flat.
5. Resting remainders are cancelled; a cancel that fails is retried and reported.

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

from arbkit.errors import (
    ArbkitError,
    ExchangeUnavailable,
    InvalidResponse,
    NetworkError,
    OrderNotFound,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
)
from arbkit.exchange import Exchange
from arbkit.execution import (
    DONE,
    NEW,
    NOT_PLACED,
    REJECTED,
    RESTING,
    UNKNOWN,
    ExecutionConfig,
    ExecutionReport,
    LegRun,
    OrderAttempt,
    ceil_to,
    floor_to,
    is_duplicate,
    leg_record,
    reason,
)
from arbkit.journal import INTENT, Journal, JournalEntry
from arbkit.models import Order, OrderRequest, Side, TimeInForce
from arbkit.opportunity import Opportunity
from arbkit.trade import (
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

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown(wait=True)

    # -- entry points ------------------------------------------------------------------------
    def execute(
        self, opportunity: Opportunity, *, trade_id: str, now: datetime, clients: Mapping[str, Exchange]
    ) -> ExecutionReport:
        """Trade ``opportunity``; never raises on a venue error (raises only if the journal fails).

        ``clients`` maps each leg's exchange to its client (resolved by the caller's thread).
        """
        self._errors = []
        legs = []
        for index, leg in enumerate(opportunity.legs):
            record = TradeLeg.planned(leg, trade_id=trade_id, index=index, size=opportunity.size)
            run = LegRun(index, record, leg.market, clients[leg.exchange])
            run.orders.append(
                OrderAttempt(index, "entry", record.client_order_id, leg.side, leg.limit_price, leg.size)
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
        self.journal.append(
            trade_id,
            INTENT,
            trade=trade_to_dict(skeleton),
            orders=[r.orders[0].intent(r.record) for r in legs],
        )
        started = time.monotonic()
        # A leg the venue would refuse outright (size, tick, credentials): send nothing at all.
        todo = [] if any(r.hard_failure for r in legs) else [r for r in legs if r.orders[0].state == NEW]
        if self.config.concurrent:
            list(self._pool.map(lambda r: self._send(trade_id, r, r.orders[0]), todo))
        else:
            for run in todo:
                self._send(trade_id, run, run.orders[0])
        self._hedge(trade_id, legs, deadline=started + self.config.max_unhedged_seconds, topups=True)
        return ExecutionReport(self._build(skeleton, legs, now), tuple(self._errors))

    def resume(
        self, entry: JournalEntry, *, now: datetime, clients: Callable[[str], Exchange]
    ) -> ExecutionReport:
        """Finish a trade interrupted by a crash: reconcile every order of ``entry`` and hedge.

        Orders without a journalled result are looked up (by client order id, then venue
        order id); legs that are still unequal are unwound. Raises only when a venue cannot
        be asked at all (the entry then stays unfinished for the next try).
        """
        self._errors = []
        intent = entry.intent
        if intent is None:
            raise ArbkitError(f"journal entry {entry.trade_id} has no intent record")
        skeleton = trade_from_dict(intent.data["trade"])
        legs = [LegRun(i, leg, None, clients(leg.exchange)) for i, leg in enumerate(skeleton.legs)]
        results = {str(r.data.get("client_order_id")): r.data for r in entry.steps(RESULT)}
        planned = list(intent.data.get("orders", [])) + [r.data for r in entry.steps(ORDER)]
        for data in planned:
            run = legs[int(data["leg"])]
            order = OrderAttempt(
                run.index,
                str(data.get("purpose", "entry")),
                str(data["client_order_id"]),
                Side(data["side"]),
                Decimal(str(data["price"])),
                Decimal(str(data["size"])),
                order_id=data.get("order_id"),
            )
            done = results.get(order.client_order_id)
            if done is not None:
                order.order_id = done.get("order_id") or order.order_id
                order.state = str(done.get("state"))
                order.filled, order.cost, order.fees = (
                    Decimal(str(done.get(k, "0"))) for k in ("filled", "cost", "fees")
                )
                order.error = done.get("error")
            run.orders.append(order)
        for run in legs:
            run.market = run.client.market(run.record.market_id)
            for order in run.orders:
                if order.state in (NEW, UNKNOWN, RESTING, NOT_PLACED):
                    self._settle_unknown(entry.trade_id, run, order)
            run.hard_failure = any(o.state == REJECTED and o.purpose == "entry" for o in run.orders)
        self._hedge(entry.trade_id, legs, deadline=time.monotonic(), topups=False)
        return ExecutionReport(self._build(skeleton, legs, now), tuple(self._errors))

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
            run.hard_failure = order.purpose == "entry"
            self._error(run.record.exchange, f"prepare order {order.client_order_id}", exc)

    def _send(self, trade_id: str, run: LegRun, order: OrderAttempt) -> None:
        """Send one order (retrying only when it certainly was not taken), then journal its result."""
        venue = run.record.exchange
        request = self._request(run, order)
        for attempt in range(max(1, self.config.place_attempts)):
            try:
                placed = run.client.place_order(request)
            except OrderRejected as exc:
                if attempt > 0 and is_duplicate(exc):  # the earlier send did land after all
                    self._settle_unknown(trade_id, run, order, journal=False)
                else:
                    order.state, order.error = REJECTED, reason(exc)
                    run.hard_failure = run.hard_failure or order.purpose == "entry"
                    self._error(venue, f"place order {order.client_order_id}", exc)
                break
            except (OutcomeUnknown, InvalidResponse) as exc:
                self._error(venue, f"place order {order.client_order_id}", exc)
                self._settle_unknown(trade_id, run, order, journal=False)
                if order.state != NOT_PLACED:
                    break
            except (RateLimited, ExchangeUnavailable, NetworkError) as exc:
                order.state, order.error = NOT_PLACED, reason(exc)
                self._error(venue, f"place order {order.client_order_id}", exc)
                pause = self.config.retry_pause_seconds
                if isinstance(exc, RateLimited) and exc.retry_after is not None:
                    pause = max(pause, min(float(exc.retry_after), self.config.max_unhedged_seconds / 2))
                time.sleep(pause)
            except ArbkitError as exc:  # refused before sending: credentials, validation
                order.state, order.error = REJECTED, reason(exc)
                run.hard_failure = run.hard_failure or order.purpose == "entry"
                self._error(venue, f"place order {order.client_order_id}", exc)
                break
            except Exception as exc:  # a bug after sending: the order may exist
                self._error(venue, f"place order {order.client_order_id}", exc)
                self._settle_unknown(trade_id, run, order, journal=False)
                break
            else:
                self._apply(run, order, placed, exact=False)
                if order.state == RESTING:
                    self._finish_resting(run, order)
                break
        self.journal.append(trade_id, RESULT, **order.result())

    def _apply(self, run: LegRun, order: OrderAttempt, placed: Order, *, exact: bool) -> None:
        """Take the venue's word on an order: id, fills, cost, fees, whether it can still fill."""
        order.order_id = placed.id
        order.filled = placed.filled_size
        price = placed.average_price if placed.average_price else order.price
        order.cost = order.filled * price
        order.fees = placed.fees
        if exact and order.filled > ZERO:
            self._exact_fills(run, order)
        fees = run.market.fees if run.market is not None else None
        if order.fees == ZERO and order.filled > ZERO and fees is not None:
            # The venue did not report a fee (Polymarket's order payloads carry none): price it
            # from the market's schedule at the average fill price.
            order.fees = fees.order_fee([(order.cost / order.filled, order.filled)], taker=True)
        order.state = DONE if placed.status.is_final else RESTING
        order.error = None

    def _exact_fills(self, run: LegRun, order: OrderAttempt) -> None:
        """Replace an order lookup's average (some venues report the limit) with its actual fills."""
        try:
            fills = run.client.fills(order_id=order.order_id, market=run.market)
        except ArbkitError as exc:
            self._error(run.record.exchange, f"fills of {order.order_id}", exc)
            return
        size = sum((f.size for f in fills), ZERO)
        if fills and size == order.filled:
            order.cost = sum((f.price * f.size for f in fills), ZERO)
            order.fees = sum((f.fee for f in fills), ZERO)

    def _lookup(self, run: LegRun, order: OrderAttempt) -> Order | None:
        found = run.client.find_order(order.client_order_id, market=run.market)
        if found is None and order.order_id:
            try:
                found = run.client.get_order(order.order_id, market=run.market)
            except OrderNotFound:
                found = None
        return found

    def _settle_unknown(
        self, trade_id: str, run: LegRun, order: OrderAttempt, *, journal: bool = True
    ) -> None:
        """Find out whether an order exists, retrying briefly; never sends anything."""
        deadline = time.monotonic() + self.config.reconcile_seconds
        pause = 0.02
        while True:
            try:
                found = self._lookup(run, order)
            except ArbkitError as exc:
                self._error(run.record.exchange, f"reconcile {order.client_order_id}", exc)
                found, failed = None, True
            else:
                failed = False
            if found is not None:
                self._apply(run, order, found, exact=True)
                if order.state == RESTING:
                    self._finish_resting(run, order)
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # Not there after the whole window: the venue never took it (or could not be asked).
                order.state = UNKNOWN if failed else NOT_PLACED
                order.error = order.error or ("outcome unknown" if failed else "not found at the venue")
                break
            time.sleep(min(pause, remaining))  # the last look is at the deadline itself
            pause = min(pause * 2, 0.25)
        if journal:
            self.journal.append(trade_id, RESULT, **order.result())

    def _finish_resting(self, run: LegRun, order: OrderAttempt) -> None:
        """Cancel what remains of an order that can still fill; retry a failing cancel, report it."""
        assert order.order_id is not None
        venue = run.record.exchange
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
        size = floor_to(target - run.held, run.market.size_increment)
        number = sum(1 for o in run.orders if o.purpose == "topup") + 1
        order = OrderAttempt(
            run.index,
            "topup",
            f"{run.record.client_order_id}-t{number}",
            Side.BUY,
            run.record.limit_price,
            size,
        )

        def job() -> None:
            if size > ZERO:
                self._send_extra(trade_id, run, order)

        return job

    def _send_extra(self, trade_id: str, run: LegRun, order: OrderAttempt) -> None:
        """Journal a top-up or unwind order, then send it (or journal why it was not sent)."""
        run.orders.append(order)
        self._precompute_id(run, order)
        self.journal.append(trade_id, ORDER, **order.intent(run.record))
        if order.state == NEW:
            self._send(trade_id, run, order)
        else:
            self.journal.append(trade_id, RESULT, **order.result())

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
                self._error(run.record.exchange, "order book for unwind", exc)
                bid = worst
            # Step k of n sells at the bid moved k/(n-1) of the way to the worst price.
            start = max(bid, worst)
            share = Decimal(step) / Decimal(steps - 1) if steps > 1 else Decimal(1)
            price = max(worst, floor_to(start - (start - worst) * share, tick))
            number = sum(1 for o in run.orders if o.purpose == "unwind") + 1
            order = OrderAttempt(
                run.index, "unwind", f"{run.record.client_order_id}-u{number}", Side.SELL, price, remaining
            )
            self._send_extra(trade_id, run, order)
            if order.state in (UNKNOWN, RESTING):
                return  # do not sell what may already be sold
            remaining -= order.filled

    # -- the record --------------------------------------------------------------------------
    def _build(self, skeleton: Trade, legs: Sequence[LegRun], now: datetime) -> Trade:
        records = [leg_record(run) for run in legs]
        held = [run.held for run in legs]
        bought = sum((run.total(Side.BUY) for run in legs), ZERO)
        notes = []
        if any(run.unknown for run in legs):
            status = TradeStatus.EXPOSURE
            notes.append("an order's outcome is unknown; recover() will reconcile it")
        elif bought == ZERO:
            status = TradeStatus.NO_FILL
        elif all(h == ZERO for h in held):
            status = TradeStatus.UNWOUND
        elif all(h == held[0] for h in held):
            status = TradeStatus.OPEN
        else:
            status = TradeStatus.EXPOSURE
            notes.append(
                "legs could not be brought to equal size: "
                + ", ".join(
                    f"{r.record.exchange} {r.record.outcome_name} x{r.held}" for r in legs if r.held > ZERO
                )
            )
        errors = [o.error for run in legs for o in run.orders if o.error]
        if errors and status is not TradeStatus.OPEN:
            notes.append("; ".join(dict.fromkeys(e for e in errors if e)))
        requested = skeleton.opportunity.expected_size
        if status is TradeStatus.OPEN and held[0] < requested:
            notes.append(f"filled {held[0]} of {requested} contracts")
        return attrs.evolve(
            skeleton, legs=tuple(records), status=status, updated_at=now, note="; ".join(notes)[:1000]
        )


def _bind(
    fn: Callable[[str, LegRun, Decimal], None], trade_id: str, run: LegRun, amount: Decimal
) -> Callable[[], None]:
    return lambda: fn(trade_id, run, amount)
