"""The user channel against the sandbox: our orders and fills as REST reports them, L2 credentials."""

from __future__ import annotations

import logging
from decimal import Decimal

import attrs
import pytest
from eth_account import Account

from arbkit.config import Secret
from arbkit.errors import AuthenticationError
from arbkit.models import OrderRequest, OrderStatus, Side
from arbkit.sandbox.ws import WsFault
from arbkit.streams import FeedState
from arbkit_polymarket.auth import ApiCredentials
from arbkit_polymarket.sandbox import PolymarketSandbox

from .conftest import KNICKS, NBA, make_client
from .streaming import until, venue

D = Decimal


def test_our_orders_and_fills_arrive_as_rest_reports_them(
    sandbox: PolymarketSandbox, wallet: tuple[str, str]
) -> None:
    with venue(sandbox, wallet[0]) as v:
        nba = next(m for m in v.markets if m.id == NBA)
        credentials = v.client.api_credentials()
        assert v.ws.wait_subscribed(f"user:{credentials.api_key}")
        resting = v.client.place_order(OrderRequest(nba, KNICKS, Side.BUY, D("0.40"), D("10")))
        taken = v.client.place_order(
            OrderRequest(nba, KNICKS, Side.BUY, D("0.48"), D("100"), time_in_force="IOC")
        )
        canceled = v.client.cancel_order(resting.id)
        assert v.sink.wait(lambda: len(v.sink.fills) == 2 and len(v.sink.orders) >= 3)
        last = {o.id: o for o in v.sink.orders}
        for order_id in (resting.id, taken.id):
            assert last[order_id] == v.client.get_order(order_id)
        assert last[resting.id].status is OrderStatus.CANCELED == canceled.status
        assert [o.raw_status for o in v.sink.orders if o.id == resting.id] == ["LIVE", "CANCELED"]
        rest_fills = sorted(v.client.fills(market=nba), key=lambda f: str(f.fill_id))
        assert sorted(v.sink.fills, key=lambda f: str(f.fill_id)) == rest_fills
        assert {(f.price, f.size) for f in rest_fills} == {(D("0.47"), D("80")), (D("0.48"), D("20"))}
        assert all(f.fee > 0 and f.is_taker for f in rest_fills)


def test_a_maker_hears_of_its_fills_as_its_rest_trades_say(
    sandbox: PolymarketSandbox, wallet: tuple[str, str]
) -> None:
    taker = Account.create()
    sandbox.add_account(taker.address, 1000)
    sandbox.give_tokens(taker.address, KNICKS, 100)
    with venue(sandbox, wallet[0]) as v:
        nba = next(m for m in v.markets if m.id == NBA)
        assert v.ws.wait_subscribed(f"user:{v.client.api_credentials().api_key}")
        maker_order = v.client.place_order(OrderRequest(nba, KNICKS, Side.BUY, D("0.46"), D("10")))
        other = make_client(v.http, "0x" + bytes(taker.key).hex())
        other.place_order(OrderRequest(nba, KNICKS, Side.SELL, D("0.46"), D("10"), time_in_force="IOC"))
        other.close()
        assert v.sink.wait(lambda: bool(v.sink.fills))
        (fill,) = v.sink.fills
        assert (fill.order_id, fill.is_taker, fill.fee) == (maker_order.id, False, 0)
        assert v.sink.fills == v.client.fills(market=nba)
        assert v.sink.wait(lambda: v.sink.orders[-1].status is OrderStatus.FILLED)
        assert [o.raw_status for o in v.sink.orders] == ["LIVE", "MATCHED"]  # placed, then filled
        assert v.sink.orders[-1] == v.client.get_order(maker_order.id)


def test_refused_credentials_are_an_authentication_error_and_no_retry_storm(
    sandbox: PolymarketSandbox, wallet: tuple[str, str]
) -> None:
    wrong = ApiCredentials("not-a-key", Secret("c2VjcmV0LXNlY3JldA=="), Secret("never-printed"))
    with venue(sandbox, wallet[0], credentials=wrong) as v:
        assert v.sink.wait(lambda: any(isinstance(e, AuthenticationError) for e, _ in v.sink.errors))
        assert not v.ws.subscribers("user:not-a-key")
        assert v.sink.wait(lambda: v.stream.status().state is FeedState.LIVE)  # the market side streams
        assert until(lambda: v.stream.status().reason == "user channel stopped: credentials refused")
        user_connections = v.ws.accepted  # both channels have connected by now
        text = "".join(str(e) for e, _ in v.sink.errors) + repr(wrong)
        assert "never-printed" not in text
        assert "c2VjcmV0LXNlY3JldA==" not in text
        assert not until(lambda: v.ws.accepted > user_connections, timeout=0.5)


def test_a_real_key_with_a_wrong_secret_is_refused(
    sandbox: PolymarketSandbox, wallet: tuple[str, str]
) -> None:
    with venue(sandbox, wallet[0], user=False) as v:
        good = v.client.api_credentials()
    forged = attrs.evolve(good, secret=Secret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
    with venue(sandbox, wallet[0], credentials=forged) as v:
        assert v.sink.wait(lambda: any(isinstance(e, AuthenticationError) for e, _ in v.sink.errors))
        assert not v.ws.subscribers(f"user:{good.api_key}")


def test_a_fill_made_while_the_user_socket_was_down_is_reported_once(
    sandbox: PolymarketSandbox, wallet: tuple[str, str]
) -> None:
    with venue(sandbox, wallet[0], backoff_base=0.4, backoff_cap=0.4) as v:
        nba = next(m for m in v.markets if m.id == NBA)
        topic = f"user:{v.client.api_credentials().api_key}"
        assert v.ws.wait_subscribed(topic)
        v.ws.inject(WsFault("drop", path="/ws/user", now=True))
        assert until(lambda: not v.ws.subscribers(topic))
        reads = v.sandbox.requests["GET /data/trades"]
        v.client.place_order(OrderRequest(nba, KNICKS, Side.BUY, D("0.47"), D("10"), time_in_force="IOC"))
        assert v.ws.wait_subscribed(topic)
        assert v.sink.wait(lambda: bool(v.sink.fills))
        assert v.sandbox.requests["GET /data/trades"] == reads + 1  # the socket missed it; REST did not
        assert v.sink.fills == v.client.fills(market=nba)


def test_no_log_shows_the_secret_the_subscribe_frame_carries(
    sandbox: PolymarketSandbox, wallet: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, the websockets library's frame logs included
    with venue(sandbox, wallet[0]) as v:
        credentials = v.client.api_credentials()
        assert v.ws.wait_subscribed(f"user:{credentials.api_key}")
        v.ws.inject(WsFault("drop", path="/ws/user", now=True))  # a reconnect sends it again
        assert until(lambda: v.stream.status().reconnects >= 1)
        assert v.ws.wait_subscribed(f"user:{credentials.api_key}")
    # The client's side only (the sandbox's own server logs what it receives).
    ours = [r for r in caplog.records if not r.name.startswith(("websockets.server", "arbkit.sandbox"))]
    assert ours  # the capture did see the stream's logging
    logged = "\n".join(r.getMessage() for r in ours)
    assert '"auth"' not in logged  # not even websockets' shortened frame log
    assert credentials.secret.reveal()[:10] not in logged
    assert credentials.passphrase.reveal()[:10] not in logged
