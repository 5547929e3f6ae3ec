"""Replays of the real hosts (pytest-recording, ``record_mode=none``): see tests/polymarket/README.md.

Response bodies are hand-written from the captures in the wire reference, not produced by
our sandbox, so these tests hold the client to the real shapes (string numbers, best-last
books, JSON-inside-JSON Gamma arrays, both rejection shapes).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from arbkit.engine.fees import PowerFee
from arbkit.errors import ExchangeUnavailable, InsufficientFunds, NotFound, OrderRejected, RateLimited
from arbkit.models import Market, OrderRequest, OrderStatus, Outcome, Side
from arbkit_polymarket.client import PolymarketClient

D = Decimal
HARDHAT_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # public test key
MLB = "0x1111111111111111111111111111111111111111111111111111111111111111"


@pytest.fixture
def real() -> PolymarketClient:
    """A client for the real hosts, with placeholder credentials (the cassettes need none)."""
    return PolymarketClient(
        private_key=HARDHAT_KEY,
        api_key="00000000-0000-0000-0000-000000000001",
        api_secret="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        api_passphrase="0" * 64,
        max_retries=0,
    )


def mlb() -> Market:
    return Market(
        "polymarket",
        MLB,
        "Texas Rangers vs. New York Yankees",
        [Outcome("1001", "NY Yankees"), Outcome("1002", "TX Rangers")],
        "open",
        min_order_size=D(5),
        meta={"neg_risk": False},
    )


@pytest.mark.vcr
def test_discovery_follows_gamma_keyset_pages(real: PolymarketClient) -> None:
    markets = real.markets()
    assert [m.meta["slug"] for m in markets] == [
        "mlb-tex-nyy-2026-05-05",
        "mlb-tex-nyy-2026-05-05-spread-home-1pt5",
        "fed-cut-june",
    ]
    assert markets[0].game.outcome_teams["1002"] == "tex"
    assert markets[2].meta["neg_risk"] is True
    assert markets[2].fees == PowerFee(rate=D("0.04"), exponent=1)


@pytest.mark.vcr
def test_books_come_in_one_batch_best_last_on_the_wire(real: PolymarketClient) -> None:
    books = real.order_books([mlb()])
    yankees, rangers = books[("polymarket", MLB, "1001")], books[("polymarket", MLB, "1002")]
    assert (yankees.best_bid.price, yankees.best_ask.price) == (D("0.43"), D("0.45"))  # type: ignore[union-attr]
    assert (rangers.best_bid.price, rangers.best_ask.price) == (D("0.55"), D("0.57"))  # type: ignore[union-attr]
    assert yankees.bids[-1].price == D("0.41")


@pytest.mark.vcr
def test_fee_schedule_from_clob_markets(real: PolymarketClient) -> None:
    assert real.fee_schedule(mlb()) == PowerFee(rate=D("0.03"), exponent=1, taker_only=True)


@pytest.mark.vcr
def test_order_placement_and_cancel(real: PolymarketClient) -> None:
    order = real.place_order(OrderRequest(mlb(), "1001", Side.BUY, D("0.40"), D("10"), client_order_id="c-1"))
    assert order.status is OrderStatus.OPEN
    canceled = real.cancel_order(order.id)
    assert (canceled.id, canceled.status, canceled.size) == (order.id, OrderStatus.CANCELED, 10)


@pytest.mark.vcr
def test_fok_fill(real: PolymarketClient) -> None:
    order = real.place_order(OrderRequest(mlb(), "1001", Side.BUY, D("0.45"), D("10"), time_in_force="FOK"))
    assert (order.status, order.filled_size, order.average_price) == (OrderStatus.FILLED, 10, D("0.45"))


@pytest.mark.vcr
def test_order_errors(real: PolymarketClient) -> None:
    request = OrderRequest(mlb(), "1001", Side.BUY, D("0.45"), D("10"), time_in_force="FOK")
    with pytest.raises(InsufficientFunds, match="not enough balance"):
        real.place_order(request)
    with pytest.raises(InsufficientFunds, match="Insufficient balance"):
        real.place_order(request)
    with pytest.raises(OrderRejected, match="FOK orders are fully filled or killed"):
        real.place_order(request)
    with pytest.raises(ExchangeUnavailable, match="cancel-only"):
        real.place_order(request)


@pytest.mark.vcr
def test_unknown_book_and_rate_limit(real: PolymarketClient) -> None:
    with pytest.raises(NotFound):
        real.order_book(mlb(), "1001")
    with pytest.raises(RateLimited) as info:
        real.order_book(mlb(), "1002")
    assert info.value.retry_after == 3
