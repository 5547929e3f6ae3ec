"""The write-ahead journal of live trades: intent first, then every state change, fsynced.

Live trading cannot take back an order once it is sent, so before the first order of
a trade leaves the process the *intent* (trade id, legs, client order ids, and the
venue order ids when a venue lets us know them in advance) is appended here and
fsynced. Each later state change (a leg's result, an unwind order about to be sent,
its result, the final trade) is one more record. A trade whose last record is not
``final`` was interrupted: :meth:`arbkit.trading.live.RealTradingSystem.recover` reconciles
it against the venues by those ids and finishes or unwinds it.

The file is JSON lines, one record per line, appended with ``O_APPEND`` and fsynced
before :meth:`Journal.append` returns. A line torn by a crash mid-write is ignored on
reading (it was never acknowledged, so nothing was sent after it). Amounts are
strings (``Decimal``), never floats. Records carry ids, prices and sizes only, never
a credential.

>>> import tempfile, pathlib
>>> journal = Journal(pathlib.Path(tempfile.mkdtemp()) / "journal.jsonl")
>>> _ = journal.append("T1", "intent", legs=[])
>>> [entry.trade_id for entry in journal.unfinished()]
['T1']
>>> _ = journal.append("T1", "final", status="no_fill")
>>> journal.unfinished()
[]
>>> journal.close()

The crash-recovery tests stop a trade at every journal step with a journal of their own
(a subclass that kills its process after the N-th durable record): nothing here reads the
environment or knows about tests.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from arbkit.errors import PersistenceError
from arbkit.models import Side
from arbkit.values import ZERO, as_decimal, aware, utcnow

__all__ = [
    "FINAL",
    "FLATTEN",
    "INTENT",
    "Journal",
    "JournalEntry",
    "JournalRecord",
    "OrderIntent",
    "OrderOutcome",
]

log = logging.getLogger(__name__)

INTENT = "intent"
FINAL = "final"
#: Reopens a finished trade: its sell-back is about to be sent (see ``RealTradingSystem.flatten``).
FLATTEN = "flatten"


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot journal a {type(value).__name__}")


@attrs.frozen
class JournalRecord:
    """One line of the journal: which trade, which step, when, and the step's data."""

    seq: int
    trade_id: str
    step: str
    time: str
    data: Mapping[str, Any]


@attrs.frozen
class JournalEntry:
    """Every record of one trade, oldest first."""

    trade_id: str
    records: tuple[JournalRecord, ...]

    @property
    def finished(self) -> bool:
        """True once a final record was written after the last record that reopened the trade."""
        for record in reversed(self.records):
            if record.step == FINAL:
                return True
            if record.step == FLATTEN:
                return False
        return False

    @property
    def intent(self) -> JournalRecord | None:
        """The intent record (``None`` if the journal holds only later steps, which is corrupt)."""
        return next((r for r in self.records if r.step == INTENT), None)

    def steps(self, step: str) -> list[JournalRecord]:
        """The records of one kind, oldest first."""
        return [r for r in self.records if r.step == step]


class Journal:
    """An append-only, fsynced JSON-lines journal. Safe to append from several threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise PersistenceError(f"cannot open the trade journal {self.path}: {exc.strerror}") from None
        self._seq = sum(1 for _ in self._lines())

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    # -- writing ------------------------------------------------------------------------------
    def append(self, trade_id: str, step: str, **data: Any) -> JournalRecord:
        """Write one record and make it durable (fsync) before returning it.

        Raises :class:`PersistenceError` when the record cannot be written: the caller
        must then not send the order it was about to send.
        """
        with self._lock:
            self._seq += 1
            record = JournalRecord(self._seq, trade_id, step, utcnow().isoformat(), dict(data))
            line = json.dumps(
                {"seq": record.seq, "trade_id": trade_id, "step": step, "time": record.time, "data": data},
                default=_default,
                separators=(",", ":"),
            )
            try:
                os.write(self._fd, line.encode() + b"\n")
                os.fsync(self._fd)
            except OSError as exc:
                raise PersistenceError(
                    f"cannot write the trade journal {self.path}: {exc.strerror}"
                ) from None
        return record

    def close(self) -> None:
        """Close the file (appending afterwards raises)."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    # -- reading ------------------------------------------------------------------------------
    def _lines(self) -> Iterator[dict[str, Any]]:
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise PersistenceError(f"cannot read the trade journal {self.path}: {exc.strerror}") from None
        for number, raw in enumerate(text.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw, parse_float=Decimal)
            except ValueError:
                # A torn last line is a crash mid-write: it was never acknowledged.
                log.warning("ignoring unreadable line %d of the trade journal %s", number, self.path)
                continue
            if isinstance(item, dict) and isinstance(item.get("trade_id"), str):
                yield item

    def records(self) -> list[JournalRecord]:
        """Every readable record, oldest first."""
        return [
            JournalRecord(
                int(item.get("seq", 0)),
                item["trade_id"],
                str(item.get("step", "")),
                str(item.get("time", "")),
                _mapping(item.get("data")),
            )
            for item in self._lines()
        ]

    def entries(self) -> list[JournalEntry]:
        """Records grouped by trade, in the order the trades started."""
        grouped: dict[str, list[JournalRecord]] = {}
        for record in self.records():
            grouped.setdefault(record.trade_id, []).append(record)
        return [JournalEntry(trade_id, tuple(records)) for trade_id, records in grouped.items()]

    def entry(self, trade_id: str) -> JournalEntry | None:
        """One trade's records, or ``None``."""
        return next((e for e in self.entries() if e.trade_id == trade_id), None)

    def unfinished(self) -> list[JournalEntry]:
        """Trades that started but have no final record: what :meth:`recover` must reconcile."""
        return [e for e in self.entries() if not e.finished]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


@attrs.frozen
class OrderIntent:
    """The journal record of one order about to be sent (in an ``intent`` or ``order`` step).

    ``created_at`` is part of the request, so a re-send rebuilt from the journal (even by
    another process) is the very same order. Written and read through :mod:`arbkit.codec`.
    """

    leg: int
    exchange: str
    market_id: str
    outcome_id: str
    side: Side
    price: Decimal = attrs.field(converter=as_decimal)
    size: Decimal = attrs.field(converter=as_decimal)
    client_order_id: str
    order_id: str | None = None
    purpose: str = "entry"
    created_at: datetime | None = attrs.field(default=None, validator=aware)


@attrs.frozen
class OrderOutcome:
    """The journal record of what became of one order (a ``result`` step)."""

    leg: int
    client_order_id: str
    state: str
    order_id: str | None = None
    filled: Decimal = attrs.field(default=ZERO, converter=as_decimal)
    cost: Decimal = attrs.field(default=ZERO, converter=as_decimal)
    fees: Decimal = attrs.field(default=ZERO, converter=as_decimal)
    error: str | None = None
