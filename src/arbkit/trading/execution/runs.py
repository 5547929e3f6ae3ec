"""The bookkeeping of one execution: each leg's orders and what became of them.

:class:`~arbkit.trading.execution.executor.OrderExecutor` drives the orders; this module holds what it
tracks (:class:`OrderAttempt` per order sent, :class:`LegRun` per leg), its
configuration and report, and how a leg's orders add up to its
:class:`~arbkit.trading.records.TradeLeg` record.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import attrs

from arbkit.codec import unstructure
from arbkit.errors import (
    AuthenticationError,
    ConfigError,
    ExchangeError,
    NetworkError,
    OrderRejected,
    ValidationError,
)
from arbkit.exchange import Exchange
from arbkit.models import Market, Side, TimeInForce
from arbkit.trading.execution.journal import OrderIntent, OrderOutcome
from arbkit.trading.records import LegFill, LegStatus, Trade, TradeLeg

__all__ = [
    "DONE",
    "EXISTS",
    "IN_FLIGHT",
    "NEW",
    "NOT_PLACED",
    "REFUSED",
    "REJECTED",
    "RESTING",
    "SKIPPED",
    "UNKNOWN",
    "ExecutionConfig",
    "ExecutionReport",
    "LegRun",
    "OrderAttempt",
    "ceil_to",
    "floor_to",
    "is_duplicate",
    "leg_record",
    "order_fate",
    "reason",
]

ZERO = Decimal(0)

# Order states inside one execution. ``IN_FLIGHT``: the venue took the order but has not
# decided it yet (Polymarket's ``delayed``, a sports taker delay): it is neither resting
# (never cancelled as if it were) nor final. ``NOT_PLACED`` is only read from old journals.
# ``SKIPPED``: certainly never sent (another leg would have been refused, or the journal failed).
NEW, DONE, RESTING, REJECTED, NOT_PLACED, UNKNOWN, IN_FLIGHT, SKIPPED = (
    "new",
    "done",
    "resting",
    "rejected",
    "not_placed",
    "unknown",
    "in_flight",
    "skipped",
)
#: What an exception from ``place_order`` says about the order (see :func:`order_fate`).
REFUSED, EXISTS = "refused", "exists"


@attrs.frozen
class ExecutionConfig:
    """How the executor trades. Durations are seconds; money is ``Decimal`` dollars.

    * ``time_in_force``: IOC (default) or FOK for entry orders; GTC only for tests of cancels.
    * ``concurrent``: send legs at once (default) or one after the other (PolyMix's way).
    * ``max_unhedged_seconds``: how long a filled leg may wait for its hedge (top-ups,
      resting remainders) before the unwind starts.
    * ``max_unwind_loss_per_contract``: the unwind's worst price is the entry price minus this.
    * ``unwind_ladder_steps`` / ``unwind_step_pause_seconds``: the sell-back ladder.
    * ``reconcile_seconds``: how long to look for an order whose outcome is unknown before
      fencing it by an identical re-send. Not finding it is never taken as "not placed".
    * ``place_attempts``: sends of one order (the first and its identical re-sends, each under
      the same client order id, which the venue refuses as a duplicate if an earlier one landed).
    * ``in_flight_seconds``: how long to follow an order the venue holds undecided (Polymarket
      ``delayed``: about 3 s on sports markets) before leaving it to the reconciliation job.
    * ``max_topups``: extra orders per partly filled leg.
    * ``max_residual_dollars``: a leg's excess over the hedged size that its venue cannot trade
      (refused as below its minimum) ends the trade open with the residual recorded only while
      worth at most this at its limit price; anything larger is exposure.
    * ``cancel_attempts``: tries of each cancel.
    """

    time_in_force: TimeInForce = TimeInForce.IOC
    concurrent: bool = True
    max_unhedged_seconds: float = 3.0
    max_unwind_loss_per_contract: Decimal = Decimal("0.10")
    unwind_ladder_steps: int = 3
    unwind_step_pause_seconds: float = 0.2
    reconcile_seconds: float = 2.0
    place_attempts: int = 2
    in_flight_seconds: float = 10.0
    retry_pause_seconds: float = 0.05
    max_topups: int = 1
    cancel_attempts: int = 3
    max_residual_dollars: Decimal = Decimal(1)


@attrs.frozen
class ExecutionReport:
    """What an execution produced: the trade record and the errors met (venue, operation, error)."""

    trade: Trade
    errors: tuple[tuple[str, str, BaseException], ...] = ()
    #: Set when the journal could not be written during the trade (the caller must stop trading).
    journal_failure: str | None = None


@attrs.define
class OrderAttempt:
    """One order of a leg (entry, top-up or unwind) and what became of it."""

    leg: int
    purpose: str
    client_order_id: str
    side: Side
    price: Decimal
    size: Decimal
    order_id: str | None = None
    state: str = NEW
    filled: Decimal = ZERO
    cost: Decimal = ZERO
    fees: Decimal = ZERO
    error: str | None = None
    #: When the order was first built: part of the request, so a re-send (even from another
    #: process, rebuilt from the journal) is the very same order (Polymarket signs it).
    created_at: datetime | None = None
    #: The order's executions as the venue reported them (when it was asked for them).
    fills: list[LegFill] = attrs.field(factory=list)
    #: Known only from the stored record (sent after the journal failed): looked up, never re-sent.
    adopted: bool = False
    #: Refused by the client before sending because the venue cannot express it (below its
    #: minimum size or notional): no order of that size can be traded there.
    inexpressible: bool = False
    #: The venue's fills of this order, being fetched in the background (a future) while the
    #: other legs finish: applied when the record is built, never while hedging reads the order.
    prefetched: Any = attrs.field(default=None, repr=False, eq=False)

    def intent(self, leg: TradeLeg) -> dict[str, Any]:
        """The journal record of this order's intent (:class:`OrderIntent`)."""
        record = OrderIntent(
            leg=self.leg,
            exchange=leg.exchange,
            market_id=leg.market_id,
            outcome_id=leg.outcome_id,
            side=self.side,
            price=self.price,
            size=self.size,
            client_order_id=self.client_order_id,
            order_id=self.order_id,
            purpose=self.purpose,
            created_at=self.created_at,
        )
        data: dict[str, Any] = unstructure(record)
        return data

    def result(self) -> dict[str, Any]:
        """The journal record of what became of this order (:class:`OrderOutcome`)."""
        record = OrderOutcome(
            leg=self.leg,
            client_order_id=self.client_order_id,
            order_id=self.order_id,
            state=self.state,
            filled=self.filled,
            cost=self.cost,
            fees=self.fees,
            error=self.error,
        )
        data: dict[str, Any] = unstructure(record)
        return data


@attrs.define
class LegRun:
    """A leg being executed: its skeleton record, its market, its client and its orders."""

    index: int
    record: TradeLeg
    market: Market | None
    client: Exchange
    orders: list[OrderAttempt] = attrs.field(factory=list)
    hard_failure: bool = False

    def total(self, side: Side, what: str = "filled") -> Decimal:
        return sum((getattr(o, what) for o in self.orders if o.side is side), ZERO)

    @property
    def held(self) -> Decimal:
        return self.total(Side.BUY) - self.total(Side.SELL)

    @property
    def account(self) -> str:
        """The leg's account as errors name it (``"kalshi"``, ``"kalshi:hedge"``)."""
        return str(self.record.account_id)

    @property
    def unknown(self) -> bool:
        """An order of this leg may still fill or may exist unseen: its held size is not known."""
        return any(o.state in (UNKNOWN, RESTING, IN_FLIGHT, NEW, NOT_PLACED) for o in self.orders)


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def leg_record(run: LegRun) -> TradeLeg:
    bought = run.total(Side.BUY)
    sold = run.total(Side.SELL)
    buy_cost = run.total(Side.BUY, "cost")
    proceeds = run.total(Side.SELL, "cost") - run.total(Side.SELL, "fees")
    sent = [o for o in run.orders if o.state not in (NEW, REJECTED, SKIPPED) or o.order_id]
    errors = [o.error for o in run.orders if o.error]
    entry = run.orders[0] if run.orders else None
    if run.unknown:
        status = LegStatus.UNKNOWN
    elif sold > ZERO and bought - sold == ZERO:
        status = LegStatus.UNWOUND
    elif bought >= run.record.requested_size:
        status = LegStatus.FILLED
    elif bought > ZERO:
        status = LegStatus.PARTIAL
    elif entry is not None and entry.state == REJECTED:
        status = LegStatus.REJECTED
    elif entry is not None and entry.state == NOT_PLACED:
        status = LegStatus.FAILED
    else:
        status = LegStatus.UNFILLED
    return attrs.evolve(
        run.record,
        filled_size=bought,
        average_price=buy_cost / bought if bought else None,  # for display only
        paid=buy_cost,  # exactly what the venue reported: never average x size
        fills=tuple(f for o in run.orders for f in o.fills),
        fees=run.total(Side.BUY, "fees"),
        order_id=next((o.order_id for o in run.orders if o.order_id and o.purpose == "entry"), None),
        status=status,
        error=errors[0][:300] if errors else None,
        unwound_size=sold,
        unwind_proceeds=proceeds,
        order_ids=tuple(o.order_id for o in sent if o.order_id),
        client_order_ids=tuple(o.client_order_id for o in sent),
    )


def reason(exc: BaseException) -> str:
    venue_message = getattr(exc, "venue_message", None)
    return str(venue_message or exc)[:300]


def is_duplicate(exc: ExchangeError) -> bool:
    """The venue refused an order because one with the same client id / hash already exists."""
    text = f"{exc} {exc.venue_message or ''} {exc.code or ''}".lower()
    return exc.status_code == 409 or "already exist" in text


def order_fate(exc: BaseException) -> str:
    """What an exception from ``place_order`` says about that order: the one place that decides.

    * :data:`REFUSED`: the venue answered *for this order* that it did not take it (a 4xx with
      its refusal body: rejection, insufficient balance, closed market, bad price, auth), or the
      client refused it before sending (validation, configuration).
    * :data:`EXISTS`: the venue refused it as a duplicate: an order with this client order id
      (or hash) is already there.
    * :data:`UNKNOWN`: anything else: timeouts, dropped connections, every 5xx, and 429/503
      too (a rate limiter or gateway in front of the handler answers exactly as one behind it,
      so the order may have been taken). Unknown is not absent: it is reconciled by client
      order id and fenced by an identical re-send, never assumed away.
    """
    if isinstance(exc, ExchangeError) and is_duplicate(exc):
        return EXISTS
    if isinstance(exc, ValidationError | ConfigError | AuthenticationError):
        return REFUSED
    if isinstance(exc, NetworkError):
        return UNKNOWN
    if isinstance(exc, OrderRejected):
        return REFUSED
    if isinstance(exc, ExchangeError):
        status = exc.status_code
        if status is not None and 400 <= status < 500 and status not in (408, 425, 429):
            return REFUSED
    return UNKNOWN
