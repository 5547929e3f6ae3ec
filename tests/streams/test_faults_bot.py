"""A streaming bot on the Polymarket sandbox survives every stream fault without trading a stale book.

The other side of the match is a static venue whose books never move. Each round injects one
fault of the sandbox's stream, moves the sandbox's book so the pair crosses, and evaluates
(``session.step()``) again and again until the stream has recovered and shows the sandbox's
book. The paper trading system checks, at the moment it is asked to trade, that every
Polymarket book it was given is the sandbox's book *now* (read over REST): a stale book
would fail that check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arbkit.bot import Bot
from arbkit.matching import MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.models import Market
from arbkit.paper import BookIndex
from arbkit.sandbox import SandboxServer, WsFault
from arbkit.scanner import Scanner
from arbkit.store import JsonFileStore
from arbkit.streams import BookStore, StreamingSession
from arbkit.trade import Trade
from arbkit.trading import PaperTradingSystem
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.sandbox import PolymarketSandbox
from arbkit_polymarket.sandbox.stream import serve_stream
from arbkit_polymarket.stream import PolymarketStream
from tests.core.test_trading_fakes import FakeExchange, binary_market
from tests.polymarket.conftest import KNICKS, NBA, ROCKETS, SCENARIO
from tests.streams.fakes import FakeStream

D = Decimal
CALM = [["0.60", "200"]]
BIDS = [["0.30", "200"]]


class CheckedPaper(PaperTradingSystem):
    """Paper trading that records any Polymarket book differing from the sandbox's at trade time."""

    def __init__(self, client: PolymarketClient, **kw: Any) -> None:
        super().__init__(**kw)
        self.client = client
        self.violations: list[str] = []
        self.rounds: list[int] = []
        self.round = 0

    def _execute(self, opportunity: Any, *, trade_id: str, now: datetime, books: BookIndex) -> Trade:
        for leg in opportunity.legs:
            if leg.exchange != "polymarket":
                continue
            ours = books[(leg.exchange, leg.market.id, leg.outcome_id)]
            rest = self.client.order_book(leg.market, leg.outcome_id)
            if (ours.bids, ours.asks) != (rest.bids, rest.asks):
                self.violations.append(
                    f"round {self.round}: traded {ours.asks} while the venue had {rest.asks}"
                )
        self.rounds.append(self.round)
        return super()._execute(opportunity, trade_id=trade_id, now=now, books=books)


def pair(markets: Mapping[str, Sequence[Market]]) -> list[MarketMatch]:
    poly = next(m for m in markets.get("polymarket", ()) if m.id == NBA)
    static = markets["static"][0]
    return [
        MarketMatch(
            method="explicit",
            groups=[
                OutcomeGroup("Knicks", [OutcomeRef(poly, KNICKS), OutcomeRef(static, "yes")]),
                OutcomeGroup("Rockets", [OutcomeRef(poly, ROCKETS), OutcomeRef(static, "no")]),
            ],
            confidence=D(1),
            title="Knicks vs. Rockets",
        )
    ]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[PolymarketSandbox, Any, StreamingSession, CheckedPaper]]:
    sandbox = PolymarketSandbox()
    sandbox.load_scenario(json.loads(SCENARIO.read_text(), parse_float=Decimal))
    sandbox.set_book(NBA, BIDS, CALM)
    with SandboxServer(sandbox) as http, serve_stream(sandbox, send_queue=64) as ws:
        client = PolymarketClient(clob_url=http.url, gamma_url=http.url + "/gamma", max_retries=0)
        static = FakeExchange("static")
        static.add_market(binary_market("static", "S", title="Knicks vs. Rockets"))
        scanner = Scanner({"polymarket": client, "static": static}, bet_amount=D(100), matcher=pair)  # type: ignore[dict-item]
        paper = CheckedPaper(client, initial_balance=D(100_000), store=JsonFileStore(tmp_path / "paper.json"))
        bot = Bot(scanner, paper, allow_repeat=True)
        poly_stream = PolymarketStream(
            client,
            ws_url=ws.url + "/ws",
            silence_timeout=0.3,
            resync_timeout=0.4,
            backoff_base=0.05,
            backoff_cap=0.2,
            seed=7,
        )
        static_stream = FakeStream("static")
        session = StreamingSession(
            bot, {"polymarket": poly_stream, "static": static_stream}, store=BookStore()
        )
        session.start(background=False)
        static_stream.push({"live": []})
        static_stream.push({"book": ["S", "yes", [["0.99", "1000"]]]})
        static_stream.push({"book": ["S", "no", [["0.50", "1000"]]]})
        try:
            yield sandbox, ws, session, paper
        finally:
            session.close()
            client.close()


def synced(session: StreamingSession, paper: CheckedPaper) -> bool:
    for token in (KNICKS, ROCKETS):
        ours = session.store.get((NBA, token))
        if ours is None:
            return False
        market = session.engine.matches[0].groups[0].refs[0].market
        rest = paper.client.order_book(market, token)
        if (ours.bids, ours.asks) != (rest.bids, rest.asks):
            return False
    return True


def evaluate_until_synced(session: StreamingSession, paper: CheckedPaper, timeout: float = 8.0) -> None:
    """Evaluate every change as it comes, as the engine's thread would, until the books are right."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.step(timeout=0.05)
        if synced(session, paper):
            session.step()
            return
    raise AssertionError("the stream did not recover the sandbox's book")


FAULTS = [
    WsFault("drop", path="/ws/market", now=True),
    WsFault("freeze", path="/ws/market", now=True),
    WsFault("gap", path="/ws/market", topic="market:*"),
    WsFault("duplicate", path="/ws/market", topic="market:*"),
    WsFault("bad_frame", path="/ws/market", topic="market:*", replace=True),
    WsFault("slow_consumer", path="/ws/market", now=True),
]


def test_every_stream_fault_is_survived_and_no_stale_book_is_traded(world: Any) -> None:
    sandbox, ws, session, paper = world
    evaluate_until_synced(session, paper)
    assert paper.rounds == []  # calm: nothing to trade
    for n, fault in enumerate(FAULTS, start=1):
        paper.round = n
        ws.inject(fault)
        sandbox.set_book(NBA, BIDS, [[f"0.4{n % 3}", "200"]])  # crosses the static NO at 0.50
        if fault.kind in ("freeze", "slow_consumer"):
            for _ in range(2):
                sandbox.set_book(NBA, BIDS, [[f"0.4{n % 3}", "200"], ["0.47", str(10 + _)]])
        evaluate_until_synced(session, paper)
        ws.clear_faults()
        assert n in paper.rounds, f"{fault.kind}: the crossing was never traded"
        sandbox.set_book(NBA, BIDS, CALM)
        evaluate_until_synced(session, paper)
    assert paper.violations == []
    assert (
        len(session.store.errors()) >= len(FAULTS) - 1
    )  # each fault was noticed (a duplicate may be harmless)
