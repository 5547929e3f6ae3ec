"""One live trade in a subprocess, for the crash-recovery tests (``python -m tests.live.crash_worker``).

The test starts the sandboxes, passes their URLs, the credentials and a state directory
through the environment, and sets ``ARBKIT_TEST_CRASH_AT_STEP`` so the journal kills this
process with SIGKILL right after that many records.
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from pathlib import Path

from arbkit.executor import ExecutionConfig
from arbkit.live import RealTradingSystem
from arbkit.risk import BalanceCheck, RiskChain
from arbkit.store import JsonFileStore
from tests.live import scenarios as sc

#: Execution settings shared by the worker and the recovering test process.
CONFIG = ExecutionConfig(reconcile_seconds=0.3, unwind_step_pause_seconds=0.0, retry_pause_seconds=0.0)


def build(
    state_dir: Path, kalshi_url: str, poly_url: str, key_id: str, pem: str, poly_key: str, **kw: object
) -> RealTradingSystem:
    """The live system both processes use: same store, same journal, same clients."""
    return RealTradingSystem(
        initial_balance=Decimal(2000),
        store=JsonFileStore(state_dir / "real_trading_data.json"),
        risk=RiskChain([BalanceCheck()]),
        exchanges={
            "kalshi": sc.kalshi_client(kalshi_url, key_id, pem),
            "polymarket": sc.poly_client(poly_url, poly_key),
        },
        journal=state_dir / "journal.jsonl",
        execution=CONFIG,
        **kw,  # type: ignore[arg-type]
    )


def main() -> int:
    env = os.environ
    system = build(
        Path(env["LIVE_TEST_STATE_DIR"]),
        env["LIVE_TEST_KALSHI_URL"],
        env["LIVE_TEST_POLY_URL"],
        env["LIVE_TEST_KALSHI_KEY_ID"],
        Path(env["LIVE_TEST_KALSHI_PEM_FILE"]).read_text(),
        env["LIVE_TEST_POLY_KEY"],
        recover_on_start=False,
    )
    kalshi, poly = system.exchanges["kalshi"], system.exchanges["polymarket"]
    result = system.execute(sc.opportunity(kalshi, poly))  # type: ignore[arg-type]
    print(result.status)
    system.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
