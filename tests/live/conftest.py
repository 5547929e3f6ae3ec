"""Both sandboxes on loopback for the whole session, reset for every test, and live systems on them."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from eth_account import Account

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
from tests.live import scenarios as sc

KEY_ID = "5b7e0f3a-0000-4000-8000-00000000c0de"
#: Fast, sleep-free execution for tests: short reconcile window, no pause between unwind steps.
FAST = ExecutionConfig(
    max_unhedged_seconds=5.0, reconcile_seconds=0.3, unwind_step_pause_seconds=0.0, retry_pause_seconds=0.0
)


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

    # -- the venues' own state ------------------------------------------------------------
    def kalshi_position(self) -> Decimal:
        with self.kalshi_app.lock:
            pos = self.kalshi_app.engine.accounts[self.key_id].positions.get(sc.KALSHI_TICKER)
            return pos.position if pos else Decimal(0)

    def poly_tokens(self) -> Decimal:
        return self.poly_app.tokens_of(self.poly_address, sc.ROCKETS)

    def kalshi_cash(self) -> Decimal:
        return self.kalshi_app.balance_of(self.key_id)

    def poly_cash(self) -> Decimal:
        return self.poly_app.balance_of(self.poly_address)

    def kalshi_orders(self) -> list[Any]:
        with self.kalshi_app.lock:
            return [o for o in self.kalshi_app.engine.orders.values() if o.account == self.key_id]

    def poly_orders(self) -> list[Any]:
        with self.poly_app.lock:
            return [
                o
                for o in self.poly_app.engine.orders.values()
                if o.maker.lower() == self.poly_address.lower()
            ]

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
    private_pem, public_pem = sc.pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    wallet = Account.create()
    return private_pem, public_pem, "0x" + bytes(wallet.key).hex(), wallet.address


@pytest.fixture
def venues(_servers: Any, _keys: tuple[str, str, str, str]) -> Iterator[Venues]:
    """Both sandboxes reset to the test scenarios, with funded accounts."""
    kalshi_app, k_server, poly_app, p_server = _servers
    found = Venues(kalshi_app, poly_app, k_server.url, p_server.url, KEY_ID, *_keys)
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
