"""``python -m examples.demo.sandboxes``: both exchange sandboxes with the demo scenario, and its driver.

Prints one JSON line when ready (``{"kalshi": url, "polymarket": url, ...}``), then serves
until Ctrl-C / SIGTERM. ``--time-scale 0.1`` makes every scheduled event (edges opening,
games resolving) happen ten times sooner; ``--games N`` serves N generated games instead
of the bundled ten (``--games 500`` for 500 matched pairs).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from types import FrameType

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


def main(argv: list[str] | None = None) -> int:
    """Start both sandboxes and the driver; serve until stopped."""
    parser = argparse.ArgumentParser(prog="python -m examples.demo.sandboxes", description=__doc__)
    parser.add_argument("--kalshi-port", type=int, default=DEFAULT_KALSHI_PORT, help="0 picks a free port")
    parser.add_argument("--polymarket-port", type=int, default=DEFAULT_POLYMARKET_PORT, help="0: a free port")
    parser.add_argument("--games", type=int, default=0, help="serve N generated games (default: the demo's)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiply scheduled times by this")
    parser.add_argument("--tick", type=float, default=5.0, help="seconds between book moves (5)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.time_scale <= 0 or args.tick <= 0 or args.games < 0:
        parser.error("--time-scale and --tick must be positive, --games not negative")
    games = generated_games(args.games) if args.games else scaled(demo_games(), args.time_scale)
    kalshi = KalshiSandbox()
    kalshi.load_scenario(kalshi_scenario(games))
    polymarket = PolymarketSandbox()
    polymarket.load_scenario(polymarket_scenario(games))
    try:
        kalshi_server = SandboxServer(kalshi, port=args.kalshi_port).start()
        polymarket_server = SandboxServer(polymarket, port=args.polymarket_port).start()
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
    }
    print(json.dumps(ready), flush=True)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    stopping.wait()
    driver.stop()
    kalshi_server.stop()
    polymarket_server.stop()
    print("sandboxes stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
