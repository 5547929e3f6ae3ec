"""PolyMix's two jobs without the web app: ``python examples/scheduler.py`` (or ``-m examples.scheduler``).

The same monitor and settlement jobs as the Flask service, on the same intervals
(``MONITOR_INTERVAL_SECONDS``, ``SETTLEMENT_INTERVAL_SECONDS``), in the mode ``LIVE_TRADING``
selects. Ctrl-C or SIGTERM stops it cleanly: no new job starts and a running one
finishes first. ``--once`` runs one scan and one settlement check, then exits.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as a script: make ``examples`` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from arbkit import ConfigError, Settings
from examples.polymix.jobs import build_scheduler
from examples.polymix.service import PolymixService

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
logger = logging.getLogger("examples.scheduler")


def main(argv: list[str] | None = None) -> int:
    """Run the jobs until Ctrl-C / SIGTERM (or once)."""
    parser = argparse.ArgumentParser(prog="examples/scheduler.py", description=__doc__)
    parser.add_argument("--env-file", default=".env", help="dotenv file to read (default .env)")
    parser.add_argument("--monitor-seconds", type=float, help="scan interval, seconds")
    parser.add_argument("--settlement-seconds", type=float, help="settlement interval")
    parser.add_argument("--once", action="store_true", help="one scan and one settlement check, then exit")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    try:
        service = PolymixService.from_settings(Settings.from_env(env_file=args.env_file))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.once:
            report = service.monitor()
            settled = service.settle()
            found = 0 if report is None else len(report.opportunities)
            traded = 0 if report is None else len(report.executed)
            print(f"{service.label}: {found} opportunities, {traded} traded, {settled} settled", flush=True)
            return 0
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        scheduler = build_scheduler(
            service, monitor_seconds=args.monitor_seconds, settlement_seconds=args.settlement_seconds
        )
        scheduler.start()
        print(f"{service.label} scheduler running (Ctrl-C stops after the current job)", flush=True)
        stopping.wait()
        print("stopping after the current job...", flush=True)
        scheduler.shutdown(wait=True)
        print("stopped", flush=True)
        return 0
    finally:
        service.close()


if __name__ == "__main__":
    raise SystemExit(main())
