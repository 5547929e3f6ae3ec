"""A live streaming bot on both sandboxes survives every stream fault, never trading on a stale book.

Both venues' sandboxes serve REST and their WebSocket streams; a live trading system
(real signed orders) trades from the streamed books. Each case injects one fault into one
venue's stream, moves that venue's book so the pair crosses, and evaluates every change until
the stream shows the venue's book again. At the moment it is asked to trade, the system checks
that every book it was given is each venue's book *now* (read over REST); afterwards the store
agrees with both venues (reconciliation finds no difference).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from arbkit.bot import Bot
from arbkit.engine.matching import MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.models import Market
from arbkit.sandbox import SandboxServer
from arbkit.scanner import Scanner
from arbkit.streams import BookStore, StreamingSession
from arbkit.trading.execution.executor import ExecutionConfig
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.records import Trade
from arbkit.trading.risk import BalanceCheck, RiskChain, RiskContext, RiskDecision, RiskPolicy
from arbkit.trading.store import JsonFileStore
from arbkit.trading.system import BookIndex
from tests import scenarios as sc
from tests.polymarket.conftest import KNICKS, NBA, ROCKETS, SCENARIO
from tests.streams.test_faults_bot import KINDS, fast_kalshi_stream, fast_polymarket_stream, faults

D = Decimal
NYK = "KXNBAGAME-26MAR31NYKHOU-NYK"
KEY = "3f1c2d4e-0000-4000-8000-00000000fa18"
FAST = ExecutionConfig(
    max_unhedged_seconds=3.0, reconcile_seconds=0.3, unwind_step_pause_seconds=0.0, retry_pause_seconds=0.0
)


class OnePerRound(RiskPolicy):
    """Lets one trade through per armed round: our own fills move the books, and a bot allowed to
    repeat would otherwise trade on until the test's next book change races its own fills."""

    name = "one_per_round"

    def __init__(self) -> None:
        self.armed = False

    def check(self, opportunity: Any, context: RiskContext) -> RiskDecision:
        if not self.armed:
            return self.reject("not armed")
        self.armed = False
        return self.allow()


