"""Persistence of a trading system's state: the :class:`TradeStore` protocol and two stores.

* :class:`JsonFileStore` writes PolyMix's files (``paper_trading_data.json``,
  ``real_trading_data.json``): one JSON object with the balance, the trades, the
  error history and the daily counters. Every write goes to a temporary file that is
  fsynced and then renamed over the old one, so a crash leaves either the old file or
  the new one, never a torn one. Each write rewrites the file (that is the format),
  but trades are kept pre-encoded so only the changed trade is serialised again.
* :class:`SqliteStore` keeps one row per trade in SQLite (WAL): recording a trade
  costs the same with ten trades of history or a million.

A file that cannot be read or parsed raises :class:`~arbkit.errors.PersistenceError`
and is never overwritten: the store refuses every write until the file is fixed or
moved away. The error history keeps the last :data:`MAX_ERRORS` entries.

>>> import tempfile, pathlib
>>> store = JsonFileStore(pathlib.Path(tempfile.mkdtemp()) / "paper_trading_data.json")
>>> store.load() is None   # nothing stored yet
True
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs

from arbkit.codec import structure, unstructure
from arbkit.errors import ArbkitError, PersistenceError
from arbkit.trading.ledger import DailyCounters, Ledger
from arbkit.trading.records import (
    ErrorRecord,
    Trade,
    error_from_dict,
    error_to_dict,
    trade_from_dict,
    trade_to_dict,
)
from arbkit.values import utcnow

__all__ = [
    "FILE_NAMES",
    "MAX_ERRORS",
    "DailyCounters",
    "JsonFileStore",
    "Ledger",
    "SqliteStore",
    "StoredState",
    "TradeStore",
    "open_store",
]

#: How many error-history entries a store keeps (PolyMix kept 100).
MAX_ERRORS = 100
FORMAT_VERSION = 1
ZERO = Decimal(0)

#: Default file name per (store kind, mode); the JSON names are PolyMix's.
FILE_NAMES: Mapping[tuple[str, str], str] = {
    ("json", "paper"): "paper_trading_data.json",
    ("json", "live"): "real_trading_data.json",
    ("sqlite", "paper"): "paper_trading.sqlite3",
    ("sqlite", "live"): "real_trading.sqlite3",
}


@attrs.frozen
class StoredState:
    """Everything a store holds: the ledger, every trade (oldest first) and recent errors."""

    ledger: Ledger
    trades: tuple[Trade, ...]
    errors: tuple[ErrorRecord, ...]


@runtime_checkable
class TradeStore(Protocol):
    """Where a trading system keeps its state. Every method is safe to call from several threads.

    Writes that change money (a trade and the balance it moved) are given together so a
    store can make them one atomic write.
    """

    def load(self) -> StoredState | None:
        """The stored state, or ``None`` when nothing was stored yet.

        Raises :class:`PersistenceError` on an unreadable or corrupt store.
        """
        ...

    def append_trade(self, trade: Trade, ledger: Ledger) -> None:
        """Record a new trade and the ledger after it, atomically."""
        ...

    def update_trade(self, trade: Trade, ledger: Ledger) -> None:
        """Replace the stored trade with the same id (settlement, unwind) and save the ledger."""
        ...

    def append_error(self, error: ErrorRecord) -> None:
        """Add to the error history (only the last :data:`MAX_ERRORS` are kept)."""
        ...

    def save_ledger(self, ledger: Ledger) -> None:
        """Save the ledger alone (a daily rollover)."""
        ...

    def reset(self, ledger: Ledger) -> None:
        """Forget every trade and error and start again from ``ledger``."""
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...


# -- ledger (de)serialisation, shared by both stores -------------------------------------------


def _ledger_to_dict(ledger: Ledger) -> dict[str, Any]:
    data: dict[str, Any] = unstructure(ledger)
    return data


def _ledger_from_dict(data: Mapping[str, Any]) -> Ledger:
    return structure(data, Ledger)


_CORRUPT = (ValueError, KeyError, TypeError, AttributeError, ArbkitError, UnicodeDecodeError)


def _encode(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# -- JSON file ----------------------------------------------------------------------------------


class JsonFileStore:
    """PolyMix's JSON file, written atomically (temp file, fsync, rename, fsync directory).

    The file is one object::

        {"format": 1, "mode": "paper", "initial_balance": "10000", "balance": "9903.20",
         "realised_pnl": "0", "daily": {"date": "2025-03-01", "trades": 1, "loss": "0"},
         "trades": [{...}, ...], "error_history": [{...}, ...], "updated_at": "..."}

    Amounts are strings so they load back as exact ``Decimal``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._loaded = False
        self._ledger: Ledger | None = None
        self._chunks: list[str] = []
        self._positions: dict[str, int] = {}
        self._errors: deque[str] = deque(maxlen=MAX_ERRORS)

    def __repr__(self) -> str:
        return f"JsonFileStore({str(self.path)!r})"

    def load(self) -> StoredState | None:
        with self._lock:
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                self._loaded = True
                return None
            except OSError as exc:
                raise PersistenceError(f"cannot read {self.path}: {exc.strerror or exc}") from None
            try:
                data = json.loads(raw.decode("utf-8"), parse_float=Decimal)
                if not isinstance(data, dict):
                    raise ValueError("top level is not an object")
                ledger = _ledger_from_dict(data)
                trades = tuple(trade_from_dict(t) for t in data["trades"])
                errors = tuple(error_from_dict(e) for e in data.get("error_history", ()))
            except _CORRUPT as exc:
                raise PersistenceError(
                    f"{self.path} is not a valid trading file ({type(exc).__name__}: {str(exc)[:120]}); "
                    "it was left untouched: restore it from a backup or move it away"
                ) from None
            if len({t.id for t in trades}) != len(trades):
                raise PersistenceError(f"{self.path} holds duplicate trade ids; it was left untouched")
            self._ledger = ledger
            self._chunks = [_encode(trade_to_dict(t)) for t in trades]
            self._positions = {t.id: i for i, t in enumerate(trades)}
            self._errors = deque((_encode(error_to_dict(e)) for e in errors), maxlen=MAX_ERRORS)
            self._loaded = True
            return StoredState(ledger=ledger, trades=trades, errors=errors[-MAX_ERRORS:])

    def _ensure_loaded(self) -> None:
        # Loading first means a corrupt file raises here, before anything could overwrite it.
        if not self._loaded:
            self.load()

    def _render(self, ledger: Ledger, chunks: list[str], errors: Iterator[str] | deque[str]) -> str:
        head = _ledger_to_dict(ledger)
        parts = [f'{{"format": {FORMAT_VERSION}']
        parts.extend(f",\n {json.dumps(k)}: {json.dumps(v)}" for k, v in head.items())
        parts.append(',\n "trades": [\n  ')
        parts.append(",\n  ".join(chunks))
        parts.append('\n ],\n "error_history": [\n  ')
        parts.append(",\n  ".join(errors))
        parts.append(f'\n ],\n "updated_at": {json.dumps(utcnow().isoformat())}\n}}\n')
        return "".join(parts)

    def _write(self, text: str) -> None:
        directory = self.path.parent
        tmp = directory / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise PersistenceError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        # Make the rename itself durable (POSIX; Windows has no directory handles).
        if hasattr(os, "O_DIRECTORY"):
            with contextlib.suppress(OSError):
                fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def append_trade(self, trade: Trade, ledger: Ledger) -> None:
        with self._lock:
            self._ensure_loaded()
            if trade.id in self._positions:
                raise PersistenceError(f"trade {trade.id} is already stored")
            chunks = [*self._chunks, _encode(trade_to_dict(trade))]
            self._write(self._render(ledger, chunks, self._errors))
            self._chunks = chunks
            self._positions[trade.id] = len(chunks) - 1
            self._ledger = ledger

    def update_trade(self, trade: Trade, ledger: Ledger) -> None:
        with self._lock:
            self._ensure_loaded()
            position = self._positions.get(trade.id)
            if position is None:
                raise PersistenceError(f"trade {trade.id} is not stored; cannot update it")
            chunks = list(self._chunks)
            chunks[position] = _encode(trade_to_dict(trade))
            self._write(self._render(ledger, chunks, self._errors))
            self._chunks = chunks
            self._ledger = ledger

    def append_error(self, error: ErrorRecord) -> None:
        with self._lock:
            self._ensure_loaded()
            if self._ledger is None:
                # Nothing to attach the error to yet; it is still in the caller's memory.
                self._errors.append(_encode(error_to_dict(error)))
                return
            errors: deque[str] = deque(self._errors, maxlen=MAX_ERRORS)
            errors.append(_encode(error_to_dict(error)))
            self._write(self._render(self._ledger, self._chunks, errors))
            self._errors = errors

    def save_ledger(self, ledger: Ledger) -> None:
        with self._lock:
            self._ensure_loaded()
            self._write(self._render(ledger, self._chunks, self._errors))
            self._ledger = ledger

    def reset(self, ledger: Ledger) -> None:
        with self._lock:
            self._ensure_loaded()
            self._write(self._render(ledger, [], iter(())))
            self._chunks, self._positions, self._errors = [], {}, deque(maxlen=MAX_ERRORS)
            self._ledger = ledger

    def close(self) -> None:
        """Nothing stays open between writes."""


