"""``python -m arbkit_polymarket.sandbox --port N --scenario FILE``: run the sandbox standalone."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from arbkit.sandbox import SandboxServer
from arbkit_polymarket.sandbox.app import PolymarketSandbox

EXAMPLE = Path(__file__).parent / "scenarios" / "example.json"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load the scenario and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m arbkit_polymarket.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    parser.add_argument("--scenario", type=Path, default=EXAMPLE, help="scenario JSON file")
    parser.add_argument(
        "--ws-port", type=int, default=None, help="WebSocket port (default: --port + 1, or a free one with 0)"
    )
    parser.add_argument("--no-stream", action="store_true", help="serve REST only, no WebSocket")
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
        f"  base_url={server.url}  gamma_url={server.url}/gamma  data_url={server.url}/data-api", flush=True
    )
    stream = None if args.no_stream else _stream(app, args)
    print(f"  control: {server.url}/_sandbox/state   (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        if stream is not None:
            stream.stop()
    return 0


def _stream(app: PolymarketSandbox, args: argparse.Namespace) -> Any:
    """Start the /ws/market and /ws/user stream and print its URL (needs the ``stream`` extra)."""
    try:
        from arbkit_polymarket.sandbox.stream import serve_stream
    except ImportError:
        print("  no stream: install arbkit[stream] (websockets) for /ws/market and /ws/user", flush=True)
        return None
    port = args.ws_port if args.ws_port is not None else (args.port + 1 if args.port else 0)
    stream = serve_stream(app, host=args.host, port=port)
    print(f"  ws_url={stream.url}/ws   (POLYMARKET_WS_URL; channels /ws/market and /ws/user)", flush=True)
    return stream


if __name__ == "__main__":
    sys.exit(main())
