"""Injected faults and signature failures, seen through the real client over loopback."""

from __future__ import annotations

import time
from decimal import Decimal as D

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from arbkit.errors import (
    AuthenticationError,
    ExchangeUnavailable,
    InsufficientFunds,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    RequestTimeout,
)
from arbkit.models import Market, OrderRequest, OrderStatus
from arbkit.sandbox import Fault, SandboxServer
from arbkit_kalshi.auth import KalshiSigner, signing_message
from arbkit_kalshi.client import KalshiClient
from arbkit_kalshi.sandbox import PREFIX, KalshiSandbox, example_scenario

from .conftest import KEY_ID

NYK = "KXNBAGAME-26MAR31NYKHOU-NYK"
ORDERS = PREFIX + "/portfolio/events/orders"  # the V2 create path (kalshi.md 3.8)


@pytest.fixture
def nyk(client: KalshiClient) -> Market:
    return client.market(NYK)


def ioc(market: Market, coid: str, size: str = "10") -> OrderRequest:
    return OrderRequest(market, "yes", "buy", D("0.49"), D(size), "IOC", client_order_id=coid)


# -- transport faults ----------------------------------------------------------------------------------
def test_rate_limited_reads_are_retried(client: KalshiClient, sandbox: KalshiSandbox) -> None:
    sandbox.faults.add(
        Fault("status", method="GET", path=PREFIX + "/portfolio/balance", status=429, retry_after=D(0))
    )
    assert client.balance().available == D(1000)
    assert sandbox.requests[f"GET {PREFIX}/portfolio/balance"] == 2


def test_rate_limited_order_is_not_resent(client: KalshiClient, nyk: Market, sandbox: KalshiSandbox) -> None:
    sandbox.faults.add(Fault("status", method="POST", path=ORDERS, status=429, retry_after=D(1)))
    with pytest.raises(RateLimited) as info:
        client.place_order(ioc(nyk, "rl-1"))
    assert info.value.retry_after == D(1)  # whole seconds on the wire
    assert sandbox.requests[f"POST {ORDERS}"] == 1
    assert client.find_order("rl-1") is None


def test_server_error_before_acceptance_is_outcome_unknown_and_reconciles_to_none(
    client: KalshiClient, nyk: Market, sandbox: KalshiSandbox
) -> None:
    sandbox.faults.add(Fault("status", method="POST", path=ORDERS, status=500))
    with pytest.raises(OutcomeUnknown):
        client.place_order(ioc(nyk, "err-before"))
    assert client.find_order("err-before", market=nyk) is None


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status_after", method="POST", path=ORDERS, status=502),
        Fault("drop_after", method="POST", path=ORDERS),
    ],
)
def test_failure_after_acceptance_reconciles_through_client_order_id(
    client: KalshiClient, nyk: Market, sandbox: KalshiSandbox, fault: Fault
) -> None:
    sandbox.faults.add(fault)
    with pytest.raises(OutcomeUnknown):
        client.place_order(ioc(nyk, "err-after"))
    assert sandbox.requests[f"POST {ORDERS}"] == 1  # never re-sent
    found = client.find_order("err-after", market=nyk)
    assert found is not None
    assert found.status is OrderStatus.FILLED
    assert found.filled_size == 10


def test_dropped_connection_before_handling(
    client: KalshiClient, nyk: Market, sandbox: KalshiSandbox
) -> None:
    sandbox.faults.add(Fault("drop", method="POST", path=ORDERS))
    with pytest.raises(OutcomeUnknown):
        client.place_order(ioc(nyk, "drop-1"))
    assert client.find_order("drop-1") is None


def test_latency_beyond_the_timeout_on_a_post(private_pem: str, public_pem: str, nyk: Market) -> None:
    # A private sandbox: the delayed handlers finish after the test and must not touch shared state.
    app = KalshiSandbox()
    app.load_scenario(example_scenario())
    app.add_account(KEY_ID, public_pem, "1000")
    app.faults.add(Fault("latency", method="POST", path=ORDERS, delay_ms=400))
    app.faults.add(Fault("latency", method="GET", path=PREFIX + "/portfolio/balance", delay_ms=400))
    with (
        SandboxServer(app) as server,
        KalshiClient(
            base_url=server.url,
            api_key_id=KEY_ID,
            private_key=private_pem,
            rate_limit=None,
            timeout=0.1,
            max_retries=0,
        ) as slow,
    ):
        with pytest.raises(OutcomeUnknown):
            slow.place_order(ioc(nyk, "slow-1"))
        with pytest.raises(RequestTimeout):
            slow.balance()


def test_exchange_unavailable_on_reads(client: KalshiClient, sandbox: KalshiSandbox) -> None:
    sandbox.faults.add(
        Fault("status", method="GET", path=PREFIX + "/portfolio/balance", status=503, times=None)
    )
    with pytest.raises(ExchangeUnavailable) as info:
        client.balance()
    assert info.value.status_code == 503


