"""V2 order writes (kalshi.md 3.8-3.9): the YES-book mapping, grids, amend/decrease/batch/cancel-all,
queue positions, the retired V1 routes, and a sandbox that checks with its own code."""

from __future__ import annotations

import ast
import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import requests

from arbkit.errors import InvalidResponse, OrderRejected, ValidationError
from arbkit.models import Market, OrderRequest, OrderStatus, Side, TimeInForce
from arbkit.sandbox import SandboxServer
from arbkit_kalshi.client import KalshiClient
from arbkit_kalshi.errors import DeprecatedEndpoint
from arbkit_kalshi.grid import STRUCTURES, outcome_terms, yes_book
from arbkit_kalshi.sandbox import PREFIX, KalshiSandbox
from tests.kalshi.conftest import KEY_ID

NYK = "KXNBAGAME-26MAR31NYKHOU-NYK"
GRID = "KXTEST-26DEC01-A"
V1_BODY = json.loads((Path(__file__).parent / "payloads" / "v1_gone.json").read_text())


# -- the one mapping ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("outcome", "side", "price", "book", "yes_price"),
    [
        ("yes", Side.BUY, "0.40", "bid", "0.40"),
        ("yes", Side.SELL, "0.40", "ask", "0.40"),
        ("no", Side.BUY, "0.40", "ask", "0.60"),
        ("no", Side.SELL, "0.40", "bid", "0.60"),
    ],
)
def test_every_intent_maps_onto_the_yes_book_and_back(
    outcome: str, side: Side, price: str, book: str, yes_price: str
) -> None:
    assert yes_book(outcome, side, D(price)) == (book, D(yes_price))
    assert outcome_terms(book, D(yes_price), outcome) == (side, D(price))


@pytest.mark.parametrize(
    ("outcome", "side", "price", "book", "yes_price", "position"),
    [
        ("yes", "buy", "0.48", "bid", "0.4800", D(2)),  # takes the YES ask 0.48 (NO bid 0.52)
        ("no", "buy", "0.55", "ask", "0.4500", D(-2)),  # takes the YES bid 0.45: opens NO
    ],
)
def test_the_body_and_the_venue_agree_on_the_direction(
    client: KalshiClient,
    sandbox: KalshiSandbox,
    outcome: str,
    side: str,
    price: str,
    book: str,
    yes_price: str,
    position: D,
) -> None:
    nyk = client.market(NYK)
    request = OrderRequest(nyk, outcome, side, D(price), D(2), TimeInForce.IOC)
    body = client.order_body(request)
    assert {k: body[k] for k in ("side", "price", "count", "time_in_force")} == {
        "side": book,
        "price": yes_price,
        "count": "2.00",
        "time_in_force": "immediate_or_cancel",
    }
    assert body["self_trade_prevention_type"] == "taker_at_cross"
    assert body["client_order_id"]  # always sent
    done = client.place_order(request)
    assert (done.outcome_id, done.side, done.price, done.filled_size) == (outcome, Side(side), D(price), D(2))
    assert done.average_price == D(price)
    assert sandbox.engine.accounts[KEY_ID].positions[NYK].position == position


def test_selling_is_reduce_only_with_ioc_so_it_never_opens_the_other_side(
    client: KalshiClient, sandbox: KalshiSandbox
) -> None:
    nyk = client.market(NYK)
    client.place_order(OrderRequest(nyk, "yes", "buy", D("0.48"), D(3), TimeInForce.IOC))
    body = client.order_body(OrderRequest(nyk, "yes", "sell", D("0.40"), D(10), TimeInForce.IOC))
    assert (body["side"], body["reduce_only"]) == ("ask", True)
    sold = client.place_order(OrderRequest(nyk, "yes", "sell", D("0.40"), D(10), TimeInForce.IOC))
    assert (sold.outcome_id, sold.side, sold.filled_size) == (
        "yes",
        Side.SELL,
        D(3),
    )  # capped at the position
    assert sandbox.engine.accounts[KEY_ID].positions[NYK].position == 0
    assert "reduce_only" not in client.order_body(OrderRequest(nyk, "yes", "sell", D("0.60"), D(1)))


# -- grids ----------------------------------------------------------------------------------------
@pytest.fixture
def grid_market(sandbox: KalshiSandbox, client: KalshiClient, public_pem: str) -> Market:
    sandbox.load_scenario(
        {
            "series": [{"ticker": "KXTEST", "fee_type": "quadratic"}],
            "events": [
                {
                    "event_ticker": "KXTEST-26DEC01",
                    "series_ticker": "KXTEST",
                    "markets": [
                        {
                            "ticker": GRID,
                            "yes_sub_title": "A",
                            "price_level_structure": "tapered_deci_cent",
                            "yes_bids": [["0.031", "10"]],
                            "no_bids": [["0.031", "10"]],
                        }
                    ],
                }
            ],
        }
    )
    sandbox.add_account(KEY_ID, public_pem, "100")
    return client.market(GRID)


