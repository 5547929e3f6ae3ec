"""``python -m examples.demo.sandboxes``: both exchange sandboxes with the demo scenario, and its driver.

Prints one JSON line when ready (``{"kalshi": url, "polymarket": url, ...}``), then serves
until Ctrl-C / SIGTERM. ``--time-scale 0.1`` makes every scheduled event (edges opening,
games resolving) happen ten times sooner; ``--games N`` serves N generated games instead
of the bundled ten (``--games 500`` for 500 matched pairs). ``--live-credentials DIR`` opens a
funded account on each sandbox (a new RSA key for Kalshi, a new wallet for Polymarket) and
writes the service's credentials to ``DIR/credentials.env`` (mode 0600): for live mode, and in
paper mode for the Kalshi key the stream's signed handshake needs. Both venues' WebSocket
streams are served too (``kalshi_ws_url``, ``polymarket_ws_url`` in the JSON line; free ports
unless ``--kalshi-ws-port`` / ``--polymarket-ws-port``), unless ``--no-stream``.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import attrs

from arbkit.sandbox import SandboxServer
from arbkit_kalshi.sandbox import PREFIX, KalshiSandbox
from arbkit_polymarket.sandbox import PolymarketSandbox

from .driver import Driver
from .scenario import Game, demo_games, generated_games, kalshi_scenario, polymarket_scenario

__all__ = ["main", "scaled"]

DEFAULT_KALSHI_PORT = 8701
DEFAULT_POLYMARKET_PORT = 8702


def scaled(games: list[Game], factor: float) -> list[Game]:
    """``games`` with every scheduled time (``edge_from``, ``resolve_after``) multiplied by ``factor``."""
    return [
        attrs.evolve(
            g,
            edge_from=g.edge_from * factor,
            resolve_after=None if g.resolve_after is None else g.resolve_after * factor,
        )
        for g in games
    ]


def open_accounts(kalshi: KalshiSandbox, polymarket: PolymarketSandbox, directory: Path) -> Path:
    """Fund a new account on each sandbox; write its credentials (sandbox-only keys) for the service."""
    from arbkit_kalshi.sandbox.accounts import open_account as open_kalshi
    from arbkit_polymarket.sandbox.accounts import open_account as open_polymarket

    kalshi_account = open_kalshi(kalshi, balance="10000")
    poly_account = open_polymarket(polymarket, balance=10000)
    directory.mkdir(parents=True, exist_ok=True)
    pem_path = directory / "kalshi-sandbox-key.pem"
    pem_path.touch()
    pem_path.chmod(0o600)
    pem_path.write_text(kalshi_account.private_key_pem.reveal(), encoding="utf-8")
    env_path = directory / "credentials.env"
    env_path.touch()
    env_path.chmod(0o600)
    env_path.write_text(
        f"KALSHI_API_KEY={kalshi_account.key_id}\nKALSHI_PRIVATE_KEY_PATH={pem_path}\n"
        f"POLYMARKET_PRIVATE_KEY={poly_account.private_key.reveal()}\n",
        encoding="utf-8",
    )
    return env_path


def main(argv: list[str] | None = None) -> int:
    """Start both sandboxes and the driver; serve until stopped."""
    parser = argparse.ArgumentParser(prog="python -m examples.demo.sandboxes", description=__doc__)
    parser.add_argument("--kalshi-port", type=int, default=DEFAULT_KALSHI_PORT, help="0 picks a free port")
    parser.add_argument("--polymarket-port", type=int, default=DEFAULT_POLYMARKET_PORT, help="0: a free port")
    parser.add_argument("--games", type=int, default=0, help="serve N generated games (default: the demo's)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiply scheduled times by this")
    parser.add_argument("--tick", type=float, default=5.0, help="seconds between book moves (5)")
    parser.add_argument("--live-credentials", type=Path, help="open funded accounts; write credentials here")
    parser.add_argument("--kalshi-ws-port", type=int, default=0, help="Kalshi stream port (0: a free one)")
    parser.add_argument(
        "--polymarket-ws-port", type=int, default=0, help="Polymarket stream port (0: a free one)"
    )
    parser.add_argument("--no-stream", action="store_true", help="serve REST only, no WebSocket streams")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.time_scale <= 0 or args.tick <= 0 or args.games < 0:
        parser.error("--time-scale and --tick must be positive, --games not negative")
    games = generated_games(args.games) if args.games else scaled(demo_games(), args.time_scale)
    kalshi = KalshiSandbox()
    kalshi.load_scenario(kalshi_scenario(games))
    polymarket = PolymarketSandbox()
    polymarket.load_scenario(polymarket_scenario(games))
    credentials = None
    if args.live_credentials is not None:
        credentials = open_accounts(kalshi, polymarket, args.live_credentials)
    streams: list[Any] = []
    try:
        kalshi_server = SandboxServer(kalshi, port=args.kalshi_port).start()
        polymarket_server = SandboxServer(polymarket, port=args.polymarket_port).start()
        if not args.no_stream:
            # Both venues' WebSocket protocols, published from the same books the driver moves.
            from arbkit_kalshi.sandbox.stream import WS_PATH
            from arbkit_kalshi.sandbox.stream import serve_stream as serve_kalshi
            from arbkit_polymarket.sandbox.stream import serve_stream as serve_polymarket

            streams = [
                serve_kalshi(kalshi, port=args.kalshi_ws_port),
                serve_polymarket(polymarket, port=args.polymarket_ws_port),
            ]
    except OSError as exc:
        print(f"cannot start the sandboxes: {exc}", file=sys.stderr)
        return 2
    driver = Driver(
        games, kalshi_url=kalshi_server.url, polymarket_url=polymarket_server.url, tick_seconds=args.tick
    ).start()
    ready = {
        "kalshi": kalshi_server.url,
        "kalshi_base_url": kalshi_server.url + PREFIX,
        "polymarket": polymarket_server.url,
        "polymarket_gamma_url": polymarket_server.url + "/gamma",
        "games": len(games),
        "credentials": None if credentials is None else str(credentials),
        "kalshi_ws_url": streams[0].url + WS_PATH if streams else None,
        "polymarket_ws_url": streams[1].url + "/ws" if streams else None,
    }
    print(json.dumps(ready), flush=True)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    stopping.wait()
    driver.stop()
    for stream in streams:
        stream.stop()
    kalshi_server.stop()
    polymarket_server.stop()
    print("sandboxes stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
