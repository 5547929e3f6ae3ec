"""The official Kalshi SDK as a benchmark baseline, run in its own interpreter.

``kalshi-python-sync`` 3.34 (the release with V2 orders, matching today's wire) needs
Python >= 3.13, so it is not installed beside arbkit (3.11); ``make test`` / ``make kalshi-sdk``
build ``.venv-kalshi-sdk`` with it. The baselines time themselves inside that interpreter
(:data:`RUNNER`), so process start-up is never charged to the SDK. Without that virtualenv
:func:`sdk_python` is ``None`` and the rows report no baseline.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["RUNNER", "run", "sdk_python"]

ROOT = Path(__file__).resolve().parents[1]

#: Executed by the SDK's interpreter: ``sign PEM_FILE CALLS`` or ``fetch HOST TICKERS_FILE REPEAT``.
RUNNER = r"""
import json, statistics, sys, time
mode = sys.argv[1]
if mode == "sign":
    from kalshi_python_sync.auth import KalshiAuth
    auth = KalshiAuth("key-id", open(sys.argv[2]).read())
    calls = int(sys.argv[3])
    auth.create_auth_headers("POST", "/trade-api/v2/portfolio/events/orders")
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            auth.create_auth_headers("POST", "/trade-api/v2/portfolio/events/orders")
        samples.append((time.perf_counter() - start) / calls)
    print(json.dumps({"seconds": statistics.median(samples)}))
else:
    from kalshi_python_sync.api.market_api import MarketApi
    from kalshi_python_sync.api_client import ApiClient
    from kalshi_python_sync.configuration import Configuration
    api = MarketApi(ApiClient(Configuration(host=sys.argv[2] + "/trade-api/v2")))
    tickers = json.load(open(sys.argv[3]))
    times = []
    for _ in range(int(sys.argv[4])):
        start = time.perf_counter()
        for ticker in tickers:
            api.get_market_orderbook(ticker)  # the typed, validating call
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": times}))
"""


def sdk_python() -> Path | None:
    """The SDK virtualenv's interpreter, if it was built."""
    configured = os.environ.get("ARBKIT_KALSHI_SDK_PYTHON")
    path = Path(configured) if configured else ROOT / ".venv-kalshi-sdk" / "bin" / "python"
    return path if path.exists() else None


def run(*args: str, timeout: float = 600) -> Any:
    """Run :data:`RUNNER` with ``args`` under the SDK's interpreter; its JSON answer."""
    python = sdk_python()
    if python is None:
        raise FileNotFoundError("the Kalshi SDK virtualenv is not built (make kalshi-sdk)")
    done = subprocess.run(
        [str(python), "-c", RUNNER, *args], capture_output=True, text=True, timeout=timeout, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