def test_a_market_grid_is_read_and_prices_snap_inside_the_limit(
    client: KalshiClient, grid_market: Market
) -> None:
    assert grid_market.tick_size == D("0.001")
    grid = client.grid(grid_market)
    assert grid.bands == STRUCTURES["tapered_deci_cent"].bands
    # 0.045 is valid on the 0.001 edge band; 0.455 is not (the center steps by 0.01).
    assert client.order_body(OrderRequest(grid_market, "yes", "buy", D("0.045"), D(1)))["price"] == "0.0450"
    assert client.order_body(OrderRequest(grid_market, "yes", "buy", D("0.455"), D(1)))["price"] == "0.4500"
    assert client.order_body(OrderRequest(grid_market, "yes", "sell", D("0.455"), D(1)))["price"] == "0.4600"
    # Buy NO at 0.545 = ask YES at 0.455 -> up to 0.46 (NO 0.54: never more than the limit).
    assert client.order_body(OrderRequest(grid_market, "no", "buy", D("0.545"), D(1)))["price"] == "0.4600"
    placed = client.place_order(OrderRequest(grid_market, "yes", "buy", D("0.045"), D("0.01")))
    assert (placed.status, placed.price, placed.size) == (OrderStatus.OPEN, D("0.045"), D("0.01"))


def test_the_sandbox_refuses_off_grid_prices_with_the_venue_code(
    server: SandboxServer, client: KalshiClient, grid_market: Market
) -> None:
    reply = _post(server, client, "/portfolio/events/orders", _create(GRID, "bid", "0.4550"))
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "invalid_price"


# -- amend, decrease, queue, batch, cancel all ---------------------------------------------------
def test_amend_decrease_and_queue_position(client: KalshiClient, sandbox: KalshiSandbox) -> None:
    nyk = client.market(NYK)
    first = client.place_order(OrderRequest(nyk, "yes", "buy", D("0.40"), D(5)))
    second = client.place_order(OrderRequest(nyk, "yes", "buy", D("0.40"), D(3)))
    assert client.queue_position(first.id) == 0
    assert client.queue_position(second.id) == 5  # five contracts ahead of it
    assert client.queue_positions([nyk]) == {first.id: D(0), second.id: D(5)}
    shrunk = client.decrease_order(first.id, market=nyk, reduce_by=D(2))
    assert (shrunk.remaining_size, client.queue_position(first.id)) == (D(3), D(0))  # keeps its place
    moved = client.amend_order(shrunk, nyk, price=D("0.42"), size=D(4))
    assert (moved.price, moved.size, moved.status) == (D("0.42"), D(4), OrderStatus.OPEN)
    assert client.queue_position(second.id) == 0  # the amended order left the 0.40 queue
    gone = client.decrease_order(second.id, market=nyk, reduce_to=D(0))
    assert gone.status is OrderStatus.CANCELED
    with pytest.raises(ValidationError):
        client.decrease_order(first.id, reduce_by=D(1), reduce_to=D(1))


def test_an_amend_that_crosses_fills(client: KalshiClient) -> None:
    nyk = client.market(NYK)
    resting = client.place_order(OrderRequest(nyk, "yes", "buy", D("0.40"), D(5)))
    crossed = client.amend_order(resting, nyk, price=D("0.48"))
    assert (crossed.filled_size, crossed.status) == (D(5), OrderStatus.FILLED)


def test_batched_create_and_cancel_report_each_entry(client: KalshiClient) -> None:
    nyk = client.market(NYK)
    results = client.place_orders(
        [
            OrderRequest(nyk, "yes", "buy", D("0.30"), D(1), client_order_id="b-1"),
            OrderRequest(nyk, "no", "buy", D("0.30"), D(2), client_order_id="b-2"),
            OrderRequest(nyk, "yes", "buy", D("0.30"), D(1), client_order_id="b-1"),  # duplicate
        ]
    )
    ok = [r for r in results if not isinstance(r, Exception)]
    assert [(o.client_order_id, o.outcome_id, o.status) for o in ok] == [
        ("b-1", "yes", OrderStatus.OPEN),
        ("b-2", "no", OrderStatus.OPEN),
    ]
    assert isinstance(results[2], OrderRejected)
    assert results[2].code == "order_already_exists"
    cancelled = client.cancel_orders([o.id for o in ok] + ["not-an-order"], market=nyk)
    assert cancelled[ok[0].id] == D(1)
    assert cancelled[ok[1].id] == D(2)
    assert isinstance(cancelled["not-an-order"], Exception)


