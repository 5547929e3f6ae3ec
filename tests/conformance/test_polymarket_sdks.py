"""Conformance: Polymarket's official Python SDKs, unmodified, drive whole lifecycles on the sandbox.

The judges (pinned in the dev extra): ``polymarket-client`` 0.14.0 (Polymarket's current SDK,
strict pydantic parsing) and ``py-clob-client-v2`` 1.2.1. Both run on Python 3.11 in the main
virtualenv, so they are imported here and pointed at the sandbox on a loopback port: the
py-sdk through an environment whose URLs are the sandbox's (the SDK's own configuration
helper), the V2 client through its ``host``. Any shape the SDK cannot parse, any status it
does not expect and any signature the sandbox cannot verify fails a test.

The sandbox's clock is the real clock plus an offset the tests move, so delays and heartbeat
deadlines pass without sleeping.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import py_clob_client_v2
import pytest
from eth_account import Account
from polymarket._internal.environment import get_environment_config, with_environment_config
from polymarket.errors import OrderHeartbeatMismatchError, RequestRejectedError
from polymarket.models import AcceptedOrder
from py_clob_client_v2 import (
    ApiCreds,
    BookParams,
    ClobClient,
    MarketOrderArgs,
    OpenOrderParams,
    OrderArgs,
    OrderMarketCancelParams,
    OrderPayload,
    OrderType,
    PostOrdersV2Args,
    TradeParams,
)
from py_clob_client_v2.exceptions import PolyApiException

import polymarket
from arbkit.sandbox import SandboxServer
from arbkit_polymarket.sandbox import PolymarketSandbox
from polymarket import PRODUCTION, SecureClient

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "polymarket_scenario.json"
#: The judges: exactly these releases (also pinned in pyproject's dev extra).
POLYMARKET_CLIENT_VERSION = "0.14.0"
CLOB_CLIENT_V2_VERSION = "1.2.1"

BILL = "0x1111111111111111111111111111111111111111111111111111111111111111"
BILL_YES = "11111111111111111111111111111111111111111111111111111111111111111111111111111"
BILL_NO = "22222222222222222222222222222222222222222222222222222222222222222222222222222"
ALICE = "0x3333333333333333333333333333333333333333333333333333333333333333"
ALICE_YES = "33333333333333333333333333333333333333333333333333333333333333333333333333333"
GAME = "0x5555555555555555555555555555555555555555555555555555555555555555"
CELTICS = "55555555555555555555555555555555555555555555555555555555555555555555555555555"
END_CURSOR = "LTE="


def test_the_judges_are_the_pinned_releases() -> None:
    assert polymarket.__version__ == POLYMARKET_CLIENT_VERSION
    from importlib.metadata import version

    assert version("py-clob-client-v2") == CLOB_CLIENT_V2_VERSION
    assert py_clob_client_v2.ClobClient is ClobClient


class Clock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> PolymarketSandbox:
    app = PolymarketSandbox(taker_delay=0.5)
    app.clock = clock
    app.load_scenario(json.loads(SCENARIO.read_text()))
    app.market_page_size = 2  # three markets: the listings take two pages
    return app


@pytest.fixture
def server(sandbox: PolymarketSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def wallet(sandbox: PolymarketSandbox) -> tuple[str, str]:
    account = Account.create()
    sandbox.add_account(account.address, 1000)
    return "0x" + bytes(account.key).hex(), account.address


def py_sdk(server: SandboxServer, private_key: str, address: str, **kw: Any) -> SecureClient:
    """The py-sdk's SecureClient on the sandbox (an EOA wallet: no relayer involved)."""
    config = dataclasses.replace(
        get_environment_config(PRODUCTION),
        clob_url=server.url,
        gamma_url=server.url + "/gamma",
        data_url=server.url + "/data-api",
        relayer_url=server.url + "/relayer",
    )
    environment = with_environment_config(PRODUCTION, config=config)
    return SecureClient.create(private_key=private_key, wallet=address, environment=environment, **kw)


def v2_client(server: SandboxServer, private_key: str) -> ClobClient:
    client = ClobClient(server.url, chain_id=137, key=private_key)
    client.set_api_creds(client.create_or_derive_api_key())
    return client


