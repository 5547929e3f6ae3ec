"""``python -m examples.demo`` (``make demo``): sandboxes, scenario driver and PolyMix in paper mode.

1. starts both exchange sandboxes with the bundled scenario of sports games on fixed
   loopback ports (Kalshi 8701, Polymarket 8702), books moving every few seconds and
   games resolving a few minutes in;
2. writes the service's environment to ``var/demo/demo.env`` (paper mode, pointed at the
   sandboxes, scanning every 5 s, state under ``var/demo/data``; your own ``.env`` is not read);
3. runs ``python -m examples.polymix`` on http://127.0.0.1:5001 and prints the URL.

``--live`` runs the same service in live mode on the sandboxes instead: funded sandbox
accounts are opened and the service signs and places real orders on them (no real money).

Ctrl-C stops the service (after its current job) and the sandboxes. If the service
exits or is killed on its own, it is started again on the same sandboxes and state
folder (``--no-restart`` stops instead), so a crash and its recovery can be rehearsed.
Each run starts from a fresh account; the last run's state folder is moved to
``var/demo/previous/`` (never deleted: it may hold an unfinished live journal).
To run the same service against the real exchanges, put your settings in ``.env``
and run ``python -m examples.polymix``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from arbkit.config import known_variables

__all__ = ["child_environment", "demo_environment", "main"]

ROOT = Path(__file__).resolve().parents[2]
#: Seconds between a service exit and its restart (so a crash loop does not spin).
RESTART_DELAY_S = 2.0


def demo_environment(
    kalshi_base_url: str,
    polymarket_url: str,
    data_dir: Path,
    *,
    kalshi_ws_url: str | None = None,
    polymarket_ws_url: str | None = None,
) -> dict[str, str]:
    """The service's settings for the demo: paper trading on the sandboxes, short intervals;
    books streamed from the sandboxes when their stream URLs are given."""
    streams = (
        {"ARBKIT_STREAMING": "on", "KALSHI_WS_URL": kalshi_ws_url, "POLYMARKET_WS_URL": polymarket_ws_url}
        if kalshi_ws_url and polymarket_ws_url
        else {}
    )
    return streams | {
        "LIVE_TRADING": "false",
        "PAPER_TRADING_ENABLED": "true",
        "PAPER_TRADING_INITIAL_BALANCE": "10000",
        "PAPER_TRADING_BET_AMOUNT": "100",
        "PAPER_TRADING_MIN_ROI": "1",
        "KALSHI_BASE_URL": kalshi_base_url,
        "POLYMARKET_CLOB_URL": polymarket_url,
        "POLYMARKET_GAMMA_URL": polymarket_url + "/gamma",
        "POLYMARKET_DATA_URL": polymarket_url + "/data-api",
        "ARBKIT_EXCHANGES": "polymarket,kalshi",
        "ARBKIT_DATA_DIR": str(data_dir),
        "MONITOR_INTERVAL_SECONDS": "5",
        "SETTLEMENT_INTERVAL_SECONDS": "10",
        "TRADING_RESET_CONFIRM_KEY": "demo-reset",
    }


def child_environment(settings: dict[str, str]) -> dict[str, str]:
    """The parent's environment without any arbkit setting of the user's (an extra account's
    ``NAME__ACCOUNT`` variables too), plus the demo's."""
    known = known_variables()
    env = {k: v for k, v in os.environ.items() if k not in known and k.rpartition("__")[0] not in known}
    env.update(settings)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _stop(process: subprocess.Popen[str], timeout: float = 15) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _set_aside(data_dir: Path, previous: Path) -> None:
    """Move the last run's state out of the way; never delete it (it may hold an unfinished journal)."""
    if not data_dir.exists() or not any(data_dir.iterdir()):
        return
    previous.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = previous / stamp
    n = 1
    while target.exists():
        n += 1
        target = previous / f"{stamp}-{n}"
    data_dir.rename(target)
    print(f"the last run's state was moved to {target} (kept: it may hold an unfinished live journal)")


