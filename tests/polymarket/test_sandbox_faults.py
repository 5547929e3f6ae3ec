"""Every injected fault, as the client and a reconciling executor see it."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests

from arbkit.errors import (
    ExchangeUnavailable,
    InsufficientFunds,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
)
from arbkit.models import OrderRequest, OrderStatus, Side
from arbkit.sandbox import Fault, SandboxServer
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.sandbox import PolymarketSandbox

from .conftest import KNICKS, NBA, make_client

D = Decimal


@pytest.fixture
def request_fok(client: PolymarketClient) -> OrderRequest:
    market = client.market(NBA)
    client.api_credentials()
    return OrderRequest(
        market, KNICKS, Side.BUY, D("0.47"), D("10"), time_in_force="FOK", client_order_id="arb-1"
    )


@pytest.mark.parametrize("kind", ["status", "drop"])
def test_failure_before_handling_is_outcome_unknown_and_reconciles_to_nothing(
    client: PolymarketClient,
    sandbox: PolymarketSandbox,
    request_fok: OrderRequest,
    kind: str,
) -> None:
    sandbox.faults.add(Fault(kind, method="POST", path="/order", status=500))
    with pytest.raises(OutcomeUnknown):
        client.place_order(request_fok)
    assert client.find_order("arb-1") is None
    assert sandbox.requests["POST /order"] == 1  # never re-sent blindly


@pytest.mark.parametrize("kind", ["status_after", "drop_after"])
def test_failure_after_the_order_was_accepted_reconciles_to_the_fill(
    client: PolymarketClient, sandbox: PolymarketSandbox, request_fok: OrderRequest, kind: str
) -> None:
    sandbox.faults.add(Fault(kind, method="POST", path="/order", status=500))
    with pytest.raises(OutcomeUnknown):
        client.place_order(request_fok)
    found = client.find_order("arb-1")
    assert found is not None
    assert (found.status, found.filled_size) == (OrderStatus.FILLED, 10)
    assert found.id == client.order_id_for(request_fok)


def test_rate_limit_carries_retry_after(client: PolymarketClient, sandbox: PolymarketSandbox) -> None:
    sandbox.faults.add(Fault("status", method="GET", path="/book", status=429, retry_after=D(7)))
    with pytest.raises(RateLimited) as info:
        client.order_book(client.market(NBA), KNICKS)
    assert info.value.retry_after == 7


def test_idempotent_reads_are_retried_after_retry_after(
    server: SandboxServer, sandbox: PolymarketSandbox
) -> None:
    retrying = make_client(server, max_retries=2)
    market = retrying.market(NBA)
    sandbox.faults.add(Fault("status", method="GET", path="/book", status=429, retry_after=D("0.05")))
    assert retrying.order_book(market, KNICKS).best_ask is not None
    assert sandbox.requests["GET /book"] == 2


@pytest.mark.parametrize("status", [425, 503])
def test_restarting_and_disabled_trading_are_exchange_unavailable(
    client: PolymarketClient, sandbox: PolymarketSandbox, request_fok: OrderRequest, status: int
) -> None:
    sandbox.faults.add(Fault("status", method="POST", path="/order", status=status))
    with pytest.raises(ExchangeUnavailable):
        client.place_order(request_fok)


def test_latency_is_felt_but_the_order_goes_through(
    client: PolymarketClient, sandbox: PolymarketSandbox, request_fok: OrderRequest
) -> None:
    sandbox.faults.add(Fault("latency", method="POST", path="/order", delay_ms=150))
    started = time.monotonic()
    assert client.place_order(request_fok).status is OrderStatus.FILLED
    assert time.monotonic() - started >= 0.15


def test_latency_beyond_the_timeout_is_outcome_unknown(
    server: SandboxServer, sandbox: PolymarketSandbox, wallet: tuple[str, str]
) -> None:
    impatient = make_client(server, wallet[0], timeout=0.1)
    market = impatient.market(NBA)
    impatient.api_credentials()
    sandbox.faults.add(Fault("latency", method="POST", path="/order", delay_ms=400))
    with pytest.raises(OutcomeUnknown):
        impatient.place_order(OrderRequest(market, KNICKS, Side.BUY, D("0.47"), D("10"), time_in_force="FOK"))


@pytest.mark.parametrize("status", [400, 200])
def test_rejection_of_the_next_order_in_both_shapes(
    client: PolymarketClient, sandbox: PolymarketSandbox, request_fok: OrderRequest, status: int
) -> None:
    sandbox.faults.add(Fault("reject", path="/order", status=status, message="market paused for review"))
    with pytest.raises(OrderRejected, match="market paused for review"):
        client.place_order(request_fok)
    assert client.place_order(request_fok).status is OrderStatus.FILLED  # only the next one


def test_insufficient_fault(
    client: PolymarketClient, sandbox: PolymarketSandbox, request_fok: OrderRequest
) -> None:
    sandbox.faults.add(Fault("insufficient", path="/order"))
    with pytest.raises(InsufficientFunds):
        client.place_order(request_fok)


def test_partial_fill_of_a_fak(client: PolymarketClient, sandbox: PolymarketSandbox) -> None:
    sandbox.faults.add(Fault("partial_fill", path="/order", fill_ratio=D("0.5")))
    request = OrderRequest(client.market(NBA), KNICKS, Side.BUY, D("0.47"), D("40"), time_in_force="IOC")
    order = client.place_order(request)
    assert (order.status, order.filled_size) == (OrderStatus.CANCELED, 20)


def test_no_fill_kills_a_fak(client: PolymarketClient, sandbox: PolymarketSandbox) -> None:
    sandbox.faults.add(Fault("no_fill", path="/order"))
    request = OrderRequest(client.market(NBA), KNICKS, Side.BUY, D("0.47"), D("40"), time_in_force="IOC")
    with pytest.raises(OrderRejected, match="FAK"):
        client.place_order(request)


def test_faults_over_the_control_api(
    server: SandboxServer, client: PolymarketClient, request_fok: OrderRequest
) -> None:
    response = requests.post(
        server.url + "/_sandbox/faults", json={"kind": "status", "path": "/order", "status": 503}, timeout=5
    )
    assert response.status_code == 201
    with pytest.raises(ExchangeUnavailable):
        client.place_order(request_fok)
    moved = requests.post(
        server.url + "/_sandbox/book",
        json={"condition_id": NBA, "bids": [], "asks": [["0.60", "10"]]},
        timeout=5,
    )
    assert moved.status_code == 200
    assert client.order_book(client.market(NBA), KNICKS).best_ask.price == D("0.60")  # type: ignore[union-attr]
