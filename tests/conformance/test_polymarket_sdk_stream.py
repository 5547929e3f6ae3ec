"""Conformance: the official py-sdk's WebSocket clients, unmodified, stream from the sandbox.

``polymarket-client`` 0.14.0 (the judge, pinned in the dev extra and imported here like
``test_polymarket_sdks.py`` does) is pointed at the sandbox only through its environment
configuration (``clob_market_ws_url`` / ``clob_user_ws_url``). Its market stream must receive
every subscribed token's ``book`` equal to the sandbox's REST ``/book``, follow the
``price_change`` levels to the REST book after changes, and read ``last_trade_price``,
``tick_size_change`` and ``market_resolved``; its user stream, authenticated with the
credentials the SDK derived itself, must read our order and trade events. The SDK drops
events its strict models cannot parse and counts them: every count must stay zero.

The SDK is imported at module level: without it this file fails to import (in CI too), it
never skips.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from polymarket._internal.environment import get_environment_config, with_environment_config
from polymarket.streams import (
    MarketBookEvent,
    MarketLastTradePriceEvent,
    MarketPriceChangeEvent,
    MarketResolvedEvent,
    MarketSpec,
    MarketTickSizeChangeEvent,
    UserOrderEvent,
    UserSpec,
    UserTradeEvent,
)

import polymarket
from arbkit.sandbox import SandboxServer
from arbkit.sandbox.ws import WsSandboxServer
from arbkit_polymarket.sandbox import PolymarketSandbox
from arbkit_polymarket.sandbox.stream import serve_stream
from polymarket import PRODUCTION, AsyncPublicClient, AsyncSecureClient

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "polymarket_scenario.json"
POLYMARKET_CLIENT_VERSION = "0.14.0"
BILL = "0x1111111111111111111111111111111111111111111111111111111111111111"
BILL_YES = "11111111111111111111111111111111111111111111111111111111111111111111111111111"
BILL_NO = "22222222222222222222222222222222222222222222222222222222222222222222222222222"
ALICE_YES = "33333333333333333333333333333333333333333333333333333333333333333333333333333"
TIMEOUT = 10.0

SIDES = ("bids", "asks")
Levels = dict[str, dict[Decimal, Decimal]]


@pytest.fixture
def sandbox() -> PolymarketSandbox:
    app = PolymarketSandbox()
    app.load_scenario(json.loads(SCENARIO.read_text()))
    return app


@pytest.fixture
def servers(sandbox: PolymarketSandbox) -> Iterator[tuple[SandboxServer, WsSandboxServer]]:
    with SandboxServer(sandbox) as http, serve_stream(sandbox) as ws:
        yield http, ws


def environment(http: SandboxServer, ws: WsSandboxServer) -> Any:
    """The production environment with every URL the tests touch moved to the sandbox."""
    config = dataclasses.replace(
        get_environment_config(PRODUCTION),
        clob_url=http.url,
        gamma_url=http.url + "/gamma",
        data_url=http.url + "/data-api",
        relayer_url=http.url + "/relayer",
        clob_market_ws_url=ws.url + "/ws/market",
        clob_user_ws_url=ws.url + "/ws/user",
    )
    return with_environment_config(PRODUCTION, config=config)


def rest_levels(http: SandboxServer, token: str) -> Levels:
    with urllib.request.urlopen(f"{http.url}/book?token_id={token}", timeout=5) as answer:  # noqa: S310
        book = json.loads(answer.read())
    return {
        side: {Decimal(lv["price"]): Decimal(lv["size"]) for lv in book[side]} for side in ("bids", "asks")
    }


def book_levels(event: MarketBookEvent) -> Levels:
    payload = event.payload
    return {
        "bids": {lv.price: lv.size for lv in payload.bids},
        "asks": {lv.price: lv.size for lv in payload.asks},
    }


async def next_event(handle: Any, kind: type, predicate: Any = lambda e: True) -> Any:
    """The next event of ``kind`` satisfying ``predicate`` (others are skipped)."""

    async def find() -> Any:
        async for event in handle:
            if isinstance(event, kind) and predicate(event):
                return event
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(find(), TIMEOUT)


def test_the_judge_is_the_pinned_release() -> None:
    assert polymarket.__version__ == POLYMARKET_CLIENT_VERSION


def test_the_sdk_market_stream_receives_the_sandbox_books_and_follows_them(
    sandbox: PolymarketSandbox, servers: tuple[SandboxServer, WsSandboxServer], wallet: tuple[str, str]
) -> None:
    http, ws = servers

    async def scenario() -> None:
        client = AsyncPublicClient(environment=environment(http, ws))
        tokens = [BILL_YES, BILL_NO, ALICE_YES]
        handle = await client.subscribe(MarketSpec(asset_ids=tokens, custom_feature_enabled=True))
        books: dict[str, Levels] = {}
        while len(books) < len(tokens):
            event = await next_event(handle, MarketBookEvent)
            books[event.payload.asset_id] = book_levels(event)
            assert event.payload.hash  # the summary's hash travels with it
        for token in tokens:
            assert books[token] == rest_levels(http, token)

        # Changes arrive as price_change levels (new totals); applied, they give the REST book.
        sandbox.set_book(BILL, [["0.40", "7"], ["0.45", "120"]], [["0.47", "55"], ["0.52", "9"]])
        change = await next_event(handle, MarketPriceChangeEvent)
        for entry in change.payload.price_changes:
            side = books[entry.asset_id]["bids" if entry.side == "BUY" else "asks"]
            if entry.size == 0:
                side.pop(entry.price, None)
            else:
                side[entry.price] = entry.size
        for token in (BILL_YES, BILL_NO):
            assert books[token] == rest_levels(http, token)
        top = {e.asset_id: (e.best_bid, e.best_ask) for e in change.payload.price_changes}
        assert top[BILL_YES] == (Decimal("0.45"), Decimal("0.47"))

        # A trade: last_trade_price for both tokens (the complement at 1 - p).
        key, address = wallet
        trader = await AsyncSecureClient.create(
            private_key=key, wallet=address, environment=environment(http, ws)
        )
        await trader.place_market_order(token_id=BILL_YES, side="BUY", amount="10", max_price="0.48")
        last = await next_event(handle, MarketLastTradePriceEvent, lambda e: e.payload.asset_id == BILL_NO)
        assert (last.payload.price, last.payload.side) == (Decimal("0.53"), "SELL")

        sandbox.set_tick_size(BILL, "0.001")
        tick = await next_event(handle, MarketTickSizeChangeEvent)
        assert (tick.payload.old_tick_size, tick.payload.new_tick_size) == (Decimal("0.01"), Decimal("0.001"))

        sandbox.resolve(BILL, winner=BILL_YES)
        resolved = await next_event(handle, MarketResolvedEvent)
        assert resolved.payload.winning_asset_id == BILL_YES
        assert client._market_manager is not None
        assert client._market_manager.dropped_events == 0  # nothing the SDK could not parse
        await handle.close()
        await trader.close()
        await client.close()

    asyncio.run(scenario())


def test_the_sdk_user_stream_reads_our_orders_and_trades(
    sandbox: PolymarketSandbox, servers: tuple[SandboxServer, WsSandboxServer]
) -> None:
    http, ws = servers
    account = Account.create()
    sandbox.add_account(account.address, 1000)

    async def scenario() -> None:
        client = await AsyncSecureClient.create(
            private_key="0x" + bytes(account.key).hex(),
            wallet=account.address,
            environment=environment(http, ws),
        )
        handle = await client.subscribe(UserSpec())
        assert ws.wait_for(lambda: any(t.startswith("user:") for c in ws.connections() for t in c.topics))
        resting = await client.place_limit_order(
            token_id=BILL_YES, side="BUY", price=Decimal("0.40"), size=Decimal("10")
        )
        placed = await next_event(handle, UserOrderEvent, lambda e: e.payload.order_event_type == "PLACEMENT")
        assert placed.payload.id == resting.order_id
        assert (placed.payload.status, placed.payload.size_matched) == ("LIVE", Decimal("0"))
        await client.cancel_order(order_id=resting.order_id)
        gone = await next_event(
            handle, UserOrderEvent, lambda e: e.payload.order_event_type == "CANCELLATION"
        )
        assert gone.payload.id == resting.order_id

        await client.place_market_order(token_id=BILL_YES, side="BUY", amount="10", max_price="0.48")
        trade = await next_event(handle, UserTradeEvent)
        assert (trade.payload.price, trade.payload.side, trade.payload.trader_side) == (
            Decimal("0.47"),
            "BUY",
            "TAKER",
        )
        assert trade.payload.status == "CONFIRMED"
        assert client._user_manager is not None
        assert client._user_manager.dropped_events == 0
        await handle.close()
        await client.close()

    asyncio.run(scenario())


@pytest.fixture
def wallet(sandbox: PolymarketSandbox) -> tuple[str, str]:
    account = Account.create()
    sandbox.add_account(account.address, 1000)
    return "0x" + bytes(account.key).hex(), account.address