# -- order faults ------------------------------------------------------------------------------------------
def test_injected_rejection(client: KalshiClient, nyk: Market, sandbox: KalshiSandbox) -> None:
    sandbox.faults.add(Fault("reject", path=ORDERS, message="risk limits"))
    with pytest.raises(OrderRejected) as info:
        client.place_order(ioc(nyk, "rej-1"))
    assert (info.value.code, info.value.venue_message) == ("invalid_order", "risk limits")


def test_injected_insufficient_funds(client: KalshiClient, nyk: Market, sandbox: KalshiSandbox) -> None:
    sandbox.faults.add(Fault("insufficient", path=ORDERS))
    with pytest.raises(InsufficientFunds):
        client.place_order(ioc(nyk, "ins-1"))


def test_injected_partial_fill(client: KalshiClient, nyk: Market, sandbox: KalshiSandbox) -> None:
    sandbox.faults.add(Fault("partial_fill", path=ORDERS, fill_ratio=D("0.3")))
    placed = client.place_order(ioc(nyk, "part-1"))
    assert (placed.status, placed.filled_size) == (OrderStatus.CANCELED, 3)


def test_injected_no_fill(client: KalshiClient, nyk: Market, sandbox: KalshiSandbox) -> None:
    sandbox.faults.add(Fault("no_fill", path=ORDERS))
    placed = client.place_order(ioc(nyk, "none-1"))
    assert (placed.status, placed.filled_size) == (OrderStatus.CANCELED, 0)


def test_faults_load_over_the_control_api(server: SandboxServer, client: KalshiClient, nyk: Market) -> None:
    reply = requests.post(server.url + "/_sandbox/faults", json={"kind": "reject", "path": ORDERS}, timeout=5)
    assert reply.status_code == 201
    with pytest.raises(OrderRejected):
        client.place_order(ioc(nyk, "ctl-1"))
    state = requests.get(server.url + "/_sandbox/state", timeout=5).json()
    assert state["accounts"][KEY_ID]["balance"] == "1000.000000"


# -- signatures ----------------------------------------------------------------------------------------------
def _get(server: SandboxServer, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(server.url + path, headers=headers, timeout=5)


def test_wrong_key_is_refused(server: SandboxServer, other_key: rsa.RSAPrivateKey) -> None:
    with (
        KalshiClient(
            base_url=server.url, api_key_id=KEY_ID, private_key=other_key_pem(other_key), rate_limit=None
        ) as impostor,
        pytest.raises(AuthenticationError) as info,
    ):
        impostor.balance()
    assert (info.value.status_code, info.value.code) == (401, "authentication_error")


def other_key_pem(key: rsa.RSAPrivateKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_unknown_key_id_is_refused(server: SandboxServer, private_pem: str) -> None:
    with (
        KalshiClient(
            base_url=server.url, api_key_id="not-registered", private_key=private_pem, rate_limit=None
        ) as stranger,
        pytest.raises(AuthenticationError),
    ):
        stranger.balance()


def test_stale_timestamp_is_refused(server: SandboxServer, rsa_key: rsa.RSAPrivateKey) -> None:
    stale = int(time.time() * 1000) - 60_000
    signer = KalshiSigner(KEY_ID, rsa_key, clock=lambda: stale)
    reply = _get(
        server, PREFIX + "/portfolio/balance", dict(signer.headers("GET", PREFIX + "/portfolio/balance"))
    )
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "authentication_error"


def test_signature_over_the_query_string_is_refused(
    server: SandboxServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    signer = KalshiSigner(KEY_ID, rsa_key)
    path = PREFIX + "/portfolio/orders?limit=5"
    ts = str(int(time.time() * 1000))
    bad = {
        "KALSHI-ACCESS-KEY": KEY_ID,
        "KALSHI-ACCESS-TIMESTAMP": ts,
        "KALSHI-ACCESS-SIGNATURE": signer.sign(f"{ts}GET{path}".encode()),
    }
    assert _get(server, path, bad).status_code == 401
    good = dict(bad, **{"KALSHI-ACCESS-SIGNATURE": signer.sign(signing_message(ts, "GET", path))})
    assert _get(server, path, good).status_code == 200


def test_signature_without_the_api_prefix_is_refused(
    server: SandboxServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    signer = KalshiSigner(KEY_ID, rsa_key)
    headers = dict(signer.headers("GET", "/portfolio/balance"))
    assert _get(server, PREFIX + "/portfolio/balance", headers).status_code == 401


def test_portfolio_needs_credentials_but_market_data_does_not(
    server: SandboxServer, public_client: KalshiClient
) -> None:
    assert _get(server, PREFIX + "/portfolio/balance", {}).status_code == 401
    with pytest.raises(AuthenticationError):
        public_client.balance()
    assert public_client.markets(limit=1)


def test_public_endpoint_rejects_a_bad_signature(server: SandboxServer) -> None:
    headers = {
        "KALSHI-ACCESS-KEY": KEY_ID,
        "KALSHI-ACCESS-TIMESTAMP": str(int(time.time() * 1000)),
        "KALSHI-ACCESS-SIGNATURE": "AAAA",
    }
    assert _get(server, PREFIX + "/markets", headers).status_code == 401
