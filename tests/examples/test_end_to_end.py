"""End to end: the sandboxes (with the demo driver) and the service as subprocesses, observed over HTTP."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from examples.demo.__main__ import child_environment, demo_environment

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0


class Process:
    """A subprocess whose output lines are read by a thread, so waits can have deadlines."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = DEADLINE) -> re.Match[str]:
        end = time.monotonic() + timeout
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0 or (self.popen.poll() is not None and self.lines.empty()):
                raise AssertionError(f"{pattern!r} never appeared; output:\n{''.join(self.seen)[-3000:]}")
            try:
                line = self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            raise


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in reversed(started):
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait()


def poll(url: str, ready: Callable[[dict[str, Any]], bool], timeout: float = DEADLINE) -> dict[str, Any]:
    """GET ``url`` until ``ready(body)``; polling (not a fixed sleep) bounded by a deadline."""
    end = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < end:
        body = requests.get(url, timeout=5).json()
        if ready(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{url} never got ready; last: {json.dumps(body)[:2000]}")


@pytest.mark.slow
def test_the_service_paper_trades_and_settles_against_the_sandboxes(
    tmp_path: Path, processes: list[Process]
) -> None:
    sandboxes = Process(
        [
            "-m",
            "examples.demo.sandboxes",
            "--kalshi-port=0",
            "--polymarket-port=0",
            "--time-scale=0.05",  # the first game resolves 5 s in
            "--tick=0.5",
        ],
        child_environment({}),
    )
    processes.append(sandboxes)
    urls = json.loads(sandboxes.wait_for(r"^\{.*\}$").group(0))
    settings = demo_environment(urls["kalshi_base_url"], urls["polymarket"], tmp_path)
    service = Process(
        [
            "-m",
            "examples.polymix",
            "--port=0",
            f"--env-file={tmp_path / 'absent.env'}",
            "--monitor-seconds=0.5",
            "--settlement-seconds=0.5",
            "--market-refresh-seconds=2",
        ],
        child_environment(settings),
    )
    processes.append(service)
    base = service.wait_for(r"on (http://127\.0\.0\.1:\d+)").group(1)

    assert requests.get(base + "/api/trading/mode", timeout=5).json()["mode"] == "paper"
    traded = poll(base + "/api/trading/state", lambda s: len(s["trades"]) >= 4)
    assert {t["status"] for t in traded["trades"]} <= {"open", "settled"}
    settled = poll(base + "/api/trading/state", lambda s: bool(s["pnl_history"]))
    done = [t for t in settled["trades"] if t["status"] == "settled"]
    assert done
    assert float(settled["realised_pnl"]) > 0
    assert float(settled["balance"]) > 0
    assert requests.get(base + "/api/health", timeout=5).json()["status"] == "ok"
    assert requests.get(base + "/", timeout=5).status_code == 200

    assert service.stop() == 0
    service.wait_for(r"^stopped")
    assert sandboxes.stop() == 0
    sandboxes.wait_for(r"sandboxes stopped")
    # The state survived on disk for the next start.
    saved = json.loads((tmp_path / "paper_trading_data.json").read_text())
    assert len(saved["trades"]) >= len(settled["trades"])
    assert any(t["status"] == "settled" for t in saved["trades"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_the_demo_restarts_a_killed_service_on_the_same_sandboxes_and_never_deletes_state(
    tmp_path: Path, processes: list[Process]
) -> None:
    workdir = tmp_path / "demo"
    ports = [f"--port={_free_port()}", f"--kalshi-port={_free_port()}", f"--polymarket-port={_free_port()}"]
    demo = Process(["-m", "examples.demo", *ports, f"--workdir={workdir}"], child_environment({}))
    processes.append(demo)
    pid = int(demo.wait_for(r"service pid (\d+)").group(1))
    base = demo.wait_for(r"on (http://127\.0\.0\.1:\d+)").group(1)
    before = poll(base + "/api/trading/state", lambda s: len(s["trades"]) >= 1)

    os.kill(pid, signal.SIGKILL)  # the crash a rehearsal is for
    demo.wait_for(r"the service exited \(-9\); restarting it")
    restarted = int(demo.wait_for(r"service pid (\d+)").group(1))
    assert restarted != pid
    demo.wait_for(r"on (http://127\.0\.0\.1:\d+)")
    after = poll(base + "/api/trading/state", lambda s: len(s["trades"]) >= len(before["trades"]))
    kept = {t["id"] for t in before["trades"]}
    assert kept <= {t["id"] for t in after["trades"]}  # same state folder, same sandboxes

    assert demo.stop() == 0
    demo.wait_for(r"demo stopped")
    first_run = json.loads((workdir / "data" / "paper_trading_data.json").read_text())

    again = Process(
        ["-m", "examples.demo", *ports, f"--workdir={workdir}", "--no-restart"], child_environment({})
    )
    processes.append(again)
    moved = Path(again.wait_for(r"state was moved to (\S+)").group(1))
    assert json.loads((moved / "paper_trading_data.json").read_text()) == first_run
    again.wait_for(r"service pid \d+")
    assert again.stop() == 0
