"""``python -m arbkit_polymarket.sandbox --port N --scenario FILE``: run the sandbox standalone."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from arbkit.sandbox import SandboxServer
from arbkit_polymarket.sandbox.app import PolymarketSandbox

EXAMPLE = Path(__file__).parent / "scenarios" / "example.json"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load the scenario and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m arbkit_polymarket.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    parser.add_argument("--scenario", type=Path, default=EXAMPLE, help="scenario JSON file")
    args = parser.parse_args(argv)
    app = PolymarketSandbox()
    try:
        summary = app.load_json_file(str(args.scenario))
    except (OSError, ValueError) as exc:
        print(f"cannot load scenario {args.scenario}: {exc}", file=sys.stderr)
        return 2
    server = SandboxServer(app, host=args.host, port=args.port)
    print(f"Polymarket sandbox ({summary['markets']} markets) on {server.url}", flush=True)
    print(
        f"  clob_url={server.url}  gamma_url={server.url}/gamma  data_url={server.url}/data-api", flush=True
    )
    print(f"  control: {server.url}/_sandbox/state   (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
