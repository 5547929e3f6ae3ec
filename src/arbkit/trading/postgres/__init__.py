"""PostgreSQL for several instances on one database (``pip install arbkit[postgres]``).

* :class:`PostgresStore`: the trade store (trades, ledger, daily counters, errors) behind
  the same interface as the JSON and SQLite stores, chosen by ``ARBKIT_STORE_URL``;
* :class:`SharedLimits` and :meth:`PostgresStore.reserve`: the daily trade count, daily
  loss, per-market exposure and cash held by the database for all instances together;
* :class:`PostgresJournal`: the live write-ahead journal in the same database, each
  unfinished trade owned by an instance under a lease it renews, taken over by another
  instance when the lease expires.

See docs/deployment.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arbkit.trading.postgres.journal import PostgresJournal
    from arbkit.trading.postgres.limits import Reservation, SharedLimits
    from arbkit.trading.postgres.store import PostgresStore

__all__ = ["PostgresJournal", "PostgresStore", "Reservation", "SharedLimits"]

_WHERE = {
    "PostgresJournal": "arbkit.trading.postgres.journal",
    "PostgresStore": "arbkit.trading.postgres.store",
    "Reservation": "arbkit.trading.postgres.limits",
    "SharedLimits": "arbkit.trading.postgres.limits",
}


def __getattr__(name: str) -> Any:
    # Imported on first use: arbkit.trading.postgres.url (used by the settings) needs no driver.
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'arbkit.trading.postgres' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
