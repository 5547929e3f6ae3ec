"""The trade record: what a trading system did with one opportunity, leg by leg.

A :class:`Trade` is frozen and is what both stores persist, paper and live alike.
It round-trips exactly through :func:`trade_to_dict` / :func:`trade_from_dict`
(``Decimal`` as strings, datetimes as ISO 8601 with offset), so the JSON file and
the SQLite row hold the same thing.

Trade ids are time-based and sortable (``20250301T141503123456Z-9f2c1a7e``); each
leg's client order id is derived from the trade id and the leg index, so a retry
of the same leg can never place a second order under a new id.

>>> from decimal import ROUND_HALF_EVEN, Decimal
>>> leg = TradeLeg(exchange="kalshi", market_id="M", outcome_id="yes", outcome_name="Yes",
...                side="buy", limit_price="0.40", requested_size="10",
...                client_order_id=client_order_id("20250301T141503123456Z-9f2c1a7e", 0))
>>> leg.client_order_id
'20250301T141503123456Z-9f2c1a7e-0'
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import attrs

from arbkit.accounts import DEFAULT_ACCOUNT, AccountId, AccountPosition, AccountState, check_account_name
from arbkit.codec import configure, converter, structure, unstructure
from arbkit.engine.opportunity import Leg, Opportunity
from arbkit.errors import RiskRejected, ValidationError
from arbkit.models import Market, OutcomeKey, Side
from arbkit.values import as_decimal, aware, maybe_decimal, utcnow

__all__ = [
    "ErrorRecord",
    "LegFill",
    "LegStatus",
    "OpportunitySummary",
    "Trade",
    "TradeLeg",
    "TradeResult",
    "TradeStatus",
    "TradingState",
    "client_order_id",
    "daily_loss",
    "error_from_dict",
    "error_to_dict",
    "new_trade_id",
    "trade_from_dict",
    "trade_to_dict",
]

ZERO = Decimal(0)
MICRO = Decimal("0.000001")


def _legs(value: Iterable[TradeLeg]) -> tuple[TradeLeg, ...]:
    return tuple(value)


def _fills(value: Iterable[LegFill]) -> tuple[LegFill, ...]:
    return tuple(value)


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


class TradeStatus(enum.StrEnum):
    """Where a trade is in its life.

    * ``open``: every leg filled the same contracts; waiting for the markets to resolve.
    * ``settled``: resolved and paid out; ``realised_pnl`` is final.
    * ``no_fill``: nothing filled (depth gone, orders rejected); no money moved.
    * ``unwound``: a leg failed and the filled legs were sold back; P&L is final.
    * ``exposure``: one-legged, explicitly recorded: a position is open without its hedge.
    * ``failed``: the trade could not be attempted or its outcome is not known.
    """

    OPEN = "open"
    SETTLED = "settled"
    NO_FILL = "no_fill"
    UNWOUND = "unwound"
    EXPOSURE = "exposure"
    FAILED = "failed"

    @property
    def holds_position(self) -> bool:
        """True while contracts are held and the trade still awaits settlement."""
        return self in {TradeStatus.OPEN, TradeStatus.EXPOSURE}


class LegStatus(enum.StrEnum):
    """What happened to one leg's order."""

    FILLED = "filled"
    PARTIAL = "partial"
    UNFILLED = "unfilled"
    REJECTED = "rejected"
    UNWOUND = "unwound"
    UNKNOWN = "unknown"
    FAILED = "failed"


def new_trade_id(now: datetime | None = None) -> str:
    """A unique id that sorts by creation time: UTC microseconds plus 32 random bits."""
    moment = (now or utcnow()).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}"


def client_order_id(trade_id: str, leg_index: int) -> str:
    """The client order id of leg ``leg_index``: stable, so a retry never double-places."""
    return f"{trade_id}-{leg_index}"


@attrs.frozen
class LegFill:
    """One execution of one of a leg's orders, as the venue reported it.

    ``side`` buy for the entry and top-ups, sell for unwinds; ``fee`` is what the venue
    charged for this fill (or, where it reports none, the market's schedule on this fill's
    own price and size: never the order's average).
    """

    side: Side = attrs.field(converter=Side)
    price: Decimal = attrs.field(converter=as_decimal)
    size: Decimal = attrs.field(converter=as_decimal)
    fee: Decimal = attrs.field(default=ZERO, converter=as_decimal)
    order_id: str | None = None

    @property
    def amount(self) -> Decimal:
        """``price x size``: dollars exchanged, before the fee."""
        return self.price * self.size


