"""Limits held by the database, for every instance at once.

Each instance runs its own :class:`~arbkit.trading.risk.RiskChain` on what it knows; on a shared
:class:`~arbkit.trading.postgres.store.PostgresStore` a trade must then also pass
:func:`reserve`, which in one transaction

1. locks the day's row of ``arbkit_daily`` (``SELECT ... FOR UPDATE``): every check and
   every recorded trade of every instance queues on that one row, so none can slip
   between another's check and its reservation;
2. reads the shared state: trades recorded today plus trades in flight (active
   reservations), today's realised loss, the dollars open trades and reservations hold
   on each market, and the cash reservations hold on each venue;
3. refuses with every reason a person can act on, or inserts the reservation: one daily
   trade, the trade's cost per market and its reserve per venue.

Recording the trade (:meth:`PostgresStore.append_trade`) releases the reservation in the
same transaction that adds the trade, its exposure and its daily count, so the trade
never counts twice nor zero times. A trade that was not made releases it at once.

**Cash.** In paper mode the one pool is the shared ledger's balance less what active
reservations hold. Live, each venue's balance comes from the venue, asked by the instance
before the check: a reservation counts against that answer when it is still active or was
released *after* the balance was asked (the fills it paid for may not show in the answer
yet); :func:`balance_mark` is where the reservation sequence stood when it was asked.
This errs on the side of refusing while another instance is recording a trade, never on
the side of spending more than the venue holds.

**Daily loss** is what trades recorded today realised; a trade in flight has no loss yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from arbkit.trading.risk import (
    DailyLossLimit,
    MarketExposureCap,
    MaxDailyTrades,
    RiskChain,
    RiskDecision,
    RiskVerdict,
)

if TYPE_CHECKING:
    from arbkit.engine.opportunity import Opportunity
    from arbkit.trading.execution.journal import Journal
    from arbkit.trading.ledger import Ledger
    from arbkit.trading.postgres.db import Connection
    from arbkit.trading.records import Trade

__all__ = ["Reservation", "SharedLimits", "SharedStore", "balance_mark", "reserve"]

ZERO = Decimal(0)


def _money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01'))}"


@attrs.frozen
class SharedLimits:
    """The limits the database enforces for all instances together (``None``: no limit).

    ``check_cash`` also holds the cash (the paper pool, or each venue's balance).
    """

    max_daily_trades: int | None = None
    daily_loss_limit: Decimal | None = None
    max_market_exposure: Decimal | None = None
    check_cash: bool = True

    @classmethod
    def from_chain(cls, chain: RiskChain) -> SharedLimits:
        """The shared form of a chain's daily-trade, daily-loss and market-exposure policies."""
        trades = loss = exposure = None
        for policy in chain:
            if isinstance(policy, MaxDailyTrades):
                trades = policy.max_trades if trades is None else min(trades, policy.max_trades)
            elif isinstance(policy, DailyLossLimit):
                loss = policy.limit_dollars if loss is None else min(loss, policy.limit_dollars)
            elif isinstance(policy, MarketExposureCap):
                exposure = policy.max_dollars if exposure is None else min(exposure, policy.max_dollars)
        return cls(max_daily_trades=trades, daily_loss_limit=loss, max_market_exposure=exposure)


@attrs.frozen
class Reservation:
    """A trade's claim on the shared limits while it is executed (``id`` in ``arbkit_reservations``)."""

    id: int
    day: date
    cash: Mapping[str, Decimal]
    markets: Mapping[tuple[str, str], Decimal]


@runtime_checkable
class SharedStore(Protocol):
    """A store several instances share (:class:`~arbkit.trading.postgres.PostgresStore`), as
    :class:`~arbkit.trading.live.RealTradingSystem` uses it beyond :class:`~arbkit.trading.store.TradeStore`.

    The system takes :meth:`balance_mark` before asking the venues their balances,
    :meth:`reserve` after its own risk chain allowed a trade and :meth:`release` when the trade
    was not recorded (recording releases it); it reads what other instances changed with
    :meth:`changes`, adopts a trade it takes over with :meth:`load_trade` and :meth:`rebase`,
    and journals in the same database (:meth:`journal`).
    """

    def balance_mark(self) -> int:
        """Where the reservation sequence stands (see the module docstring, *Cash*)."""
        ...

    def reserve(
        self,
        opportunity: Opportunity,
        *,
        day: date,
        limits: SharedLimits,
        venue_balances: Mapping[str, Decimal] | None = None,
        mark: int | None = None,
    ) -> RiskVerdict:
        """Check the shared limits and reserve the trade's exposure when they allow it."""
        ...

    def release(self) -> None:
        """Release the pending reservation, if any."""
        ...

    def changes(self) -> tuple[list[Trade], Ledger | None]:
        """Trades other instances recorded or changed since the last look, and the shared ledger."""
        ...

    def load_trade(self, trade_id: str) -> Trade | None:
        """One stored trade, whoever recorded it."""
        ...

    def rebase(self, ledger: Ledger) -> None:
        """Take ``ledger`` as what this instance has seen, without writing it."""
        ...

    def journal(self, *, lease_seconds: float = 15.0) -> Journal:
        """A journal in the same database, owned by this instance under a lease."""
        ...


def balance_mark(conn: Connection) -> int:
    """Where the reservation sequence stands now (see the module docstring, *Cash*)."""
    row = conn.execute("SELECT last_value FROM arbkit_reservation_seq").fetchone()
    return int(row[0]) if row is not None else 0


#: A reservation with no journalled trade this old is released whatever its instance's lease
#: says (an instance without a PostgreSQL journal has no lease): no trade takes this long.
ORPHAN_AFTER = "10 minutes"
#: Released reservations are kept this long (a balance read since may not show their fills yet).
KEEP_RELEASED = "1 hour"


def _release_orphans(conn: Connection, mode: str) -> None:
    """Release reservations of instances whose lease expired before they journaled a trade
    (no order was sent for them: an intent is journaled before any order), and forget
    reservations released long ago."""
    conn.execute(
        "UPDATE arbkit_reservations r SET released_seq = nextval('arbkit_reservation_seq') "
        "WHERE r.mode = %s AND r.released_seq IS NULL AND r.trade_id IS NULL AND ("
        " r.created_at < now() - %s::interval OR EXISTS ("
        "  SELECT 1 FROM arbkit_instances i WHERE i.id = r.instance AND i.lease_until < now()))",
        (mode, ORPHAN_AFTER),
    )
    conn.execute(
        "DELETE FROM arbkit_reservations WHERE mode = %s AND released_seq IS NOT NULL "
        "AND created_at < now() - %s::interval",
        (mode, KEEP_RELEASED),
    )


def reserve(
    conn: Connection,
    *,
    mode: str,
    instance: str,
    opportunity: Opportunity,
    day: date,
    limits: SharedLimits,
    venue_balances: Mapping[str, Decimal] | None,
    mark: int | None,
) -> tuple[RiskVerdict, Reservation | None]:
    """Check ``limits`` against every instance's trades and reserve ``opportunity`` if allowed.

    Runs inside the caller's transaction on ``conn``; returns the verdict and, when it
    allows, the reservation made.
    """
    conn.execute(
        "INSERT INTO arbkit_daily (mode, day) VALUES (%s, %s) ON CONFLICT (mode, day) DO NOTHING", (mode, day)
    )
    row = conn.execute(
        "SELECT trades, loss FROM arbkit_daily WHERE mode = %s AND day = %s FOR UPDATE", (mode, day)
    ).fetchone()
    assert row is not None
    recorded, loss = int(row[0]), Decimal(row[1])
    _release_orphans(conn, mode)
    cash: dict[str, Decimal] = {}
    markets: dict[tuple[str, str], Decimal] = {}
    for leg in opportunity.legs:
        cash[leg.exchange] = cash.get(leg.exchange, ZERO) + leg.reserve
        key = (leg.exchange, leg.market.id)
        markets[key] = markets.get(key, ZERO) + leg.cost + leg.fee
    decisions: list[RiskDecision] = []

    if limits.max_daily_trades is not None:
        in_flight_row = conn.execute(
            "SELECT count(*) FROM arbkit_reservations WHERE mode = %s AND day = %s AND released_seq IS NULL",
            (mode, day),
        ).fetchone()
        in_flight = int(in_flight_row[0]) if in_flight_row is not None else 0
        if recorded + in_flight >= limits.max_daily_trades:
            decisions.append(
                RiskDecision(
                    False,
                    "shared_daily_trades",
                    f"daily trade limit reached across instances ({recorded} made, {in_flight} in flight, "
                    f"limit {limits.max_daily_trades})",
                    "daily_trades",
                )
            )
    if limits.daily_loss_limit is not None and loss >= limits.daily_loss_limit:
        decisions.append(
            RiskDecision(
                False,
                "shared_daily_loss",
                f"daily loss limit reached across instances ({_money(loss)} lost today, "
                f"limit {_money(limits.daily_loss_limit)})",
                "daily_loss",
            )
        )
    if limits.max_market_exposure is not None:
        over = []
        for (exchange, market_id), adding in markets.items():
            held_row = conn.execute(
                "SELECT coalesce((SELECT sum(amount) FROM arbkit_exposure "
                "  WHERE mode = %s AND exchange = %s AND market_id = %s), 0) + "
                "coalesce((SELECT sum(a.amount) FROM arbkit_reservation_amounts a "
                "  JOIN arbkit_reservations r ON r.id = a.reservation "
                "  WHERE r.mode = %s AND r.released_seq IS NULL AND a.kind = 'market' "
                "  AND a.exchange = %s AND a.market_id = %s), 0)",
                (mode, exchange, market_id, mode, exchange, market_id),
            ).fetchone()
            held = Decimal(held_row[0]) if held_row is not None else ZERO
            if held + adding > limits.max_market_exposure:
                over.append(f"{exchange}:{market_id} would hold {_money(held + adding)}")
        if over:
            decisions.append(
                RiskDecision(
                    False,
                    "shared_market_exposure",
                    f"market exposure above {_money(limits.max_market_exposure)} across instances: "
                    + "; ".join(over),
                )
            )
    if limits.check_cash:
        short = _cash_shortfalls(conn, mode, cash, venue_balances, mark)
        if short:
            decisions.append(
                RiskDecision(False, "shared_cash", "insufficient cash across instances: " + "; ".join(short))
            )
    if decisions:
        return RiskVerdict(tuple(decisions)), None
    created = conn.execute(
        "INSERT INTO arbkit_reservations (mode, day, instance) VALUES (%s, %s, %s) RETURNING id",
        (mode, day, instance),
    ).fetchone()
    assert created is not None
    reservation = Reservation(int(created[0]), day, cash, markets)
    rows = [(reservation.id, "cash", venue, "", amount) for venue, amount in cash.items()]
    rows += [(reservation.id, "market", ex, market, amount) for (ex, market), amount in markets.items()]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO arbkit_reservation_amounts (reservation, kind, exchange, market_id, amount) "
            "VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
    return RiskVerdict((RiskDecision(True, "shared_limits"),)), reservation


def _cash_shortfalls(
    conn: Connection,
    mode: str,
    needed: Mapping[str, Decimal],
    venue_balances: Mapping[str, Decimal] | None,
    mark: int | None,
) -> list[str]:
    if venue_balances is None:
        row = conn.execute(
            "SELECT l.balance - coalesce((SELECT sum(a.amount) FROM arbkit_reservation_amounts a "
            " JOIN arbkit_reservations r ON r.id = a.reservation "
            " WHERE r.mode = %s AND r.released_seq IS NULL AND a.kind = 'cash'), 0) "
            "FROM arbkit_ledger l WHERE l.mode = %s",
            (mode, mode),
        ).fetchone()
        if row is None:
            return []  # nothing recorded yet: the instance's own balance check decides
        available = Decimal(row[0])
        total = sum(needed.values(), ZERO)
        return [] if total <= available else [f"needs {_money(total)}, {_money(available)} not reserved"]
    held: dict[str, Decimal] = dict(
        conn.execute(
            "SELECT a.exchange, sum(a.amount) FROM arbkit_reservation_amounts a "
            "JOIN arbkit_reservations r ON r.id = a.reservation "
            "WHERE r.mode = %s AND a.kind = 'cash' AND (r.released_seq IS NULL OR r.released_seq > %s) "
            "GROUP BY a.exchange",
            (mode, mark if mark is not None else 2**62),
        ).fetchall()
    )
    short = []
    for venue, amount in needed.items():
        balance = venue_balances.get(venue)
        if balance is None:
            short.append(f"{venue} balance unknown")
            continue
        available = balance - Decimal(held.get(venue, ZERO))
        if amount > available:
            short.append(f"{venue} needs {_money(amount)}, {_money(available)} not reserved")
    return short
