"""A real PostgreSQL server for the whole session (initdb + pg_ctl in a temporary directory),
and one fresh database per test.

Outside CI a machine without PostgreSQL skips these tests, saying how to install it; in CI
(``CI=true``) that is a failure: nothing may be skipped there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from arbkit.errors import PersistenceError
from arbkit.trading.postgres import PostgresStore
from arbkit.trading.postgres.local import LocalServer


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalServer]:
    server = LocalServer()
    try:
        server.start()
    except PersistenceError as exc:
        message = f"cannot start a PostgreSQL server for tests/postgres: {exc}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (.ci/run installs Debian's postgresql package)", pytrace=False)
        pytest.skip(message)
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: LocalServer) -> str:
    """The URL of a fresh, empty database (it holds the password: never print it)."""
    return pg_server.database()


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Callable[..., PostgresStore]]:
    """``pg_store(mode=...)``: a store on the test's database, closed after the test."""
    opened: list[PostgresStore] = []

    def build(mode: str = "live", **options: object) -> PostgresStore:
        store = PostgresStore(pg_url, mode=mode, **options)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield build
    for store in opened:
        store.close()


from tests.live.conftest import _hedge_keys, _keys, _servers, venues  # noqa: E402  (the sandboxes, shared)

__all__ = ["_hedge_keys", "_keys", "_servers", "pg_server", "pg_url", "venues"]
