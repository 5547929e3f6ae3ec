"""Both sandboxes on loopback for the whole session, reset for every test, and live systems on them."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from arbkit.sandbox import Fault, SandboxServer
from arbkit.trading.execution.executor import ExecutionConfig
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.risk import BalanceCheck, RiskChain
from arbkit.trading.store import JsonFileStore
from arbkit_kalshi.client import KalshiClient
from arbkit_kalshi.sandbox import KalshiSandbox
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.sandbox import PolymarketSandbox
from arbkit_polymarket.sandbox.engine import Engine as PolyEngine
from tests import scenarios as sc

KEY_ID = "5b7e0f3a-0000-4000-8000-00000000c0de"
#: The API key id of the second ("hedge") Kalshi account.
HEDGE_KEY_ID = "5b7e0f3a-0000-4000-8000-00000000beef"
#: Fast, sleep-free execution for tests: short reconcile window, no pause between unwind steps.
FAST = ExecutionConfig(
    max_unhedged_seconds=5.0, reconcile_seconds=0.3, unwind_step_pause_seconds=0.0, retry_pause_seconds=0.0
)


@attrs.frozen
class HedgeKeys:
    """A second account on each venue: a Kalshi API key (RSA pair) and a Polymarket wallet."""

    key_id: str
    private_pem: str
    public_pem: str
    poly_key: str
    poly_address: str


@attrs.define
class Venues:
    """Both sandboxes, the account credentials, and helpers that read the venues' own state."""

    kalshi_app: KalshiSandbox
    poly_app: PolymarketSandbox
    kalshi_url: str
    poly_url: str
    key_id: str
    private_pem: str
    public_pem: str
    poly_key: str
    poly_address: str
    clients: list[Any] = attrs.field(factory=list)
    #: The second account on each venue, funded by :meth:`with_hedge` (and again by every reset).
    hedge: HedgeKeys | None = None
    hedge_funds: tuple[Decimal, Decimal] | None = None

    def with_hedge(self, kalshi: Decimal = sc.KALSHI_BALANCE, poly: Decimal = sc.POLY_BALANCE) -> HedgeKeys:
        """Fund the second ("hedge") account on both venues; each reset funds it again."""
        assert self.hedge is not None
        self.hedge_funds = (Decimal(kalshi), Decimal(poly))
        self._fund_hedge()
        return self.hedge

    def _fund_hedge(self) -> None:
        if self.hedge is None or self.hedge_funds is None:
            return
        self.kalshi_app.add_account(self.hedge.key_id, self.hedge.public_pem, self.hedge_funds[0])
        self.poly_app.add_account(self.hedge.poly_address, self.hedge_funds[1])

    def kalshi_hedge(self, **kw: Any) -> KalshiClient:
        """A client of the second Kalshi account."""
        assert self.hedge is not None
        client = sc.kalshi_client(self.kalshi_url, self.hedge.key_id, self.hedge.private_pem, **kw)
        self.clients.append(client)
        return client

    def poly_hedge(self, **kw: Any) -> PolymarketClient:
        """A client of the second Polymarket wallet."""
        assert self.hedge is not None
        client = sc.poly_client(self.poly_url, self.hedge.poly_key, **kw)
        self.clients.append(client)
        return client

    def reset(self) -> None:
        """Fresh markets, books, accounts and no faults on both venues."""
        for app in (self.kalshi_app, self.poly_app):
            app.faults.clear()
            app.requests.clear()
            app.handled.clear()
        self.kalshi_app.load_scenario(sc.kalshi_scenario())
        self.kalshi_app.add_account(self.key_id, self.public_pem, sc.KALSHI_BALANCE)
        with self.poly_app.lock:
            self.poly_app.engine = PolyEngine()
        self.poly_app.load_scenario(sc.poly_scenario())
        self.poly_app.add_account(self.poly_address, sc.POLY_BALANCE)
        self._fund_hedge()

    def kalshi(self, **kw: Any) -> KalshiClient:
        client = sc.kalshi_client(self.kalshi_url, self.key_id, self.private_pem, **kw)
        self.clients.append(client)
        return client

    def poly(self, **kw: Any) -> PolymarketClient:
        client = sc.poly_client(self.poly_url, self.poly_key, **kw)
        self.clients.append(client)
        return client

    def fault(self, venue: str, kind: str, **kw: Any) -> None:
        """Inject a fault on the venue's order POST (or ``path=``/``method=`` if given)."""
        app = self.kalshi_app if venue == "kalshi" else self.poly_app
        path = sc.KALSHI_ORDER_PATTERN if venue == "kalshi" else sc.POLY_ORDERS
        kw.setdefault("method", "POST")
        kw.setdefault("path", path)
        app.faults.add(Fault(kind, **kw))

    # -- the venues' own state (of the first account; ``hedge=True``: of the second) ------
    def _kalshi_key(self, hedge: bool) -> str:
        return self.hedge.key_id if hedge and self.hedge is not None else self.key_id

    def _poly_address(self, hedge: bool) -> str:
        return self.hedge.poly_address if hedge and self.hedge is not None else self.poly_address

    def kalshi_position(self, *, hedge: bool = False) -> Decimal:
        with self.kalshi_app.lock:
            account = self.kalshi_app.engine.accounts[self._kalshi_key(hedge)]
            pos = account.positions.get(sc.KALSHI_TICKER)
            return pos.position if pos else Decimal(0)

    def poly_tokens(self, *, hedge: bool = False) -> Decimal:
        return self.poly_app.tokens_of(self._poly_address(hedge), sc.ROCKETS)

    def kalshi_cash(self, *, hedge: bool = False) -> Decimal:
        return self.kalshi_app.balance_of(self._kalshi_key(hedge))

    def poly_cash(self, *, hedge: bool = False) -> Decimal:
        return self.poly_app.balance_of(self._poly_address(hedge))

    def kalshi_orders(self, *, hedge: bool = False) -> list[Any]:
        key = self._kalshi_key(hedge)
        with self.kalshi_app.lock:
            return [o for o in self.kalshi_app.engine.orders.values() if o.account == key]

    def poly_orders(self, *, hedge: bool = False) -> list[Any]:
        address = self._poly_address(hedge).lower()
        with self.poly_app.lock:
            return [o for o in self.poly_app.engine.orders.values() if o.maker.lower() == address]

    def order_posts(self, venue: str) -> int:
        """Order placements the venue received (old and new Kalshi order paths alike)."""
        app = self.kalshi_app if venue == "kalshi" else self.poly_app
        pattern = "POST " + (sc.KALSHI_ORDER_PATTERN if venue == "kalshi" else sc.POLY_ORDERS)
        return sum(n for key, n in app.requests.items() if fnmatch.fnmatchcase(key, pattern))