# -- SQLite -------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trades (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS errors (seq INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
"""


class SqliteStore:
    """One row per trade in SQLite, WAL journal, ``synchronous=FULL``: O(1) per recorded trade.

    The ledger is one row of ``meta``; a trade and the ledger it changed are written
    in one transaction. The error table is trimmed to the last :data:`MAX_ERRORS`
    rows on every insert (by primary key, so also O(1)).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        if self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, "rb") as handle:
                if handle.read(16) != b"SQLite format 3\x00":
                    raise PersistenceError(f"{self.path} is not an SQLite database; it was left untouched")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise PersistenceError(f"cannot open {self.path}: {exc}") from None
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(str(check[0] if check else "no answer"))
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            conn.close()
            raise PersistenceError(f"{self.path} is corrupt ({exc}); it was left untouched") from None
        self._conn = conn
        return conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise PersistenceError(f"cannot write {self.path}: {exc}") from None
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise

    @staticmethod
    def _put_ledger(conn: sqlite3.Connection, ledger: Ledger) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('ledger', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (_encode(_ledger_to_dict(ledger)),),
        )

    def load(self) -> StoredState | None:
        with self._lock:
            conn = self._connection()
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'ledger'").fetchone()
                if row is None:
                    return None
                ledger = _ledger_from_dict(json.loads(row[0], parse_float=Decimal))
                trades = tuple(
                    trade_from_dict(json.loads(data, parse_float=Decimal))
                    for (data,) in conn.execute("SELECT data FROM trades ORDER BY seq")
                )
                errors = tuple(
                    error_from_dict(json.loads(data))
                    for (data,) in conn.execute(
                        "SELECT data FROM (SELECT seq, data FROM errors ORDER BY seq DESC LIMIT ?) "
                        "ORDER BY seq",
                        (MAX_ERRORS,),
                    )
                )
            except sqlite3.Error as exc:
                raise PersistenceError(f"cannot read {self.path}: {exc}") from None
            except _CORRUPT as exc:
                raise PersistenceError(
                    f"{self.path} holds an invalid record ({type(exc).__name__}); it was left untouched"
                ) from None
            return StoredState(ledger=ledger, trades=trades, errors=errors)

    def append_trade(self, trade: Trade, ledger: Ledger) -> None:
        data = _encode(trade_to_dict(trade))
        try:
            with self._transaction() as conn:
                conn.execute(
                    "INSERT INTO trades (id, status, created_at, data) VALUES (?, ?, ?, ?)",
                    (trade.id, trade.status.value, trade.created_at.isoformat(), data),
                )
                self._put_ledger(conn, ledger)
        except PersistenceError as exc:
            if "UNIQUE" in str(exc):
                raise PersistenceError(f"trade {trade.id} is already stored") from None
            raise

    def update_trade(self, trade: Trade, ledger: Ledger) -> None:
        data = _encode(trade_to_dict(trade))
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE trades SET status = ?, data = ? WHERE id = ?", (trade.status.value, data, trade.id)
            )
            if cursor.rowcount != 1:
                raise PersistenceError(f"trade {trade.id} is not stored; cannot update it")
            self._put_ledger(conn, ledger)

    def append_error(self, error: ErrorRecord) -> None:
        with self._transaction() as conn:
            cursor = conn.execute("INSERT INTO errors (data) VALUES (?)", (_encode(error_to_dict(error)),))
            conn.execute("DELETE FROM errors WHERE seq <= ?", ((cursor.lastrowid or 0) - MAX_ERRORS,))

    def save_ledger(self, ledger: Ledger) -> None:
        with self._transaction() as conn:
            self._put_ledger(conn, ledger)

    def reset(self, ledger: Ledger) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM trades")
            conn.execute("DELETE FROM errors")
            self._put_ledger(conn, ledger)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def open_store(
    kind: str,
    data_dir: str | os.PathLike[str],
    mode: str,
    *,
    url: Any = None,
    instance: str | None = None,
    **options: Any,
) -> TradeStore:
    """Open the store named ``kind`` (``"json"``, ``"sqlite"``, ``"postgres"`` or a plugin's) for ``mode``.

    The file is ``data_dir / FILE_NAMES[(kind, mode)]`` for the built-in file kinds and
    ``data_dir / f"{mode}_trading.{kind}"`` for a plugin's. ``"postgres"`` is a database,
    not a file: it is opened at ``url`` (``Settings.store_url``, ``ARBKIT_STORE_URL``) as
    ``instance`` (``Settings.instance``, ``ARBKIT_INSTANCE``; ``None``: a new name per start).
    File stores have no instances and ignore it.
    """
    from arbkit.plugins import store_factories

    factories = store_factories()
    factory = factories.get(kind)
    if factory is None:
        raise PersistenceError(f"unknown store {kind!r}; available: {', '.join(sorted(factories)) or 'none'}")
    if kind == "postgres":
        if url is None:
            from arbkit.errors import ConfigError

            raise ConfigError("the postgres store needs a URL", variable="ARBKIT_STORE_URL")
        if instance is not None:
            options["instance"] = instance
        database: TradeStore = factory(url, mode=mode, **options)
        return database
    name = FILE_NAMES.get((kind, mode), f"{mode}_trading.{kind}")
    store: TradeStore = factory(Path(data_dir) / name, **options)
    return store
