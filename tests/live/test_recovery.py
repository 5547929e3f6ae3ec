"""Crash recovery: a subprocess trading live is killed with SIGKILL after each journal step;
``recover()`` then yields the positions the sandboxes hold, with no order placed twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from arbkit.trading.execution.journal import Journal
from arbkit.trading.records import TradeStatus
from tests.live.checks import assert_journal_consistent, assert_matches_venues
from tests.live.conftest import Venues
from tests.live.crash_worker import build

ROOT = Path(__file__).parents[2]
#: scenario -> journal records of an uninterrupted run (intent, 2 results, [unwind order, result], final).
STEPS = {"all_filled": 4, "second_venue_rejects": 6}


def run_worker(venues: Venues, state_dir: Path, crash_at: int) -> int:
    pem_file = state_dir / "kalshi.pem"
    pem_file.write_text(venues.private_pem)
    env = {
        **os.environ,
        "LIVE_TEST_CRASH_AT": str(crash_at),
        "LIVE_TEST_STATE_DIR": str(state_dir),
        "LIVE_TEST_KALSHI_URL": venues.kalshi_url,
        "LIVE_TEST_POLY_URL": venues.poly_url,
        "LIVE_TEST_KALSHI_KEY_ID": venues.key_id,
        "LIVE_TEST_KALSHI_PEM_FILE": str(pem_file),
        "LIVE_TEST_POLY_KEY": venues.poly_key,
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.live.crash_worker"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    return done.returncode


@pytest.mark.parametrize(
    ("scenario", "crash_at"), [(name, step) for name, steps in STEPS.items() for step in range(1, steps + 1)]
)
def test_killed_at_any_journal_step_recovers_to_what_the_venues_hold(
    tmp_path: Path, venues: Venues, scenario: str, crash_at: int
) -> None:
    if scenario == "second_venue_rejects":
        venues.fault("polymarket", "reject")
    returncode = run_worker(venues, tmp_path, crash_at)
    assert returncode == -signal.SIGKILL
    assert len(Journal(tmp_path / "journal.jsonl").records()) == crash_at

    system = build(
        tmp_path,
        venues.kalshi_url,
        venues.poly_url,
        venues.key_id,
        venues.private_pem,
        venues.poly_key,
        recover_on_start=True,
    )
    try:
        trades = system.state().trade_history
        assert len(trades) == 1
        trade = trades[0]
        assert_matches_venues(system, trade, venues)
        assert_journal_consistent(system, trade)
        assert trade.status in (TradeStatus.OPEN, TradeStatus.UNWOUND, TradeStatus.NO_FILL)
        # Killed after the intent, the orders may or may not have left the process: not being
        # found is not taken for "not placed", so recovery fences each by re-sending the very
        # same order (same client order id; on Polymarket the same signed order, so the same
        # hash) and the venues take each at most once: the trade completes. After both results
        # the outcome is the uninterrupted one.
        if crash_at == 1 and scenario == "all_filled":
            assert trade.status is TradeStatus.OPEN
        if scenario == "all_filled" and crash_at > 2:
            assert trade.status is TradeStatus.OPEN
        if scenario == "second_venue_rejects" and crash_at != 2:
            assert trade.status is TradeStatus.UNWOUND
            assert trade.legs[0].unwound_size == Decimal(10)
        assert system.state().balance == Decimal(2000) - trade.total_cost + trade.unwind_proceeds
        assert system.recover() == []  # nothing left to do, nothing done twice
        assert len(system.state().trade_history) == 1
    finally:
        system.close()
