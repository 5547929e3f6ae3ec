"""The sandbox as a venue of its own: independent checks, the sports taker delay, listings, batches."""

from __future__ import annotations

import ast
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from arbkit.errors import BadRequest, NotFound
from arbkit.models import OrderRequest, OrderStatus, Side
from arbkit.sandbox import SandboxServer
from arbkit_polymarket.sandbox import PolymarketSandbox
from arbkit_polymarket.sandbox.verify import (
    SandboxFee,
    expected_hmac,
    recover_clob_auth,
    recover_order,
)

from .conftest import KNICKS, NBA, make_client

D = Decimal
SANDBOX = Path(__file__).parents[2] / "src" / "arbkit_polymarket" / "sandbox"
#: What the sandbox must never lean on: the code arbkit's client signs with, and its fee model.
CLIENT_CODE = {
    "arbkit_polymarket.auth",
    "arbkit_polymarket.crypto",
    "arbkit_polymarket.orders",
    "arbkit.engine.fees",
}


def test_the_sandbox_never_imports_the_clients_signing_or_fee_code() -> None:
    imported: set[str] = set()
    for path in SANDBOX.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    assert "arbkit_polymarket.sandbox.verify" in imported  # the scan sees the sandbox's imports
    assert not imported & CLIENT_CODE


def test_independent_checks_reproduce_the_published_vectors() -> None:
    # Reference polymarket.md 5.1 (order), 4.1 (ClobAuth, chain 80002) and 4.3 (HMAC).
    hardhat = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    order = {
        "salt": 123456789,
        "maker": hardhat,
        "signer": hardhat,
        "tokenId": "71321045679252212594626385532706912750332728571942532289631379312455583992563",
        "makerAmount": "5070000",
        "takerAmount": "16900000",
        "side": "BUY",
        "signatureType": 0,
        "timestamp": "1796000000000",
        "signature": "0x77f0a49afbfbb26073eb47621d96d657b54134b0741f3ab64e3059c597ba42dc"
        "16c86994cf6b9dcc6709c113ce9d0fe5079e1f425d58759178f65203b1fd1f561c",
    }
    assert recover_order(order, neg_risk=False) == (
        hardhat,
        "0xe7c28fdfa71deb57cfdb24280064a4f74dd80b7a75b8bb7025e0a400bda535a0",
    )
    # The same signature checked against the neg-risk exchange recovers somebody else.
    assert recover_order(order, neg_risk=True)[0] != hardhat
    auth = (
        "0xf62319a987514da40e57e2f4d7529f7bac38f0355bd88bb5adbb3768d80de6c1682518e0af677d5260"
        "366425f4361e7b70c25ae232aff0ab2331e2b164a1aedc1b"
    )
    assert recover_clob_auth(hardhat, "10000000", 23, auth, chain_id=80002) == hardhat
    assert recover_clob_auth(hardhat, "10000001", 23, auth, chain_id=80002) != hardhat
    secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    hmac = expected_hmac(secret, "1000000", "test-sign", "/orders", b'{"hash": "0x123"}')
    assert hmac == "ZwAdJKvoYRlEKDkNMwd5BuwNNtg93kNaR_oU2HrfVvc="


@pytest.mark.parametrize(
    ("rate", "exponent", "shares", "price", "fee"),
    [
        ("0.25", 2, "100", "0.50", "1.5625"),  # reference 7: the official SDK's test values
        ("0.25", 2, "100", "0.30", "1.1025"),
        ("0.25", 2, "100", "0.10", "0.2025"),
        ("0.072", 1, "200", "0.50", "3.6"),
        ("0.03", 1, "7", "0.47", "0.05231"),  # 0.052311 to 5 decimals
        ("0", 1, "100", "0.50", "0"),
    ],
)
def test_fees_follow_the_published_formula(
    rate: str, exponent: int, shares: str, price: str, fee: str
) -> None:
    schedule = SandboxFee(rate=D(rate), exponent=exponent)
    assert schedule.fee(D(price), D(shares)) == D(fee)
    assert schedule.fee(D(price), D(shares), taker=False) == 0  # makers pay nothing


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def delayed(scenario: dict[str, Any]) -> tuple[PolymarketSandbox, Clock]:
    """The example scenario with a 3 s taker delay on the NBA market, on a clock the test moves."""
    scenario["events"][0]["markets"][0]["secondsDelay"] = 3
    app = PolymarketSandbox()
    clock = Clock()
    app.clock = clock
    app.load_scenario(scenario)
    return app, clock


def test_a_marketable_order_on_a_sports_market_is_delayed_then_filled(
    delayed: tuple[PolymarketSandbox, Clock],
) -> None:
    app, clock = delayed
    account = Account.create()
    app.add_account(account.address, 1000)
    with SandboxServer(app) as server:
        client = make_client(server, "0x" + bytes(account.key).hex())
        market = client.market(NBA)
        order = client.place_order(
            OrderRequest(market, KNICKS, Side.BUY, D("0.47"), D("10"), time_in_force="FOK")
        )
        assert order.status is OrderStatus.PENDING
        assert order.raw_status == "delayed"
        assert client.get_order(order.id).status is OrderStatus.PENDING
        assert client.fills() == []
        assert app.balance_of(account.address) == 1000  # nothing moved yet
        clock.offset += 2.9
        assert client.get_order(order.id).status is OrderStatus.PENDING
        clock.offset += 0.2  # the market's secondsDelay has passed
        filled = client.get_order(order.id)
        assert filled.status is OrderStatus.FILLED
        assert filled.filled_size == 10
        [fill] = client.fills()
        assert (fill.price, fill.size) == (D("0.47"), D("10"))
        assert app.balance_of(account.address) == 1000 - D("4.7") - D("0.07473")  # cost + 0.03 fee
        client.close()