# -- py-clob-client-v2 ---------------------------------------------------------------------------------


def test_v2_market_listings_lookups_and_prices(server: SandboxServer) -> None:
    client = ClobClient(server.url, chain_id=137)
    for listing in (
        client.get_markets,
        client.get_simplified_markets,
        client.get_sampling_markets,
        client.get_sampling_simplified_markets,
    ):
        seen, cursor, pages = [], "MA==", 0
        while cursor != END_CURSOR:
            page = listing(next_cursor=cursor)
            seen += [row["condition_id"] for row in page["data"]]
            cursor, pages = page["next_cursor"], pages + 1
        assert sorted(seen) == sorted([BILL, ALICE, GAME])
        assert pages == 2

    market = client.get_market(ALICE)
    assert market["neg_risk"] is True
    assert next(t["token_id"] for t in market["tokens"]) == ALICE_YES
    assert client.get_tick_size(BILL_YES) == "0.01"
    assert client.get_tick_size(ALICE_YES) == "0.001"
    assert client.get_neg_risk(ALICE_YES) is True
    assert client.get_neg_risk(BILL_YES) is False
    assert client.get_fee_rate_bps(BILL_YES) == 1000
    assert client.get_fee_rate_bps(ALICE_YES) == 0
    info = client.get_clob_market_info(GAME)
    assert info["sd"] == 3
    assert info["fd"]["r"] == "0.03"
    assert client.get_fee_exponent(CELTICS) == 1

    book = client.get_order_book(BILL_YES)
    assert [lvl["price"] for lvl in book["bids"]][-1] == "0.45"  # best bid last
    assert [lvl["price"] for lvl in book["asks"]][-1] == "0.47"  # best ask last
    assert client.get_order_book_hash(book) == book["hash"]  # the SDK's own hash recipe
    no_book = client.get_order_books([BookParams(token_id=BILL_NO)])[0]
    assert no_book["asset_id"] == BILL_NO
    assert no_book["bids"][-1]["price"] == "0.53"
    assert client.get_midpoint(BILL_YES) == {"mid": "0.46"}
    assert client.get_price(BILL_YES, "BUY") == {"price": "0.45"}  # side BUY: the best bid
    assert client.get_price(BILL_YES, "SELL") == {"price": "0.47"}
    assert client.get_spread(BILL_YES) == {"spread": "0.02"}
    assert client.get_last_trade_price(BILL_YES) == {"price": "0.5", "side": ""}
    assert client.get_midpoints([BookParams(token_id=BILL_YES)]) == {BILL_YES: "0.46"}
    with pytest.raises(PolyApiException) as missing:
        client.get_order_book("999")
    assert missing.value.status_code == 404
    assert missing.value.error_msg == {"error": "No orderbook exists for the requested token id"}


