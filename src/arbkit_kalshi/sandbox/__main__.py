"""``python -m arbkit_kalshi.sandbox --port N --scenario FILE``: run the Kalshi sandbox standalone."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from arbkit.sandbox import SandboxServer
from arbkit_kalshi.sandbox import PREFIX, KalshiSandbox, example_scenario


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load the scenario, serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m arbkit_kalshi.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--scenario", type=Path, help="scenario JSON (default: the bundled example)")
    parser.add_argument("--signature-window", type=float, default=30.0, help="allowed clock skew, seconds")
    parser.add_argument(
        "--ws-port", type=int, default=None, help="WebSocket port (default: --port + 1, or a free one with 0)"
    )
    parser.add_argument("--no-stream", action="store_true", help="serve REST only, no WebSocket")
    args = parser.parse_args(argv)
    app = KalshiSandbox(signature_window_s=args.signature_window)
    try:
        scenario = json.loads(args.scenario.read_text("utf-8")) if args.scenario else example_scenario()
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read scenario: {exc}")
    summary = app.load_scenario(scenario)
    server = SandboxServer(app, host=args.host, port=args.port)
    print(
        f"Kalshi sandbox on {server.url}{PREFIX} ({summary['markets']} markets); Ctrl-C to stop", flush=True
    )
    stream = None if args.no_stream else _stream(app, args)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        if stream is not None:
            stream.stop()
    return 0


def _stream(app: KalshiSandbox, args: argparse.Namespace) -> Any:
    """Start the WebSocket at /trade-api/ws/v2 and print its URL (needs the ``stream`` extra)."""
    try:
        from arbkit_kalshi.sandbox.stream import WS_PATH, serve_stream
    except ImportError:
        print("  no stream: install arbkit[stream] (websockets) for /trade-api/ws/v2", flush=True)
        return None
    port = args.ws_port if args.ws_port is not None else (args.port + 1 if args.port else 0)
    stream = serve_stream(app, host=args.host, port=port)
    print(f"  ws_url={stream.url}{WS_PATH}   (KALSHI_WS_URL)", flush=True)
    return stream


if __name__ == "__main__":
    raise SystemExit(main())
