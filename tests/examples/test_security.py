"""What a web page the trader happens to open, or a stranger on the network, can do to the service."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from examples.polymix.__main__ import main
from flask import Flask

from .conftest import RESET_KEY, Venues
from .test_live_mode import live_credentials

TOKEN = "tok-6f1e2d"
MUTATING = ["/api/scan", "/api/settle", "/api/trading/reset"]


@pytest.mark.parametrize("path", MUTATING)
def test_live_mode_without_a_token_refuses_every_mutating_request(
    make_app: Callable[..., Flask], venues: Venues, path: str
) -> None:
    client = make_app({**live_credentials(venues), "ARBKIT_API_TOKEN": None}).test_client()
    response = client.post(path, json={"confirm": RESET_KEY})
    assert response.status_code == 403
    assert "ARBKIT_API_TOKEN" in response.get_json()["message"]
    assert not venues.kalshi.control_state()["orders"]  # no scan ran: nothing was placed
    assert client.get("/api/trading/mode").status_code == 200  # reads stay open


def test_live_mode_with_the_token_trades(make_app: Callable[..., Flask], venues: Venues) -> None:
    client = make_app({**live_credentials(venues), "ARBKIT_API_TOKEN": TOKEN}).test_client()
    assert client.post("/api/scan").status_code == 401
    done = client.post("/api/scan", headers={"Authorization": f"Bearer {TOKEN}"})
    assert done.status_code == 200
    assert done.get_json()["executed"] > 0


@pytest.mark.parametrize("path", MUTATING)
def test_a_token_in_the_query_string_or_body_is_not_accepted(
    make_app: Callable[..., Flask], path: str
) -> None:
    client = make_app({"ARBKIT_API_TOKEN": TOKEN}).test_client()
    assert (
        client.post(f"{path}?token={TOKEN}", json={"confirm": RESET_KEY, "token": TOKEN}).status_code == 401
    )
    assert client.post(path, data={"access_token": TOKEN}).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://127.0.0.1:6666"},  # another local port is another origin
    ],
)
@pytest.mark.parametrize("path", MUTATING)
def test_paper_mode_without_a_token_refuses_cross_site_posts(
    make_app: Callable[..., Flask], path: str, headers: dict[str, str]
) -> None:
    client = make_app().test_client()
    response = client.post(path, json={"confirm": RESET_KEY}, headers=headers)
    assert response.status_code == 403
    assert "cross-site" in response.get_json()["message"]


def test_paper_mode_serves_the_dashboards_own_posts(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/api/scan", headers=same).status_code == 200
    assert client.post("/api/settle").status_code == 200  # curl sends no Origin


@pytest.mark.parametrize("host", ["evil.example", "rebind.attacker.test:5001", "10.1.2.3"])
def test_untrusted_host_headers_are_refused_dns_rebinding(make_app: Callable[..., Flask], host: str) -> None:
    client = make_app().test_client()
    for path in ["/", "/api/trading/state", "/api/health"]:
        assert client.get(path, headers={"Host": host}).status_code == 400
    assert client.post("/api/scan", headers={"Host": host}).status_code == 400


def test_loopback_names_and_configured_hosts_are_served(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    for host in ["127.0.0.1:5001", "localhost:5001", "localhost"]:
        assert client.get("/api/health", headers={"Host": host}).status_code == 200
    proxied = make_app(trusted_hosts=["arb.desk.internal"]).test_client()
    assert proxied.get("/api/health", headers={"Host": "arb.desk.internal"}).status_code == 200
    assert proxied.get("/api/health", headers={"Host": "localhost"}).status_code == 400


def test_responses_carry_security_headers_and_no_cors(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    page = client.get("/", headers={"Origin": "http://evil.example"})
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    for response in (page, client.get("/api/trading/state", headers={"Origin": "http://evil.example"})):
        assert not any(name.lower().startswith("access-control-") for name, _ in response.headers.items())
    preflight = client.options(
        "/api/scan",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_the_server_refuses_to_bind_a_public_address_without_a_token(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ARBKIT_API_TOKEN", raising=False)
    assert main(["--host", "0.0.0.0", "--env-file", "/nonexistent/.env", "--port", "0"]) == 2  # noqa: S104
    assert "refusing to listen on 0.0.0.0 without ARBKIT_API_TOKEN" in capsys.readouterr().err
