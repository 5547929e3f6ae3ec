"""RealTradingSystem: credentials, the start banner, balances per venue, limits under concurrency, errors."""

from __future__ import annotations

import logging
import threading
from decimal import Decimal
from pathlib import Path

import pytest

import arbkit.trading.system
from arbkit.config import Settings
from arbkit.errors import ConfigError
from arbkit.exchange import Exchange
from arbkit.trading.live import BANNER, RealTradingSystem
from arbkit.trading.records import TradeResult, TradeStatus
from arbkit.trading.risk import BalanceCheck, MaxDailyTrades, RiskChain
from arbkit.trading.store import JsonFileStore
from arbkit.trading.system import TradingSystem
from arbkit_kalshi.client import KalshiClient
from arbkit_polymarket.client import PolymarketClient
from tests import scenarios as sc
from tests.live.conftest import SystemFactory, Venues

D = Decimal


def test_refuses_to_start_without_credentials_naming_each_venue(tmp_path: Path, venues: Venues) -> None:
    bare: dict[str, Exchange] = {
        "kalshi": KalshiClient(base_url=venues.kalshi_url, rate_limit=None),
        "polymarket": PolymarketClient(base_url=venues.poly_url, gamma_url=venues.poly_url + "/gamma"),
    }
    with pytest.raises(ConfigError) as refused:
        RealTradingSystem(
            initial_balance=D(100),
            store=JsonFileStore(tmp_path / "real_trading_data.json"),
            exchanges=bare,
            journal=tmp_path / "journal.jsonl",
        )
    message = str(refused.value)
    assert "kalshi" in message
    assert "polymarket" in message
    assert "POLYMARKET_PRIVATE_KEY" in message
    assert sum(venues.kalshi_app.requests.values()) == 0  # refused before anything was sent


def test_refuses_to_start_from_settings_without_credentials(tmp_path: Path, venues: Venues) -> None:
    settings = Settings.from_mapping(
        {
            "LIVE_TRADING": "true",
            "ARBKIT_EXCHANGES": "kalshi",
            "KALSHI_BASE_URL": venues.kalshi_url,
            "ARBKIT_DATA_DIR": str(tmp_path),
        }
    )
    with pytest.raises(ConfigError, match="kalshi"):
        RealTradingSystem.from_settings(settings)


def test_logs_the_live_banner_once_at_start(
    live_system: SystemFactory, venues: Venues, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        system = live_system()
        system.execute(sc.opportunity(venues.kalshi(), venues.poly()))
        system.state()
    banners = [r for r in caplog.records if r.getMessage() == BANNER]
    assert len(banners) == 1
    assert banners[0].levelno == logging.WARNING


def test_is_the_trading_system_polymix_called_real_trading_system(live_system: SystemFactory) -> None:
    system = live_system()
    assert isinstance(system, TradingSystem)
    assert arbkit.RealTradingSystem is RealTradingSystem
    assert system.mode == "live"


def test_balance_is_verified_against_each_venue_before_trading(
    live_system: SystemFactory, venues: Venues
) -> None:
    system = live_system()
    with venues.kalshi_app.lock:
        venues.kalshi_app.engine.accounts[venues.key_id].balance = D("2.50")
    result = system.execute(sc.opportunity(venues.kalshi(), venues.poly()))
    assert result.rejected
    assert result.trade is None
    assert any("kalshi needs $4.17, has $2.50" in reason for reason in result.reasons)
    assert venues.order_posts("kalshi") == venues.order_posts("polymarket") == 0


def test_a_venue_whose_balance_cannot_be_read_refuses_the_trade(
    live_system: SystemFactory, venues: Venues
) -> None:
    system = live_system()
    venues.fault("polymarket", "status", method="GET", path="/balance-allowance", status=503, times=None)
    result = system.execute(sc.opportunity(venues.kalshi(), venues.poly()))
    assert result.rejected
    assert any("polymarket balance unknown" in reason for reason in result.reasons)
    errors = system.state().recent_errors
    assert errors[-1].venue == "polymarket"
    assert errors[-1].operation == "balance"
    assert venues.order_posts("polymarket") == 0


def test_parallel_opportunities_never_exceed_the_daily_trade_limit(
    live_system: SystemFactory, venues: Venues
) -> None:
    system = live_system(risk=RiskChain([MaxDailyTrades(2), BalanceCheck()]))
    opportunity = sc.opportunity(venues.kalshi(), venues.poly(), size=D(5))
    start = threading.Barrier(6)
    results: list[TradeResult] = []

    def trade() -> None:
        start.wait()
        results.append(system.execute(opportunity))

    threads = [threading.Thread(target=trade) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    executed = [r for r in results if r.executed]
    assert len(executed) == 2
    assert all(r.status is TradeStatus.OPEN for r in executed)
    assert all("daily trade limit" in r.reasons[0] for r in results if not r.executed)
    assert venues.kalshi_position() == venues.poly_tokens() == D(10)
    assert system.state().daily_trades == 2


def test_errors_are_kept_with_venue_operation_and_code(live_system: SystemFactory, venues: Venues) -> None:
    system = live_system()
    venues.fault("kalshi", "reject", message="price band exceeded")
    system.execute(sc.opportunity(venues.kalshi(), venues.poly()))
    error = next(e for e in system.state().recent_errors if e.venue == "kalshi")
    assert error.operation.startswith("place order ")
    assert error.code == "invalid_order"
    assert "price band exceeded" in error.message
    for n in range(150):
        system.record_error(RuntimeError(f"error {n}"), venue="kalshi", operation="test")
    kept = system.state().recent_errors
    assert len(kept) == 100
    assert kept[-1].message == "error 149"