@attrs.frozen
class TradeLeg:
    """One leg as executed: what was asked for, what filled, at what price and fee.

    Money is stored as paid: ``paid`` is the exact dollars the bought contracts cost as
    the venue reported them (the sum over ``fills`` when those are known), and ``fees``
    the fees charged. ``average_price`` is derived from them for display (``None`` while
    nothing filled); it is never multiplied back into a cost, which is how a fill of
    2 @ 0.30 + 1 @ 0.40 used to be booked as 0.9999999999999999999999999999. Records
    written before ``paid`` existed load with ``paid`` = ``filled_size x average_price``.

    ``unwound_size`` contracts were sold back (``unwind_proceeds`` dollars received, net
    of fees); the position held is ``filled_size - unwound_size``. ``payout`` is set at
    settlement.
    """

    exchange: str
    market_id: str
    outcome_id: str
    outcome_name: str
    side: Side = attrs.field(converter=Side)
    limit_price: Decimal = attrs.field(converter=as_decimal)
    requested_size: Decimal = attrs.field(converter=as_decimal)
    client_order_id: str
    filled_size: Decimal = attrs.field(default=ZERO, converter=as_decimal)
    average_price: Decimal | None = attrs.field(default=None, converter=maybe_decimal)
    fees: Decimal = attrs.field(default=ZERO, converter=as_decimal)
    order_id: str | None = None
    status: LegStatus = attrs.field(default=LegStatus.UNFILLED, converter=LegStatus)
    market_title: str = ""
    error: str | None = None
    unwound_size: Decimal = attrs.field(default=ZERO, converter=as_decimal)
    unwind_proceeds: Decimal = attrs.field(default=ZERO, converter=as_decimal)
    payout: Decimal | None = attrs.field(default=None, converter=maybe_decimal)
    #: Every venue order id and client order id sent for this leg (entry, retries, top-ups,
    #: unwinds), in the order they were sent: for reconciliation and audit (live trading).
    order_ids: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    client_order_ids: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: Exact dollars paid for the ``filled_size`` contracts bought, before fees (``None``:
    #: derived from ``fills``, else from ``average_price`` for records older than this field).
    paid: Decimal | None = attrs.field(default=None, converter=maybe_decimal)
    #: Every execution of the leg's orders, buys and sells, when the venue reported them.
    fills: tuple[LegFill, ...] = attrs.field(default=(), converter=_fills)
    #: The name of the account at ``exchange`` the leg's orders were sent from (records
    #: older than accounts load as the venue's default account).
    account: str = attrs.field(default=DEFAULT_ACCOUNT, validator=check_account_name)
    #: The market the leg trades, as it was when the trade was made: settlement and recovery
    #: use it instead of asking the venue again. Kept in memory only (a record read from a
    #: store has none, and the market is then fetched once where it is needed).
    market: Market | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def account_id(self) -> AccountId:
        """The account the leg was sent from (:class:`arbkit.accounts.AccountId`)."""
        return AccountId(self.exchange, self.account)

    @property
    def key(self) -> OutcomeKey:
        """``(exchange, market_id, outcome_id)``: the book and position of the leg's contracts."""
        return OutcomeKey(self.exchange, self.market_id, self.outcome_id)

    def __attrs_post_init__(self) -> None:
        # The average is for display only; derive it from what was paid when not given.
        if self.average_price is None and self.filled_size > ZERO:
            paid = self.cost
            if paid > ZERO:
                object.__setattr__(self, "average_price", paid / self.filled_size)

    @property
    def cost(self) -> Decimal:
        """Dollars paid for the filled contracts, before fees: exactly what was paid."""
        if self.filled_size <= ZERO:
            return ZERO
        if self.paid is not None:
            return self.paid
        bought = [f for f in self.fills if f.side is Side.BUY]
        if bought and sum((f.size for f in bought), ZERO) == self.filled_size:
            return sum((f.amount for f in bought), ZERO)
        return self.filled_size * (self.average_price or ZERO)

    @property
    def basis(self) -> Decimal:
        """Cost plus fees of the contracts bought: the money this leg took."""
        return self.cost + self.fees

    @property
    def unwound_basis(self) -> Decimal:
        """The part of :attr:`basis` that belongs to the contracts sold back: pro rata, to the
        micro-dollar (the finest unit either venue books: pUSD's 10^-6), so that losses add up
        exactly whichever way they are summed."""
        if self.unwound_size <= ZERO or self.filled_size <= ZERO:
            return ZERO
        if self.unwound_size >= self.filled_size:
            return self.basis
        share = self.basis * self.unwound_size / self.filled_size
        return share.quantize(MICRO, rounding=ROUND_HALF_EVEN)

    @property
    def held_size(self) -> Decimal:
        """Contracts still held (filled minus unwound)."""
        return self.filled_size - self.unwound_size

    @classmethod
    def planned(
        cls, leg: Leg, *, trade_id: str, index: int, size: Decimal, account: AccountId | None = None
    ) -> TradeLeg:
        """The record of leg ``index`` of an opportunity before anything filled, to be sent from
        ``account`` (default: the venue's default account)."""
        if account is not None and account.venue != leg.exchange:
            raise ValidationError(f"leg {index} trades on {leg.exchange}, not from account {account}")
        return cls(
            exchange=leg.exchange,
            market_id=leg.market.id,
            market_title=leg.market.title,
            outcome_id=leg.outcome_id,
            outcome_name=leg.outcome_name,
            side=leg.side,
            limit_price=leg.limit_price,
            requested_size=size,
            client_order_id=client_order_id(trade_id, index),
            account=DEFAULT_ACCOUNT if account is None else account.name,
            market=leg.market,
        )


@attrs.frozen
class OpportunitySummary:
    """What the opportunity promised when it was executed (for the record and the UI)."""

    title: str
    match_description: str
    kind: str
    key: str
    expected_size: Decimal = attrs.field(converter=as_decimal)
    expected_cost: Decimal = attrs.field(converter=as_decimal)
    expected_fees: Decimal = attrs.field(converter=as_decimal)
    expected_payout: Decimal = attrs.field(converter=as_decimal)
    expected_profit: Decimal = attrs.field(converter=as_decimal)
    roi_percent: Decimal = attrs.field(converter=as_decimal)
    detected_at: datetime = attrs.field(validator=aware)

    @classmethod
    def of(cls, opportunity: Opportunity) -> OpportunitySummary:
        """Summarise an opportunity (its match's ``description`` when it has one, never a repr)."""
        match = opportunity.match
        described = getattr(match, "description", None)
        description = described if isinstance(described, str) else ""
        if not description:
            description = " / ".join(f"{leg.exchange}:{leg.market.title}" for leg in opportunity.legs)
        return cls(
            title=opportunity.title or opportunity.legs[0].market.title,
            match_description=description[:500],
            kind=opportunity.kind,
            key=opportunity.key,
            expected_size=opportunity.size,
            expected_cost=opportunity.cost,
            expected_fees=opportunity.fees,
            expected_payout=opportunity.payout,
            expected_profit=opportunity.profit,
            roi_percent=opportunity.roi_percent,
            detected_at=opportunity.detected_at,
        )


@attrs.frozen
class Trade:
    """One executed (or attempted) opportunity. Change it with ``attrs.evolve``."""

    id: str
    mode: str = attrs.field(validator=attrs.validators.in_(("paper", "live")))
    opportunity: OpportunitySummary
    legs: tuple[TradeLeg, ...] = attrs.field(converter=_legs)
    status: TradeStatus = attrs.field(converter=TradeStatus)
    created_at: datetime = attrs.field(validator=aware)
    updated_at: datetime = attrs.field(validator=aware)
    settled_at: datetime | None = attrs.field(default=None, validator=aware)
    realised_pnl: Decimal | None = attrs.field(default=None, converter=maybe_decimal)
    note: str = ""
    flags: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    @property
    def cost(self) -> Decimal:
        """Dollars paid across legs, before fees."""
        return sum((leg.cost for leg in self.legs), ZERO)

    @property
    def fees(self) -> Decimal:
        """Dollars of fees across legs (unwinds are net of their own fees)."""
        return sum((leg.fees for leg in self.legs), ZERO)

    @property
    def total_cost(self) -> Decimal:
        """Cost plus fees: the money this trade took from the balance."""
        return self.cost + self.fees

    @property
    def hedged_size(self) -> Decimal:
        """Contracts held on *every* leg: the part whose payout is guaranteed."""
        return min((leg.held_size for leg in self.legs), default=ZERO)

    @property
    def unwind_proceeds(self) -> Decimal:
        """Dollars received from selling legs back."""
        return sum((leg.unwind_proceeds for leg in self.legs), ZERO)

    @property
    def filled(self) -> bool:
        """True when any leg filled anything: money moved."""
        return any(leg.filled_size > ZERO for leg in self.legs)

    @property
    def payout_per_contract(self) -> Decimal:
        """What one hedged set pays at settlement, as the opportunity promised."""
        size = self.opportunity.expected_size
        return self.opportunity.expected_payout / size if size > ZERO else ZERO

    @property
    def expected_profit(self) -> Decimal:
        """What the trade is expected to make in all: the hedged contracts' payout plus what
        unwinds brought back, minus everything paid (one-legged exposure counts as zero)."""
        return self.hedged_size * self.payout_per_contract + self.unwind_proceeds - self.total_cost

    @property
    def unwind_loss(self) -> Decimal:
        """Dollars lost selling contracts back: their share of cost and fees minus the proceeds
        (zero when the unwinds made money). Realised when the unwinds happened, even while
        the rest of the trade stays open and hedged."""
        basis = sum((leg.unwound_basis for leg in self.legs), ZERO)
        return max(basis - self.unwind_proceeds, ZERO)

    @property
    def settlement_loss(self) -> Decimal:
        """Dollars lost at settlement on the contracts still held: their share of cost and fees
        minus the payout (zero while unsettled or when the payout covered them)."""
        if self.status is not TradeStatus.SETTLED:
            return ZERO
        held_basis = sum((leg.basis - leg.unwound_basis for leg in self.legs), ZERO)
        payout = sum((leg.payout or ZERO for leg in self.legs), ZERO)
        return max(held_basis - payout, ZERO)

    @property
    def realised_loss(self) -> Decimal:
        """Every dollar of loss this trade has realised so far (unwinds, then settlement).

        Losses are counted per part and never netted against a later gain: an unwind that
        lost $1 stays a $1 loss even if the hedged rest settles at a profit. This, summed by
        :func:`daily_loss`, is what the daily loss limit counts.
        """
        return self.unwind_loss + self.settlement_loss

    def exposure_by_market(self) -> dict[tuple[str, str], Decimal]:
        """Dollars still at stake per ``(exchange, market_id)`` while the trade holds a position."""
        if not self.status.holds_position:
            return {}
        exposure: dict[tuple[str, str], Decimal] = {}
        for leg in self.legs:
            if leg.held_size > ZERO and leg.filled_size > ZERO:
                share = leg.held_size / leg.filled_size
                key = (leg.exchange, leg.market_id)
                exposure[key] = exposure.get(key, ZERO) + (leg.cost + leg.fees) * share
        return exposure


def daily_loss(trades: Iterable[Trade], day: date, zone: tzinfo) -> Decimal:
    """Dollars of loss the ``trades`` realised on ``day`` (a date in ``zone``): the one place
    the daily loss counter is computed.

    An unwind's loss belongs to the day its trade was made (``created_at``; recovery that
    corrects the record keeps that time, so a corrected trade is never counted twice); a
    settlement's loss to the day it settled (``settled_at``). Recomputed from the records,
    the counter always equals the sum of the day's realised losses, whatever corrected them.
    """
    total = ZERO
    for trade in trades:
        if trade.created_at.astimezone(zone).date() == day:
            total += trade.unwind_loss
        if trade.settled_at is not None and trade.settled_at.astimezone(zone).date() == day:
            total += trade.settlement_loss
    return total


@attrs.frozen
class ErrorRecord:
    """One entry of the error history: when, where, what the venue said. Never a secret."""

    time: datetime = attrs.field(validator=aware)
    venue: str
    operation: str
    message: str
    code: str | None = None
    error_type: str = ""

    @classmethod
    def of(
        cls, exc: BaseException, *, venue: str, operation: str, now: datetime | None = None
    ) -> ErrorRecord:
        """Record an exception. Only its type, the venue's code and its message are kept.

        arbkit's own errors never carry secrets in their message (the transport and
        settings make sure of it); the message is still capped at 500 characters.
        """
        code = getattr(exc, "code", None)
        return cls(
            time=now or utcnow(),
            venue=venue,
            operation=operation,
            message=str(exc)[:500] or type(exc).__name__,
            code=None if code is None else str(code)[:100],
            error_type=type(exc).__name__,
        )


@attrs.frozen
class TradeResult:
    """What ``execute`` did. ``trade`` is the recorded trade (``None`` if none was attempted).

    ``reasons`` lists every risk policy that refused; ``error`` says what went wrong
    otherwise (a venue error, a store that could not be written).
    """

    opportunity: Opportunity
    trade: Trade | None = None
    reasons: tuple[str, ...] = ()
    error: str | None = None

    @property
    def rejected(self) -> bool:
        """True when risk policies refused the trade."""
        return bool(self.reasons)

    @property
    def executed(self) -> bool:
        """True when contracts were bought (money moved)."""
        return self.trade is not None and self.trade.filled

    @property
    def status(self) -> TradeStatus | None:
        """The trade's status, or ``None`` when no trade was attempted."""
        return None if self.trade is None else self.trade.status

    def raise_for_rejection(self) -> TradeResult:
        """Raise :class:`RiskRejected` if risk policies refused; else return ``self``."""
        if self.reasons:
            raise RiskRejected(self.reasons)
        return self


@attrs.frozen
class TradingState:
    """A consistent snapshot of a trading system (PolyMix's ``/api/trading/state``).

    ``unrealised_pnl`` is what open positions are guaranteed to return at settlement:
    hedged contracts pay the opportunity's payout; one-legged exposure is valued at zero
    (the worst case).
    """

    mode: str
    initial_balance: Decimal
    balance: Decimal
    open_positions: tuple[Trade, ...]
    trade_history: tuple[Trade, ...]
    realised_pnl: Decimal
    unrealised_pnl: Decimal
    day: date
    daily_trades: int
    daily_loss: Decimal
    recent_errors: tuple[ErrorRecord, ...]
    #: Per account: cash, exposure and positions (:class:`arbkit.accounts.AccountState`);
    #: ``balance`` and ``open_positions`` above are the totals.
    accounts: tuple[AccountState, ...] = ()

    @property
    def total_trades(self) -> int:
        """Trades recorded (including no-fills)."""
        return len(self.trade_history)

    def to_dict(self, *, history_limit: int | None = 100) -> dict[str, Any]:
        """JSON-ready (:mod:`arbkit.codec`): amounts as strings, the ``history_limit`` newest
        trades (``None``: all), and ``total_trades`` counting them all."""
        history = self.trade_history
        if history_limit is not None:  # (``[-0:]`` would be the whole history)
            history = history[max(len(history) - history_limit, 0) :]
        data: dict[str, Any] = unstructure(attrs.evolve(self, trade_history=history))
        data["total_trades"] = self.total_trades
        return data


# -- serialisation (one codec: arbkit.codec) ------------------------------------------------

# A leg's market is a reference for this process, not part of the record; a trade's total
# cost is written for people reading the file and ignored when loading.
configure(TradeLeg, omit=("market",))
configure(Trade, derived={"total_cost": lambda trade: trade.total_cost})
# An account is written "venue" or "venue:name"; a state view adds its venue and name apart.
# (arbkit.accounts sits beside the codec in one layer, so its classes are configured here.)
converter.register_unstructure_hook(AccountId, str)
converter.register_structure_hook(AccountId, lambda value, _: AccountId.parse(value))
converter.register_unstructure_hook(AccountPosition, lambda position: unstructure(position._asdict()))
configure(
    AccountState,
    derived={"venue": lambda state: state.account.venue, "name": lambda state: state.account.name},
)


def trade_to_dict(trade: Trade) -> dict[str, Any]:
    """A JSON-ready dict of the trade: amounts as strings, times as ISO 8601 (:mod:`arbkit.codec`)."""
    data: dict[str, Any] = unstructure(trade)
    return data


def trade_from_dict(data: Mapping[str, Any]) -> Trade:
    """Rebuild a trade from :func:`trade_to_dict` output (older records load: missing fields
    take their defaults). Raises :class:`ValidationError` on a malformed record; the stores
    turn it into :class:`~arbkit.errors.PersistenceError`."""
    return structure(data, Trade)


def error_to_dict(error: ErrorRecord) -> dict[str, Any]:
    """A JSON-ready dict of an error record."""
    data: dict[str, Any] = unstructure(error)
    return data


def error_from_dict(data: Mapping[str, Any]) -> ErrorRecord:
    """Rebuild an error record from :func:`error_to_dict` output."""
    return structure(data, ErrorRecord)
