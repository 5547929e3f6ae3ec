"""Stream faults injected by the sandbox: each marks the books stale, resynchronises, ends live and right."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Sequence
from typing import Any

from arbkit.errors import InvalidResponse, NetworkError
from arbkit.models import Market, MarketStatus, Outcome
from arbkit.sandbox.faults import Fault
from arbkit.sandbox.ws import WsFault
from arbkit.streams import FeedState
from arbkit.streams.books import BookStore
from arbkit_polymarket.sandbox import PolymarketSandbox

from .conftest import FED, KNICKS, NBA
from .streaming import Venue, levels, same_as_rest, until, venue, wait_same_as_rest

#: The example scenario's NBA house book: bids 0.44 x 250, 0.45 x 120; asks 0.47 x 80, 0.48 x 200.
BIDS = [["0.44", "250"], ["0.45", "120"]]
ASKS = [["0.47", "80"], ["0.48", "200"]]


def control(v: Venue, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(v.http.url + path, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback sandbox
        return json.loads(answer.read())


def went_stale_then_live(v: Venue, market_id: str) -> bool:
    events = list(v.sink.events)
    stale = [i for i, e in enumerate(events) if e[0] == "stale" and market_id in e[1]]
    return bool(stale) and any(e[0] == "live" and market_id in e[1] for e in events[stale[0] + 1 :])


def test_a_dropped_connection_goes_stale_reconnects_and_resubscribes(sandbox: PolymarketSandbox) -> None:
    with venue(sandbox, backoff_base=0.3, backoff_cap=0.3) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        answer = control(
            v, "POST", "/_sandbox/stream/faults", {"kind": "drop", "path": "/ws/market", "now": True}
        )
        assert answer["faults"][0]["kind"] == "drop"
        assert v.sink.wait(lambda: bool(v.sink.stale_reasons()))
        v.sandbox.set_book(NBA, [["0.40", "10"]], [["0.52", "10"]])  # while the socket is down
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        assert went_stale_then_live(v, NBA)
        assert "disconnected" in v.sink.stale_reasons()[0]
        assert any(isinstance(e, NetworkError) for e, _ in v.sink.errors)
        status = v.stream.status()
        assert (status.state, status.reconnects) == (FeedState.LIVE, 1)
        assert control(v, "GET", "/_sandbox/stream")["accepted"] == 2


def test_a_frozen_feed_is_caught_by_the_rest_cross_check_and_replaced(sandbox: PolymarketSandbox) -> None:
    with venue(sandbox, silence_timeout=0.3, resync_timeout=0.4) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        v.ws.inject(WsFault("freeze", path="/ws/market", now=True))  # open, silent, even to PING
        v.sandbox.set_book(NBA, [["0.41", "10"]], [["0.50", "10"]])
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        assert went_stale_then_live(v, NBA)
        assert "REST book differs" in v.sink.stale_reasons()[0]
        assert v.stream.status().reconnects >= 1  # the redrive got no snapshot: a new socket did


def test_a_quiet_market_is_not_stale(sandbox: PolymarketSandbox) -> None:
    with venue(sandbox, silence_timeout=0.1) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        checks, first = v.sandbox.requests["POST /books"], v.sink.books[("polymarket", NBA, KNICKS)].timestamp
        assert until(lambda: v.sandbox.requests["POST /books"] >= checks + 3)  # three silences checked
        assert v.sink.stale_reasons() == []
        assert (
            v.sink.books[("polymarket", NBA, KNICKS)].timestamp > first
        )  # re-confirmed by REST, so fresh again
        assert v.stream.status().state is FeedState.LIVE


def test_a_bad_frame_is_an_error_and_a_resync_not_a_crash(sandbox: PolymarketSandbox) -> None:
    with venue(sandbox) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        v.ws.inject(
            WsFault("bad_frame", path="/ws/market", topic=f"market:{NBA}", text='{"event_type": "pri')
        )
        v.sandbox.set_book(NBA, [["0.42", "10"]], ASKS)
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        assert went_stale_then_live(v, NBA)
        assert "unreadable frame" in v.sink.stale_reasons()[0]
        assert any(isinstance(e, InvalidResponse) for e, _ in v.sink.errors)
        assert v.stream.status().reconnects == 0  # a redrive on the same socket sufficed


def test_a_skipped_price_change_is_found_by_the_book_hash(sandbox: PolymarketSandbox) -> None:
    with venue(sandbox) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        v.ws.inject(WsFault("gap", path="/ws/market", topic=f"market:{NBA}"))
        # Both changes are deep in the book: the top of book cannot tell that one was lost.
        v.sandbox.set_book(NBA, [["0.44", "300"], ["0.45", "120"]], ASKS)
        v.sandbox.set_book(NBA, [["0.44", "300"], ["0.45", "120"]], [["0.47", "80"], ["0.48", "150"]])
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        assert went_stale_then_live(v, NBA)
        assert "book hash" in v.sink.stale_reasons()[0]


def test_a_skipped_change_at_the_top_is_found_by_best_bid_and_ask(sandbox: PolymarketSandbox) -> None:
    with venue(sandbox, check_hash=False) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        v.ws.inject(WsFault("gap", path="/ws/market", topic=f"market:{NBA}"))
        v.sandbox.set_book(NBA, [["0.44", "250"], ["0.46", "5"]], ASKS)  # a new best bid, lost
        v.sandbox.set_book(NBA, [["0.44", "250"], ["0.46", "5"]], [["0.47", "80"], ["0.48", "150"]])
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        assert "disagrees with the venue's top" in v.sink.stale_reasons()[0]


def test_a_duplicated_frame_changes_nothing(sandbox: PolymarketSandbox) -> None:
    with venue(sandbox) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        v.ws.inject(WsFault("duplicate", path="/ws/market", topic=f"market:{NBA}"))
        v.sandbox.set_book(NBA, [["0.43", "10"]], ASKS)
        v.sandbox.set_book(NBA, [["0.43", "11"]], ASKS)
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        assert v.sink.stale_reasons() == []  # new totals twice are the same totals


def test_a_slow_consumer_dropped_by_the_venue_comes_back_whole(sandbox: PolymarketSandbox) -> None:
    with venue(sandbox, ws_options={"send_queue": 4}) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        v.ws.inject(WsFault("slow_consumer", path="/ws/market", now=True))
        for size in range(10, 20):
            v.sandbox.set_book(NBA, [["0.43", str(size)]], ASKS)
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        assert went_stale_then_live(v, NBA)
        assert v.stream.status().reconnects == 1


def test_a_socket_without_pong_is_replaced(sandbox: PolymarketSandbox) -> None:
    with venue(sandbox, ping_interval=0.05, pong_timeout=0.25, silence_timeout=60) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        v.ws.inject(WsFault("freeze", path="/ws/market", now=True, seconds=0.6))
        assert v.sink.wait(lambda: bool(v.sink.stale_reasons()))
        assert "no PONG" in v.sink.stale_reasons()[0]
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        assert v.stream.status().reconnects >= 1


def test_a_token_the_venue_never_books_is_given_up_without_disturbing_the_rest(
    sandbox: PolymarketSandbox,
) -> None:
    ghost = Market(
        "polymarket",
        "0x" + "77" * 32,
        "Ghost",
        (Outcome("777", "Yes"), Outcome("778", "No")),
        MarketStatus.OPEN,
    )
    with venue(sandbox, resync_timeout=0.4) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        v.stream.subscribe([ghost])
        assert v.sink.wait(lambda: any("no book for 2 token" in str(e) for e, _ in v.sink.errors))
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        reconnects = v.stream.status().reconnects
        assert reconnects <= 4  # two by design (redrive, replace, give up), more only on a slow box
        assert not until(lambda: v.stream.status().reconnects > reconnects, timeout=1.2)  # it settled
        assert v.stream.status().state is FeedState.STALE  # the ghost market is never whole
        assert ghost.id not in v.sink.live_markets


class _Watch(BookStore):
    """The core's BookStore, noting whether any book of a market reported stale stayed usable."""

    def __init__(self) -> None:
        super().__init__(default_cadence=None)
        self.violations: list[str] = []

    def stale(self, exchange: str, market_ids: Sequence[str], reason: str) -> None:
        super().stale(exchange, market_ids, reason)
        with_books = [k for k in self.books() if k[0] in market_ids]
        self.violations.extend(f"{k} usable after stale" for k in with_books)


