"""A streaming live bot acts at once on what the venues' user and lifecycle channels say."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from arbkit.bot import Bot
from arbkit.scanner import Scanner
from arbkit.streams import FeedState, StreamingSession
from arbkit.trading.records import LegStatus, TradeStatus
from arbkit_kalshi.sandbox.stream import WS_PATH, serve_stream
from arbkit_kalshi.stream import KalshiStream
from tests import scenarios as sc
from tests.live.checks import assert_matches_venues
from tests.live.conftest import SystemFactory, Venues

D = Decimal


def wait_for(condition: Any, what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


@pytest.fixture
def streaming(live_system: SystemFactory, venues: Venues) -> Iterator[tuple[Any, StreamingSession]]:
    """A live system on both sandboxes, and a session streaming Kalshi's user and lifecycle channels."""
    server = serve_stream(venues.kalshi_app)
    system = live_system()
    clients = system.exchanges
    bot = Bot(Scanner(dict(clients), bet_amount=D(100)), system)
    stream = KalshiStream(
        url=server.url + WS_PATH,
        api_key_id=venues.key_id,
        private_key=venues.private_pem,
        proxy=None,
        backoff_s=0.02,
        max_backoff_s=0.1,
    )
    session = StreamingSession(bot, {"kalshi": stream})
    session.start(background=False)
    try:
        wait_for(lambda: stream.status().state is FeedState.LIVE, "the Kalshi stream")
        yield system, session
    finally:
        session.close()
        server.stop()
        with venues.kalshi_app.lock:
            venues.kalshi_app.stream = None


def test_a_fill_the_venue_streams_for_an_undecided_order_is_reconciled_at_once(
    streaming: tuple[Any, StreamingSession], venues: Venues
) -> None:
    system, session = streaming
    # The venue takes the Kalshi order but every answer and every lookup fails: its fate is unknown.
    venues.fault("kalshi", "drop_after", times=None)
    venues.fault(
        "kalshi", "status", status=503, method="GET", path="/trade-api/v2/portfolio/orders*", times=None
    )
    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade
    assert trade is not None
    assert trade.legs[0].status is LegStatus.UNKNOWN
    assert trade.status is TradeStatus.EXPOSURE
    # The venue is reachable again; nobody calls reconcile(): the streamed fill is enough.
    venues.kalshi_app.faults.clear()
    assert session.followups is not None
    done = wait_for(
        lambda: (t := system.trade(trade.id)).legs[0].status is not LegStatus.UNKNOWN and t,
        "the unknown leg to be resolved",
    )
    assert session.followups.runs["reconcile"] >= 1
    assert done.legs[0].held_size == sc.SIZE  # the order the venue took is on the record
    assert_matches_venues(system, done, venues)


def test_a_resolution_the_venue_streams_settles_at_once(
    streaming: tuple[Any, StreamingSession], venues: Venues
) -> None:
    system, session = streaming
    trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade
    assert trade is not None
    assert trade.status is TradeStatus.OPEN
    venues.poly_app.resolve(sc.POLY_MARKET, winner=sc.KNICKS)
    venues.kalshi_app.resolve(sc.KALSHI_TICKER, "yes")  # streamed as a lifecycle event
    settled = wait_for(
        lambda: (t := system.trade(trade.id)).status is TradeStatus.SETTLED and t, "the settlement"
    )
    assert session.followups is not None
    assert session.followups.runs["settle"] >= 1
    assert settled.realised_pnl is not None


def test_an_undecided_order_of_a_second_account_is_followed_up_on_that_account(
    live_system: SystemFactory, venues: Venues
) -> None:
    """The stream of the hedge account's user channel says the order filled; the follow-up
    reconciles, and the leg is looked up with the hedge account's client (the default account
    never had the order)."""
    hedge = venues.with_hedge(kalshi=D(1500), poly=D(0))  # the Kalshi leg goes to the hedge
    server = serve_stream(venues.kalshi_app)
    system = live_system(
        exchanges={
            "kalshi": venues.kalshi(),
            "kalshi:hedge": venues.kalshi_hedge(),
            "polymarket": venues.poly(),
        }
    )
    bot = Bot(Scanner(dict(system.exchanges), bet_amount=D(100)), system)
    stream = KalshiStream(
        url=server.url + WS_PATH,
        api_key_id=hedge.key_id,
        private_key=hedge.private_pem,
        proxy=None,
        backoff_s=0.02,
        max_backoff_s=0.1,
    )
    session = StreamingSession(bot, {"kalshi": stream})
    session.start(background=False)
    try:
        wait_for(lambda: stream.status().state is FeedState.LIVE, "the Kalshi stream")
        venues.fault("kalshi", "drop_after", times=None)
        venues.fault(
            "kalshi", "status", status=503, method="GET", path="/trade-api/v2/portfolio/orders*", times=None
        )
        trade = system.execute(sc.opportunity(venues.kalshi(), venues.poly())).trade
        assert trade is not None
        assert trade.legs[0].account == "hedge"
        assert trade.legs[0].status is LegStatus.UNKNOWN
        venues.kalshi_app.faults.clear()
        done = wait_for(
            lambda: (t := system.trade(trade.id)).legs[0].status is not LegStatus.UNKNOWN and t,
            "the unknown leg to be resolved",
        )
        assert session.followups is not None
        assert session.followups.runs["reconcile"] >= 1
        assert done.legs[0].held_size == sc.SIZE == venues.kalshi_position(hedge=True)
        assert venues.kalshi_position() == 0
        assert system.reconcile().mismatches == ()
    finally:
        session.close()
        server.stop()
        with venues.kalshi_app.lock:
            venues.kalshi_app.stream = None
