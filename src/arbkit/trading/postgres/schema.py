"""The PostgreSQL schema of arbkit, created and migrated by the store itself.

Each migration is one numbered step applied once, in order, inside one transaction
holding an advisory lock, and recorded in ``arbkit_schema_versions``: several instances
starting at once migrate exactly once, and a failed step leaves the database as it was.
A database whose version is newer than this code knows is refused (an older arbkit must
not write a schema it does not understand).

Every table is keyed by ``mode`` (``paper`` or ``live``), so one database holds both
without mixing them. Money columns are ``numeric`` (exact, any scale); records are
``jsonb`` of the same dictionaries the JSON and SQLite stores write, with amounts as
strings so they load back as the same ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from arbkit.errors import PersistenceError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

#: The advisory lock key migrations hold (any fixed 64-bit number; "arbkit" in ASCII).
MIGRATION_LOCK = 0x617262_6B6974

MIGRATIONS: Sequence[tuple[int, str, str]] = (
    (
        1,
        "trades, ledger, daily counters, errors",
        """
        CREATE TABLE arbkit_ledger (
            mode text PRIMARY KEY CHECK (mode IN ('paper', 'live')),
            initial_balance numeric NOT NULL,
            balance numeric NOT NULL,
            realised_pnl numeric NOT NULL DEFAULT 0,
            day date NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE arbkit_daily (
            mode text NOT NULL,
            day date NOT NULL,
            trades integer NOT NULL DEFAULT 0 CHECK (trades >= 0),
            loss numeric NOT NULL DEFAULT 0,
            PRIMARY KEY (mode, day)
        );
        CREATE TABLE arbkit_trades (
            seq bigserial PRIMARY KEY,
            mode text NOT NULL,
            id text NOT NULL,
            status text NOT NULL,
            created_at timestamptz NOT NULL,
            instance text,
            data jsonb NOT NULL,
            UNIQUE (mode, id)
        );
        CREATE TABLE arbkit_exposure (
            mode text NOT NULL,
            trade_id text NOT NULL,
            exchange text NOT NULL,
            market_id text NOT NULL,
            amount numeric NOT NULL,
            PRIMARY KEY (mode, trade_id, exchange, market_id)
        );
        CREATE INDEX arbkit_exposure_market ON arbkit_exposure (mode, exchange, market_id);
        CREATE TABLE arbkit_errors (
            seq bigserial PRIMARY KEY,
            mode text NOT NULL,
            data jsonb NOT NULL
        );
        CREATE INDEX arbkit_errors_mode ON arbkit_errors (mode, seq);
        """,
    ),
    (
        2,
        "journal, instances and leases, reservations of exposure",
        """
        CREATE TABLE arbkit_instances (
            id text PRIMARY KEY,
            mode text NOT NULL,
            host text NOT NULL,
            pid integer NOT NULL,
            started_at timestamptz NOT NULL DEFAULT now(),
            lease_until timestamptz NOT NULL
        );
        CREATE TABLE arbkit_journal (
            seq bigserial PRIMARY KEY,
            mode text NOT NULL,
            trade_id text NOT NULL,
            step text NOT NULL,
            time text NOT NULL,
            instance text NOT NULL,
            data jsonb NOT NULL
        );
        CREATE INDEX arbkit_journal_trade ON arbkit_journal (mode, trade_id, seq);
        CREATE TABLE arbkit_journal_owners (
            mode text NOT NULL,
            trade_id text NOT NULL,
            owner text NOT NULL,
            finished boolean NOT NULL DEFAULT false,
            taken_over integer NOT NULL DEFAULT 0,
            PRIMARY KEY (mode, trade_id)
        );
        CREATE INDEX arbkit_journal_open ON arbkit_journal_owners (mode, owner) WHERE NOT finished;
        CREATE SEQUENCE arbkit_reservation_seq;
        CREATE TABLE arbkit_reservations (
            id bigint PRIMARY KEY DEFAULT nextval('arbkit_reservation_seq'),
            mode text NOT NULL,
            day date NOT NULL,
            instance text NOT NULL,
            trade_id text,
            created_at timestamptz NOT NULL DEFAULT now(),
            released_seq bigint
        );
        CREATE INDEX arbkit_reservations_active ON arbkit_reservations (mode) WHERE released_seq IS NULL;
        CREATE INDEX arbkit_reservations_trade ON arbkit_reservations (mode, trade_id);
        CREATE TABLE arbkit_reservation_amounts (
            reservation bigint NOT NULL REFERENCES arbkit_reservations (id) ON DELETE CASCADE,
            kind text NOT NULL CHECK (kind IN ('cash', 'market')),
            exchange text NOT NULL,
            market_id text NOT NULL DEFAULT '',
            amount numeric NOT NULL,
            PRIMARY KEY (reservation, kind, exchange, market_id)
        );
        """,
    ),
    (
        3,
        "a change number on every trade row: instances read what others changed, updates are conditional",
        """
        CREATE SEQUENCE arbkit_trade_change_seq;
        ALTER TABLE arbkit_trades
            ADD COLUMN changed bigint NOT NULL DEFAULT nextval('arbkit_trade_change_seq');
        CREATE INDEX arbkit_trades_changed ON arbkit_trades (mode, changed);
        """,
    ),
)

#: The version this code writes.
SCHEMA_VERSION = MIGRATIONS[-1][0]


def migrate(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; returns the version found before.

    Raises :class:`PersistenceError` when the database is newer than this code.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS arbkit_schema_versions ("
            " version integer PRIMARY KEY, description text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        row = conn.execute("SELECT coalesce(max(version), 0) FROM arbkit_schema_versions").fetchone()
        found = int(row[0]) if row is not None else 0  # type: ignore[call-overload]
        if found > SCHEMA_VERSION:
            raise PersistenceError(
                f"the database's arbkit schema is version {found}, newer than this arbkit knows "
                f"({SCHEMA_VERSION}): upgrade arbkit; nothing was written"
            )
        for version, description, sql in MIGRATIONS:
            if version > found:
                conn.execute(sql.encode())
                conn.execute(
                    "INSERT INTO arbkit_schema_versions (version, description) VALUES (%s, %s)",
                    (version, description),
                )
    return found