def test_the_core_book_store_offers_no_book_between_stale_and_its_fresh_snapshot(
    sandbox: PolymarketSandbox,
) -> None:
    store = _Watch()
    with venue(sandbox, forward=store) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        keys = list(v.client.order_books(v.markets))
        assert all(store.usable(k) for k in keys)
        for step, fault in enumerate(
            (
                WsFault("gap", path="/ws/market", topic=f"market:{NBA}"),
                WsFault("bad_frame", path="/ws/market", topic=f"market:{NBA}"),
                WsFault("drop", path="/ws/market", topic=f"market:{NBA}"),
            )
        ):
            stale = len(v.sink.stale_reasons())
            v.ws.inject(fault)
            # Deep changes only (the gap must be found by the hash); the first is the one faulted.
            v.sandbox.set_book(NBA, [["0.43", str(10 + step)], *BIDS], ASKS)
            v.sandbox.set_book(NBA, [["0.43", str(10 + step)], *BIDS], [*ASKS, ["0.49", str(20 + step)]])
            assert v.sink.wait(lambda: len(v.sink.stale_reasons()) > stale)  # noqa: B023
            assert wait_same_as_rest(v.sink, v.client, v.markets)
            assert until(lambda: all(store.usable(k) for k in keys))
        assert store.violations == []
        rest = v.client.order_books(v.markets)
        assert {k: levels(store.books()[k]) for k in keys} == {k: levels(b) for k, b in rest.items()}


