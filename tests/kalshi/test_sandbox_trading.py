"""The real client against the sandbox over loopback: order lifecycle, rejections, settlement."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
import requests

from arbkit.errors import InsufficientFunds, MarketClosed, OrderNotFound, OrderRejected, ValidationError
from arbkit.models import Market, OrderRequest, OrderStatus, ResolutionState, Side, TimeInForce
from arbkit.sandbox import Fault, SandboxServer
from arbkit_kalshi.client import KalshiClient
from arbkit_kalshi.sandbox import PREFIX, KalshiSandbox

NYK = "KXNBAGAME-26MAR31NYKHOU-NYK"
FED = "KXFEDDECISION-26JUN-H0"


@pytest.fixture
def nyk(client: KalshiClient) -> Market:
    return client.market(NYK)


def order(
    market: Market, outcome: str, side: str, price: str, size: str, tif: str = "GTC", coid: str | None = None
) -> OrderRequest:
    return OrderRequest(market, outcome, side, D(price), D(size), tif, client_order_id=coid)


def test_discovery_groups_events_and_attaches_fees(public_client: KalshiClient) -> None:
    markets = public_client.markets()
    assert {m.event_id for m in markets} == {
        "KXNBAGAME-26MAR31NYKHOU",
        "KXEPLGAME-25DEC27CFCAVL",
        "KXFEDDECISION-26JUN",
    }
    assert all(m.tradable for m in markets)
    assert [m.id for m in public_client.markets(series="KXEPLGAME", query="tie")] == [
        "KXEPLGAME-25DEC27CFCAVL-TIE"
    ]
    assert len(public_client.markets(limit=2)) == 2
    fed = public_client.markets(event_id="KXFEDDECISION-26JUN")[0]
    assert fed.size_increment == D("0.01")
    # The bundled scenario's Fed market quotes on tapered_deci_cent: 0.1 cent near 0 and 1.
    assert (fed.tick_size, fed.meta["price_level_structure"]) == (D("0.001"), "tapered_deci_cent")


def test_discovery_follows_cursors(public_client: KalshiClient, sandbox: KalshiSandbox) -> None:
    events = [
        {
            "event_ticker": f"KXTEST-{i:03d}",
            "series_ticker": "KXTEST",
            "markets": [{"ticker": f"KXTEST-{i:03d}-A", "yes_sub_title": "A"}],
        }
        for i in range(450)
    ]
    sandbox.load_scenario({"series": [{"ticker": "KXTEST"}], "events": events})
    assert len(public_client.markets()) == 450
    assert sandbox.requests["GET /trade-api/v2/events"] == 3  # 200 per page


def test_books_for_many_markets_come_in_batches(public_client: KalshiClient, sandbox: KalshiSandbox) -> None:
    markets = public_client.markets()
    sandbox.requests.clear()
    books = public_client.order_books(markets)
    assert len(books) == 2 * len(markets)
    assert sandbox.requests == {"GET /trade-api/v2/markets/orderbooks": 1}
    yes, no = books[("kalshi", NYK, "yes")], books[("kalshi", NYK, "no")]
    assert (yes.best_bid and yes.best_bid.price, yes.best_ask and yes.best_ask.price) == (
        D("0.45"),
        D("0.48"),
    )
    assert (no.best_bid and no.best_bid.price, no.best_ask and no.best_ask.price) == (D("0.52"), D("0.55"))
    single = public_client.order_book(markets[0], "no")
    batch = books[("kalshi", markets[0].id, "no")]
    assert (single.bids, single.asks) == (batch.bids, batch.asks)


def test_book_falls_back_to_single_requests_when_batch_is_missing(
    public_client: KalshiClient, sandbox: KalshiSandbox
) -> None:
    markets = public_client.markets(series="KXNBAGAME")
    sandbox.faults.add(Fault("status", path="/trade-api/v2/markets/orderbooks", status=404))
    books = public_client.order_books(markets)
    assert set(books) == {("kalshi", m.id, o) for m in markets for o in ("yes", "no")}


def test_resting_order_lifecycle(client: KalshiClient, nyk: Market, sandbox: KalshiSandbox) -> None:
    placed = client.place_order(order(nyk, "yes", "buy", "0.40", "10", coid="life-1"))
    assert (placed.status, placed.filled_size, placed.client_order_id) == (OrderStatus.OPEN, 0, "life-1")
    assert client.balance().available == D("996.00")  # the resting bid reserves 10 x 0.40
    assert client.get_order(placed.id) == placed
    assert client.find_order("life-1", market=nyk) == placed
    assert client.find_order("never-sent") is None
    book = client.order_book(nyk, "yes")
    assert book.bids[1].price == D("0.44")
    assert any(lv.price == D("0.40") for lv in book.bids)
    canceled = client.cancel_order(placed.id)
    assert canceled.status is OrderStatus.CANCELED
    assert canceled.remaining_size == 0
    assert client.balance().available == D("1000")
    # A second cancel 404s at the venue; the client reads the order back and returns it, final.
    assert client.cancel_order(placed.id, market=nyk).status is OrderStatus.CANCELED
    with pytest.raises(OrderNotFound) as info:
        client.cancel_order("00000000-0000-0000-0000-000000000000")
    assert info.value.code == "not_found"
    with pytest.raises(OrderNotFound):
        client.get_order("00000000-0000-0000-0000-000000000000")


def test_ioc_walks_the_book_and_cancels_the_rest(client: KalshiClient, nyk: Market) -> None:
    filled = client.place_order(order(nyk, "yes", "buy", "0.49", "300", "IOC"))
    assert filled.status is OrderStatus.CANCELED
    assert filled.filled_size == 280  # 80 at 0.48 and 200 at 0.49 (NO bids at 0.52 and 0.51)
    assert filled.average_price == (80 * D("0.48") + 200 * D("0.49")) / 280
    # 0.07 x 80 x 0.48 x 0.52 + 0.07 x 200 x 0.49 x 0.51, each trade rounded up to $0.000001 (kalshi.md 5).
    assert filled.fees == D("1.397760") + D("3.498600")
    fills = client.fills(order_id=filled.id)
    assert sorted(f.size for f in fills) == [80, 200]
    assert client.positions()[0].size == 280


def test_fill_or_kill_either_fills_fully_or_not_at_all(client: KalshiClient, nyk: Market) -> None:
    killed = client.place_order(order(nyk, "no", "buy", "0.55", "101", "FOK"))
    assert (killed.status, killed.filled_size) == (OrderStatus.CANCELED, 0)
    done = client.place_order(order(nyk, "no", "buy", "0.55", "100", "FOK"))
    assert (done.status, done.filled_size, done.outcome_id) == (OrderStatus.FILLED, 100, "no")
    assert client.positions()[0].outcome_id == "no"


def test_buying_no_while_long_yes_nets_the_position(
    client: KalshiClient, nyk: Market, sandbox: KalshiSandbox
) -> None:
    from tests.kalshi.conftest import KEY_ID

    client.place_order(order(nyk, "yes", "buy", "0.48", "10", "IOC"))
    after_buy = sandbox.balance_of(KEY_ID)
    client.place_order(order(nyk, "no", "buy", "0.55", "10", "IOC"))  # hits the YES bid at 0.45
    assert client.positions() == []
    # The pair collapses to $1: 10 x (1 - 0.55) comes back, less the taker fee 0.07 x 10 x 0.45 x 0.55.
    assert sandbox.balance_of(KEY_ID) == after_buy + D("4.50") - D("0.173250")


def test_selling_yes_closes_a_long_position(client: KalshiClient, nyk: Market) -> None:
    client.place_order(order(nyk, "yes", "buy", "0.48", "10", "IOC"))
    sold = client.place_order(order(nyk, "yes", "sell", "0.45", "10", "IOC"))
    assert (sold.side, sold.filled_size, sold.average_price) == (Side.SELL, 10, D("0.45"))
    assert client.positions() == []


def test_every_market_takes_hundredth_counts_and_nothing_finer(client: KalshiClient, nyk: Market) -> None:
    fed = client.market(FED)
    filled = client.place_order(order(fed, "yes", "buy", "0.72", "2.50", "IOC"))
    assert filled.filled_size == D("2.50")
    assert client.positions()[0].size == D("2.50")
    assert client.place_order(order(nyk, "yes", "buy", "0.48", "0.01", "IOC")).filled_size == D("0.01")
    with pytest.raises(ValidationError):
        client.place_order(order(nyk, "yes", "buy", "0.48", "2.505", "IOC"))


def test_duplicate_client_order_id_is_refused_with_the_venue_code(client: KalshiClient, nyk: Market) -> None:
    client.place_order(order(nyk, "yes", "buy", "0.30", "1", coid="dup-1"))
    with pytest.raises(OrderRejected) as info:
        client.place_order(order(nyk, "yes", "buy", "0.30", "1", coid="dup-1"))
    assert (info.value.status_code, info.value.code) == (409, "order_already_exists")


def test_insufficient_balance(client: KalshiClient, nyk: Market) -> None:
    with pytest.raises(InsufficientFunds) as info:
        client.place_order(order(nyk, "yes", "buy", "0.40", "5000"))
    assert info.value.code == "insufficient_balance"


def test_closed_market_refuses_orders(client: KalshiClient, nyk: Market, sandbox: KalshiSandbox) -> None:
    sandbox.set_status(NYK, "closed")
    with pytest.raises(MarketClosed):
        client.place_order(order(nyk, "yes", "buy", "0.40", "1"))


def test_off_grid_price_is_snapped_inside_the_limit_or_refused(
    client: KalshiClient, nyk: Market, server: SandboxServer, private_pem: str
) -> None:
    # A bid snaps down, never past the limit: 0.405 rests at 0.40 on the 1-cent grid.
    assert client.place_order(order(nyk, "yes", "buy", "0.405", "1")).price == D("0.40")
    from tests.kalshi.conftest import KEY_ID

    strict = KalshiClient(
        base_url=server.url, api_key_id=KEY_ID, private_key=private_pem, rate_limit=None, off_grid="refuse"
    )
    with pytest.raises(ValidationError, match="price grid"):
        strict.place_order(order(nyk, "yes", "buy", "0.405", "1"))


def test_resolution_settles_positions(client: KalshiClient, nyk: Market, sandbox: KalshiSandbox) -> None:
    client.place_order(order(nyk, "yes", "buy", "0.48", "10", "IOC"))
    resting = client.place_order(order(nyk, "yes", "buy", "0.30", "5"))
    assert client.resolution(nyk).state is ResolutionState.PENDING
    before = client.balance().available
    sandbox.resolve(NYK, "yes")
    resolution = client.resolution(nyk)
    assert (resolution.state, resolution.payout("yes"), resolution.payout("no")) == (
        ResolutionState.RESOLVED,
        1,
        0,
    )
    assert client.get_order(resting.id).status is OrderStatus.CANCELED
    assert client.balance().available == before + D("1.50") + D(10)  # reserve released + payout
    settlement = client.settlements()[0]
    assert (settlement.market_result, settlement.revenue, settlement.yes_count) == ("yes", D(10), D(10))


def test_void_is_a_scalar_refund(client: KalshiClient, nyk: Market, sandbox: KalshiSandbox) -> None:
    # The SDK's result enums have no "void" (kalshi.md 4.4): a refund is a scalar result.
    sandbox.resolve(NYK, "void", "0.5")
    resolution = client.resolution(nyk)
    assert (resolution.state, resolution.raw_result) == (ResolutionState.RESOLVED, "scalar")
    assert resolution.payout("yes") == resolution.payout("no") == D("0.5")


def test_market_order_is_an_ioc_at_the_worst_price(client: KalshiClient, nyk: Market) -> None:
    done = client.place_market_order(nyk, "yes", Side.BUY, D(5))
    assert (done.status, done.filled_size, done.average_price) == (OrderStatus.FILLED, 5, D("0.48"))


def test_newer_v2_order_endpoints(server: SandboxServer, client: KalshiClient) -> None:
    url = server.url + PREFIX + "/portfolio/events/orders"
    assert client.signer is not None
    headers = client.signer.headers("POST", PREFIX + "/portfolio/events/orders")
    body = {
        "ticker": NYK,
        "client_order_id": "v2-1",
        "side": "bid",
        "count": "10.00",
        "price": "0.4800",
        "time_in_force": "immediate_or_cancel",
        "self_trade_prevention_type": "taker_at_cross",
    }
    reply = requests.post(url, json=body, headers=headers, timeout=5)
    assert reply.status_code == 201
    data = reply.json()
    assert (data["fill_count"], data["remaining_count"], data["average_fill_price"]) == (
        "10.00",
        "0.00",
        "0.4800",
    )
    assert client.find_order("v2-1") is not None


def test_gtd_orders_carry_an_expiration(client: KalshiClient, nyk: Market) -> None:
    from datetime import UTC, datetime, timedelta

    expires = datetime.now(UTC) + timedelta(hours=1)
    request = OrderRequest(nyk, "yes", "buy", D("0.30"), D(1), TimeInForce.GTD, expires_at=expires)
    body = client.order_body(request)
    assert body["time_in_force"] == "good_till_canceled"
    assert body["expiration_time"] == int(expires.timestamp())  # V1's expiration_ts is gone
    assert client.place_order(request).status is OrderStatus.OPEN