def test_v2_full_order_lifecycle(
    server: SandboxServer, sandbox: PolymarketSandbox, wallet: tuple[str, str]
) -> None:
    key, address = wallet
    client = ClobClient(server.url, chain_id=137, key=key)
    creds = client.create_or_derive_api_key()
    assert client.derive_api_key() == creds  # one (address, nonce), one set of credentials
    client.set_api_creds(creds)
    assert client.get_api_keys() == {"apiKeys": [creds.api_key]}

    # A resting limit order (GET /version, /tick-size, /neg-risk, then POST /order).
    resting = client.create_and_post_order(OrderArgs(token_id=BILL_YES, price=0.40, size=10, side="BUY"))
    assert resting["success"] is True
    assert resting["status"] == "live"
    assert resting["errorMsg"] == ""
    order = client.get_order(resting["orderID"])
    assert order["status"] == "LIVE"
    assert order["original_size"] == "10"
    assert order["price"] == "0.4"
    assert [o["id"] for o in client.get_open_orders(OpenOrderParams(market=BILL))] == [resting["orderID"]]

    # A marketable FOK: matched at once, with a settlement hash so the SDK does not poll for 30 s.
    taken = client.create_and_post_market_order(
        MarketOrderArgs(token_id=BILL_YES, amount=10, side="BUY", price=0.48), order_type=OrderType.FOK
    )
    assert taken["status"] == "matched"
    assert taken["tradeIDs"]
    assert taken["transactionsHashes"]
    trades = client.get_trades(TradeParams(id=taken["tradeIDs"][0]))
    assert [t["id"] for t in trades] == [taken["tradeIDs"][0]]
    assert trades[0]["trader_side"] == "TAKER"
    assert trades[0]["price"] == "0.47"
    assert client.get_trades(TradeParams(market=BILL, maker_address=address))
    assert client.get_trades(TradeParams(asset_id=BILL_NO)) == []
    assert client.get_trades(TradeParams(after=int(time.time()) + 3600)) == []
    assert client.get_trades(TradeParams(before=int(time.time()) + 3600))
    assert client.get_last_trade_price(BILL_YES) == {"price": "0.47", "side": "BUY"}

    # A batch, then cancel one, several, by market, all.
    batch = client.post_orders(
        [
            PostOrdersV2Args(
                order=client.create_order(OrderArgs(token_id=BILL_YES, price=p, size=5, side="BUY")),
                orderType=OrderType.GTC,
            )
            for p in (0.30, 0.31, 0.32)
        ]
    )
    assert [r["status"] for r in batch] == ["live"] * 3
    ids = [r["orderID"] for r in batch]
    assert client.cancel_order(OrderPayload(orderID=ids[0])) == {"canceled": [ids[0]], "not_canceled": {}}
    again = client.cancel_order(OrderPayload(orderID=ids[0]))
    assert again == {"canceled": [], "not_canceled": {ids[0]: "already canceled or matched"}}
    assert client.cancel_orders(ids[1:2])["canceled"] == [ids[1]]
    by_market = client.cancel_market_orders(OrderMarketCancelParams(market=BILL, asset_id=BILL_YES))
    assert sorted(by_market["canceled"]) == sorted([ids[2], resting["orderID"]])
    client.create_and_post_order(OrderArgs(token_id=ALICE_YES, price=0.2, size=5, side="BUY"))
    assert len(client.cancel_all()["canceled"]) == 1
    assert client.get_open_orders() == []

    # Heartbeats chain their ids; a stale one is refused with the id expected.
    first = client.post_heartbeat("")["heartbeat_id"]
    second = client.post_heartbeat(first)["heartbeat_id"]
    with pytest.raises(PolyApiException) as stale:
        client.post_heartbeat(first)
    assert stale.value.status_code == 400
    assert stale.value.error_msg == {"error_msg": "Invalid Heartbeat ID", "heartbeat_id": second}

    # Settlement: the market resolves; the CLOB market names the winner, the tokens pay out.
    shares = Decimal(trades[0]["size"])
    cash_before = sandbox.balance_of(address)
    sandbox.resolve(BILL, winner=BILL_YES)
    market = client.get_market(BILL)
    assert market["closed"] is True
    assert [t["winner"] for t in market["tokens"]] == [True, False]
    assert sandbox.balance_of(address) == cash_before + shares
    with pytest.raises(PolyApiException) as closed:
        client.create_and_post_order(OrderArgs(token_id=BILL_YES, price=0.40, size=10, side="BUY"))
    assert closed.value.error_msg == {"error": "the market is not yet ready to process new orders"}


def test_v2_neg_risk_order_is_signed_for_the_neg_risk_exchange(
    server: SandboxServer, wallet: tuple[str, str]
) -> None:
    client = v2_client(server, wallet[0])
    taken = client.create_and_post_order(
        OrderArgs(token_id=ALICE_YES, price=0.325, size=10, side="BUY"), order_type=OrderType.FOK
    )
    assert taken["status"] == "matched"
    assert taken["takingAmount"] == "10"


