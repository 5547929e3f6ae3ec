"""The service object the app, the jobs and the scheduler script share: a Bot and what its last steps did.

It holds no trading logic: ``monitor`` is :meth:`arbkit.Bot.scan_and_trade` and ``settle``
is :meth:`arbkit.Bot.settle`; this class only remembers their last results and keeps
per-job counters for ``/api/health``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from arbkit import Bot, CycleReport, Settings
from arbkit.models import utcnow
from arbkit.notify import mode_label

__all__ = ["JobStats", "PolymixService"]

logger = logging.getLogger(__name__)


@attrs.define
class JobStats:
    """How one background job has been doing."""

    name: str
    runs: int = 0
    failures: int = 0
    running: bool = False
    last_started: datetime | None = None
    last_finished: datetime | None = None
    last_seconds: float | None = None
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "runs": self.runs,
            "failures": self.failures,
            "running": self.running,
            "last_started": None if self.last_started is None else self.last_started.isoformat(),
            "last_finished": None if self.last_finished is None else self.last_finished.isoformat(),
            "last_seconds": None if self.last_seconds is None else round(self.last_seconds, 4),
            "last_error": self.last_error,
        }


class PolymixService:
    """One :class:`arbkit.Bot` (paper or live, from ``LIVE_TRADING``) and its last results.

    ``monitor()`` and ``settle()`` never raise: a failure (which the Bot itself already
    avoids for venue errors) is logged and counted, and the next tick runs as usual.
    """

    def __init__(self, settings: Settings, bot: Bot, *, allow_live_reset: bool = False) -> None:
        self.settings = settings
        self.bot = bot
        self.allow_live_reset = allow_live_reset
        self.started_at = utcnow()
        self.last_report: CycleReport | None = None
        self.last_settlements = 0
        self.stats = {"monitor": JobStats("monitor"), "settlement": JobStats("settlement")}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> PolymixService:
        """Build the Bot from settings (the live system when ``LIVE_TRADING=true``)."""
        allow_live_reset = bool(options.pop("allow_live_reset", False))
        return cls(settings, Bot.from_settings(settings, **options), allow_live_reset=allow_live_reset)

    @property
    def mode(self) -> str:
        """``"paper"`` or ``"live"``: the trading system's own mode."""
        return str(self.bot.trading.mode)

    @property
    def label(self) -> str:
        """``"🔴 LIVE"`` or ``"📄 PAPER"``."""
        return mode_label(self.mode)

    def _run(self, name: str, step: Callable[[], Any]) -> Any:
        stats = self.stats[name]
        with self._lock:
            stats.running = True
            stats.last_started = utcnow()
        tick = time.perf_counter()
        error: str | None = None
        result: Any = None
        try:
            result = step()
        except Exception as exc:  # the job must survive to run again next tick
            logger.exception("%s job failed", name)
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        with self._lock:
            stats.running = False
            stats.runs += 1
            stats.last_finished = utcnow()
            stats.last_seconds = time.perf_counter() - tick
            stats.last_error = error
            if error is not None:
                stats.failures += 1
        return result

    def monitor(self) -> CycleReport | None:
        """PolyMix's ``monitor_job``: one scan-and-trade step in the current mode."""

        def step() -> CycleReport:
            report = self.bot.scan_and_trade()
            if report.scan is not None:
                # Keep what the API serves, not every book fetched: the books of a full scan are
                # most of its memory, and holding them until the next scan has finished would
                # double the service's peak (measured by benchmarks/bench_memory.py).
                report = attrs.evolve(report, scan=attrs.evolve(report.scan, books=()))
            self.last_report = report
            if report.error:
                raise RuntimeError(report.error)
            executed = len(report.executed)
            logger.info(
                "%s scan: %d opportunities, %d traded",
                self.label,
                len(report.opportunities),
                executed,
            )
            return report

        result = self._run("monitor", step)
        return result if isinstance(result, CycleReport) else self.last_report

    def settle(self) -> int:
        """PolyMix's ``check_trading_settlements``: settle what has resolved; returns how many."""

        def step() -> int:
            settled = len(self.bot.settle())
            self.last_settlements = settled
            if settled:
                logger.info("%s settled %d trades", self.label, settled)
            return settled

        result = self._run("settlement", step)
        return int(result or 0)

    def health(self) -> dict[str, Any]:
        """Job counters, the last scan's time and errors, and whether the service is healthy."""
        report = self.last_report
        scan = None if report is None else report.scan
        with self._lock:
            jobs = {name: stats.to_dict() for name, stats in self.stats.items()}
        failing = any(s["last_error"] for s in jobs.values())
        return {
            "status": "degraded" if failing else "ok",
            "mode": self.mode,
            "exchanges": list(self.bot.scanner.exchanges),
            "started_at": self.started_at.isoformat(),
            "jobs": jobs,
            "last_scan": None
            if scan is None
            else {
                "at": scan.started_at.isoformat(),
                "seconds": round(scan.seconds, 4),
                "markets": scan.market_count,
                "matches": len(scan.matches),
                "opportunities": len(scan.opportunities),
                "errors": [{"venue": v, "operation": o, "message": m} for v, o, m in scan.errors],
            },
        }

    def close(self) -> None:
        """Close the exchange clients and the store."""
        self.bot.close()
