"""The official Kalshi SDK (kalshi-python-sync 3.34.0, unmodified) against the Kalshi sandbox.

1. A whole lifecycle through the SDK's typed API, every response parsed by its strict models:
   exchange status, series, events and markets (paged), books, balance, a V2 order that matches
   and rests, get/list, fills, positions, public trades, queue positions, amend, decrease,
   cancel, batched create (on a sub-cent grid, one entry off the grid) and cancel, cancel all,
   a reduce-only IOC exit, settlement after the market resolves, and V1 writes answered 410.
2. Ed25519 keys sign as well as RSA ones (the sandbox verifies both from the public key).
3. Every request body arbkit's client sends validates against the same SDK's request models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from arbkit.models import OrderRequest, Side, TimeInForce
from arbkit.sandbox import SandboxServer
from arbkit_kalshi.client import KalshiClient
from arbkit_kalshi.sandbox import KalshiSandbox
from tests.conformance.conftest import HERE, KALSHI_SDK_VERSION, run_driver

D = Decimal
TAKER = "KXNBAGAME-26DEC05NYKHOU-NYK"
GRID = "KXMLBGAME-26DEC06NYYBOS-NYY"  # tapered_deci_cent: 0.001 below 0.10 and above 0.90, 0.01 between


def _scenario() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / "kalshi_scenario.json").read_text("utf-8"))
    return data


def _public(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def venue(rsa_key: rsa.RSAPrivateKey) -> Iterator[tuple[KalshiSandbox, str]]:
    app = KalshiSandbox()
    app.load_scenario(_scenario())
    app.add_account("sdk-key", _public(rsa_key), "1000")
    with SandboxServer(app) as server:
        yield app, server.url


def _key_file(tmp_path: Path, key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, name: str) -> Path:
    fmt = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if isinstance(key, rsa.RSAPrivateKey)
        else serialization.PrivateFormat.PKCS8
    )
    path = tmp_path / name
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()))
    return path


def test_the_official_sdk_completes_a_whole_lifecycle_against_the_sandbox(
    kalshi_sdk_python: Path, venue: tuple[KalshiSandbox, str], rsa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    app, url = venue
    plan = {
        "taker_market": TAKER,
        "grid_market": GRID,
        "series": "KXNBAGAME",
        "events": 2,
        "markets": 4,
        "balance_dollars": "1000.0000",
        "grid_valid_bid": "0.0450",  # a tenth-of-a-cent price, valid only on the edge bands
        "grid_valid_ask": "0.9550",
        "grid_off_price": "0.4550",  # off the 1-cent center band: invalid_price
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    report = run_driver(
        kalshi_sdk_python,
        "kalshi_sdk_driver.py",
        "lifecycle",
        url + "/trade-api/v2",
        "sdk-key",
        str(_key_file(tmp_path, rsa_key, "sdk.pem")),
        str(tmp_path / "plan.json"),
    )
    assert report["sdk_version"] == KALSHI_SDK_VERSION
    assert report["steps"] == [
        "exchange_status",
        "series_list",
        "series",
        "events_paged",
        "event",
        "markets_paged",
        "market",
        "orderbook",
        "orderbooks",
        "balance",
        "create_order_v2",
        "get_order",
        "get_orders",
        "get_fills",
        "get_positions",
        "get_trades",
        "queue_position",
        "queue_positions",
        "amend_order_v2",
        "decrease_order_v2",
        "cancel_order_v2",
        "batch_create_orders_v2",
        "batch_cancel_orders_v2",
        "off_grid_refused",
        "cancel_all_orders",
        "reduce_only_ioc",
        "get_settlements",
        "balance_after",
        "v1_write_410",
    ]
    # The SDK's requests reached the V2 paths and the retired ones, nothing else wrote orders.
    seen = dict(app.requests)
    assert seen["POST /trade-api/v2/portfolio/events/orders"] >= 4
    assert seen["POST /trade-api/v2/portfolio/orders"] == 1


def test_an_ed25519_key_signs_for_the_sdk_as_well(
    kalshi_sdk_python: Path, venue: tuple[KalshiSandbox, str], tmp_path: Path
) -> None:
    app, url = venue
    key = ed25519.Ed25519PrivateKey.generate()
    app.add_account("sdk-ed25519", _public(key), "12.5")
    report = run_driver(
        kalshi_sdk_python,
        "kalshi_sdk_driver.py",
        "balance",
        url + "/trade-api/v2",
        "sdk-ed25519",
        str(_key_file(tmp_path, key, "ed.pem")),
    )
    assert report["balance_dollars"] == "12.5000"


class RecordingSession(requests.Session):
    """A session that keeps every JSON body arbkit sends, by method and path."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[tuple[str, str, Any]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        data = kwargs.get("data")
        if data:
            path = str(url).split("/trade-api/v2", 1)[-1].split("?", 1)[0]
            self.bodies.append((str(method), path, json.loads(data)))
        return super().request(method, url, *args, **kwargs)


