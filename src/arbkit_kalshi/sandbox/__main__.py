"""``python -m arbkit_kalshi.sandbox --port N --scenario FILE``: run the Kalshi sandbox standalone."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from arbkit.sandbox import SandboxServer
from arbkit_kalshi.sandbox import PREFIX, KalshiSandbox, example_scenario


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load the scenario, serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m arbkit_kalshi.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--scenario", type=Path, help="scenario JSON (default: the bundled example)")
    parser.add_argument("--signature-window", type=float, default=30.0, help="allowed clock skew, seconds")
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
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
