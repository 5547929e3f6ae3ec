"""A streaming bot on each venue's sandbox survives every stream fault without trading a stale book.

The other side of the match is a static venue whose books never move. Each round injects one
fault of the sandbox's stream, moves the sandbox's book so the pair crosses, and evaluates
(``session.step()``) again and again until the stream has recovered and shows the sandbox's
book. The paper trading system checks, at the moment it is asked to trade, that every book of
the sandbox's venue it was given is the sandbox's book *now* (read over REST): a stale book
would fail that check.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from arbkit.bot import Bot
from arbkit.engine.matching import MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.models import BookKey, Market
from arbkit.sandbox import SandboxServer, WsFault
from arbkit.scanner import Scanner
from arbkit.streams import BookStore, StreamingSession
from arbkit.trading.paper import PaperTradingSystem
from arbkit.trading.records import Trade
from arbkit.trading.store import JsonFileStore
from arbkit.trading.system import BookIndex
from tests.core.test_trading_fakes import FakeExchange, binary_market
from tests.polymarket.conftest import KNICKS, NBA, ROCKETS, SCENARIO
from tests.streams.fakes import FakeStream

D = Decimal
NYK = "KXNBAGAME-26MAR31NYKHOU-NYK"
KALSHI_KEY = "3f1c2d4e-0000-4000-8000-00000000fa17"


class CheckedPaper(PaperTradingSystem):
    """Paper trading that records any book of ``venue`` differing from the sandbox's at trade time."""

    def __init__(self, venue: str, client: Any, **kw: Any) -> None:
        super().__init__(**kw)
        self.venue = venue
        self.client = client
        self.violations: list[str] = []
        self.rounds: list[int] = []
        self.round = 0

    def _execute(self, opportunity: Any, *, trade_id: str, now: datetime, books: BookIndex) -> Trade:
        for leg in opportunity.legs:
            if leg.exchange != self.venue:
                continue
            ours = books[(leg.exchange, leg.market.id, leg.outcome_id)]
            rest = self.client.order_book(leg.market, leg.outcome_id)
            if (ours.bids, ours.asks) != (rest.bids, rest.asks):
                self.violations.append(
                    f"round {self.round}: traded {ours.asks} while the venue had {rest.asks}"
                )
        self.rounds.append(self.round)
        return super()._execute(opportunity, trade_id=trade_id, now=now, books=books)


@attrs.define
class World:
    """One venue's sandbox and stream beside a static venue, and how to move the sandbox's book."""

    venue: str
    market_id: str
    outcomes: tuple[str, str]
    ws: Any
    session: StreamingSession
    paper: CheckedPaper
    calm: Callable[[], None]
    cross: Callable[[int, int], None]  # (round, extra level: 0 = none)
    faults: list[WsFault]


def match_with_static(venue: str, market_id: str, outcomes: tuple[str, str]) -> Any:
    def pair(markets: Mapping[str, Sequence[Market]]) -> list[MarketMatch]:
        market = next(m for m in markets.get(venue, ()) if m.id == market_id)
        static = markets["static"][0]
        return [
            MarketMatch(
                method="explicit",
                groups=[
                    OutcomeGroup("home", [OutcomeRef(market, outcomes[0]), OutcomeRef(static, "yes")]),
                    OutcomeGroup("away", [OutcomeRef(market, outcomes[1]), OutcomeRef(static, "no")]),
                ],
                confidence=D(1),
                title="Knicks vs. Rockets",
            )
        ]

    return pair


