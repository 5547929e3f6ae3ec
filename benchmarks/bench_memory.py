"""Memory benchmark: peak RSS of the PolyMix service with 5,000+ markets per venue loaded and scanned.

The markets are the demo's generated games (``examples.demo.scenario.generated_games``):
Polymarket lists all of them (5,068 markets), Kalshi the first games up to 5,000 markets, so
each venue lists 5,000+ markets and about half of Polymarket's have a match on Kalshi. Both
sandboxes run in their own process, so their memory is not counted. Each measurement is a fresh child process
that reports its own peak resident set (``VmHWM`` in ``/proc/self/status``; ``ru_maxrss``
where there is no ``/proc``):

* **service**: ``create_app(settings)`` over the sandboxes (paper mode), three monitor steps
  (list every market of both venues, match them, fetch the matched books, detect, paper-trade)
  and a ``GET /api/health``: a service that keeps scanning, not one that has scanned once;
* **baseline, PolyMix's way**: the same market lists fetched and held as raw JSON dicts
  (``json.loads`` with floats, as PolyMix kept them) in a process that has built a Flask app.
  It holds no books and does no matching, so it is a floor for that design, not its full cost;
* **floor**: the interpreter with Flask and arbkit imported and nothing loaded.

Each child runs ``REPEATS`` times; the medians are reported, in MB (10**6 bytes). The value
columns of this module's rows are MB, not seconds (the row names say so). Target (issue 10):
the service under 100 MB, PolyMix's figure.

    python -m benchmarks.bench_memory            # from the repository root
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Generated games: Polymarket lists one market per US game and three per soccer match, so
#: 4,000 games are 5,068 markets there; Kalshi (two and three) gets the first ~2,350 of them.
GAMES = 4000
MIN_MARKETS = 5000
REPEATS = 3
#: Monitor steps per service run: the peak is the steady state of a service that keeps scanning
#: (the first scan alone would hide what one scan holds while the next one runs).
CYCLES = 3
TARGET_MB = 100.0
MB = 1_000_000


def peak_rss_bytes() -> int:
    """This process's peak resident set size in bytes (VmHWM; ``ru_maxrss`` as a fallback)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


# -- the children ----------------------------------------------------------------------------------
def child_service(kalshi_base_url: str, polymarket_url: str) -> dict[str, Any]:
    """The service process: app, one full monitor step, a health request; then its peak RSS."""
    from examples.polymix import create_app, stop_app

    import arbkit

    with tempfile.TemporaryDirectory() as data_dir:
        settings = arbkit.Settings.from_mapping(
            {
                "KALSHI_BASE_URL": kalshi_base_url,
                "POLYMARKET_CLOB_URL": polymarket_url,
                "POLYMARKET_GAMMA_URL": polymarket_url + "/gamma",
                "ARBKIT_DATA_DIR": data_dir,
            }
        )
        app = create_app(settings, start_jobs=False)
        service = app.extensions["polymix"]
        report = service.monitor()
        first_scan_peak = peak_rss_bytes()
        for _ in range(CYCLES - 1):
            report = service.monitor()
        if report is None or report.scan is None or report.scan.errors:
            raise RuntimeError(f"the scan failed: {None if report is None else report.error}")
        scan = report.scan
        health = app.test_client().get("/api/health")
        if health.status_code != 200:
            raise RuntimeError(f"/api/health answered {health.status_code}")
        by_venue = {venue: len(markets) for venue, markets in service.bot.scanner.markets().items()}
        result = {
            "peak_rss_bytes": peak_rss_bytes(),
            "first_scan_peak_rss_bytes": first_scan_peak,
            "markets": by_venue,
            "matches": len(scan.matches),
            "opportunities": len(scan.opportunities),
            "trades": service.bot.state().total_trades,
        }
        stop_app(app)
    return result


def child_raw(kalshi_base_url: str, polymarket_url: str) -> dict[str, Any]:
    """PolyMix's way: every market of both venues held as raw JSON dicts, in a Flask process."""
    import flask
    import requests

    flask.Flask("polymix-baseline")
    held: dict[str, list[dict[str, Any]]] = {"kalshi": [], "polymarket": []}
    with requests.Session() as session:
        cursor = ""
        while True:
            page = session.get(
                f"{kalshi_base_url}/markets", params={"limit": "1000", "cursor": cursor}, timeout=30
            ).json()
            held["kalshi"].extend(page["markets"])
            cursor = page.get("cursor") or ""
            if not cursor:
                break
        after = None
        while True:
            params: dict[str, str | int] = {"limit": 100, "closed": "false"}
            if after:
                params["after_cursor"] = after
            body = session.get(f"{polymarket_url}/gamma/events/keyset", params=params, timeout=30).json()
            for event in body["events"]:
                held["polymarket"].extend(event.get("markets", []))
            after = body.get("next_cursor")
            if not after:
                break
    return {"peak_rss_bytes": peak_rss_bytes(), "markets": {k: len(v) for k, v in held.items()}}


