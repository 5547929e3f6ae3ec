"""A throwaway PostgreSQL server in a temporary directory, for tests, benchmarks and demos.

:class:`LocalServer` runs Debian's (or any) ``initdb`` and ``pg_ctl`` on a free loopback
port with password authentication (scram), and hands out one fresh database per caller
(:meth:`LocalServer.database`). ``initdb`` refuses to run as root, so under root the
server runs as an unprivileged user (``nobody`` by default, through ``runuser``), the
data directory being given to that user.

    with LocalServer() as server:
        url = server.database()          # postgresql://arbkit:...@127.0.0.1:PORT/arbkit_1
        store = PostgresStore(url, mode="paper")

It is not a way to run production: the data lives in a temporary directory that
:meth:`LocalServer.stop` deletes.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from arbkit.config import Secret
from arbkit.errors import PersistenceError

__all__ = ["BIN_DIRS", "LocalServer", "find_binary"]

#: Where ``initdb`` and ``pg_ctl`` are looked for, before ``$PATH``: Debian's layout (newest
#: version first; its ``/usr/bin`` has wrappers only), then the usual prefixes.
BIN_DIRS: Sequence[str] = (
    *sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    ),
    "/usr/local/bin",
    "/usr/local/pgsql/bin",
)


def find_binary(name: str) -> str:
    """The path of a PostgreSQL program, from :data:`BIN_DIRS` or ``$PATH``."""
    for folder in BIN_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise PersistenceError(
        f"PostgreSQL's {name} was not found (looked in $PATH and {', '.join(BIN_DIRS)}): "
        "install the server (Debian: apt-get install postgresql)"
    )


def _reachable_by_others(folder: Path) -> bool:
    """Whether every folder down to ``folder`` lets other users through (the server's user must)."""
    for part in (folder, *folder.parents):
        try:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalServer:
    """A private PostgreSQL server on ``127.0.0.1`` (see the module docstring).

    ``durable=False`` (the default, for tests) turns ``fsync`` off: a crash of the
    machine may lose the data, a crash of a client never does. Benchmarks that time
    commits pass ``durable=True``.
    """

    def __init__(self, *, durable: bool = False, user: str = "nobody") -> None:
        self.durable = durable
        self.run_as = user if os.geteuid() == 0 else None
        self.port = 0
        self._password = Secret(secrets.token_urlsafe(18))
        self._dir: Path | None = None
        self._counter = itertools.count(1)
        self._admin_url: str | None = None

    def __repr__(self) -> str:
        return f"LocalServer(port={self.port}, running={self._dir is not None})"

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- running programs ------------------------------------------------------------------
    def _command(self, program: str, *args: str) -> list[str]:
        command = [find_binary(program), *args]
        if self.run_as is not None:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            command = [runuser, "-u", self.run_as, "--", *command]
        return command

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        try:
            done = subprocess.run(  # noqa: S603 (PostgreSQL's own programs)
                self._command(program, *args), capture_output=True, text=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PersistenceError(f"cannot run PostgreSQL's {program}: {exc}") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-800:]
            raise PersistenceError(f"PostgreSQL's {program} failed (exit {done.returncode}): {tail}")

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        """initdb, then start the server and wait until it accepts connections."""
        if self._dir is not None:
            return
        base = Path(tempfile.gettempdir())
        if self.run_as is not None and not _reachable_by_others(base):
            base = Path("/tmp")  # noqa: S108 (a private 0700 folder is made inside)
        folder = Path(tempfile.mkdtemp(prefix="arbkit-pg-", dir=base))
        data, pwfile = folder / "data", folder / "pwfile"
        pwfile.write_text(self._password.reveal() + "\n", encoding="utf-8")
        if self.run_as is not None:
            try:
                account = pwd.getpwnam(self.run_as)
            except KeyError:
                shutil.rmtree(folder, ignore_errors=True)
                raise PersistenceError(
                    f"running as root, PostgreSQL needs an unprivileged user and {self.run_as!r} "
                    "does not exist (create it, or pass user=)"
                ) from None
            os.chown(folder, account.pw_uid, account.pw_gid)
            os.chown(pwfile, account.pw_uid, account.pw_gid)
        os.chmod(pwfile, 0o600)
        self._dir = folder
        try:
            self._run(
                "initdb",
                "-D",
                str(data),
                "-U",
                "arbkit",
                f"--pwfile={pwfile}",
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            )
            pwfile.unlink()
            self.port = _free_port()
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -k {folder} -c max_connections=200 "
                "-c shared_buffers=32MB"
            )
            if not self.durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            self._run(
                "pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start"
            )
        except BaseException:
            self.stop()
            raise
        self._admin_url = self._url("postgres")

    def _url(self, database: str) -> str:
        return f"postgresql://arbkit:{self._password.reveal()}@127.0.0.1:{self.port}/{database}"

    def database(self, name: str | None = None) -> str:
        """Create a fresh database and return its URL (it carries the password: never log it)."""
        import psycopg

        if self._admin_url is None:
            raise PersistenceError("the local PostgreSQL server is not running")
        name = name or f"arbkit_{os.getpid()}_{next(self._counter)}"
        try:
            with psycopg.connect(self._admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.Error as exc:
            raise PersistenceError(f"cannot create database {name}: {type(exc).__name__}") from None
        return self._url(name)

    def log(self) -> str:
        """The server's log so far (for a failing test's message)."""
        if self._dir is None:
            return ""
        with contextlib.suppress(OSError):
            return (self._dir / "server.log").read_text(encoding="utf-8", errors="replace")
        return ""

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        folder, self._dir, self._admin_url = self._dir, None, None
        if folder is None:
            return
        if (folder / "data" / "postmaster.pid").exists():
            with contextlib.suppress(PersistenceError):
                self._run("pg_ctl", "-D", str(folder / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
