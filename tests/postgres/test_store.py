"""PostgresStore keeps the store contract of the JSON and SQLite stores, exactly.

The contract tests of tests/core/test_store.py run here again against PostgreSQL (the same
functions, the same assertions), then what only a database server adds: the schema
versioned and migrated once, several instances on one ledger, no password anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from arbkit.errors import ConfigError, PersistenceError
from arbkit.trading.postgres import PostgresStore
from arbkit.trading.postgres.schema import SCHEMA_VERSION
from arbkit.trading.records import ErrorRecord
from arbkit.trading.store import TradeStore
from tests.core import test_store as contract

D = Decimal


@pytest.fixture
def make(pg_url: str) -> Callable[[Path], TradeStore]:
    """A store factory shaped like the contract tests' (the path is not used)."""
    opened: list[PostgresStore] = []

    def build(_: Path) -> TradeStore:
        store = PostgresStore(pg_url, mode="paper")
        opened.append(store)
        return store

    yield build  # type: ignore[misc]
    for store in opened:
        store.close()


@pytest.mark.parametrize(
    "contract_test",
    [
        contract.test_state_round_trips_exactly,
        contract.test_error_history_keeps_the_last_hundred,
        contract.test_updating_an_unknown_trade_or_appending_twice_is_an_error,
    ],
    ids=lambda f: f.__name__.removeprefix("test_"),
)
def test_store_contract_holds_on_postgres(
    tmp_path: Path, make: Callable[[Path], TradeStore], contract_test: Callable[..., None]
) -> None:
    contract_test(tmp_path, "postgres", make)


def test_money_is_numeric_in_the_database_and_the_schema_is_versioned(pg_url: str) -> None:
    store = PostgresStore(pg_url, mode="paper")
    store.append_trade(contract.make_trade(), contract.ledger("9988.74", 1))
    store.close()
    with psycopg.connect(pg_url) as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'arbkit_ledger'"
            ).fetchall()
        )
        versions = [v for (v,) in conn.execute("SELECT version FROM arbkit_schema_versions ORDER BY 1")]
        balance = conn.execute("SELECT balance FROM arbkit_ledger").fetchone()
    assert types["balance"] == types["realised_pnl"] == "numeric"
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert balance == (D("9988.74"),)


def test_two_stores_migrating_at_once_migrate_once_and_a_newer_schema_is_refused(pg_url: str) -> None:
    first, second = PostgresStore(pg_url), PostgresStore(pg_url)
    assert first.load() is None
    assert second.load() is None
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO arbkit_schema_versions (version, description) VALUES (999, 'future')")
    third = PostgresStore(pg_url)
    with pytest.raises(PersistenceError, match="newer than this arbkit"):
        third.load()
    for store in (first, second, third):
        store.close()


def test_instances_recording_on_one_ledger_both_count(pg_url: str) -> None:
    """Each instance hands the store its own whole ledger; neither overwrites the other."""
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    assert a.load() is None  # both start from nothing, side by side
    assert b.load() is None
    a.append_trade(contract.make_trade(0), contract.ledger("9990.00", 1))  # a spent 10
    b.append_trade(contract.make_trade(1), contract.ledger("9980.00", 1))  # b spent 20
    reader = PostgresStore(pg_url)
    state = reader.load()
    reader.close()
    assert state is not None
    assert state.ledger.balance == D("9970.00")
    assert state.ledger.daily.trades == 2
    assert state.ledger.daily.loss == D("3.00")
    assert len(state.trades) == 2
    a.close()
    b.close()


def test_the_password_never_shows_in_reprs_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = "postgresql://arbkit:hunter2-secret@127.0.0.1:1/nosuch"
    store = PostgresStore(url, timeout=1)
    assert "hunter2" not in repr(store)
    with pytest.raises(PersistenceError) as caught:
        store.load()
    assert caplog.records  # the pool did log its failed attempts
    assert "hunter2" not in caplog.text
    assert "hunter2" not in str(caught.value)
    assert "postgresql://arbkit:***@127.0.0.1:1/nosuch" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    ["mysql://u:p@h/db", "postgresql://u:p@/db", "postgresql://u:p@host", "postgresql://u:p@h:99999/db"],
)
def test_a_bad_url_is_a_config_error_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        PostgresStore(url)
    assert ":p@" not in str(caught.value)
    assert "ARBKIT_STORE_URL" in str(caught.value)


def test_an_error_record_round_trips(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    store.save_ledger(contract.ledger())
    error = ErrorRecord(contract.T0, "polymarket", "order", "HTTP 400", code="bad", error_type="InvalidOrder")
    store.append_error(error)
    store.close()
    reader = PostgresStore(pg_url)
    state = reader.load()
    reader.close()
    assert state is not None
    assert state.errors == (error,)


def test_store_url_in_the_settings_chooses_the_postgres_store(pg_url: str, tmp_path: Path) -> None:
    from arbkit.config import Settings
    from arbkit.trading.paper import PaperTradingSystem

    settings = Settings.from_mapping({"ARBKIT_STORE_URL": pg_url, "ARBKIT_DATA_DIR": str(tmp_path)})
    assert settings.store == "postgres"
    assert pg_url not in repr(settings)
    system = PaperTradingSystem.from_settings(settings)
    assert isinstance(system.store, PostgresStore)
    assert system.state().balance == settings.paper.initial_balance
    system.store.close()
    assert list(tmp_path.iterdir()) == []  # nothing written to files


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"ARBKIT_STORE_URL": "https://u:topsecret@h/db"}, "ARBKIT_STORE_URL"),
        ({"ARBKIT_STORE_URL": "postgresql://u:topsecret@h/db", "ARBKIT_STORE": "sqlite"}, "ARBKIT_STORE_URL"),
        ({"ARBKIT_STORE": "postgres"}, "ARBKIT_STORE"),
    ],
)
def test_a_bad_store_setting_names_its_variable_and_hides_the_password(
    environ: dict[str, str], variable: str
) -> None:
    from arbkit.config import Settings

    with pytest.raises(ConfigError) as caught:
        Settings.from_mapping(environ)
    assert caught.value.variable == variable
    assert "topsecret" not in str(caught.value)


def test_the_postgres_store_is_registered_and_opened_by_url(pg_url: str, tmp_path: Path) -> None:
    from arbkit.plugins import store_factories
    from arbkit.trading.store import open_store

    assert "postgres" in store_factories()
    store = open_store("postgres", tmp_path, "live", url=pg_url)
    assert isinstance(store, PostgresStore)
    assert store.mode == "live"
    store.close()
    with pytest.raises(ConfigError, match="ARBKIT_STORE_URL"):
        open_store("postgres", tmp_path, "live")