def start(
    venue: str, client: Any, stream: Any, market_id: str, outcomes: tuple[str, str], tmp: Path
) -> tuple[StreamingSession, CheckedPaper]:
    static = FakeExchange("static")
    static.add_market(binary_market("static", "S", title="Knicks vs. Rockets"))
    scanner = Scanner(
        {venue: client, "static": static},  # type: ignore[dict-item]
        bet_amount=D(100),
        matcher=match_with_static(venue, market_id, outcomes),
    )
    paper = CheckedPaper(venue, client, initial_balance=D(100_000), store=JsonFileStore(tmp / "paper.json"))
    bot = Bot(scanner, paper, allow_repeat=True)
    static_stream = FakeStream("static")
    session = StreamingSession(bot, {venue: stream, "static": static_stream}, store=BookStore())
    session.start(background=False)
    static_stream.push({"live": []})
    static_stream.push({"book": ["S", "yes", [["0.99", "1000"]]]})
    static_stream.push({"book": ["S", "no", [["0.50", "1000"]]]})
    return session, paper


@contextlib.contextmanager
def polymarket(tmp: Path) -> Iterator[World]:
    from arbkit_polymarket.client import PolymarketClient
    from arbkit_polymarket.sandbox import PolymarketSandbox
    from arbkit_polymarket.sandbox.stream import serve_stream

    sandbox = PolymarketSandbox()
    sandbox.load_scenario(json.loads(SCENARIO.read_text(), parse_float=Decimal))
    bids = [["0.30", "200"]]

    def calm() -> None:
        sandbox.set_book(NBA, bids, [["0.60", "200"]])

    def cross(n: int, extra: int) -> None:
        asks = [[f"0.4{n % 3}", "200"]] + ([["0.47", str(10 + extra)]] if extra else [])
        sandbox.set_book(NBA, bids, asks)  # Knicks under 0.50 crosses the static NO

    calm()
    with SandboxServer(sandbox) as http, serve_stream(sandbox, send_queue=64) as ws:
        client = PolymarketClient(base_url=http.url, gamma_url=http.url + "/gamma", max_retries=0)
        stream = fast_polymarket_stream(client, ws.url + "/ws")
        session, paper = start("polymarket", client, stream, NBA, (KNICKS, ROCKETS), tmp)
        path, topic = "/ws/market", "market:*"
        try:
            yield World(
                "polymarket", NBA, (KNICKS, ROCKETS), ws, session, paper, calm, cross, faults(path, topic)
            )
        finally:
            session.close()
            client.close()


@contextlib.contextmanager
def kalshi(tmp: Path) -> Iterator[World]:

    from arbkit_kalshi.client import KalshiClient
    from arbkit_kalshi.sandbox import KalshiSandbox, example_scenario
    from arbkit_kalshi.sandbox.accounts import new_account
    from arbkit_kalshi.sandbox.stream import WS_PATH, serve_stream

    account = new_account(KALSHI_KEY)
    pem, public = account.private_key_pem.reveal(), account.public_key_pem
    sandbox = KalshiSandbox()
    sandbox.load_scenario(example_scenario())
    sandbox.add_account(KALSHI_KEY, public, "1000")
    yes_bids = [["0.30", "500"]]

    def calm() -> None:
        sandbox.set_book(NYK, yes_bids=yes_bids, no_bids=[["0.40", "500"]])  # YES asks 0.60

    def cross(n: int, extra: int) -> None:
        # A NO bid added above the calm one (YES asks 0.40..0.38). The sandbox sends one delta per
        # level in price order, so replacing a level would pass through a state with both: levels
        # are only added and removed here, each change one delta.
        no_bids = [["0.40", "500"], [f"0.6{n % 3}", "500"]] + ([["0.55", str(10 + extra)]] if extra else [])
        sandbox.set_book(NYK, yes_bids=yes_bids, no_bids=no_bids)

    calm()
    with SandboxServer(sandbox) as http, serve_stream(sandbox, send_queue=64) as ws:
        client = KalshiClient(base_url=http.url, api_key_id=KALSHI_KEY, private_key=pem, rate_limit=None)
        client.transport.session.trust_env = False
        stream = fast_kalshi_stream(ws.url + WS_PATH, KALSHI_KEY, pem)
        session, paper = start("kalshi", client, stream, NYK, ("yes", "no"), tmp)
        try:
            yield World(
                "kalshi", NYK, ("yes", "no"), ws, session, paper, calm, cross, faults(WS_PATH, "orderbook:*")
            )
        finally:
            session.close()
            client.close()