def child_sandboxes(games: int = GAMES) -> int:
    """Serve both sandboxes (5,000+ markets each) until stdin closes; print their URLs first."""
    from examples.demo.scenario import generated_games, kalshi_scenario, polymarket_scenario

    from arbkit.sandbox import SandboxServer
    from arbkit_kalshi.sandbox import PREFIX, KalshiSandbox
    from arbkit_polymarket.sandbox import PolymarketSandbox

    listed = generated_games(games)
    kalshi_games, count = [], 0
    for game in listed:
        if count >= MIN_MARKETS:
            break
        kalshi_games.append(game)
        count += len(game.codes)  # one Kalshi market per outcome
    kalshi, polymarket = KalshiSandbox(), PolymarketSandbox()
    kalshi.load_scenario(kalshi_scenario(kalshi_games))
    polymarket.load_scenario(polymarket_scenario(listed))
    with SandboxServer(kalshi) as kalshi_server, SandboxServer(polymarket) as polymarket_server:
        urls = {"kalshi_base_url": kalshi_server.url + PREFIX, "polymarket": polymarket_server.url}
        print(json.dumps(urls), flush=True)
        sys.stdin.read()  # the parent closes our stdin when it is done
    return 0


def child_floor() -> dict[str, Any]:
    """The interpreter with Flask and the service's modules imported, nothing loaded."""
    import examples.polymix  # noqa: F401
    import flask  # noqa: F401

    import arbkit  # noqa: F401

    return {"peak_rss_bytes": peak_rss_bytes()}


# -- the parent --------------------------------------------------------------------------------------
def _run_child(kind: str, urls: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_memory",
            "--child",
            kind,
            "--kalshi",
            urls["kalshi_base_url"],
            "--polymarket",
            urls["polymarket"],
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _start_sandboxes() -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_memory", "--child", "sandboxes"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        raise RuntimeError("the sandboxes did not start")
    return process, json.loads(line)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    if process.poll() is None:
        try:
            process.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(repeats: int = REPEATS) -> dict[str, Any]:
    """Median peak RSS (bytes) of each child kind, and what the service loaded."""
    sandboxes, urls = _start_sandboxes()
    try:
        runs: dict[str, list[dict[str, Any]]] = {"service": [], "raw": [], "floor": []}
        for _ in range(repeats):
            for kind in runs:
                runs[kind].append(_run_child(kind, urls))
    finally:
        _stop(sandboxes)
    last = runs["service"][-1]
    return {
        "median_bytes": {k: statistics.median(r["peak_rss_bytes"] for r in v) for k, v in runs.items()},
        "first_scan_bytes": statistics.median(r["first_scan_peak_rss_bytes"] for r in runs["service"]),
        "markets": last["markets"],
        "raw_markets": runs["raw"][-1]["markets"],
        "matches": last["matches"],
        "opportunities": last["opportunities"],
        "trades": last["trades"],
    }


def run() -> list[dict[str, Any]]:
    """Measure; one row for the service against PolyMix's raw dicts, one for the interpreter floor."""
    found = measure()
    markets = found["markets"]
    if min(markets.values()) < MIN_MARKETS or found["raw_markets"] != markets:
        raise RuntimeError(f"expected {MIN_MARKETS}+ markets per venue on both sides, got {found}")
    service, raw, floor = (found["median_bytes"][k] / MB for k in ("service", "raw", "floor"))
    first = found["first_scan_bytes"] / MB
    counts = " + ".join(f"{n:,} {venue}" for venue, n in sorted(markets.items()))
    loaded = f"{counts} markets loaded, {found['matches']:,} matches"
    baseline = "baseline: the same markets held as raw JSON dicts in a Flask process, PolyMix's way, no books"
    return [
        {
            "name": f"peak RSS of the service after its first scan, {loaded} (MB, not seconds; {baseline})",
            "arbkit_median_s": first,
            "baseline_median_s": raw,
            "ratio": first / raw,
            "target": f"< {TARGET_MB:.0f} MB",
            "met": first < TARGET_MB,
            "unit": "MB",
        },
        {
            "name": f"peak RSS of the service after {CYCLES} scans ({found['trades']} paper trades), "
            f"{loaded} (MB, not seconds; {baseline})",
            "arbkit_median_s": service,
            "baseline_median_s": raw,
            "ratio": service / raw,
            "target": f"< {TARGET_MB:.0f} MB",
            "met": service < TARGET_MB,
            "unit": "MB",
        },
        {
            "name": "peak RSS of the interpreter with Flask, arbkit and the service imported, nothing "
            "loaded (MB, not seconds; the floor both figures above include)",
            "arbkit_median_s": floor,
            "baseline_median_s": None,
            "ratio": None,
            "target": "(reported)",
            "met": None,
            "unit": "MB",
        },
    ]


def main(argv: list[str] | None = None) -> int:
    """Print the rows; ``--child KIND`` is the measured process itself."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_memory", description=__doc__)
    parser.add_argument("--child", choices=("sandboxes", "service", "raw", "floor"))
    parser.add_argument("--kalshi")
    parser.add_argument("--polymarket")
    args = parser.parse_args(argv)
    if args.child == "sandboxes":
        return child_sandboxes()
    if args.child == "service":
        print(json.dumps(child_service(args.kalshi, args.polymarket)))
        return 0
    if args.child == "raw":
        print(json.dumps(child_raw(args.kalshi, args.polymarket)))
        return 0
    if args.child == "floor":
        print(json.dumps(child_floor()))
        return 0
    for row in run():
        baseline = row["baseline_median_s"]
        print(
            f"{row['name']}\n    arbkit {row['arbkit_median_s']:.1f} MB   baseline "
            f"{'-' if baseline is None else f'{baseline:.1f} MB'}   target {row['target']}   met {row['met']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