def test_cancel_all_clears_every_resting_order(client: KalshiClient, sandbox: KalshiSandbox) -> None:
    nyk = client.market(NYK)
    for _ in range(3):
        client.place_order(OrderRequest(nyk, "yes", "buy", D("0.30"), D(1)))
    client.cancel_all()
    assert [o for o in client.orders() if o.status is OrderStatus.OPEN] == []
    assert sandbox.balance_of(KEY_ID) == D(1000)  # every reserve released


# -- V1 is gone --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/portfolio/orders"),
        ("DELETE", "/portfolio/orders/abc"),
        ("POST", "/portfolio/orders/abc/amend"),
        ("POST", "/portfolio/orders/abc/decrease"),
        ("POST", "/portfolio/orders/batched"),
        ("DELETE", "/portfolio/orders/batched"),
    ],
)
def test_the_six_v1_writes_answer_410_with_the_venue_body(
    server: SandboxServer, client: KalshiClient, method: str, path: str
) -> None:
    assert client.signer is not None
    headers = client.signer.headers(method, PREFIX + path)
    reply = requests.request(method, server.url + PREFIX + path, json={}, headers=headers, timeout=5)
    assert (reply.status_code, reply.json()) == (410, V1_BODY)
    assert V1_BODY["error"]["code"] == "deprecated_v1_order_endpoint"


def test_the_order_reads_stay_under_portfolio_orders(client: KalshiClient, sandbox: KalshiSandbox) -> None:
    nyk = client.market(NYK)
    placed = client.place_order(OrderRequest(nyk, "yes", "buy", D("0.30"), D(1)))
    client.cancel_order(placed.id, market=nyk)
    paths = set(sandbox.requests)
    assert f"POST {PREFIX}/portfolio/events/orders" in paths
    assert f"GET {PREFIX}/portfolio/orders/{placed.id}" in paths
    assert f"DELETE {PREFIX}/portfolio/events/orders/{placed.id}" in paths
    assert not any(p.startswith(("POST", "DELETE")) and "/portfolio/orders" in p for p in paths)


