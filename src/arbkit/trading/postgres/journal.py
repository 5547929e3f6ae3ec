""":class:`PostgresJournal`: the live write-ahead journal in PostgreSQL, with owners and leases.

The same records as the file :class:`~arbkit.trading.execution.journal.Journal` (intent first, then every
state change, ``final`` last), each committed before :meth:`append` returns, so an order
is never sent before its record is durable. What a database adds:

* **ownership.** The intent makes this instance the owner of the trade
  (``arbkit_journal_owners``). Every later record checks, in its own transaction, that
  the trade is still this instance's: a paused instance whose trade was taken over gets
  a :class:`~arbkit.errors.PersistenceError` instead of a record, and the executor then
  sends nothing more (the owner check is the fencing token).
* **leases.** Each instance holds a lease (``arbkit_instances.lease_until``), renewed by a
  heartbeat thread every third of ``lease_seconds`` and by every record it writes, and
  given up on :meth:`close`. An instance that dies stops renewing.
* **takeover.** :meth:`unfinished` (what :meth:`RealTradingSystem.recover` finishes) first
  takes over every unfinished trade whose owner's lease has expired, then returns this
  instance's unfinished trades. Recovery looks orders up by client order id and fences an
  unseen one by re-sending the identical order, which the venue refuses as a duplicate,
  so a takeover never places a second order.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arbkit.errors import PersistenceError
from arbkit.models import utcnow
from arbkit.trading.execution.journal import FINAL, INTENT, Journal, JournalEntry, JournalRecord

if TYPE_CHECKING:
    from arbkit.trading.postgres.db import Connection
    from arbkit.trading.postgres.store import PostgresStore

__all__ = ["PostgresJournal"]

log = logging.getLogger(__name__)


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot journal a {type(value).__name__}")


class PostgresJournal(Journal):
    """The journal of one instance (``store.instance``) in the store's database.

    Build it with :meth:`PostgresStore.journal`. Safe to append from several threads.
    """

    def __init__(self, store: PostgresStore, *, lease_seconds: float = 15.0) -> None:
        # The file journal's state is not used: nothing here touches a file.
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self.store = store
        self.mode = store.mode
        self.instance = store.instance
        self.lease_seconds = float(lease_seconds)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._closed = False
        with self.store.transaction("cannot register this instance") as conn:
            conn.execute(
                "INSERT INTO arbkit_instances (id, mode, host, pid, lease_until) "
                "VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s)) "
                "ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until",
                (self.instance, self.mode, socket.gethostname()[:60], os.getpid(), self.lease_seconds),
            )
        self._heartbeat = threading.Thread(target=self._beat, name="arbkit-lease", daemon=True)
        self._heartbeat.start()

    def __repr__(self) -> str:
        return f"PostgresJournal({self.store.db.shown!r}, instance={self.instance!r})"

    # -- the lease ---------------------------------------------------------------------------
    def _renew(self, conn: Connection) -> None:
        conn.execute(
            "UPDATE arbkit_instances SET lease_until = now() + make_interval(secs => %s) WHERE id = %s",
            (self.lease_seconds, self.instance),
        )

    def renew(self) -> None:
        """Renew this instance's lease now (the heartbeat does it every third of the lease)."""
        with self.store.transaction("cannot renew the lease") as conn:
            self._renew(conn)

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                self.renew()
            except Exception as exc:  # the heartbeat must outlive any one failure
                log.warning("could not renew the lease of %s: %s", self.instance, exc)

    # -- writing -----------------------------------------------------------------------------
    def append(self, trade_id: str, step: str, **data: Any) -> JournalRecord:
        """Write one record and commit it before returning (see :meth:`Journal.append`).

        Raises :class:`PersistenceError` when it cannot be written, or when the trade is
        owned by another instance (taken over after this one's lease expired).
        """
        time = utcnow().isoformat()
        try:
            text = json.dumps(data, default=_default, separators=(",", ":"))
        except TypeError as exc:
            raise PersistenceError(f"cannot journal trade {trade_id}: {exc}") from None
        with self._lock:
            if self._closed:
                raise PersistenceError("the trade journal is closed")
            with self.store.transaction(f"cannot write the trade journal for {trade_id}") as conn:
                if step == INTENT:
                    conn.execute(
                        "INSERT INTO arbkit_journal_owners (mode, trade_id, owner) VALUES (%s, %s, %s) "
                        "ON CONFLICT (mode, trade_id) DO NOTHING",
                        (self.mode, trade_id, self.instance),
                    )
                    pending = self.store.pending
                    if pending is not None:
                        conn.execute(
                            "UPDATE arbkit_reservations SET trade_id = %s WHERE id = %s AND trade_id IS NULL",
                            (trade_id, pending.id),
                        )
                row = conn.execute(
                    "SELECT owner FROM arbkit_journal_owners WHERE mode = %s AND trade_id = %s FOR UPDATE",
                    (self.mode, trade_id),
                ).fetchone()
                if row is None or row[0] != self.instance:
                    raise PersistenceError(
                        f"trade {trade_id} is owned by another instance "
                        f"({'none' if row is None else row[0]}); this instance must not go on with it"
                    )
                # A record after the final one (a flatten) reopens the trade.
                conn.execute(
                    "UPDATE arbkit_journal_owners SET finished = %s WHERE mode = %s AND trade_id = %s",
                    (step == FINAL, self.mode, trade_id),
                )
                seq_row = conn.execute(
                    "INSERT INTO arbkit_journal (mode, trade_id, step, time, instance, data) "
                    "VALUES (%s, %s, %s, %s, %s, %s::jsonb) RETURNING seq",
                    (self.mode, trade_id, step, time, self.instance, text),
                ).fetchone()
                self._renew(conn)
        assert seq_row is not None
        return JournalRecord(int(seq_row[0]), trade_id, step, time, data)

    def close(self) -> None:
        """Stop the heartbeat and give up the lease, so another instance may take over at once
        whatever this one left unfinished."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        self._heartbeat.join(timeout=5)
        try:
            with self.store.transaction("cannot give up the lease") as conn:
                conn.execute(
                    "UPDATE arbkit_instances SET lease_until = now() WHERE id = %s", (self.instance,)
                )
        except PersistenceError as exc:
            log.warning("could not give up the lease of %s: %s", self.instance, exc)

    # -- reading -----------------------------------------------------------------------------
    def _entries(self, where: str, params: Sequence[object]) -> list[JournalEntry]:
        grouped: dict[str, list[JournalRecord]] = {}
        with self.store.transaction("cannot read the trade journal") as conn:
            rows = conn.execute(
                "SELECT j.seq, j.trade_id, j.step, j.time, j.data::text FROM arbkit_journal j "  # noqa: S608
                f"WHERE j.mode = %s AND {where} ORDER BY j.seq",  # fixed fragments, never input
                (self.mode, *params),
            ).fetchall()
        for seq, trade_id, step, time, text in rows:
            data = json.loads(text, parse_float=Decimal)
            record = JournalRecord(int(seq), trade_id, step, time, data if isinstance(data, dict) else {})
            grouped.setdefault(trade_id, []).append(record)
        return [JournalEntry(trade_id, tuple(records)) for trade_id, records in grouped.items()]

    def records(self) -> list[JournalRecord]:
        """Every record of this mode, every instance's, oldest first."""
        return [r for entry in self._entries("true", ()) for r in entry.records]

    def entries(self) -> list[JournalEntry]:
        """Every trade's records, every instance's, in the order the trades started."""
        return self._entries("true", ())

    def entry(self, trade_id: str) -> JournalEntry | None:
        """One trade's records, or ``None``."""
        found = self._entries("j.trade_id = %s", (trade_id,))
        return found[0] if found else None

    def take_over(self) -> list[str]:
        """Become the owner of every unfinished trade whose owner's lease expired; their ids."""
        with self.store.transaction("cannot take over unfinished trades") as conn:
            rows = conn.execute(
                "UPDATE arbkit_journal_owners o SET owner = %s, taken_over = taken_over + 1 "
                "WHERE o.mode = %s AND NOT o.finished AND o.owner <> %s AND NOT EXISTS ("
                " SELECT 1 FROM arbkit_instances i WHERE i.id = o.owner AND i.lease_until >= now()) "
                "RETURNING o.trade_id",
                (self.instance, self.mode, self.instance),
            ).fetchall()
            self._renew(conn)
        taken = [trade_id for (trade_id,) in rows]
        if taken:
            log.warning("took over %d unfinished trade(s) of expired instances: %s", len(taken), taken)
        return taken

    def unfinished(self) -> list[JournalEntry]:
        """This instance's unfinished trades, after taking over those of expired instances."""
        self.take_over()
        return self._entries(
            "j.trade_id IN (SELECT trade_id FROM arbkit_journal_owners "
            "WHERE mode = %s AND owner = %s AND NOT finished)",
            (self.mode, self.instance),
        )

    def unfinished_ids(self) -> set[str]:
        """Every instance's unfinished trades (none of them may be settled yet)."""
        with self.store.transaction("cannot read the trade journal") as conn:
            rows = conn.execute(
                "SELECT trade_id FROM arbkit_journal_owners WHERE mode = %s AND NOT finished", (self.mode,)
            ).fetchall()
        return {trade_id for (trade_id,) in rows}
