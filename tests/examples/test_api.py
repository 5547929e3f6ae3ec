"""The service's JSON API through Flask's test client, over both sandboxes (paper) or a live-mode fake."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

import arbkit
from arbkit.sandbox.faults import Fault
from arbkit.trading.paper import PaperTradingSystem

from .conftest import RESET_KEY, Venues

TOKEN = "api-token-0b9e"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def scan(client: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.post("/api/scan", headers=headers or {})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


class LiveLabelled(PaperTradingSystem):
    """Fills like paper but says it is live: tests what the service does differently in live mode."""

    mode = "live"


def live_bot(settings: arbkit.Settings) -> arbkit.Bot:
    scanner = arbkit.Scanner.from_settings(settings)
    trading = LiveLabelled.from_settings(settings, exchanges=scanner.exchanges)
    return arbkit.Bot(scanner, trading)


def test_mode_is_paper_by_default(make_app: Callable[..., Flask]) -> None:
    body = make_app().test_client().get("/api/trading/mode").get_json()
    assert body["mode"] == "paper"
    assert body["label"] == "📄 PAPER"
    assert body["live"] is False
    assert body["exchanges"] == arbkit.exchanges() == ["kalshi", "polymarket"]  # every installed one


def test_state_starts_at_the_initial_balance_with_limits(make_app: Callable[..., Flask]) -> None:
    app = make_app({"PAPER_TRADING_INITIAL_BALANCE": "2500", "PAPER_TRADING_MAX_DAILY_TRADES": "7"})
    state = app.test_client().get("/api/trading/state").get_json()
    assert state["mode"] == "paper"
    assert state["balance"] == "2500"
    assert state["trades"] == []
    assert state["open_positions"] == []
    assert state["pnl_history"] == []
    assert state["today"]["trades"] == 0
    assert state["limits"]["max_daily_trades"] == 7
    assert state["limits"]["bet_amount"] == "100"


def test_a_scan_paper_trades_the_arbitrage_games_with_every_leg_and_order_id(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app().test_client()
    result = scan(client)
    # The demo prices four games apart from the start (one a 3-way soccer match); the others are fair.
    assert result["opportunities"] == 4
    assert result["executed"] == 4
    state = client.get("/api/trading/state").get_json()
    assert len(state["trades"]) == 4
    assert len(state["open_positions"]) == 4
    assert float(state["balance"]) < 10000
    soccer = next(t for t in state["trades"] if t["kind"] == "3-way")
    assert len(soccer["legs"]) == 3
    for trade in state["trades"]:
        assert trade["status"] == "open"
        assert {leg["exchange"] for leg in trade["legs"]} == {"kalshi", "polymarket"}
        for leg in trade["legs"]:
            assert leg["order_id"]
            assert leg["client_order_id"].startswith(trade["id"])
            assert leg["filled_size"] == leg["requested_size"]
    assert state["today"]["trades"] == 4
    # The same opportunities are not bought twice on the next scan.
    assert scan(client)["executed"] == 0


def test_opportunities_and_arbitrage_serve_the_last_scan(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    before = client.get("/api/opportunities").get_json()
    assert before["opportunities"] == []
    assert before["scanned_at"] is None
    scan(client)
    body = client.get("/api/opportunities").get_json()
    assert body == client.get("/api/arbitrage").get_json()
    assert len(body["opportunities"]) == 4
    profits = [float(o["profit"]) for o in body["opportunities"]]
    assert profits == sorted(profits, reverse=True)
    assert all(float(o["roi_percent"]) >= 1 for o in body["opportunities"])
    assert body["markets"] == 33
    assert body["matches"] == 10
    assert len(client.get("/api/opportunities?limit=2").get_json()["opportunities"]) == 2


def test_matched_markets_pair_every_demo_game_including_the_three_way_match(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app().test_client()
    scan(client)
    body = client.get("/api/markets/matched").get_json()
    assert body["total"] == 10
    soccer = next(m for m in body["matches"] if m["title"].startswith("English Premier League"))
    assert len(soccer["outcomes"]) == 3
    assert {m["exchange"] for m in soccer["markets"]} == {"kalshi", "polymarket"}
    assert client.get("/api/markets/matched?tradable=false").get_json()["total"] == 0


def test_settlement_after_resolution_books_the_pnl_and_a_chart_point(
    make_app: Callable[..., Flask], venues: Venues
) -> None:
    client = make_app().test_client()
    scan(client)
    knicks = next(g for g in venues.games if g.event_ticker.endswith("NYKHOU"))
    venues.resolve(knicks)
    assert client.post("/api/settle").get_json() == {"settled": 1}
    state = client.get("/api/trading/state").get_json()
    settled = [t for t in state["trades"] if t["status"] == "settled"]
    assert len(settled) == 1
    assert float(settled[0]["realised_pnl"]) > 0
    assert state["realised_pnl"] == settled[0]["realised_pnl"]
    assert state["pnl_history"] == [
        {
            "time": settled[0]["settled_at"],
            "pnl": settled[0]["realised_pnl"],
            "trade_id": settled[0]["id"],
            "title": settled[0]["title"],
        }
    ]
    trades = client.get("/api/trades?status=settled").get_json()
    assert trades["total"] == 1
    assert trades["trades"][0]["id"] == settled[0]["id"]
    assert client.get("/api/trades?status=open").get_json()["total"] == 3


@pytest.mark.parametrize("path", ["/api/scan", "/api/settle", "/api/trading/reset"])
def test_mutating_endpoints_need_the_bearer_token_when_one_is_set(
    make_app: Callable[..., Flask], path: str
) -> None:
    client = make_app({"ARBKIT_API_TOKEN": TOKEN}).test_client()
    body = {"confirm": RESET_KEY}
    missing = client.post(path, json=body)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert "bearer token" in missing.get_json()["message"]
    assert client.post(path, json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post(path, json=body, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert client.post(path, json=body, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_reads_stay_open_when_a_token_is_set(make_app: Callable[..., Flask]) -> None:
    client = make_app({"ARBKIT_API_TOKEN": TOKEN}).test_client()
    for path in ("/", "/api/trading/mode", "/api/trading/state", "/api/opportunities", "/api/health"):
        assert client.get(path).status_code == 200, path


def test_reset_needs_the_confirmation_key_and_starts_over(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    scan(client)
    assert client.post("/api/trading/reset", json={"confirm": "guess"}).status_code == 403
    assert len(client.get("/api/trading/state").get_json()["trades"]) == 4
    done = client.post("/api/trading/reset", json={"confirm": RESET_KEY})
    assert done.status_code == 200
    assert done.get_json() == {"reset": True, "mode": "paper", "balance": "10000"}
    state = client.get("/api/trading/state").get_json()
    assert state["trades"] == []
    assert state["balance"] == "10000"


def test_reset_compares_the_key_in_constant_time(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    client = make_app().test_client()
    assert client.post("/api/trading/reset", json={"confirm": "wrong"}).status_code == 403
    assert (RESET_KEY.encode(), b"wrong") in seen


def test_reset_is_disabled_without_a_configured_key(make_app: Callable[..., Flask]) -> None:
    client = make_app({"TRADING_RESET_CONFIRM_KEY": None}).test_client()
    # Without a key the library would accept the mode name; the service refuses instead.
    response = client.post("/api/trading/reset", json={"confirm": "paper"})
    assert response.status_code == 403
    assert "TRADING_RESET_CONFIRM_KEY" in response.get_json()["message"]


def test_live_mode_is_reported_and_reset_refused_unless_allowed(
    make_app: Callable[..., Flask], make_settings: Callable[..., arbkit.Settings]
) -> None:
    settings = make_settings(LIVE_TRADING="true")
    client = make_app({"LIVE_TRADING": "true"}, bot=live_bot(settings)).test_client()
    mode = client.get("/api/trading/mode").get_json()
    assert (mode["mode"], mode["label"], mode["live"]) == ("live", "🔴 LIVE", True)
    state = client.get("/api/trading/state").get_json()
    assert state["mode"] == "live"
    assert state["limits"]["max_daily_trades"] == 10
    refused = client.post("/api/trading/reset", json={"confirm": RESET_KEY})
    assert refused.status_code == 403
    assert "live" in refused.get_json()["message"]
    page = client.get("/").get_data(as_text=True)
    assert "banner-live" in page
    assert "LIVE TRADING" in page

    env = {"LIVE_TRADING": "true", "ARBKIT_API_TOKEN": TOKEN}
    allowed = make_app(env, bot=live_bot(settings), allow_live_reset=True)
    reset = allowed.test_client().post("/api/trading/reset", json={"confirm": RESET_KEY}, headers=AUTH)
    assert reset.status_code == 200


def test_live_reset_with_open_positions_is_a_conflict(
    make_app: Callable[..., Flask], make_settings: Callable[..., arbkit.Settings]
) -> None:
    settings = make_settings(LIVE_TRADING="true")
    env = {"LIVE_TRADING": "true", "ARBKIT_API_TOKEN": TOKEN}
    app = make_app(env, bot=live_bot(settings), allow_live_reset=True)
    client = app.test_client()
    assert scan(client, AUTH)["executed"] > 0
    response = client.post("/api/trading/reset", json={"confirm": RESET_KEY}, headers=AUTH)
    assert response.status_code == 409
    assert "open positions" in response.get_json()["message"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/api/trading/state?limit=abc", {}, 400),
        ("get", "/api/trading/state?limit=0", {}, 400),
        ("get", "/api/trades?limit=100000", {}, 400),
        ("get", "/api/trades?status=bogus", {}, 400),
        ("get", "/api/markets/matched?tradable=maybe", {}, 400),
        ("post", "/api/trading/reset", {"data": "{not json", "content_type": "application/json"}, 400),
        ("post", "/api/trading/reset", {"json": ["a", "list"]}, 400),
        ("post", "/api/trading/reset", {"json": {"confirm": 12}}, 400),
        ("post", "/api/trading/reset", {}, 400),
        ("post", "/api/trading/reset", {"data": "x" * 100_000, "content_type": "application/json"}, 413),
        ("get", "/api/nowhere", {}, 404),
        ("get", "/api/scan", {}, 405),
        ("delete", "/api/trading/state", {}, 405),
    ],
)
def test_bad_requests_get_a_json_4xx_with_a_message(
    make_app: Callable[..., Flask], method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = getattr(make_app().test_client(), method)(path, **kwargs)
    assert response.status_code == status
    body = response.get_json()
    assert body["status"] == status
    assert body["message"]


def test_no_secret_reaches_any_response(make_app: Callable[..., Flask], venues: Venues) -> None:
    key = "0x" + "ab" * 32
    env = {
        "ARBKIT_API_TOKEN": TOKEN,
        "POLYMARKET_PRIVATE_KEY": key,
        "POLYMARKET_API_KEY": "pk-1",
        "POLYMARKET_API_SECRET": "c2VjcmV0LXNlY3JldA==",
        "POLYMARKET_API_PASSPHRASE": "passphrase-9",
    }
    app = make_app(env)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    scan(client, headers)
    venues.kalshi.faults.add(Fault(kind="status", status=400))  # puts a venue error in the history
    scan(client, headers)
    client.post("/api/trading/reset", json={"confirm": "wrong"}, headers=headers)
    bodies = [
        client.get(path).get_data(as_text=True)
        for path in (
            "/",
            "/api/trading/mode",
            "/api/trading/state",
            "/api/opportunities",
            "/api/markets/matched",
            "/api/trades",
            "/api/health",
        )
    ]
    assert json.loads(bodies[2])["errors"], "the injected failure should be in the error history"
    for secret in (TOKEN, RESET_KEY, key, key[2:], "c2VjcmV0LXNlY3JldA==", "passphrase-9"):
        assert all(secret not in body for body in bodies), secret


def test_a_second_scan_counts_what_it_skipped_because_open_trades_hold_it(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app().test_client()
    first = scan(client)
    assert first["executed"] > 0
    assert first["skipped"] == 0
    second = scan(client)
    assert second["executed"] == 0
    assert second["skipped"] == first["executed"]


@pytest.mark.parametrize(
    ("headers", "said"),
    [({}, "no Content-Type header"), ({"Content-Type": "text/plain"}, "text/plain")],
)
def test_a_reset_body_sent_without_a_json_content_type_says_what_was_received(
    make_app: Callable[..., Flask], headers: dict[str, str], said: str
) -> None:
    client = make_app().test_client()
    body = f'{{"confirm": "{RESET_KEY}"}}'
    response = client.post("/api/trading/reset", data=body, headers=headers)
    assert response.status_code == 400
    message = response.get_json()["message"]
    assert "Content-Type: application/json" in message
    assert said in message
    assert f"{len(body)} bytes" in message