def test_v2_refusals_carry_the_venue_bodies(server: SandboxServer, wallet: tuple[str, str]) -> None:
    client = v2_client(server, wallet[0])
    with pytest.raises(PolyApiException) as small:
        client.create_and_post_order(OrderArgs(token_id=BILL_YES, price=0.40, size=1, side="BUY"))
    assert small.value.status_code == 400
    assert "lower than the minimum: 5" in small.value.error_msg["error"]
    with pytest.raises(PolyApiException) as broke:
        client.create_and_post_order(OrderArgs(token_id=BILL_YES, price=0.40, size=5000, side="BUY"))
    assert broke.value.error_msg == {"error": "not enough balance / allowance"}
    bad = ClobClient(server.url, chain_id=137, key=wallet[0], creds=ApiCreds("nope", "AAAA", "x"))
    with pytest.raises(PolyApiException) as unauthorized:
        bad.get_open_orders()
    assert unauthorized.value.status_code == 401


# -- polymarket-client (py-sdk) ------------------------------------------------------------------------


def test_py_sdk_full_order_lifecycle(
    server: SandboxServer, sandbox: PolymarketSandbox, wallet: tuple[str, str]
) -> None:
    key, address = wallet
    client = py_sdk(server, key, address)  # POST /auth/api-key (L1)
    assert client.fetch_api_keys() == (client.credentials.key,)
    # Credentials handed in are checked with GET /auth/api-keys (L2) and kept.
    again = py_sdk(server, key, address, credentials=client.credentials)
    assert again.credentials == client.credentials
    again.close()

    # Markets come from Gamma in the py-sdk (GET /markets/keyset, /markets/slug/{slug}).
    listed = {m.condition_id for m in client.list_markets(closed=False).iter_items()}
    assert listed == {BILL, ALICE, GAME}
    assert client.get_market(slug="bill-pass").condition_id == BILL

    book = client.get_order_book(token_id=BILL_YES)
    assert book.bids[-1].price == Decimal("0.45")
    assert book.asks[-1].price == Decimal("0.47")
    assert [b.asset_id for b in client.get_order_books(token_ids=[BILL_YES, BILL_NO])] == [BILL_YES, BILL_NO]
    assert client.get_midpoint(token_id=BILL_YES) == Decimal("0.46")
    assert client.get_price(token_id=BILL_YES, side="SELL") == Decimal("0.47")
    assert client.get_spread(token_id=BILL_YES) == Decimal("0.02")
    assert client.get_last_trade_price(token_id=BILL_YES) is None  # no trade yet
    assert client.get_closed_only_mode() is False

    # GET /markets-by-token, GET /clob-markets, POST /order.
    resting = client.place_limit_order(token_id=BILL_YES, price="0.40", size="10", side="BUY")
    assert isinstance(resting, AcceptedOrder)
    assert resting.status == "live"
    got = client.get_order(order_id=resting.order_id)
    assert got.status == "LIVE"
    assert got.original_size == Decimal(10)
    assert got.price == Decimal("0.40")
    assert [o.id for o in client.list_open_orders(market=BILL).iter_items()] == [resting.order_id]

    taken = client.place_market_order(token_id=BILL_YES, side="BUY", amount="10", max_price="0.48")
    assert isinstance(taken, AcceptedOrder)
    assert taken.status == "matched"
    assert taken.trade_ids
    trades = list(client.list_account_trades(id=taken.trade_ids[0]).iter_items())
    assert [t.id for t in trades] == list(taken.trade_ids)
    assert trades[0].price == Decimal("0.47")
    assert list(client.list_account_trades(asset_id=BILL_NO).iter_items()) == []
    assert list(client.list_account_trades(market=BILL, maker_address=address).iter_items())
    assert client.get_last_trade_price(token_id=BILL_YES) is not None

    # A marketable FOK that cannot fill is a rejection the SDK names.
    # (Only 80 shares rest at or below 0.47.)
    with pytest.raises(RequestRejectedError) as killed:
        client.place_market_order(
            token_id=BILL_YES, side="BUY", amount="900", max_price="0.47", order_type="FOK"
        )
    assert killed.value.status == 400
    assert str(killed.value) == "order couldn't be fully filled. FOK orders are fully filled or killed."
    batch = client.post_orders(
        [
            client.create_limit_order(token_id=BILL_YES, price=p, size="5", side="BUY")
            for p in ("0.30", "0.31")
        ]
    )
    assert [r.status for r in batch if isinstance(r, AcceptedOrder)] == ["live", "live"]
    ids = [r.order_id for r in batch if isinstance(r, AcceptedOrder)]
    assert client.cancel_order(order_id=ids[0]).canceled == (ids[0],)
    assert client.cancel_orders(order_ids=[ids[0], ids[1]]).canceled == (ids[1],)
    assert client.cancel_market_orders(market=BILL).canceled == (resting.order_id,)
    client.place_limit_order(token_id=ALICE_YES, price="0.200", size="5", side="BUY")
    assert len(client.cancel_all().canceled) == 1
    assert list(client.list_open_orders().iter_items()) == []

    first = client.send_order_heartbeat()
    client.send_order_heartbeat(heartbeat_id=first.heartbeat_id)
    with pytest.raises(OrderHeartbeatMismatchError):
        client.send_order_heartbeat(heartbeat_id=first.heartbeat_id)

    balance = client.get_balance_allowance(asset_type="COLLATERAL")
    assert Decimal(balance.balance) == sandbox.balance_of(address) * 10**6
    sandbox.resolve(BILL, winner=BILL_NO)
    resolved = client.get_market(slug="bill-pass")
    assert resolved.state.closed is True
    assert resolved.resolution.uma_resolution_status == "resolved"
    assert (resolved.outcomes.yes.price, resolved.outcomes.no.price) == (0, 1)  # NO won
    assert BILL not in {m.condition_id for m in client.list_markets(closed=False).iter_items()}
    with pytest.raises(RequestRejectedError):
        client.place_limit_order(token_id=BILL_YES, price="0.40", size="10", side="BUY")
    client.close()