class CannedSession(requests.Session):
    """Answers every request with one canned status and JSON body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__()
        self.status, self.body = status, body

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = requests.Response()
        response.status_code = self.status
        response._content = json.dumps(self.body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = str(url)
        return response


def _canned(status: int, body: Any, private_pem: str) -> KalshiClient:
    return KalshiClient(
        base_url="http://127.0.0.1:9",
        api_key_id=KEY_ID,
        private_key=private_pem,
        rate_limit=None,
        session=CannedSession(status, body),
    )


@pytest.mark.parametrize("status", [410, 200, 201])
def test_the_retirement_body_is_a_hard_failure_whatever_the_status(
    status: int, private_pem: str, client: KalshiClient
) -> None:
    nyk = client.market(NYK)
    with pytest.raises(DeprecatedEndpoint) as info:
        _canned(status, V1_BODY, private_pem).place_order(OrderRequest(nyk, "yes", "buy", D("0.30"), D(1)))
    assert info.value.code == "deprecated_v1_order_endpoint"
    assert isinstance(info.value, OrderRejected)  # the executor's fate: refused, nothing placed


def test_a_create_answer_without_an_order_id_is_never_counted_as_placed(
    private_pem: str, client: KalshiClient
) -> None:
    nyk = client.market(NYK)
    with pytest.raises(InvalidResponse, match="order_id"):
        _canned(201, {"fill_count": "1.00", "remaining_count": "0.00", "ts_ms": 1}, private_pem).place_order(
            OrderRequest(nyk, "yes", "buy", D("0.30"), D(1))
        )


# -- the sandbox checks requests like the venue -------------------------------------------------------
def _create(ticker: str, side: str, price: Any, **extra: Any) -> dict[str, Any]:
    return {
        "ticker": ticker,
        "side": side,
        "price": price,
        "count": "1",
        "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "taker_at_cross",
        **extra,
    }


def _post(server: SandboxServer, client: KalshiClient, path: str, body: Any) -> requests.Response:
    assert client.signer is not None
    headers = client.signer.headers("POST", PREFIX + path)
    return requests.post(server.url + PREFIX + path, json=body, headers=headers, timeout=5)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (_create(NYK, "bid", 0.4), "invalid_parameters"),  # a JSON number, not a dollar string
        (_create(NYK, "bid", "0.40", count=1), "invalid_order_size"),
        (_create(NYK, "bid", "0.40", count="0.001"), "invalid_order_size"),
        (_create(NYK, "yes", "0.40"), "invalid_parameters"),  # V1 side
        (_create(NYK, "bid", "0.40", action="buy"), "invalid_parameters"),  # V1 field
        (_create(NYK, "bid", "0.40", reduce_only=True), "invalid_parameters"),  # only with IOC
        (
            {k: v for k, v in _create(NYK, "bid", "0.40").items() if k != "time_in_force"},
            "invalid_parameters",
        ),
        (
            {k: v for k, v in _create(NYK, "bid", "0.40").items() if k != "self_trade_prevention_type"},
            "invalid_parameters",
        ),
        (_create(NYK, "bid", "0.405"), "invalid_price"),
        (_create(NYK, "bid", "1.00"), "invalid_price"),
    ],
)
def test_the_sandbox_refuses_what_kalshi_refuses(
    server: SandboxServer, client: KalshiClient, body: dict[str, Any], code: str
) -> None:
    reply = _post(server, client, "/portfolio/events/orders", body)
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == code


REMOVED = {
    "yes_bid", "yes_ask", "no_bid", "no_ask", "last_price", "volume", "open_interest", "tick_size",
    "notional_value", "response_price_units", "fractional_trading_enabled", "liquidity", "orderbook",
    "yes_price", "no_price", "fill_count", "remaining_count", "initial_count", "count", "price",
    "position", "market_exposure", "resting_orders_count", "yes_count", "no_count", "queue_position",
    "client_order_id_in_fill", "available_on_brokers",
}  # fmt: skip


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_no_body_carries_a_field_kalshi_removed(server: SandboxServer, client: KalshiClient) -> None:
    nyk = client.market(NYK)
    placed = client.place_order(OrderRequest(nyk, "yes", "buy", D("0.49"), D(300)))
    assert client.signer is not None
    seen: set[str] = set()
    for path in (
        f"/markets/{NYK}",
        f"/markets/{NYK}/orderbook",
        "/markets",
        "/events?with_nested_markets=true",
        f"/portfolio/orders/{placed.id}",
        "/portfolio/fills",
        "/portfolio/positions",
        "/portfolio/balance",
        "/markets/trades",
    ):
        headers = client.signer.headers("GET", PREFIX + path.split("?")[0])
        body = requests.get(server.url + PREFIX + path, headers=headers, timeout=5).json()
        seen |= _keys(body)
        if path.startswith("/portfolio/fills"):
            assert all("client_order_id" not in f for f in body["fills"])  # removed from fills Mar 2026
    assert seen & REMOVED == set()


def test_the_sandbox_verifies_and_prices_with_its_own_code() -> None:
    """Independent checks: nothing under sandbox/ imports the client's signer, fee or grid code."""
    folder = Path(__file__).resolve().parents[2] / "src" / "arbkit_kalshi" / "sandbox"
    imported: set[str] = set()
    for source in folder.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
    forbidden = {
        "arbkit_kalshi.auth",
        "arbkit.engine.fees",
        "arbkit_kalshi.parse",
        "arbkit_kalshi.grid",
        "arbkit_kalshi.units",
    }
    assert imported & forbidden == set()
    assert "cryptography.hazmat.primitives.asymmetric" in imported


def test_an_ed25519_key_is_verified_from_its_public_key(
    sandbox: KalshiSandbox, server: SandboxServer
) -> None:
    import base64
    import time

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sandbox.add_account("ed-key", public.decode(), "7")
    ts = str(int(time.time() * 1000))
    path = PREFIX + "/portfolio/balance"

    def get(signature: bytes) -> requests.Response:
        headers = {
            "KALSHI-ACCESS-KEY": "ed-key",
            "KALSHI-ACCESS-TIMESTAMP": ts,
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(signature).decode(),
        }
        return requests.get(server.url + path, headers=headers, timeout=5)

    good = get(key.sign(f"{ts}GET{path}".encode()))
    assert (good.status_code, good.json()["balance_dollars"]) == (200, "7.0000")
    assert get(key.sign(f"{ts}GET{path}?x=1".encode())).status_code == 401


def test_the_client_signs_with_an_ed25519_key_too(sandbox: KalshiSandbox, server: SandboxServer) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sandbox.add_account("ed-client", public.decode(), "3.25")
    with KalshiClient(base_url=server.url, api_key_id="ed-client", private_key=pem, rate_limit=None) as ed:
        assert ed.balance().available == D("3.25")
