"""The PolyMix service against its own OpenAPI description, with schemathesis.

The app is built with ``create_app`` over both exchange sandboxes (demo scenario, paper
mode, a bearer token and a reset key configured), has scanned, traded and settled once so
every list it serves has entries, and is driven in-process through its WSGI interface.
Schemathesis loads ``/api/openapi.yaml`` from the app itself and sends generated requests
(valid and invalid parameters and bodies, with the token; the ``ignored_auth`` check
repeats authenticated requests without it) to every operation. Every answer must be
documented, conform to its schema, and none may be a 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml  # type: ignore[import-untyped]
from examples.demo.scenario import demo_games, kalshi_scenario, polymarket_scenario, resolutions
from examples.polymix import create_app, stop_app
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

import arbkit
from arbkit.sandbox import SandboxServer
from arbkit_kalshi.sandbox import PREFIX, KalshiSandbox
from arbkit_polymarket.sandbox import PolymarketSandbox

TOKEN = "openapi-test-token-5d1c"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: The reset key the document gives as its example, so schemathesis' explicit phase makes a real reset.
RESET_KEY = "demo-reset"
#: Generated requests per operation and mode (valid and invalid): the whole module stays well under a minute.
EXAMPLES = 25
SPEC = Path(__file__).resolve().parents[2] / "examples" / "polymix" / "openapi.yaml"


@pytest.fixture(scope="module")
def polymix_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The service over both sandboxes, after one scan (four paper trades) and one settlement."""
    games = demo_games()
    kalshi, polymarket = KalshiSandbox(), PolymarketSandbox()
    kalshi.load_scenario(kalshi_scenario(games))
    polymarket.load_scenario(polymarket_scenario(games))
    with SandboxServer(kalshi) as kalshi_server, SandboxServer(polymarket) as polymarket_server:
        env = {
            "KALSHI_BASE_URL": kalshi_server.url + PREFIX,
            "POLYMARKET_CLOB_URL": polymarket_server.url,
            "POLYMARKET_GAMMA_URL": polymarket_server.url + "/gamma",
            "ARBKIT_DATA_DIR": str(tmp_path_factory.mktemp("openapi")),
            "ARBKIT_API_TOKEN": TOKEN,
            "TRADING_RESET_CONFIRM_KEY": RESET_KEY,
        }
        app = create_app(arbkit.Settings.from_mapping(env), start_jobs=False)
        client = app.test_client()
        assert client.post("/api/scan", headers=AUTH).get_json()["executed"] == 4
        knicks = next(g for g in games if g.event_ticker.endswith("NYKHOU"))
        kalshi_bodies, poly_bodies = resolutions(knicks)
        for body in kalshi_bodies:
            kalshi.resolve(body["ticker"], body["result"])
        for body in poly_bodies:
            polymarket.resolve(body["condition_id"], winner=body["winner"])
        assert client.post("/api/settle", headers=AUTH).get_json()["settled"] == 1
        try:
            yield app
        finally:
            stop_app(app)


@pytest.fixture(scope="module")
def api_schema(polymix_app: Flask) -> Any:
    """The document as the app serves it, bound to the app (requests go through WSGI)."""
    return schemathesis.openapi.from_wsgi("/api/openapi.yaml", polymix_app)


def _cases() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) for every operation: valid requests, and invalid ones where it takes input."""
    paths = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"]
    cases = []
    for path, item in paths.items():
        for method, operation in item.items():
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            if operation.get("parameters") or operation.get("requestBody"):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    # Reads first, then scan and settle, the reset (which empties the trade history) last.
    return sorted(cases, key=lambda c: (c[0] != "GET", c[1] == "/api/trading/reset"))


# schemathesis' own pytest integration (``from_fixture`` / ``parametrize``) reads a node
# attribute pytest 9.2 no longer has, so each operation runs its strategy under @given here.
@pytest.mark.parametrize(("method", "path", "mode"), _cases(), ids=lambda v: str(v).strip("/"))
def test_every_generated_request_gets_a_documented_answer_and_never_a_5xx(
    api_schema: Any, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any) -> None:
        case.call_and_validate(headers=AUTH)

    check()


def test_the_served_document_is_the_file_in_the_repository(polymix_app: Flask) -> None:
    response = polymix_app.test_client().get("/api/openapi.yaml")
    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    assert response.data == SPEC.read_bytes()
    assert yaml.safe_load(response.data)["openapi"].startswith("3.")


def test_the_document_lists_every_route_of_the_app_and_nothing_else(polymix_app: Flask) -> None:
    documented = {
        (method.upper(), path)
        for path, item in yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"].items()
        for method in item
    }
    served = {
        (method, rule.rule)
        for rule in polymix_app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"} and rule.endpoint != "static"
    }
    static = {("GET", f"/static/{p.name}") for p in Path(polymix_app.static_folder or "").iterdir()}
    assert documented == served | static


def test_every_post_is_documented_as_needing_the_token_and_refused_without_it(polymix_app: Flask) -> None:
    client = polymix_app.test_client()
    paths = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"]
    posts = [path for path, item in paths.items() if "post" in item]
    assert posts == [
        "/api/trading/pause",
        "/api/trading/resume",
        "/api/trading/kill",
        "/api/trading/flatten",
        "/api/trading/reset",
        "/api/scan",
        "/api/reconcile",
        "/api/settle",
    ]
    for path in posts:
        assert paths[path]["post"]["security"] == [{"bearerAuth": []}]
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            response = client.post(path, headers=headers, json={"confirm": RESET_KEY})
            assert response.status_code == 401, (path, headers)
            assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
            assert response.get_json()["status"] == 401