def test_one_market_frozen_while_another_flows_is_caught_per_market(sandbox: PolymarketSandbox) -> None:
    with venue(sandbox, silence_timeout=0.6, resync_timeout=0.3) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        # The venue stops sending one market (its change and the first re-snapshot are lost) ...
        v.ws.inject(WsFault("gap", path="/ws/market", topic=f"market:{NBA}", times=2))
        v.sandbox.set_book(NBA, [["0.41", "10"]], [["0.50", "10"]])
        # ... while the other keeps changing, so the socket as a whole is never silent.
        tick = threading.Event()
        for size in range(100, 200):
            v.sandbox.set_book(FED, [["0.300", str(size)]], [["0.330", "50"]])
            if v.sink.stale_reasons() and same_as_rest(v.sink, v.client, v.markets):
                break
            tick.wait(0.03)  # pacing the other market's activity, not synchronisation
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        stale = [e for e in v.sink.events if e[0] == "stale"]
        assert [e[1] for e in stale] == [(NBA,)]  # the flowing market was never in doubt
        assert "REST book differs" in stale[0][2]


def test_markets_spread_over_connections_fail_and_recover_apart(sandbox: PolymarketSandbox) -> None:
    with venue(sandbox, max_assets=2) as v:  # two tokens per connection: a market each
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        assert len(v.ws.connections("/ws/market")) == 2
        v.ws.inject(WsFault("drop", path="/ws/market", topic=f"market:{NBA}"))
        v.sandbox.set_book(NBA, [["0.42", "10"]], ASKS)  # the frame that drops NBA's socket
        assert v.sink.wait(lambda: bool(v.sink.stale_reasons()))
        v.sandbox.set_book(FED, [["0.301", "7"]], [["0.330", "50"]])
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        assert [e[1] for e in v.sink.events if e[0] == "stale"] == [(NBA,)]  # FED's socket went on
        status = v.stream.status()
        assert (status.state, status.reconnects, status.subscribed) == (FeedState.LIVE, 1, 2)


def test_a_quiet_market_whose_rest_check_fails_is_not_rechecked_every_tick(
    sandbox: PolymarketSandbox,
) -> None:
    with venue(sandbox, silence_timeout=0.2) as v:
        assert wait_same_as_rest(v.sink, v.client, v.markets)
        confirmed = v.sink.book_calls
        v.sandbox.faults.add(Fault("status", method="POST", path="/books", times=None, status=503))
        assert v.sink.wait(lambda: any(op == "stream cross-check" for _, op in v.sink.errors))
        assert not until(lambda: sum(op == "stream cross-check" for _, op in v.sink.errors) > 2, timeout=0.3)
        assert v.sink.book_calls == confirmed  # nothing re-delivered without REST's word
        assert v.sink.stale_reasons() == []