def test_a_delayed_fok_the_book_no_longer_fills_is_killed(delayed: tuple[PolymarketSandbox, Clock]) -> None:
    app, clock = delayed
    account = Account.create()
    app.add_account(account.address, 1000)
    with SandboxServer(app) as server:
        client = make_client(server, "0x" + bytes(account.key).hex())
        market = client.market(NBA)
        order = client.place_order(
            OrderRequest(market, KNICKS, Side.BUY, D("0.47"), D("10"), time_in_force="FOK")
        )
        app.set_book(NBA, [["0.40", "100"]], [["0.60", "100"]])  # the ask moved away meanwhile
        clock.offset += 3
        assert app.settle_delayed() == 1
        assert client.get_order(order.id).status is OrderStatus.CANCELED
        assert app.balance_of(account.address) == 1000
        # A resting order that does not cross is not delayed at all.
        rests = client.place_order(OrderRequest(market, KNICKS, Side.BUY, D("0.30"), D("10")))
        assert rests.status is OrderStatus.OPEN
        client.close()


def test_taker_delay_can_be_shortened_for_tests(scenario: dict[str, Any]) -> None:
    scenario["events"][0]["markets"][0]["secondsDelay"] = 3
    app = PolymarketSandbox(taker_delay=0.25)
    app.load_scenario(scenario)
    assert app.delay_of(app.engine.markets[NBA]) == 0.25
    assert app.delay_of(next(m for cid, m in app.engine.markets.items() if cid != NBA)) == 0


def test_market_listings_page_with_both_first_page_forms(
    sandbox: PolymarketSandbox, server: SandboxServer
) -> None:
    client = make_client(server)
    sandbox.market_page_size = 1
    first = client.clob.get("/markets")  # the py-sdk sends no cursor on the first page
    assert first == client.clob.get("/markets", params={"next_cursor": "MA=="})  # py-clob-client-v2's
    second = client.clob.get("/simplified-markets", params={"next_cursor": first["next_cursor"]})
    assert second["next_cursor"] == "LTE="
    assert {first["data"][0]["condition_id"], second["data"][0]["condition_id"]} == set(
        sandbox.engine.markets
    )
    assert set(second["data"][0]) == {
        "condition_id",
        "rewards",
        "tokens",
        "active",
        "closed",
        "archived",
        "accepting_orders",
    }
    assert client.clob.get(f"/markets-by-token/{KNICKS}")["condition_id"] == NBA
    assert client.clob.get("/neg-risk", params={"token_id": KNICKS}) == {"neg_risk": False}
    assert client.clob.get("/fee-rate", params={"token_id": KNICKS}) == {"base_fee": 1000}
    with pytest.raises(NotFound) as unknown:
        client.clob.get("/tick-size", params={"token_id": "12345"})
    assert unknown.value.venue_message == "No orderbook exists for the requested token id"
    client.close()


def test_batches_are_limited_to_fifteen_orders(client: Any, sandbox: PolymarketSandbox) -> None:
    owner = client.api_credentials().api_key
    with pytest.raises(BadRequest) as too_many:
        client.clob.post("/orders", json_body=[{"order": {}}] * 16, signed=True)
    assert too_many.value.venue_message == "Payload exceeds the limit"
    # One malformed order in a batch is a success:false entry with every key, not a failed batch.
    [answer] = client.clob.post("/orders", json_body=[{"order": {}, "owner": owner}], signed=True)
    assert answer == {
        "success": False,
        "errorMsg": "Invalid order payload",
        "orderID": "",
        "status": "",
        "makingAmount": "",
        "takingAmount": "",
        "transactionsHashes": [],
        "tradeIDs": [],
    }


def test_a_missed_heartbeat_cancels_resting_and_delayed_orders(
    delayed: tuple[PolymarketSandbox, Clock],
) -> None:
    app, clock = delayed
    app.heartbeat_timeout = 1.0
    account = Account.create()
    app.add_account(account.address, 1000)
    with SandboxServer(app) as server:
        client = make_client(server, "0x" + bytes(account.key).hex())
        market = client.market(NBA)
        waiting = client.place_order(
            OrderRequest(market, KNICKS, Side.BUY, D("0.47"), D("10"), time_in_force="FOK")
        )
        resting = client.place_order(OrderRequest(market, KNICKS, Side.BUY, D("0.30"), D("10")))
        beat = client.clob.post("/v1/heartbeats", json_body={"heartbeat_id": ""}, signed=True)
        assert beat["heartbeat_id"]
        with pytest.raises(BadRequest) as stale:
            client.clob.post("/v1/heartbeats", json_body={"heartbeat_id": "not-it"}, signed=True)
        assert stale.value.status_code == 400
        clock.offset += 0.5
        assert client.get_order(resting.id).status is OrderStatus.OPEN
        clock.offset += 1.0  # past the deadline of the last accepted send
        assert client.get_order(resting.id).status is OrderStatus.CANCELED
        assert client.get_order(waiting.id).status is OrderStatus.CANCELED
        assert app.balance_of(account.address) == 1000
        assert app.heartbeats == {}
        client.close()
