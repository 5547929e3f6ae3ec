"""/api/health says "ok" only when all is well, and otherwise says what is wrong and where."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import attrs
import pytest
from eth_account import Account
from flask import Flask

import arbkit
from arbkit.models import OrderRequest, Side, utcnow
from arbkit.sandbox.faults import Fault
from arbkit.trading.records import TradeStatus

from .conftest import Venues
from .test_live_mode import live_credentials


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


def test_a_live_venue_that_does_not_answer_at_start_is_unverified_until_it_does(
    make_app: Callable[..., Flask], venues: Venues, caplog: pytest.LogCaptureFixture
) -> None:
    venues.polymarket.faults.add(Fault("status", path="*balance*", status=503, times=None))
    with caplog.at_level(logging.WARNING, logger="arbkit.trading.live"):
        app = make_app({**live_credentials(venues), "ARBKIT_API_TOKEN": "t0k"})
    assert "credentials are unverified, and trading on it is blocked" in caplog.text
    body = health(app)
    assert body["status"] == "degraded"
    unverified = [r for r in body["reasons"] if r["code"] == "credentials_unverified"]  # type: ignore[union-attr]
    assert [r["venue"] for r in unverified] == ["polymarket"]
    venues.polymarket.faults.clear()
    app.test_client().post("/api/scan", headers={"Authorization": "Bearer t0k"})  # asks for balances again
    assert not [r for r in health(app)["reasons"] if r["code"] == "credentials_unverified"]  # type: ignore[union-attr]


def test_an_unfunded_live_account_is_a_warning(
    make_app: Callable[..., Flask], venues: Venues, caplog: pytest.LogCaptureFixture
) -> None:
    wallet = Account.create()
    venues.polymarket.add_account(wallet.address, 0)  # opened, never funded
    credentials = {**live_credentials(venues), "POLYMARKET_PRIVATE_KEY": "0x" + bytes(wallet.key).hex()}
    with caplog.at_level(logging.WARNING, logger="arbkit.trading.live"):
        make_app(credentials)
    assert "polymarket account has no cash available" in caplog.text


def test_live_start_without_credentials_names_every_missing_variable(
    make_app: Callable[..., Flask],
) -> None:
    with pytest.raises(arbkit.ConfigError) as raised:
        make_app({"LIVE_TRADING": "true"})
    message = str(raised.value)
    for variable in ("POLYMARKET_PRIVATE_KEY", "KALSHI_API_KEY", "KALSHI_SECRET", "KALSHI_PRIVATE_KEY_PATH"):
        assert variable in message


def test_a_position_the_store_does_not_hold_is_a_reconciliation_mismatch_in_health_and_state(
    make_app: Callable[..., Flask], venues: Venues
) -> None:
    app = make_app({**live_credentials(venues), "ARBKIT_API_TOKEN": "t0k"})
    auth = {"Authorization": "Bearer t0k"}
    client = app.test_client()
    clean = client.post("/api/reconcile", headers=auth)
    assert clean.status_code == 200
    assert clean.get_json()["ok"] is True
    assert health(app)["status"] == "ok"

    kalshi = app.extensions["polymix"].bot.scanner.exchanges["kalshi"]  # bought by hand, behind arbkit's back
    market = next(m for m in kalshi.markets() if m.outcomes)
    kalshi.place_order(
        OrderRequest(market, market.outcomes[0].id, Side.BUY, Decimal("0.99"), Decimal(3), "IOC")
    )
    found = client.post("/api/reconcile", headers=auth).get_json()
    assert found["ok"] is False
    kinds = {(m["venue"], m["kind"]) for m in found["mismatches"]}
    assert ("kalshi", "position") in kinds  # contracts no trade records
    assert ("all", "cash") in kinds  # and the cash that paid for them
    body = health(app)
    assert body["status"] == "degraded"
    mismatch = [r for r in body["reasons"] if r["code"] == "reconciliation_mismatch"]  # type: ignore[union-attr]
    assert mismatch
    assert market.id in mismatch[0]["message"]
    state = client.get("/api/trading/state").get_json()
    assert state["reconciliation"]["ok"] is False
    assert health(app)["jobs"]["reconciliation"]["runs"] == 2  # type: ignore[index]


def test_reconcile_in_paper_mode_is_a_conflict(make_app: Callable[..., Flask]) -> None:
    response = make_app().test_client().post("/api/reconcile")
    assert response.status_code == 409
    assert "paper" in response.get_json()["message"]


def test_an_open_unhedged_position_degrades_health(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    app.test_client().post("/api/scan")
    bot = app.extensions["polymix"].bot
    state = bot.state()
    exposed = attrs.evolve(state.open_positions[0], status=TradeStatus.EXPOSURE, note="second leg refused")
    patched = attrs.evolve(state, open_positions=(exposed, *state.open_positions[1:]))
    monkeypatch.setattr(bot, "state", lambda: patched)
    reasons = health(app)["reasons"]
    assert [r["code"] for r in reasons] == ["exposure_open"]  # type: ignore[union-attr]
    assert "second leg refused" in reasons[0]["message"]  # type: ignore[index]
