""":class:`PostgresStore`: the trade store in PostgreSQL, shared by several instances.

The same :class:`~arbkit.trading.store.TradeStore` interface as the JSON and SQLite stores (one
process sees exactly what they would show it), plus what several processes on one
database need:

* **one ledger for all of them.** A trading system hands the store its whole ledger after
  each change. The store writes the *difference* from the ledger this instance last saw
  (``balance = balance + delta``, daily counters likewise), so two instances recording at
  once both count, and no write overwrites another's. A store that never loaded writes
  the ledger as given (what the file stores do).
* **limits held by the database** (:mod:`arbkit.trading.postgres.limits`): :meth:`reserve` checks
  the shared daily trade count, daily loss, per-market exposure and cash, and reserves the
  trade's exposure, in one transaction holding the day's row lock; recording the trade
  releases the reservation in the transaction that records it.
* **the journal** (:class:`~arbkit.trading.postgres.journal.PostgresJournal`, :meth:`journal`) in
  the same database, with each unfinished trade owned by an instance holding a lease.

Amounts are ``numeric`` columns and strings inside the ``jsonb`` records, never floats.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arbkit.config import Secret
from arbkit.errors import ArbkitError, ConfigError, PersistenceError
from arbkit.trading.ledger import DailyCounters, Ledger
from arbkit.trading.postgres.db import Connection, Database
from arbkit.trading.postgres.schema import migrate
from arbkit.trading.records import (
    ErrorRecord,
    Trade,
    error_from_dict,
    error_to_dict,
    trade_from_dict,
    trade_to_dict,
)
from arbkit.trading.store import MAX_ERRORS, StoredState

if TYPE_CHECKING:
    from arbkit.engine.opportunity import Opportunity
    from arbkit.trading.postgres.journal import PostgresJournal
    from arbkit.trading.postgres.limits import Reservation, SharedLimits
    from arbkit.trading.risk import RiskVerdict

__all__ = ["PostgresStore"]

ZERO = Decimal(0)
_CORRUPT = (ValueError, KeyError, TypeError, AttributeError, ArbkitError)


def _encode(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _decode(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def new_instance_id() -> str:
    """A name for this process: host, pid and a random suffix (unique across restarts)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{os.urandom(3).hex()}"