def fast_kalshi_stream(url: str, key_id: str, pem: str) -> Any:
    """A Kalshi market-data stream with every timer short, for tests."""
    from arbkit_kalshi.stream import KalshiStream

    return KalshiStream(
        url=url,
        api_key_id=key_id,
        private_key=pem,
        proxy=None,
        user=False,
        idle_probe_s=0.3,
        probe_timeout_s=0.3,
        backoff_s=0.02,
        max_backoff_s=0.1,
        ping_interval_s=None,
    )


def fast_polymarket_stream(client: Any, url: str) -> Any:
    """A Polymarket stream with every timer short, for tests."""
    from arbkit_polymarket.stream import PolymarketStream

    return PolymarketStream(
        client=client,
        url=url,
        silence_timeout=0.3,
        resync_timeout=0.4,
        backoff_base=0.05,
        backoff_cap=0.2,
        seed=7,
    )


def faults(path: str, topic: str) -> list[WsFault]:
    return [
        WsFault("drop", path=path, now=True),
        WsFault("freeze", path=path, now=True),
        WsFault("gap", path=path, topic=topic),
        WsFault("duplicate", path=path, topic=topic),
        WsFault("bad_frame", path=path, topic=topic, replace=True),
        WsFault("slow_consumer", path=path, now=True),
    ]


def synced(world: World) -> bool:
    market = world.session.engine.matches[0].groups[0].refs[0].market
    for outcome in world.outcomes:
        key = BookKey(world.venue, world.market_id, outcome)
        ours = world.session.store.get(key)
        rest = world.paper.client.order_book(market, outcome)
        if ours is None or (ours.bids, ours.asks) != (rest.bids, rest.asks):
            return False
    return True


def evaluate_until_synced(world: World, timeout: float = 5.0) -> None:
    """Evaluate every change as it comes, as the engine's thread would, until the books are right."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        world.session.step(timeout=0.05)
        if synced(world):
            world.session.step()
            return
    raise AssertionError(f"{world.venue}: the stream did not recover the sandbox's book")


KINDS = ["drop", "freeze", "gap", "duplicate", "bad_frame", "slow_consumer"]
CASES = [
    pytest.param(venue, kind, id=f"{venue.__name__}-{kind}")
    for venue in (kalshi, polymarket)
    for kind in KINDS
]


@pytest.mark.parametrize(("venue", "kind"), CASES)
def test_a_stream_fault_is_survived_and_no_stale_book_is_traded(
    venue: Any, kind: str, tmp_path: Path
) -> None:
    with venue(tmp_path) as world:
        evaluate_until_synced(world)
        assert world.paper.rounds == []  # calm: nothing to trade
        (fault,) = [f for f in world.faults if f.kind == kind]
        for n in (1, 2):  # the fault, then a clean round after it
            world.paper.round = n
            if n == 1:
                world.ws.inject(fault)
            world.cross(n, 0)
            if n == 1 and kind in ("freeze", "slow_consumer"):  # more changes while nothing gets through
                world.cross(n, 1)
                world.cross(n, 2)
            evaluate_until_synced(world)
            world.ws.clear_faults()
            assert n in world.paper.rounds, f"round {n}: the crossing was never traded"
            # Back to calm one level at a time: the Kalshi sandbox sends one delta per level, so a
            # two-level change would pass through a state the venue never settled in.
            world.cross(n, 0)
            evaluate_until_synced(world)
            world.calm()
            evaluate_until_synced(world)
        assert world.paper.violations == []
        if kind != "duplicate":  # a duplicate may be harmless; every other fault is noticed
            assert world.session.store.errors()