def main(argv: list[str] | None = None) -> int:
    """Run the demo until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=5001, help="the service's port (5001)")
    parser.add_argument("--kalshi-port", type=int, default=8701)
    parser.add_argument("--polymarket-port", type=int, default=8702)
    parser.add_argument("--time-scale", type=float, default=1.0, help="<1 makes games resolve sooner")
    parser.add_argument("--live", action="store_true", help="live mode: real signed orders on the sandboxes")
    parser.add_argument(
        "--workdir", type=Path, default=ROOT / "var" / "demo", help="state and env file (var/demo)"
    )
    parser.add_argument(
        "--no-restart", action="store_true", help="stop when the service exits instead of restarting it"
    )
    args = parser.parse_args(argv)
    data_dir = args.workdir / "data"
    _set_aside(data_dir, args.workdir / "previous")
    data_dir.mkdir(parents=True)
    python = sys.executable
    sandboxes = subprocess.Popen(  # noqa: S603 -- our own module, fixed arguments
        [
            python,
            "-m",
            "examples.demo.sandboxes",
            f"--kalshi-port={args.kalshi_port}",
            f"--polymarket-port={args.polymarket_port}",
            f"--time-scale={args.time_scale}",
            # Accounts on both sandboxes: funded for --live; in paper mode the Kalshi key signs the
            # stream's handshake (Kalshi streams only to signed connections).
            f"--live-credentials={args.workdir / 'live'}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=child_environment({}),
    )
    service: subprocess.Popen[str] | None = None
    interrupted = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        interrupted = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        assert sandboxes.stdout is not None
        line = sandboxes.stdout.readline()
        if not line:
            print("the sandboxes did not start (is a port taken? see above)", file=sys.stderr)
            return 2
        urls = json.loads(line)
        settings = demo_environment(
            urls["kalshi_base_url"],
            urls["polymarket"],
            data_dir,
            kalshi_ws_url=urls.get("kalshi_ws_url"),
            polymarket_ws_url=urls.get("polymarket_ws_url"),
        )
        for line in Path(urls["credentials"]).read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            if args.live or name.startswith("KALSHI_"):
                settings[name] = value
        if args.live:
            settings["LIVE_TRADING"] = "true"
            # Live mode refuses mutating requests without a token: make one for this rehearsal.
            settings.setdefault("ARBKIT_API_TOKEN", secrets.token_urlsafe(24))
        env_file = args.workdir / "demo.env"
        env_file.touch()
        env_file.chmod(0o600)  # it holds the sandbox accounts' keys in live mode
        env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()), encoding="utf-8")
        print(f"Kalshi sandbox {urls['kalshi']}, Polymarket sandbox {urls['polymarket']}", flush=True)
        mode = "LIVE trading on the sandboxes" if args.live else "paper trading"
        while True:
            service = subprocess.Popen(  # noqa: S603 -- our own module, fixed arguments
                [
                    python,
                    "-m",
                    "examples.polymix",
                    f"--port={args.port}",
                    f"--env-file={env_file}",
                    "--market-refresh-seconds=30",
                ],
                cwd=ROOT,
                env=child_environment(settings),
                text=True,
            )
            print(
                f"\n  PolyMix demo ({mode}): http://127.0.0.1:{args.port}"
                f"\n  service pid {service.pid} (kill -9 {service.pid} rehearses a crash: the service is"
                f"\n  restarted on the same sandboxes and state, and recovers its journal)\n",
                flush=True,
            )
            code = service.wait()
            if interrupted or args.no_restart or sandboxes.poll() is not None:
                return 0 if interrupted else code
            print(
                f"the service exited ({code}); restarting it in {RESTART_DELAY_S:g} s "
                f"(the sandboxes and {data_dir} are kept)",
                flush=True,
            )
            time.sleep(RESTART_DELAY_S)
    except KeyboardInterrupt:
        return 0
    finally:
        if service is not None:
            _stop(service)
        _stop(sandboxes)
        print("demo stopped", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
