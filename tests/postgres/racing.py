"""Start racer processes (tests/postgres/racer.py) together and collect what each did."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.live.conftest import Venues

ROOT = Path(__file__).resolve().parents[2]


def config(venues: Venues, url: str, **extra: Any) -> dict[str, Any]:
    """A racer's configuration: the database, both sandboxes and the account keys."""
    return {
        "url": url,
        "kalshi_url": venues.kalshi_url,
        "poly_url": venues.poly_url,
        "key_id": venues.key_id,
        "private_pem": venues.private_pem,
        "poly_key": venues.poly_key,
        **extra,
    }


def start(configs: list[dict[str, Any]]) -> list[subprocess.Popen[str]]:
    """Start one process per configuration and wait until every one is ready."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.postgres.racer", json.dumps(c)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in configs
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            for other in procs:
                other.kill()
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"a racer did not start: {line!r} {err[-2000:]}")
    return procs


def go(procs: list[subprocess.Popen[str]], timeout: float = 60) -> list[dict[str, Any] | None]:
    """Release every process at once; each one's outcome (``None`` for one that was killed)."""
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outcomes: list[dict[str, Any] | None] = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            outcomes.append(None)
            continue
        lines = [line for line in out.splitlines() if line.startswith("{")]
        assert lines, f"racer printed no outcome: {out[-500:]} {err[-2000:]}"
        outcomes.append(json.loads(lines[-1]))
    return outcomes


def race(configs: list[dict[str, Any]], timeout: float = 60) -> list[dict[str, Any] | None]:
    """Start every racer, release them together, collect their outcomes."""
    return go(start(configs), timeout)


class Pool:
    """Racer processes started once and raced again and again (each race a fresh instance)."""

    def __init__(self, size: int) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.postgres.racer"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(size)
        ]

    def race(self, configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One race: every process builds its instance, all are released together."""
        assert len(configs) == len(self.procs)
        for proc, config_ in zip(self.procs, configs, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(config_) + "\n")
            proc.stdin.flush()
        for proc in self.procs:
            self._expect(proc, "ready")
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        return [json.loads(self._expect(proc, "{")) for proc in self.procs]

    @staticmethod
    def _expect(proc: subprocess.Popen[str], start: str) -> str:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith(start):
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"a racer failed: {line!r} {err[-3000:]}")
        return line

    def close(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
