"""The client against recorded demo-environment exchanges (vcrpy via pytest-recording).

Cassettes replay with ``record_mode=none``; with ``--record-mode=once`` and real demo
credentials in the environment the same tests record afresh (tests/kalshi/README.md). The
``KALSHI-ACCESS-*`` headers are filtered out of every cassette.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal as D
from pathlib import Path

import pytest

from arbkit.errors import InsufficientFunds
from arbkit.models import Market, MarketStatus, OrderRequest, OrderStatus, Side
from arbkit_kalshi.client import HOSTS, KalshiClient

pytestmark = pytest.mark.vcr


def test_the_demo_host_is_the_documented_one(demo_client: KalshiClient) -> None:
    assert demo_client.base_url == HOSTS["demo"] == "https://external-api.demo.kalshi.co/trade-api/v2"


def test_discovery_and_books(demo_client: KalshiClient, recording: bool) -> None:
    markets = demo_client.markets(series="KXNBAGAME")
    assert markets
    assert all(m.status is MarketStatus.OPEN and m.fees is not None for m in markets)
    books = demo_client.order_books(markets[:2])
    for market in markets[:2]:
        yes, no = books[("kalshi", market.id, "yes")], books[("kalshi", market.id, "no")]
        if yes.best_ask is not None:  # a YES ask is the complement of the best NO bid
            assert no.best_bid is not None
            assert yes.best_ask.price == 1 - no.best_bid.price
    if recording:
        return
    nyk, hou = markets
    assert nyk.game.away == "NYK"
    assert nyk.fees is not None
    assert nyk.fees.fee(D("0.5"), D(100), taker=False) == D("0.44")
    assert hou.tick_size == D("0.01")
    assert books[("kalshi", nyk.id, "yes")].best_bid.price == D("0.47")  # type: ignore[union-attr]
    assert books[("kalshi", hou.id, "yes")].asks == ()  # an empty NO side is []


def test_order_lifecycle(demo_client: KalshiClient, recording: bool) -> None:
    assert demo_client.balance().available >= 0
    markets = demo_client.markets(series="KXNBAGAME", limit=1) if recording else None
    market = markets[0] if markets else _cassette_market()
    coid = f"arbkit-{uuid.uuid4()}" if recording else "arbkit-cassette-1"
    placed = demo_client.place_order(
        OrderRequest(market, "yes", "buy", D("0.01"), D(1), client_order_id=coid)
    )
    assert placed.status is OrderStatus.OPEN
    assert placed.client_order_id == coid
    assert (placed.outcome_id, placed.side, placed.price) == ("yes", Side.BUY, D("0.01"))
    assert demo_client.get_order(placed.id).status is OrderStatus.OPEN
    canceled = demo_client.cancel_order(placed.id, market=market)
    assert canceled.status is OrderStatus.CANCELED
    # A second cancel 404s; the order is read back and, being final, returned (not "already gone").
    again = demo_client.cancel_order(placed.id, market=market)
    assert again.status is OrderStatus.CANCELED
    coid2 = f"arbkit-{uuid.uuid4()}" if recording else "arbkit-cassette-2"
    with pytest.raises(InsufficientFunds) as info:
        demo_client.place_order(
            OrderRequest(market, "yes", "buy", D("0.50"), D(100000), client_order_id=coid2)
        )
    assert info.value.code is not None


def _cassette_market() -> Market:
    from arbkit_kalshi.parse import parse_market

    payload = json.loads((Path(__file__).parent / "payloads" / "market.json").read_text())
    return parse_market(payload)