def test_sports_taker_delay_answers_delayed_then_settles(
    server: SandboxServer, sandbox: PolymarketSandbox, wallet: tuple[str, str], clock: Clock
) -> None:
    key, address = wallet
    client = py_sdk(server, key, address)
    placed = client.place_market_order(token_id=CELTICS, side="BUY", amount="10", max_price="0.57")
    assert isinstance(placed, AcceptedOrder)
    assert placed.status == "delayed"
    assert placed.trade_ids == ()
    assert client.get_order(order_id=placed.order_id).status == "DELAYED"
    assert list(client.list_account_trades(market=GAME).iter_items()) == []
    # A resting order that does not cross is not delayed.
    rests = client.place_limit_order(token_id=CELTICS, price="0.50", size="5", side="BUY")
    assert isinstance(rests, AcceptedOrder)
    assert rests.status == "live"

    clock.advance(0.5)  # the sandbox's taker delay (3 s by default: the market's secondsDelay)
    matched = client.get_order(order_id=placed.order_id)
    assert matched.status == "MATCHED"
    assert matched.size_matched > 0
    [trade] = client.list_account_trades(market=GAME).iter_items()
    assert trade.price == Decimal("0.57")

    v2 = v2_client(server, key)
    delayed = v2.create_and_post_order(OrderArgs(token_id=CELTICS, price=0.57, size=5, side="BUY"))
    assert delayed["status"] == "delayed"
    assert delayed["tradeIDs"] == []
    assert v2.cancel_order(OrderPayload(orderID=delayed["orderID"]))["canceled"] == [delayed["orderID"]]
    clock.advance(0.5)
    assert v2.get_order(delayed["orderID"])["status"] == "CANCELED"  # cancelled while it waited
    client.close()


def test_heartbeat_deadline_cancels_open_orders(
    server: SandboxServer, wallet: tuple[str, str], clock: Clock
) -> None:
    client = v2_client(server, wallet[0])
    client.create_and_post_order(OrderArgs(token_id=BILL_YES, price=0.40, size=10, side="BUY"))
    client.post_heartbeat("")
    clock.advance(9)
    assert len(client.get_open_orders()) == 1
    clock.advance(2)  # more than 10 s after the last accepted send
    assert client.get_open_orders() == []
    # The enrolment ended with the deadline: a fresh chain starts from "".
    assert client.post_heartbeat("")["heartbeat_id"]