class CheckedLive(RealTradingSystem):
    """Live trading that records any book it is handed that differs from its venue's at trade time."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.violations: list[str] = []
        self.rounds: list[int] = []
        self.round = 0

    def _execute(self, opportunity: Any, *, trade_id: str, now: datetime, books: BookIndex) -> Trade:
        for leg in opportunity.legs:
            ours = books[(leg.exchange, leg.market.id, leg.outcome_id)]
            rest = self.client(leg.exchange).order_book(leg.market, leg.outcome_id)
            if (ours.bids, ours.asks) != (rest.bids, rest.asks):
                self.violations.append(
                    f"round {self.round}: {leg.exchange} {ours.asks} vs the venue's {rest.asks}"
                )
        self.rounds.append(self.round)
        return super()._execute(opportunity, trade_id=trade_id, now=now, books=books)


def _pair(markets: Mapping[str, Sequence[Market]]) -> list[MarketMatch]:
    kalshi = next(m for m in markets["kalshi"] if m.id == NYK)
    poly = next(m for m in markets["polymarket"] if m.id == NBA)
    return [
        MarketMatch(
            method="explicit",
            groups=[
                OutcomeGroup("New York", [OutcomeRef(kalshi, "yes"), OutcomeRef(poly, KNICKS)]),
                OutcomeGroup("Houston", [OutcomeRef(kalshi, "no"), OutcomeRef(poly, ROCKETS)]),
            ],
            confidence=D(1),
            title="New York at Houston",
        )
    ]


@attrs.define
class Live:
    session: StreamingSession
    system: CheckedLive
    ws: dict[str, Any]
    kalshi_app: Any
    poly_app: Any
    clients: dict[str, Any]

    @property
    def gate(self) -> OnePerRound:
        policy = self.system.risk.policies[-1]
        assert isinstance(policy, OnePerRound)
        return policy

    # Calm: Kalshi YES asks 0.60 / NO asks 0.70; Polymarket Knicks asks 0.60, Rockets asks 0.55.
    # A Kalshi crossing: YES asks 0.40 (+ Rockets 0.55 < 1); a Polymarket one: Knicks asks 0.2x
    # (+ Kalshi NO 0.70 < 1). Kalshi levels are only added or removed (one delta each).
    def calm(self) -> None:
        self.kalshi_app.set_book(NYK, yes_bids=[["0.30", "500"]], no_bids=[["0.40", "500"]])
        self.poly_app.set_book(NBA, [["0.45", "500"]], [["0.60", "500"]])

    def cross(self, venue: str, n: int) -> None:
        if venue == "kalshi":
            no_bids = [["0.40", "500"], [f"0.6{n % 3}", "500"]]
            self.kalshi_app.set_book(NYK, yes_bids=[["0.30", "500"]], no_bids=no_bids)
        else:
            self.poly_app.set_book(NBA, [["0.45", "500"]], [[f"0.2{n % 3}", "500"]])

    def synced(self) -> bool:
        match = self.session.engine.matches[0]
        for group in match.groups:
            for ref in group.refs:
                ours = self.session.store.get(ref.book_key)
                rest = self.clients[ref.market.exchange].order_book(ref.market, ref.outcome_id)
                if ours is None or (ours.bids, ours.asks) != (rest.bids, rest.asks):
                    return False
        return True

    def evaluate_until_synced(self, timeout: float = 8.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.session.step(timeout=0.05)
            if self.synced():
                self.session.step()
                return
        raise AssertionError("the streams did not recover the sandboxes' books")


@contextlib.contextmanager
def live(tmp: Path) -> Iterator[Live]:
    from arbkit_kalshi.client import KalshiClient
    from arbkit_kalshi.sandbox import KalshiSandbox, example_scenario
    from arbkit_kalshi.sandbox.stream import WS_PATH
    from arbkit_kalshi.sandbox.stream import serve_stream as kalshi_stream
    from arbkit_polymarket.client import PolymarketClient
    from arbkit_polymarket.sandbox import PolymarketSandbox
    from arbkit_polymarket.sandbox.stream import serve_stream as poly_stream

    k_account, wallet = sc.kalshi_accounts.new_account(KEY), sc.poly_account()
    pem = k_account.private_key_pem.reveal()
    kalshi_app = KalshiSandbox()
    kalshi_app.load_scenario(example_scenario())
    sc.kalshi_accounts.open_account(kalshi_app, balance="5000", account=k_account)
    poly_app = PolymarketSandbox()
    poly_app.load_scenario(json.loads(SCENARIO.read_text(), parse_float=Decimal))
    sc.poly_accounts.open_account(poly_app, balance=5000, account=wallet)
    with (
        SandboxServer(kalshi_app) as k_http,
        SandboxServer(poly_app) as p_http,
        kalshi_stream(kalshi_app, send_queue=64) as k_ws,
        poly_stream(poly_app, send_queue=64) as p_ws,
    ):
        kalshi = sc.kalshi_client(k_http.url, KEY, pem, timeout=2.0)
        poly = sc.poly_client(p_http.url, wallet.private_key.reveal(), timeout=2.0)
        assert isinstance(kalshi, KalshiClient)
        assert isinstance(poly, PolymarketClient)
        clients = {"kalshi": kalshi, "polymarket": poly}
        system = CheckedLive(
            initial_balance=D(10000),
            store=JsonFileStore(tmp / "real_trading_data.json"),
            risk=RiskChain([BalanceCheck(), OnePerRound()]),
            exchanges=clients,
            journal=tmp / "journal.jsonl",
            execution=FAST,
            recover_on_start=False,
        )
        scanner = Scanner(clients, bet_amount=D(50), matcher=_pair)  # type: ignore[arg-type]
        bot = Bot(scanner, system, allow_repeat=True)
        streams: dict[str, Any] = {
            "kalshi": fast_kalshi_stream(k_ws.url + WS_PATH, KEY, pem),
            "polymarket": fast_polymarket_stream(poly, p_ws.url + "/ws"),
        }
        session = StreamingSession(bot, streams, store=BookStore())
        world = Live(session, system, {"kalshi": k_ws, "polymarket": p_ws}, kalshi_app, poly_app, clients)
        world.calm()
        world.session.start(background=False)
        try:
            yield world
        finally:
            world.session.close()
            system.close()
            for client in clients.values():
                client.close()


CASES = [
    pytest.param(venue, kind, id=f"{venue}-{kind}") for venue in ("kalshi", "polymarket") for kind in KINDS
]


@pytest.mark.parametrize(("venue", "kind"), CASES)
def test_a_live_bot_survives_a_stream_fault_and_never_trades_a_stale_book(
    venue: str, kind: str, tmp_path: Path
) -> None:
    paths = {"kalshi": ("/trade-api/ws/v2", "orderbook:*"), "polymarket": ("/ws/market", "market:*")}
    with live(tmp_path) as world:
        world.evaluate_until_synced()
        assert world.system.rounds == []  # calm: nothing to trade
        (fault,) = [f for f in faults(*paths[venue]) if f.kind == kind]
        for n in (1, 2):  # the fault, then a clean round after it
            world.system.round = n
            world.gate.armed = True
            if n == 1:
                world.ws[venue].inject(fault)
            world.cross(venue, n)
            world.evaluate_until_synced()
            world.ws[venue].clear_faults()
            assert n in world.system.rounds, f"round {n}: the crossing was never traded"
            assert not world.gate.armed
            world.calm()
            world.evaluate_until_synced()
        assert world.system.violations == []
        report = world.system.reconcile()
        assert report.unresolved == ()
        assert [m for m in report.mismatches if m.kind != "cash"] == [], report.mismatches
        assert len(world.system.state().trade_history) >= 2  # one trade per round at least
