"""Pause, resume and kill: from the library, the API and the shell; kept across restarts."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask

import arbkit
from arbkit.cli import main as cli
from arbkit.models import OrderRequest, Side
from arbkit.trading.controls import Controls

from .conftest import Venues
from .test_live_mode import AUTH, live_credentials


def post(
    app: Flask, path: str, body: dict[str, object] | None = None, auth: bool = False
) -> dict[str, object]:
    response = app.test_client().post(path, json=body, headers=AUTH if auth else {})
    assert response.status_code == 200, response.get_json()
    data: dict[str, object] = response.get_json()
    return data


def test_a_paused_service_scans_but_trades_nothing_until_resumed(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    paused = post(app, "/api/trading/pause", {"reason": "lunch"})
    assert (paused["state"], paused["reason"]) == ("paused", "lunch")
    scan = post(app, "/api/scan")
    assert scan["opportunities"] > 0  # type: ignore[operator]
    assert scan["executed"] == 0
    state = app.test_client().get("/api/trading/state").get_json()
    assert state["controls"]["state"] == "paused"
    assert state["trades"] == []
    health = app.test_client().get("/api/health").get_json()
    assert health["status"] == "degraded"
    assert [r["code"] for r in health["reasons"]] == ["trading_paused"]

    assert post(app, "/api/trading/resume")["state"] == "running"
    assert post(app, "/api/scan")["executed"] > 0  # type: ignore[operator]
    assert app.test_client().get("/api/health").get_json()["status"] == "ok"


def test_a_pause_holds_across_a_restart(make_app: Callable[..., Flask]) -> None:
    post(make_app(), "/api/trading/pause")
    restarted = make_app()  # same state folder: a new process would read the same file
    assert post(restarted, "/api/scan")["executed"] == 0
    assert restarted.test_client().get("/api/trading/state").get_json()["controls"]["state"] == "paused"


def test_kill_needs_its_confirmation(make_app: Callable[..., Flask]) -> None:
    response = make_app().test_client().post("/api/trading/kill", json={})
    assert response.status_code == 400
    assert '"confirm": "kill"' in response.get_json()["message"]


def test_kill_in_live_mode_cancels_every_resting_order_and_stops_trading(
    make_app: Callable[..., Flask], venues: Venues
) -> None:
    app = make_app(live_credentials(venues))
    bot = app.extensions["polymix"].bot
    for client in bot.scanner.exchanges.values():  # a bid far below the market rests on each venue
        market = next(m for m in client.markets() if m.outcomes)
        client.place_order(
            OrderRequest(market, market.outcomes[0].id, Side.BUY, Decimal("0.05"), Decimal(25))
        )
    assert _resting(venues) == {"kalshi": 1, "polymarket": 1}

    killed = post(app, "/api/trading/kill", {"confirm": "kill", "reason": "drill"}, auth=True)
    assert killed["state"] == "killed"
    assert killed["cancelled"] == {"kalshi": "cancelled", "polymarket": "cancelled"}
    assert _resting(venues) == {"kalshi": 0, "polymarket": 0}
    before = len(app.test_client().get("/api/trading/state").get_json()["trades"])
    assert post(app, "/api/scan", auth=True)["executed"] == 0
    assert len(app.test_client().get("/api/trading/state").get_json()["trades"]) == before
    assert "trading_killed" in {r["code"] for r in app.test_client().get("/api/health").get_json()["reasons"]}


@pytest.mark.parametrize("path", ["/api/trading/pause", "/api/trading/resume", "/api/trading/kill"])
def test_controls_need_the_token_in_live_mode(
    make_app: Callable[..., Flask], venues: Venues, path: str
) -> None:
    client = make_app(live_credentials(venues)).test_client()
    assert client.post(path, json={"confirm": "kill"}).status_code == 401


def test_the_shell_pauses_a_service_running_elsewhere_on_the_same_folder(
    make_app: Callable[..., Flask],
    make_settings: Callable[..., arbkit.Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app()
    settings = make_settings()
    for name, value in {
        "ARBKIT_DATA_DIR": str(settings.data_dir),
        "KALSHI_BASE_URL": settings.venue("kalshi").base_url or "",
        "POLYMARKET_CLOB_URL": settings.venue("polymarket").clob_url or "",
        "POLYMARKET_GAMMA_URL": settings.venue("polymarket").gamma_url or "",
    }.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    assert cli(["--env-file", os.devnull, "pause", "--reason", "from the shell"], out=out) == 0
    assert "paused: from the shell" in out.getvalue()
    assert post(app, "/api/scan")["executed"] == 0  # the running service noticed at its next cycle
    assert cli(["--env-file", os.devnull, "resume"], out=io.StringIO()) == 0
    assert post(app, "/api/scan")["executed"] > 0  # type: ignore[operator]


def test_an_unreadable_controls_file_means_paused_never_running(tmp_path: Path) -> None:
    path = tmp_path / "paper_controls.json"
    path.write_text("{not json")
    state = Controls(path).read()
    assert state.state == "paused"
    assert "corrupt" in state.reason
    path.write_text('{"state": "dancing"}')
    assert Controls(path).read().state == "paused"


def test_paper_kill_stops_paper_trading_and_touches_no_venue(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    killed = post(app, "/api/trading/kill", {"confirm": "kill"})
    assert (killed["state"], killed["cancelled"]) == ("killed", {})
    assert post(app, "/api/scan")["executed"] == 0


def _resting(venues: Venues) -> dict[str, int]:
    """Orders resting on each sandbox, as the venues themselves report them."""
    out = {}
    for name, client in (("kalshi", venues.kalshi), ("polymarket", venues.polymarket)):
        orders = client.control_state()["orders"]
        out[name] = sum(1 for o in orders if str(o.get("status", "")).lower() in ("resting", "live", "open"))
    return out


def _an_open_trade(app: Flask, auth: bool = False) -> dict[str, object]:
    post(app, "/api/scan", auth=auth)
    state = app.test_client().get("/api/trading/state").get_json()
    assert state["open_positions"], state
    trade: dict[str, object] = state["open_positions"][0]
    return trade


def test_flatten_from_the_api_sells_a_paper_position_back_and_the_state_shows_it(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    trade = _an_open_trade(app)
    post(app, "/api/trading/pause")  # flattening works while paused (and no new trade interferes)
    before = app.test_client().get("/api/trading/state").get_json()
    flat = post(
        app, "/api/trading/flatten", {"trade_id": trade["id"], "confirm": "flatten", "max_loss": "1000"}
    )
    assert flat["status"] == "unwound"
    assert Decimal(str(flat["unwind_proceeds"])) > 0
    after = app.test_client().get("/api/trading/state").get_json()
    assert trade["id"] not in {t["id"] for t in after["open_positions"]}
    assert Decimal(after["balance"]) - Decimal(before["balance"]) == Decimal(str(flat["unwind_proceeds"]))
    # Flattening it again, an unknown id, a missing confirmation and a bad bound are refused.
    client = app.test_client()
    again = client.post("/api/trading/flatten", json={"trade_id": trade["id"], "confirm": "flatten"})
    assert again.status_code == 409
    assert "holds no position" in again.get_json()["message"]
    assert (
        client.post("/api/trading/flatten", json={"trade_id": "nope", "confirm": "flatten"}).status_code
        == 404
    )
    assert client.post("/api/trading/flatten", json={"trade_id": trade["id"]}).status_code == 400
    bad = client.post("/api/trading/flatten", json={"trade_id": "x", "confirm": "flatten", "max_loss": 1.5})
    assert bad.status_code == 400
    assert "decimal string" in bad.get_json()["message"]


def test_flatten_a_live_position_needs_the_token_and_leaves_the_venues_flat(
    make_app: Callable[..., Flask], venues: Venues
) -> None:
    app = make_app(live_credentials(venues))
    trade = _an_open_trade(app, auth=True)
    client = app.test_client()
    body = {"trade_id": trade["id"], "confirm": "flatten", "max_loss": "1000"}
    assert client.post("/api/trading/flatten", json=body).status_code == 401
    flat = post(app, "/api/trading/flatten", body, auth=True)
    assert flat["status"] == "unwound"
    # Reconciliation finds the store (nothing held) equal to what each venue reports.
    recon = post(app, "/api/reconcile", auth=True)
    assert recon["mismatches"] == [], recon
