"""/api/health says "ok" only when all is well, and otherwise says what is wrong and where."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask

from arbkit.models import utcnow
from arbkit.sandbox.faults import Fault

from .conftest import Venues


def health(app: Flask) -> dict[str, object]:
    body: dict[str, object] = app.test_client().get("/api/health").get_json()
    return body


def test_health_is_ok_with_no_reasons_when_every_venue_answers(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    assert app.test_client().post("/api/scan").status_code == 200
    body = health(app)
    assert (body["status"], body["reasons"]) == ("ok", [])


def test_a_venue_failing_in_the_scan_degrades_health_naming_the_venue_and_its_host(
    make_app: Callable[..., Flask], venues: Venues
) -> None:
    app = make_app()
    venues.kalshi.faults.add(Fault("status", method="GET", path="*/markets*", status=503, times=None))
    scan = app.test_client().post("/api/scan")
    assert scan.status_code == 200  # Polymarket still answered: the scan itself completed
    body = health(app)
    assert body["status"] == "degraded"
    reasons = body["reasons"]
    assert isinstance(reasons, list)
    failing = [r for r in reasons if r["code"] == "venue_failing"]
    assert [r["venue"] for r in failing] == ["kalshi"]
    host = venues.kalshi_server.url.split("//", 1)[1]
    assert host in failing[0]["message"]


def test_every_scan_failing_is_degraded(make_app: Callable[..., Flask], venues: Venues) -> None:
    app = make_app()
    for sandbox in (venues.kalshi, venues.polymarket):
        sandbox.faults.add(Fault("status", method="GET", path="*", status=500, times=None))
    app.test_client().post("/api/scan")
    body = health(app)
    assert body["status"] == "degraded"
    failing = {r["venue"] for r in body["reasons"] if r["code"] == "venue_failing"}  # type: ignore[union-attr]
    assert failing == {"kalshi", "polymarket"}


def test_scans_that_stopped_finishing_are_reported(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    app.test_client().post("/api/scan")
    service = app.extensions["polymix"]
    service.stats["monitor"].last_finished = utcnow() - timedelta(
        seconds=4 * service.settings.monitor_interval_seconds
    )
    body = health(app)
    assert body["status"] == "degraded"
    assert [r["code"] for r in body["reasons"]] == ["scans_stalled"]  # type: ignore[union-attr]


def test_a_venue_that_could_not_be_set_up_is_reported(make_app: Callable[..., Flask]) -> None:
    app = make_app({"ARBKIT_EXCHANGES": "kalshi,polymarket,nosuchvenue"})
    body = health(app)
    assert body["status"] == "degraded"
    reasons = [r for r in body["reasons"] if r.get("venue") == "nosuchvenue"]  # type: ignore[union-attr]
    assert reasons
    assert "trading on it is blocked" in reasons[0]["message"]
