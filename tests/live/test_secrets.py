"""Secrets: a full live run on both sandboxes with sentinel credentials leaks none of them."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
from eth_account import Account

from arbkit.config import Settings
from arbkit.errors import ArbkitError
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.risk import BalanceCheck, RiskChain
from arbkit_polymarket.crypto import checksum
from tests.live import scenarios as sc
from tests.live.conftest import Venues

POLY_PRIVATE_KEY = "0x" + "5e" * 32
POLY_API_KEY = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
POLY_API_SECRET = base64.urlsafe_b64encode(b"SENTINEL-poly-api-secret-0001!!").decode()
POLY_PASSPHRASE = "SENTINEL-poly-passphrase-8d41c7"
KALSHI_KEY_ID = "SENTINEL-kalshi-key-id-3f9a71"


def test_sentinel_credentials_appear_in_no_log_file_error_or_exception(
    tmp_path: Path, venues: Venues, caplog: pytest.LogCaptureFixture
) -> None:
    address = Account.from_key(POLY_PRIVATE_KEY).address
    venues.poly_app.add_account(address, 1000)
    venues.poly_app.api_keys[POLY_API_KEY] = {
        "address": checksum(address),
        "nonce": 0,
        "secret": POLY_API_SECRET,
        "passphrase": POLY_PASSPHRASE,
    }
    venues.kalshi_app.add_account(KALSHI_KEY_ID, venues.public_pem, 1000)
    pem_body = venues.private_pem.splitlines()[3]
    sentinels = [
        KALSHI_KEY_ID,
        pem_body,
        POLY_PRIVATE_KEY,
        POLY_PRIVATE_KEY[2:],
        POLY_API_SECRET,
        POLY_PASSPHRASE,
    ]
    settings = Settings.from_mapping(
        {
            "LIVE_TRADING": "true",
            "ARBKIT_DATA_DIR": str(tmp_path),
            "KALSHI_BASE_URL": venues.kalshi_url,
            "KALSHI_API_KEY": KALSHI_KEY_ID,
            "KALSHI_SECRET": venues.private_pem,
            "POLYMARKET_CLOB_URL": venues.poly_url,
            "POLYMARKET_GAMMA_URL": venues.poly_url + "/gamma",
            "POLYMARKET_PRIVATE_KEY": POLY_PRIVATE_KEY,
            "POLYMARKET_API_KEY": POLY_API_KEY,
            "POLYMARKET_API_SECRET": POLY_API_SECRET,
            "POLYMARKET_API_PASSPHRASE": POLY_PASSPHRASE,
        }
    )
    seen: list[str] = []
    caplog.set_level(logging.DEBUG)
    system = RealTradingSystem.from_settings(settings, risk=RiskChain([BalanceCheck()]))
    try:
        kalshi, poly = system.client("kalshi"), system.client("polymarket")
        opportunity = sc.opportunity(kalshi, poly)  # type: ignore[arg-type]
        results = [system.execute(opportunity)]  # filled
        venues.fault("kalshi", "reject")
        results.append(system.execute(opportunity))  # rejected, the other leg unwound
        venues.fault("polymarket", "status_after", status=500)
        results.append(system.execute(opportunity))  # outcome unknown, reconciled
        venues.fault("kalshi", "status", method="GET", path="*/portfolio/balance", status=401, times=None)
        results.append(system.execute(opportunity))  # balance refused: fails closed
        venues.kalshi_app.faults.clear()
        venues.poly_app.api_keys[POLY_API_KEY]["passphrase"] = "changed"
        try:
            poly.balance()
        except ArbkitError as exc:
            seen.append(str(exc))
            seen.append(repr(exc))
        seen.extend(f"{r.error} {r.reasons}" for r in results)
        state = system.state()
        seen.append(json.dumps(state.to_dict(history_limit=None)))
        seen.extend(f"{e.message} {e.code}" for e in state.recent_errors)
        seen.extend([repr(system), repr(settings), repr(kalshi), repr(poly), str(settings)])
        assert [r.status for r in results[:3]] == ["open", "unwound", "open"]
        assert results[3].rejected
    finally:
        system.close()
    seen.extend(record.getMessage() for record in caplog.records)
    seen.append(caplog.text)
    files = list(tmp_path.iterdir())
    assert {f.name for f in files} >= {"real_trading_data.json", "live_trading_journal.jsonl"}
    seen.extend(f.read_text() for f in files)
    assert any("urllib3" in r.name for r in caplog.records), "DEBUG transport logs were captured"
    for text in seen:
        for sentinel in sentinels:
            assert sentinel not in text