class PostgresStore:
    """Trades, ledger, daily counters, errors (and journal, limits) in PostgreSQL.

    ``url`` is a ``postgresql://`` URL (a :class:`~arbkit.config.Secret` or a string; the
    password never shows in reprs, logs or errors), ``mode`` ``"paper"`` or ``"live"``
    (one database holds both, apart), ``instance`` this process's name (default: host,
    pid and a random suffix). The schema is created or migrated on first use.

    >>> store = PostgresStore("postgresql://arbkit:pw@db.internal/arbkit", mode="live")
    >>> store
    PostgresStore('postgresql://arbkit:***@db.internal/arbkit', mode='live')
    """

    def __init__(
        self,
        url: str | Secret,
        *,
        mode: str = "paper",
        instance: str | None = None,
        max_connections: int = 4,
        timeout: float = 10.0,
    ) -> None:
        if mode not in ("paper", "live"):
            raise ConfigError(f"mode must be paper or live, not {mode[:20]!r}")
        self.db = Database(url, max_connections=max_connections, timeout=timeout)
        self.mode = mode
        self.instance = instance or new_instance_id()
        self._lock = threading.RLock()
        self._migrated = False
        #: The ledger as this instance last read or wrote it: writes apply the difference.
        self._seen: Ledger | None = None
        self._loaded_empty = False
        #: The reservation :meth:`reserve` made for the trade being executed now, if any.
        self._pending: Reservation | None = None
        #: Each trade's change number as this instance last read or wrote it.
        self._versions: dict[str, int] = {}
        #: The highest change number this instance has read (:meth:`changes`).
        self._cursor = 0

    def __repr__(self) -> str:
        return f"PostgresStore({self.db.shown!r}, mode={self.mode!r})"

    # -- plumbing ---------------------------------------------------------------------------
    def _ready(self) -> None:
        if self._migrated:
            return
        with self._lock:
            if not self._migrated:
                with self.db.connection("cannot migrate the store's schema") as conn:
                    migrate(conn)
                self._migrated = True

    def transaction(self, what: str) -> contextlib.AbstractContextManager[Connection]:
        """A transaction on the store's database (schema migrated first)."""
        self._ready()
        return self.db.transaction(what)

    # -- ledger -----------------------------------------------------------------------------
    def _write_ledger(self, conn: Connection, ledger: Ledger) -> None:
        """Apply ``ledger`` (absolute, or as the difference from the last seen), daily row first.

        The day's row is locked first, as :meth:`reserve` locks it first: the two always
        queue on the same lock, in the same order.
        """
        seen = self._seen
        daily = ledger.daily
        fresh = seen is None and self._loaded_empty
        if fresh:
            # This instance started from nothing, perhaps alongside another: what it changed
            # is measured from a fresh ledger, created below unless another instance did.
            seen = Ledger(self.mode, ledger.initial_balance, ledger.initial_balance, DailyCounters(daily.day))
        if seen is None:
            conn.execute(
                "INSERT INTO arbkit_daily (mode, day, trades, loss) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (mode, day) DO UPDATE SET trades = excluded.trades, loss = excluded.loss",
                (self.mode, daily.day, daily.trades, daily.loss),
            )
            conn.execute(
                "INSERT INTO arbkit_ledger (mode, initial_balance, balance, realised_pnl, day) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (mode) DO UPDATE SET "
                "initial_balance = excluded.initial_balance, balance = excluded.balance, "
                "realised_pnl = excluded.realised_pnl, day = excluded.day, updated_at = now()",
                (self.mode, ledger.initial_balance, ledger.balance, ledger.realised_pnl, daily.day),
            )
            return
        base_trades, base_loss = (
            (seen.daily.trades, seen.daily.loss) if seen.daily.day == daily.day else (0, ZERO)
        )
        conn.execute(
            "INSERT INTO arbkit_daily (mode, day, trades, loss) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (mode, day) DO UPDATE SET trades = arbkit_daily.trades + excluded.trades, "
            "loss = arbkit_daily.loss + excluded.loss",
            (self.mode, daily.day, daily.trades - base_trades, daily.loss - base_loss),
        )
        if fresh:
            conn.execute(
                "INSERT INTO arbkit_ledger (mode, initial_balance, balance, realised_pnl, day) "
                "VALUES (%s, %s, %s, 0, %s) ON CONFLICT (mode) DO NOTHING",
                (self.mode, seen.initial_balance, seen.balance, daily.day),
            )
        conn.execute(
            "UPDATE arbkit_ledger SET balance = balance + %s, realised_pnl = realised_pnl + %s, "
            "day = greatest(day, %s), updated_at = now() WHERE mode = %s",
            (ledger.balance - seen.balance, ledger.realised_pnl - seen.realised_pnl, daily.day, self.mode),
        )

    def _remember(self, ledger: Ledger) -> None:
        self._seen, self._loaded_empty = ledger, False

    def _read_ledger(self, conn: Connection, day: date | None = None) -> Ledger | None:
        row = conn.execute(
            "SELECT l.initial_balance, l.balance, l.realised_pnl, l.day, d.trades, d.loss "
            "FROM arbkit_ledger l LEFT JOIN arbkit_daily d "
            "ON d.mode = l.mode AND d.day = coalesce(%s, l.day) "
            "WHERE l.mode = %s",
            (day, self.mode),
        ).fetchone()
        if row is None:
            return None
        initial, balance, realised, stored_day, trades, loss = row
        return Ledger(
            self.mode,
            initial,
            balance,
            DailyCounters(day or stored_day, trades or 0, loss if loss is not None else ZERO),
            realised,
        )

    def ledger(self, day: date | None = None) -> Ledger | None:
        """The shared ledger now (with the daily counters of ``day``, default the latest day):
        what every instance on this database recorded together."""
        with self.transaction("cannot read the ledger") as conn:
            return self._read_ledger(conn, day)

    # -- the TradeStore interface -----------------------------------------------------------
    def load(self) -> StoredState | None:
        """Everything stored for this mode; also what later writes are measured against."""
        with self._lock, self.transaction("cannot read the store") as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # ledger and trades: one snapshot
            ledger = self._read_ledger(conn)
            if ledger is None:
                self._loaded_empty = True
                return None
            try:
                rows = conn.execute(
                    "SELECT id, changed, data::text FROM arbkit_trades WHERE mode = %s ORDER BY seq",
                    (self.mode,),
                ).fetchall()
                trades = tuple(trade_from_dict(_decode(text)) for _, _, text in rows)
                errors = tuple(
                    error_from_dict(_decode(text))
                    for (text,) in conn.execute(
                        "SELECT data::text FROM (SELECT seq, data FROM arbkit_errors WHERE mode = %s "
                        "ORDER BY seq DESC LIMIT %s) e ORDER BY seq",
                        (self.mode, MAX_ERRORS),
                    )
                )
            except _CORRUPT as exc:
                raise PersistenceError(
                    f"{self!r} holds an invalid record ({type(exc).__name__}); it was left untouched"
                ) from None
            self._remember(ledger)
            self._versions = {trade_id: int(changed) for trade_id, changed, _ in rows}
            self._cursor = max(self._versions.values(), default=0)
            return StoredState(ledger=ledger, trades=trades, errors=errors)

    def changes(self) -> tuple[list[Trade], Ledger | None]:
        """Trades other instances recorded or changed since this instance last looked (oldest
        first), and the shared ledger now; both become what this instance has seen.

        Change numbers are drawn while the day's row is locked (every trade write locks it
        first), so they commit in order and a number read past is never committed later.
        """
        with self._lock, self.transaction("cannot read what other instances changed") as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # trades and ledger: one snapshot
            rows = conn.execute(
                "SELECT id, changed, data::text FROM arbkit_trades WHERE mode = %s AND changed > %s "
                "ORDER BY changed",
                (self.mode, self._cursor),
            ).fetchall()
            day = self._seen.daily.day if self._seen is not None else None
            ledger = self._read_ledger(conn, day)
            try:
                trades = [
                    trade_from_dict(_decode(text))
                    for trade_id, changed, text in rows
                    if self._versions.get(trade_id) != int(changed)  # not this instance's own write
                ]
            except _CORRUPT as exc:
                raise PersistenceError(f"{self!r} holds an invalid record ({type(exc).__name__})") from None
            for trade_id, changed, _ in rows:
                self._versions[trade_id] = int(changed)
                self._cursor = max(self._cursor, int(changed))
            if ledger is not None:
                self._remember(ledger)
            return trades, ledger

    def load_trade(self, trade_id: str) -> Trade | None:
        """One stored trade (recorded by any instance), or ``None``."""
        with self.transaction("cannot read a trade") as conn:
            row = conn.execute(
                "SELECT changed, data::text FROM arbkit_trades WHERE mode = %s AND id = %s",
                (self.mode, trade_id),
            ).fetchone()
        if row is None:
            return None
        self._versions[trade_id] = int(row[0])
        try:
            return trade_from_dict(_decode(row[1]))
        except _CORRUPT as exc:
            raise PersistenceError(f"trade {trade_id} is an invalid record ({type(exc).__name__})") from None

    def _put_exposure(self, conn: Connection, trade: Trade) -> None:
        conn.execute("DELETE FROM arbkit_exposure WHERE mode = %s AND trade_id = %s", (self.mode, trade.id))
        exposure = trade.exposure_by_market()
        if exposure:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO arbkit_exposure (mode, trade_id, exchange, market_id, amount) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    [(self.mode, trade.id, ex, market, amount) for (ex, market), amount in exposure.items()],
                )

    def _release(self, conn: Connection, trade_id: str) -> None:
        """Release this trade's reservation (and the pending one of this instance) now."""
        pending = self._pending.id if self._pending is not None else None
        conn.execute(
            "UPDATE arbkit_reservations SET released_seq = nextval('arbkit_reservation_seq'), "
            "trade_id = coalesce(trade_id, %s) "
            "WHERE mode = %s AND released_seq IS NULL AND (trade_id = %s OR id = %s)",
            (trade_id, self.mode, trade_id, pending),
        )

    def append_trade(self, trade: Trade, ledger: Ledger) -> None:
        """Record a new trade, release its reservation and apply the ledger, in one transaction."""
        data = _encode(trade_to_dict(trade))
        with self._lock, self.transaction(f"cannot record trade {trade.id}") as conn:
            self._write_ledger(conn, ledger)
            inserted = conn.execute(
                "INSERT INTO arbkit_trades (mode, id, status, created_at, instance, data) "
                "VALUES (%s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT (mode, id) DO NOTHING RETURNING changed",
                (self.mode, trade.id, trade.status.value, trade.created_at, self.instance, data),
            ).fetchone()
            if inserted is None:
                raise PersistenceError(f"trade {trade.id} is already stored")
            self._put_exposure(conn, trade)
            self._release(conn, trade.id)
        self._versions[trade.id] = int(inserted[0])
        self._remember(ledger)
        self._pending = None

    def update_trade(self, trade: Trade, ledger: Ledger) -> None:
        """Replace a stored trade (settlement, unwind, recovery) and apply the ledger.

        Only when the stored record is the one this instance last read or wrote: a trade
        another instance changed meanwhile (settled it first) raises
        :class:`PersistenceError` and nothing is written, so a payout is never booked twice.
        """
        data = _encode(trade_to_dict(trade))
        with self._lock, self.transaction(f"cannot update trade {trade.id}") as conn:
            self._write_ledger(conn, ledger)
            updated = conn.execute(
                "UPDATE arbkit_trades SET status = %s, data = %s::jsonb, "
                "changed = nextval('arbkit_trade_change_seq') "
                "WHERE mode = %s AND id = %s AND (%s::bigint IS NULL OR changed = %s) RETURNING changed",
                (trade.status.value, data, self.mode, trade.id, *[self._versions.get(trade.id)] * 2),
            ).fetchone()
            if updated is None:
                exists = conn.execute(
                    "SELECT 1 FROM arbkit_trades WHERE mode = %s AND id = %s", (self.mode, trade.id)
                ).fetchone()
                if exists is None:
                    raise PersistenceError(f"trade {trade.id} is not stored; cannot update it")
                raise PersistenceError(
                    f"trade {trade.id} was changed by another instance since this one read it; "
                    "nothing was written (the next reconciliation reads the stored record)"
                )
            self._put_exposure(conn, trade)
            self._release(conn, trade.id)
        self._versions[trade.id] = int(updated[0])
        self._remember(ledger)

    def append_error(self, error: ErrorRecord) -> None:
        """Add to the error history; rows beyond the last :data:`MAX_ERRORS` are deleted."""
        with self.transaction("cannot record an error") as conn:
            row = conn.execute(
                "INSERT INTO arbkit_errors (mode, data) VALUES (%s, %s::jsonb) RETURNING seq",
                (self.mode, _encode(error_to_dict(error))),
            ).fetchone()
            assert row is not None
            conn.execute(
                "DELETE FROM arbkit_errors WHERE mode = %s AND seq <= ("
                "SELECT seq FROM arbkit_errors WHERE mode = %s ORDER BY seq DESC OFFSET %s LIMIT 1)",
                (self.mode, self.mode, MAX_ERRORS),
            )

    def save_ledger(self, ledger: Ledger) -> None:
        """Save the ledger alone (a daily rollover)."""
        with self._lock, self.transaction("cannot save the ledger") as conn:
            self._write_ledger(conn, ledger)
        self._remember(ledger)

    def reset(self, ledger: Ledger) -> None:
        """Forget every trade, error, daily counter and reservation of this mode; start from ``ledger``."""
        with self._lock, self.transaction("cannot reset the store") as conn:
            for table in (
                "arbkit_trades",
                "arbkit_exposure",
                "arbkit_errors",
                "arbkit_daily",
                "arbkit_reservations",
            ):
                conn.execute(f"DELETE FROM {table} WHERE mode = %s", (self.mode,))  # noqa: S608 (fixed names)
            self._seen, self._loaded_empty = None, False
            self._versions, self._cursor = {}, 0
            self._write_ledger(conn, ledger)
        self._remember(ledger)

    def close(self) -> None:
        """Close the connections (the store reopens them if used again)."""
        self.db.close()
        self._migrated = False

    def rebase(self, ledger: Ledger) -> None:
        """Take ``ledger`` as what this instance has seen, without writing it: after the
        instance adopted a trade another instance recorded (its money is already counted)."""
        with self._lock:
            self._remember(ledger)

    # -- shared limits (arbkit.trading.postgres.limits) ---------------------------------------------
    def balance_mark(self) -> int:
        """Where the reservation sequence stands: take it *before* asking a venue its balance."""
        from arbkit.trading.postgres.limits import balance_mark

        with self.transaction("cannot read the reservation sequence") as conn:
            return balance_mark(conn)

    def reserve(
        self,
        opportunity: Opportunity,
        *,
        day: date,
        limits: SharedLimits,
        venue_balances: Mapping[str, Decimal] | None = None,
        mark: int | None = None,
    ) -> RiskVerdict:
        """Check the limits shared by every instance and reserve this trade's exposure.

        See :func:`arbkit.trading.postgres.limits.reserve`. When the verdict allows, the
        reservation is held until this instance records the trade (or :meth:`release`).
        """
        from arbkit.trading.postgres.limits import reserve

        with self._lock:
            if self._pending is not None:
                self.release()
            with self.transaction("cannot check the shared limits") as conn:
                verdict, reservation = reserve(
                    conn,
                    mode=self.mode,
                    instance=self.instance,
                    opportunity=opportunity,
                    day=day,
                    limits=limits,
                    venue_balances=venue_balances,
                    mark=mark,
                )
            self._pending = reservation
            return verdict

    @property
    def pending(self) -> Reservation | None:
        """The reservation held for the trade being executed, if any."""
        return self._pending

    def release(self) -> None:
        """Release the pending reservation (the trade was not made or not recorded)."""
        with self._lock:
            reservation, self._pending = self._pending, None
            if reservation is None:
                return
            with self.transaction("cannot release a reservation") as conn:
                conn.execute(
                    "UPDATE arbkit_reservations SET released_seq = nextval('arbkit_reservation_seq') "
                    "WHERE id = %s AND released_seq IS NULL",
                    (reservation.id,),
                )

    # -- the journal (arbkit.trading.postgres.journal) ----------------------------------------------
    def journal(self, *, lease_seconds: float = 15.0) -> PostgresJournal:
        """A write-ahead journal in this database, owned by this instance under a lease."""
        from arbkit.trading.postgres.journal import PostgresJournal

        return PostgresJournal(self, lease_seconds=lease_seconds)
