"""``python -m examples.polymix``: serve PolyMix on http://127.0.0.1:5001 (run from the repository root).

Configuration comes from ``.env`` and the environment (``Settings.from_env``); the
flags below only say where to listen and how often to run the jobs. Ctrl-C or SIGTERM
stops the server, waits for a running job to finish and closes the clients.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
import threading
from types import FrameType

from werkzeug.serving import make_server

from arbkit import ConfigError, Settings

from . import create_app, stop_app
from .auth import DEFAULT_TRUSTED_HOSTS

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
logger = logging.getLogger("examples.polymix")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def main(argv: list[str] | None = None) -> int:
    """Parse flags, build the app, serve until Ctrl-C / SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m examples.polymix", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5001, help="port (default 5001)")
    parser.add_argument("--env-file", default=".env", help="dotenv file to read (default .env)")
    parser.add_argument("--monitor-seconds", type=float, help="scan interval, seconds")
    parser.add_argument(
        "--settlement-seconds", type=float, help="settlement interval (default SETTLEMENT_INTERVAL_SECONDS)"
    )
    parser.add_argument(
        "--market-refresh-seconds", type=float, default=300.0, help="how long market lists are reused (300)"
    )
    parser.add_argument("--allow-live-reset", action="store_true", help="allow resets in live mode")
    parser.add_argument(
        "--trusted-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a Host name to serve besides the loopback names and --host (repeatable; e.g. behind a proxy)",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (INFO)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    for interval in (args.monitor_seconds, args.settlement_seconds, args.market_refresh_seconds):
        if interval is not None and interval <= 0:
            parser.error("intervals must be positive")
    try:
        settings = Settings.from_env(env_file=args.env_file)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if not _is_loopback(args.host) and settings.api_token is None:
        # Anyone who reaches the port could scan, settle or reset: refuse rather than warn.
        print(
            f"refusing to listen on {args.host} without ARBKIT_API_TOKEN: set a token, or bind 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    trusted = [*DEFAULT_TRUSTED_HOSTS, *args.trusted_host]
    if args.host not in ("0.0.0.0", "::"):  # noqa: S104 - compared, not bound
        trusted.append(args.host)
    try:
        app = create_app(
            settings,
            allow_live_reset=args.allow_live_reset,
            monitor_seconds=args.monitor_seconds,
            settlement_seconds=args.settlement_seconds,
            bot_options={"scanner_options": {"refresh_seconds": args.market_refresh_seconds}},
            trusted_hosts=trusted,
        )
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except OSError as exc:
        stop_app(app, wait=False)
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns, so it must run on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    service = app.extensions["polymix"]
    print(f"PolyMix ({service.label}) on http://{args.host}:{server.server_port}  (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        stop_app(app, wait=True)
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
