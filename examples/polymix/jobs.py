"""The two background jobs on an APScheduler ``BackgroundScheduler``.

``monitor`` (scan, match, detect, risk-check, trade: :meth:`arbkit.Bot.scan_and_trade`) and
``settlement`` (:meth:`arbkit.Bot.settle`) run on their own intervals with
``max_instances=1`` (a slow scan is never run twice at once) and ``coalesce=True``
(ticks missed while it ran collapse into one). A live service adds ``reconciliation``
(:meth:`arbkit.Bot.reconcile`, every 60 s): unknown legs resolved, stored positions, cash
and open orders compared with every venue, mismatches alerted. A job that fails is logged by the
service and simply runs again on its next tick; it never stops the scheduler.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from arbkit.models import utcnow
from arbkit.trading.reconcile import DEFAULT_INTERVAL_SECONDS

from .service import PolymixService

__all__ = ["build_scheduler"]


def build_scheduler(
    service: PolymixService,
    *,
    monitor_seconds: float | None = None,
    settlement_seconds: float | None = None,
    first_run_delay: float = 0.5,
    reconcile_seconds: float = DEFAULT_INTERVAL_SECONDS,
) -> Any:
    """A (not yet started) scheduler running ``service.monitor`` and ``service.settle``.

    Intervals default to ``MONITOR_INTERVAL_SECONDS`` and ``SETTLEMENT_INTERVAL_SECONDS``;
    the first scan runs ``first_run_delay`` seconds after start, not a whole interval later.
    """
    settings = service.settings
    monitor = monitor_seconds if monitor_seconds is not None else settings.monitor_interval_seconds
    settle = settlement_seconds if settlement_seconds is not None else settings.settlement_interval_seconds
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": max(1, int(monitor))},
    )
    first = utcnow() + timedelta(seconds=first_run_delay)
    scheduler.add_job(
        service.monitor, "interval", seconds=monitor, id="monitor", name="monitor_job", next_run_time=first
    )
    scheduler.add_job(
        service.settle,
        "interval",
        seconds=settle,
        id="settlement",
        name="check_trading_settlements",
        next_run_time=first + timedelta(seconds=first_run_delay),
    )
    # Live only (paper has no venue state to compare): arbkit.trading.reconcile, every 60 s by default.
    if getattr(service.bot.trading, "reconcile", None) is not None:
        scheduler.add_job(
            service.reconcile,
            "interval",
            seconds=reconcile_seconds,
            id="reconciliation",
            name="reconcile_with_venues",
        )
    return scheduler
