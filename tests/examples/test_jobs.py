"""The background jobs, the headless scheduler script and the self-contained dashboard."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from examples.polymix import create_app, stop_app
from examples.polymix.jobs import build_scheduler
from examples.polymix.service import PolymixService
from flask import Flask

import arbkit
from examples import scheduler as scheduler_script

from .conftest import Venues

DEADLINE = 20.0


class FlakyBot(arbkit.Bot):
    """A real Bot whose first scan blows up (a bug, not a venue error); signals each scan."""

    def __init__(self, bot: arbkit.Bot) -> None:
        super().__init__(bot.scanner, bot.trading)
        self.calls = 0
        self.scanned = threading.Event()
        self.settled = threading.Event()

    def scan_and_trade(self) -> arbkit.CycleReport:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("boom")
        report = super().scan_and_trade()
        if self.calls >= 3:
            self.scanned.set()
        return report

    def settle(self) -> list[Any]:
        result = super().settle()
        self.settled.set()
        return result


def test_a_failing_job_is_counted_and_runs_again_on_the_next_tick(
    make_settings: Callable[..., arbkit.Settings],
) -> None:
    settings = make_settings()
    bot = FlakyBot(arbkit.Bot.from_settings(settings))
    service = PolymixService(settings, bot)
    scheduler = build_scheduler(service, monitor_seconds=0.05, settlement_seconds=0.05, first_run_delay=0)
    scheduler.start()
    try:
        assert bot.scanned.wait(DEADLINE), "the monitor job stopped after its failure"
        assert bot.settled.wait(DEADLINE)
        assert scheduler.running
    finally:
        scheduler.shutdown(wait=True)
        service.close()
    monitor = service.stats["monitor"]
    assert monitor.failures == 1
    assert monitor.runs >= 3
    assert monitor.last_error is None  # the latest run succeeded
    assert len(bot.state().trade_history) == 4


class BlockingBot(arbkit.Bot):
    """A real Bot whose scans wait for ``release``; records the most scans ever running at once."""

    def __init__(self, bot: arbkit.Bot) -> None:
        super().__init__(bot.scanner, bot.trading)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.running = 0
        self.most_running = 0
        self.calls = 0
        self._lock = threading.Lock()

    def scan_and_trade(self) -> arbkit.CycleReport:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        self.entered.set()
        self.release.wait(DEADLINE)
        try:
            return super().scan_and_trade()
        finally:
            with self._lock:
                self.running -= 1


def test_a_slow_scan_is_never_run_twice_at_once(make_settings: Callable[..., arbkit.Settings]) -> None:
    settings = make_settings()
    bot = BlockingBot(arbkit.Bot.from_settings(settings))
    service = PolymixService(settings, bot)
    scheduler = build_scheduler(service, monitor_seconds=0.02, settlement_seconds=60, first_run_delay=0)
    skipped = threading.Event()
    scheduler.add_listener(lambda event: skipped.set(), EVENT_JOB_MAX_INSTANCES)
    scheduler.start()
    try:
        assert bot.entered.wait(DEADLINE)
        # Ticks keep coming while the scan is stuck; the scheduler skips them instead of overlapping.
        assert skipped.wait(DEADLINE)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert {job.max_instances for job in jobs.values()} == {1}
        assert {job.coalesce for job in jobs.values()} == {True}
        assert jobs["monitor"].trigger.interval.total_seconds() == 0.02
        assert bot.calls == 1
    finally:
        bot.release.set()
        scheduler.shutdown(wait=True)
        service.close()
    assert bot.most_running == 1


def test_intervals_default_to_the_settings(make_settings: Callable[..., arbkit.Settings]) -> None:
    service = PolymixService.from_settings(
        make_settings(MONITOR_INTERVAL_SECONDS="30", SETTLEMENT_INTERVAL_SECONDS="60")
    )
    try:
        jobs = {job.id: job for job in build_scheduler(service).get_jobs()}
        assert jobs["monitor"].trigger.interval.total_seconds() == 30
        assert jobs["settlement"].trigger.interval.total_seconds() == 60
    finally:
        service.close()


def test_health_reports_a_failing_job_as_degraded(make_settings: Callable[..., arbkit.Settings]) -> None:
    settings = make_settings()
    app = create_app(settings, bot=FlakyBot(arbkit.Bot.from_settings(settings)), start_jobs=False)
    try:
        client = app.test_client()
        assert client.post("/api/scan").status_code == 503  # the first scan raised
        health = client.get("/api/health").get_json()
        assert health["status"] == "degraded"
        assert health["jobs"]["monitor"]["last_error"] == "RuntimeError: boom"
        assert client.post("/api/scan").status_code == 200
        health = client.get("/api/health").get_json()
        assert health["status"] == "ok"
        assert health["last_scan"]["matches"] == 10
    finally:
        stop_app(app)


def test_the_app_with_jobs_scans_by_itself_and_stops_cleanly(
    make_settings: Callable[..., arbkit.Settings],
) -> None:
    settings = make_settings()
    bot = FlakyBot(arbkit.Bot.from_settings(settings))
    app = create_app(settings, bot=bot, monitor_seconds=0.05, settlement_seconds=0.05)
    scheduler = app.extensions["polymix_scheduler"]
    try:
        assert bot.scanned.wait(DEADLINE)
        assert app.test_client().get("/api/trading/state").get_json()["total_trades"] == 4
    finally:
        stop_app(app)
    assert not scheduler.running
    assert app.extensions["polymix_scheduler"] is None


def test_scheduler_script_once_trades_and_settles(
    venues: Venues, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in venues.environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    assert scheduler_script.main(["--once", "--env-file", str(tmp_path / "none.env")]) == 0
    assert "📄 PAPER: 4 opportunities, 4 traded, 0 settled" in capsys.readouterr().out
    knicks = next(g for g in venues.games if g.event_ticker.endswith("NYKHOU"))
    venues.resolve(knicks)
    # State persisted in ARBKIT_DATA_DIR: a second run settles the trade the first one made.
    assert scheduler_script.main(["--once", "--env-file", str(tmp_path / "none.env")]) == 0
    assert "0 traded, 1 settled" in capsys.readouterr().out


def test_scheduler_script_reports_bad_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAPER_TRADING_BET_AMOUNT", "lots")
    assert scheduler_script.main(["--once", "--env-file", str(tmp_path / "none.env")]) == 2
    err = capsys.readouterr().err
    assert "PAPER_TRADING_BET_AMOUNT" in err


def test_dashboard_is_served_by_the_app_with_no_external_resource(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-mode="paper"' in html
    assert "PAPER TRADING" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(assets) == ["/static/dashboard.css", "/static/dashboard.js"]
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        response.close()
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), asset
    assert not re.search(r"https?://", html)