def _model_for(method: str, path: str) -> str:
    if path.endswith("/batched"):
        return "BatchCreateOrdersV2Request" if method == "POST" else "BatchCancelOrdersV2Request"
    if path.endswith("/amend"):
        return "AmendOrderV2Request"
    if path.endswith("/decrease"):
        return "DecreaseOrderV2Request"
    assert (method, path) == ("POST", "/portfolio/events/orders"), (method, path)
    return "CreateOrderV2Request"


def test_every_body_arbkit_sends_validates_against_the_sdk_request_models(
    kalshi_sdk_python: Path, venue: tuple[KalshiSandbox, str], rsa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    _, url = venue
    session = RecordingSession()
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    client = KalshiClient(
        base_url=url, api_key_id="sdk-key", private_key=pem, rate_limit=None, session=session
    )
    nyk, grid = client.market(TAKER), client.market(GRID)
    later = datetime.now(UTC) + timedelta(hours=2)
    # All four directions, every time in force, a fractional count, a sub-cent price on the grid.
    placed = [
        client.place_order(OrderRequest(nyk, "yes", Side.BUY, D("0.40"), D("2.5"))),
        client.place_order(OrderRequest(nyk, "no", Side.BUY, D("0.45"), D(3))),
        client.place_order(OrderRequest(nyk, "yes", Side.BUY, D("0.48"), D(4), TimeInForce.IOC)),
        client.place_order(OrderRequest(nyk, "yes", Side.SELL, D("0.46"), D(1), TimeInForce.IOC)),
        client.place_order(OrderRequest(nyk, "no", Side.SELL, D("0.30"), D(1), TimeInForce.FOK)),
        client.place_order(
            OrderRequest(nyk, "yes", Side.BUY, D("0.41"), D(1), TimeInForce.GTD, expires_at=later)
        ),
        client.place_order(OrderRequest(grid, "yes", Side.BUY, D("0.045"), D("0.01"))),
        client.place_order(OrderRequest(grid, "no", Side.BUY, D("0.045"), D(1))),
    ]
    resting = next(o for o in placed if o.price == D("0.40"))
    amended = client.amend_order(resting, nyk, price=D("0.39"), size=D("3.5"))
    client.decrease_order(amended.id, market=nyk, reduce_by=D(1))
    client.decrease_order(amended.id, market=nyk, reduce_to=D("0.5"))
    batch = client.place_orders(
        [
            OrderRequest(grid, "yes", Side.BUY, D("0.044"), D(2)),
            OrderRequest(grid, "yes", Side.SELL, D("0.956"), D("1.25")),
        ]
    )
    client.cancel_orders([o.id for o in batch if not isinstance(o, Exception)], market=grid)
    client.cancel_order(amended.id, market=nyk)

    captured: dict[str, list[Any]] = {}
    for method, path, body in session.bodies:
        captured.setdefault(_model_for(method, path), []).append(body)
    assert set(captured) == {
        "CreateOrderV2Request",
        "AmendOrderV2Request",
        "DecreaseOrderV2Request",
        "BatchCreateOrdersV2Request",
        "BatchCancelOrdersV2Request",
    }
    (tmp_path / "bodies.json").write_text(json.dumps(captured))
    report = run_driver(kalshi_sdk_python, "kalshi_sdk_driver.py", "bodies", str(tmp_path / "bodies.json"))
    assert report == {"sdk_version": KALSHI_SDK_VERSION, "validated": len(session.bodies)}


FIXTURE_MODELS = {
    "market.json": "GetMarketResponse",
    "market_tapered.json": "GetMarketResponse",
    "orderbook_fp.json": "GetMarketOrderbookResponse",
    "order_partial.json": "GetOrderResponse",
    "order_ask.json": "GetOrderResponse",
    "order_created.json": "CreateOrderV2Response",
    "fills.json": "GetFillsResponse",
    "positions.json": "GetPositionsResponse",
    "settlements.json": "GetSettlementsResponse",
    "balance.json": "GetBalanceResponse",
    "event.json": "GetEventResponse",
    "series.json": "GetSeriesResponse",
}


def test_the_parser_fixtures_are_bodies_the_sdk_accepts(kalshi_sdk_python: Path, tmp_path: Path) -> None:
    folder = HERE.parent / "kalshi" / "payloads"
    listed = {p.name for p in folder.glob("*.json")} - {"v1_gone.json"}
    assert listed == set(FIXTURE_MODELS)  # a new fixture needs its SDK model here
    items = {name: [model, json.loads((folder / name).read_text())] for name, model in FIXTURE_MODELS.items()}
    (tmp_path / "payloads.json").write_text(json.dumps(items))
    report = run_driver(
        kalshi_sdk_python, "kalshi_sdk_driver.py", "payloads", str(tmp_path / "payloads.json")
    )
    assert report == {"sdk_version": KALSHI_SDK_VERSION, "parsed": len(FIXTURE_MODELS)}