@pytest.fixture(scope="session")
def _servers() -> Iterator[tuple[KalshiSandbox, SandboxServer, PolymarketSandbox, SandboxServer]]:
    kalshi_app, poly_app = KalshiSandbox(), PolymarketSandbox()
    with SandboxServer(kalshi_app) as k_server, SandboxServer(poly_app) as p_server:
        yield kalshi_app, k_server, poly_app, p_server


@pytest.fixture(scope="session")
def _keys() -> tuple[str, str, str, str]:
    kalshi, wallet = sc.kalshi_account(), sc.poly_account()
    return kalshi.private_key_pem.reveal(), kalshi.public_key_pem, wallet.private_key.reveal(), wallet.address


@pytest.fixture(scope="session")
def _hedge_keys() -> HedgeKeys:
    kalshi, wallet = sc.kalshi_account(), sc.poly_account()
    return HedgeKeys(
        HEDGE_KEY_ID,
        kalshi.private_key_pem.reveal(),
        kalshi.public_key_pem,
        wallet.private_key.reveal(),
        wallet.address,
    )


@pytest.fixture
def venues(_servers: Any, _keys: tuple[str, str, str, str], _hedge_keys: HedgeKeys) -> Iterator[Venues]:
    """Both sandboxes reset to the test scenarios, with funded accounts (a second account on
    each venue is funded by ``venues.with_hedge()``)."""
    kalshi_app, k_server, poly_app, p_server = _servers
    found = Venues(kalshi_app, poly_app, k_server.url, p_server.url, KEY_ID, *_keys, hedge=_hedge_keys)
    found.reset()
    yield found
    for client in found.clients:
        client.close()


SystemFactory = Callable[..., RealTradingSystem]


@pytest.fixture
def live_system(tmp_path: Path, venues: Venues) -> Iterator[SystemFactory]:
    """Build a :class:`RealTradingSystem` on both sandboxes (balance check only, fast config)."""
    built: list[RealTradingSystem] = []

    def build(**kw: Any) -> RealTradingSystem:
        kw.setdefault("initial_balance", Decimal(2000))
        kw.setdefault("store", JsonFileStore(tmp_path / "real_trading_data.json"))
        kw.setdefault("risk", RiskChain([BalanceCheck()]))
        kw.setdefault("exchanges", {"kalshi": venues.kalshi(), "polymarket": venues.poly()})
        kw.setdefault("journal", tmp_path / "journal.jsonl")
        kw.setdefault("execution", FAST)
        kw.setdefault("recover_on_start", False)
        system = RealTradingSystem(**kw)
        built.append(system)
        return system

    yield build
    for system in built:
        system.close()
