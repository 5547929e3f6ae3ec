"""The ``arbkit`` command against the demo's sandboxes: what a user types and reads in a shell."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import arbkit
from arbkit.cli import main

from .conftest import Venues


@pytest.fixture
def shell_env(venues: Venues, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a shell pointed at the sandboxes (the same state folder as ``make_app``)."""
    env = venues.environment(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(["--env-file", os.devnull, *argv], out=out)
    return status, out.getvalue()


def test_exchanges_lists_the_installed_adapters() -> None:
    status, out = run("exchanges")
    assert status == 0
    assert out.split() == arbkit.exchanges()


def test_scan_prints_the_opportunities_as_a_table(shell_env: dict[str, str], venues: Venues) -> None:
    status, out = run("scan")
    assert status == 0
    lines = out.splitlines()
    assert "opportunities" in lines[0]
    found = int(lines[0].split(" opportunities")[0].split()[-1])
    assert found > 0
    header = lines[1].split()
    assert header[:2] == ["game", "/"]
    assert {"contracts", "cost", "fees", "profit", "roi"} <= set(header)
    rows = lines[3:]
    assert len(rows) == min(found, 20)
    assert all("%" in row and "$" in row for row in rows)
    assert any("kalshi:" in row and "polymarket:" in row for row in rows)


def test_scan_json_has_exact_amounts(shell_env: dict[str, str]) -> None:
    status, out = run("scan", "--json", "--limit", "2")
    assert status == 0
    body = json.loads(out)
    assert body["markets"] > 0
    assert 1 <= len(body["opportunities"]) <= 2
    first = body["opportunities"][0]
    assert isinstance(first["profit"], str)
    assert {leg["exchange"] for leg in first["legs"]} == {"kalshi", "polymarket"}


def test_scan_fails_when_no_venue_answers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KALSHI_BASE_URL", "http://127.0.0.1:9/trade-api/v2")
    monkeypatch.setenv("POLYMARKET_CLOB_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("POLYMARKET_GAMMA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ARBKIT_HTTP_TIMEOUT", "2")
    status, _ = run("scan")
    assert status == 1
    assert "error: kalshi" in capsys.readouterr().err


def test_status_shows_mode_state_folder_balance_limits_and_positions(
    shell_env: dict[str, str], make_app: Callable[..., object]
) -> None:
    app = make_app()
    app.test_client().post("/api/scan")  # type: ignore[attr-defined]
    status, out = run("status")
    assert status == 0
    assert "mode:          paper" in out
    assert f"state kept in: {Path(shell_env['ARBKIT_DATA_DIR']).resolve()}" in out
    assert "balance:" in out
    assert "max position" in out
    assert "no open positions" not in out  # the scan above opened paper trades
    assert "opened" in out
    assert "accounts:" not in out


def test_status_names_the_extra_accounts(shell_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBKIT_ACCOUNTS", "kalshi:hedge")
    status, out = run("status")
    assert status == 0
    assert "accounts:      each venue's default, kalshi:hedge" in out


def test_a_configuration_error_is_exit_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAPER_TRADING_BET_AMOUNT", "lots")
    status, _ = run("status")
    assert status == 2
    assert "PAPER_TRADING_BET_AMOUNT" in capsys.readouterr().err


def test_sandbox_runs_any_installed_venue_and_refuses_unknown_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("sandbox", "nowhere")[0] == 2
    assert "installed: kalshi, polymarket" in capsys.readouterr().err
    with pytest.raises(SystemExit) as help_exit:  # the sandbox's own parser answers --help
        run("sandbox", "kalshi", "--help")
    assert help_exit.value.code == 0
    assert "--port" in capsys.readouterr().out


@pytest.mark.slow
def test_the_installed_console_script_runs() -> None:
    script = Path(sys.executable).with_name("arbkit")
    done = subprocess.run([str(script), "exchanges"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == arbkit.exchanges()


def test_flatten_from_the_shell_needs_yes_then_sells_a_paper_position_back(
    shell_env: dict[str, str], make_app: Callable[..., object], capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app()
    app.test_client().post("/api/scan")  # type: ignore[attr-defined]
    state = app.test_client().get("/api/trading/state").get_json()  # type: ignore[attr-defined]
    trade_id = state["open_positions"][0]["id"]
    assert run("flatten", trade_id)[0] == 2
    assert "--yes" in capsys.readouterr().err
    status, out = run("flatten", trade_id, "--max-loss", "1000", "--yes")
    assert status == 0, capsys.readouterr().err
    assert f"{trade_id}: unwound" in out
    assert "back from sales" in out
    # The same folder's state holds it: a second flatten is refused with the reason.
    assert run("flatten", trade_id, "--yes")[0] == 1
    assert "holds no position" in capsys.readouterr().err
    assert run("flatten", trade_id, "--max-loss", "lots", "--yes")[0] == 2


def test_flatten_through_a_running_service(
    shell_env: dict[str, str], make_app: Callable[..., object], capsys: pytest.CaptureFixture[str]
) -> None:
    import threading

    from werkzeug.serving import make_server

    app = make_app()
    app.test_client().post("/api/scan")  # type: ignore[attr-defined]
    trade_id = app.test_client().get("/api/trading/state").get_json()["open_positions"][0]["id"]  # type: ignore[attr-defined]
    server = make_server("127.0.0.1", 0, app, threaded=True)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        status, out = run("flatten", trade_id, "--url", url, "--max-loss", "1000", "--yes")
        assert status == 0, capsys.readouterr().err
        assert f"{trade_id}: unwound" in out
        assert run("flatten", "no-such-trade", "--url", url, "--yes")[0] == 1
        assert "refused (404)" in capsys.readouterr().err
    finally:
        server.shutdown()
        thread.join()
