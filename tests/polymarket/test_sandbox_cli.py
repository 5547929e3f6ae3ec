"""``python -m arbkit_polymarket.sandbox`` runs standalone, prints its URLs and stops cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import requests


@pytest.mark.slow
def test_standalone_sandbox_serves_the_example_scenario() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "arbkit_polymarket.sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "Polymarket sandbox (2 markets) on http://127.0.0.1:" in first
        url = first.rsplit(" ", 1)[-1].strip()
        events = requests.get(url + "/gamma/events/keyset", params={"closed": "false"}, timeout=5).json()
        assert [e["slug"] for e in events["events"]] == ["nba-nyk-hou-2026-03-31", "fed-decision-in-june"]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
