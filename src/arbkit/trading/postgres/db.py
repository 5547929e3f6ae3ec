"""The connection side of the PostgreSQL store: URL checks, a pool, errors without secrets.

The URL (:mod:`arbkit.trading.postgres.url`) is kept as a :class:`~arbkit.config.Secret`, shown
everywhere as ``postgresql://user:***@host:port/database``, and removed from every error
message that could echo it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from arbkit.config import Secret
from arbkit.errors import ConfigError, PersistenceError
from arbkit.trading.postgres.url import check_url_text, redact_url

__all__ = ["Database", "check_url", "redact_url"]

Connection = psycopg.Connection[tuple[Any, ...]]


def check_url(url: str | Secret, *, variable: str | None = "ARBKIT_STORE_URL") -> Secret:
    """``url`` as a :class:`Secret` once it is a usable PostgreSQL URL, else :class:`ConfigError`
    (whose message never holds the password)."""
    raw = url.reveal() if isinstance(url, Secret) else url
    check_url_text(raw, variable=variable)
    try:
        pg_conninfo.conninfo_to_dict(raw)
    except psycopg.ProgrammingError:
        raise ConfigError("is not a URL libpq accepts", variable=variable) from None
    return url if isinstance(url, Secret) else Secret(raw)


class Database:
    """A small pool of autocommit connections to one database (opened lazily)."""

    def __init__(self, url: str | Secret, *, max_connections: int = 4, timeout: float = 10.0) -> None:
        self._url = check_url(url)
        self.shown = redact_url(self._url.reveal())
        self.timeout = timeout
        self._max = max_connections
        self._pool: ConnectionPool[Connection] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Database({self.shown!r})"

    def scrub(self, text: str) -> str:
        """``text`` with the URL and its password removed (psycopg may echo a conninfo)."""
        secret = self._url.reveal()
        text = text.replace(secret, self.shown)
        with contextlib.suppress(ValueError):
            password = urlsplit(secret).password
            if password:
                text = text.replace(password, "***")
        return text

    def fail(self, what: str, exc: BaseException) -> PersistenceError:
        """A :class:`PersistenceError` for a database failure, naming the database, never a secret."""
        detail = self.scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        return PersistenceError(f"{what} ({self.shown}): {reason[:300]}")

    def _open(self) -> ConnectionPool[Connection]:
        with self._lock:
            if self._pool is None:
                pool: ConnectionPool[Connection] = ConnectionPool(
                    self._url.reveal(),
                    min_size=1,
                    max_size=self._max,
                    kwargs={"autocommit": True, "connect_timeout": max(1, int(self.timeout))},
                    open=False,
                    name="arbkit",
                    timeout=self.timeout,
                    reconnect_timeout=self.timeout,
                )
                try:
                    pool.open(wait=True, timeout=self.timeout)
                except (PoolTimeout, psycopg.Error) as exc:
                    pool.close()
                    cause: BaseException = exc
                    # The pool's own error says little; one direct attempt says why.
                    try:
                        psycopg.connect(self._url.reveal(), connect_timeout=max(1, int(self.timeout))).close()
                    except psycopg.Error as direct:
                        cause = direct
                    raise self.fail("cannot connect to the store's database", cause) from None
                self._pool = pool
            return self._pool

    @contextlib.contextmanager
    def connection(self, what: str) -> Iterator[Connection]:
        """A pooled connection; a database error inside becomes a :class:`PersistenceError`."""
        pool = self._open()
        try:
            with pool.connection(timeout=self.timeout) as conn:
                yield conn
        except PoolTimeout as exc:
            raise self.fail(what, exc) from None
        except psycopg.Error as exc:
            raise self.fail(what, exc) from None

    @contextlib.contextmanager
    def transaction(self, what: str) -> Iterator[Connection]:
        """A connection inside one transaction, committed on success, rolled back on any error."""
        with self.connection(what) as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
