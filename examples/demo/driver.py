"""Moves the demo's books over time and resolves its games, through the sandboxes' control API.

The driver talks HTTP to ``POST /_sandbox/book`` and ``POST /_sandbox/resolve`` on each
sandbox, so it works against sandboxes started anywhere (in this process or another).
Prices drift by a cent or so per tick (the same drift on both venues, so a game priced
without arbitrage stays without it); edges open at their ``edge_from``; each game with a
``resolve_after`` is resolved on both venues once that time has passed.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import requests

from .scenario import Game, book_updates, resolutions

__all__ = ["Driver"]

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")
MAX_DRIFT = Decimal("0.03")


class Driver:
    """Steps the scenario: ``step(elapsed)`` once, or ``start()`` a thread ticking every ``tick_seconds``.

    ``kalshi_url`` / ``polymarket_url`` are the sandboxes' roots (control API under ``/_sandbox``).
    """

    def __init__(
        self,
        games: Sequence[Game],
        *,
        kalshi_url: str,
        polymarket_url: str,
        tick_seconds: float = 5.0,
        seed: int = 11,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.games = list(games)
        self.kalshi_url = kalshi_url.rstrip("/")
        self.polymarket_url = polymarket_url.rstrip("/")
        self.tick_seconds = tick_seconds
        self._rng = random.Random(seed)  # noqa: S311 -- demo prices, not secrets
        self._clock = clock
        self._drift = [[Decimal(0)] * len(g.probabilities) for g in self.games]
        self.resolved: set[int] = set()
        self.steps = 0
        self._session = requests.Session()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = clock()

    def _post(self, base: str, path: str, body: dict[str, Any]) -> None:
        response = self._session.post(f"{base}/_sandbox/{path}", json=body, timeout=5)
        if response.status_code >= 300:
            logger.warning("%s %s answered %s: %s", base, path, response.status_code, response.text[:200])

    def _walk(self) -> None:
        for drift in self._drift:
            step = Decimal(self._rng.choice((-1, 0, 0, 1))) * CENT
            first = max(-MAX_DRIFT, min(MAX_DRIFT, drift[0] + step))
            # Move the first outcome and take the difference from the last, so prices still sum to 1.
            drift[0], drift[-1] = first, -first

    def step(self, elapsed: float) -> None:
        """Move every open game's books to their prices at ``elapsed`` seconds; resolve what is due."""
        self._walk()
        open_games = [i for i in range(len(self.games)) if i not in self.resolved]
        kalshi, polymarket = book_updates(
            [self.games[i] for i in open_games], elapsed, [self._drift[i] for i in open_games]
        )
        for body in kalshi:
            self._post(self.kalshi_url, "book", body)
        for body in polymarket:
            self._post(self.polymarket_url, "book", body)
        for i in open_games:
            game = self.games[i]
            if game.resolve_after is not None and elapsed >= game.resolve_after:
                kalshi_bodies, poly_bodies = resolutions(game)
                for body in kalshi_bodies:
                    self._post(self.kalshi_url, "resolve", body)
                for body in poly_bodies:
                    self._post(self.polymarket_url, "resolve", body)
                self.resolved.add(i)
                logger.info("resolved %s (winner: %s)", game.event_ticker, game.codes[game.winner])
        self.steps += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            try:
                self.step(self._clock() - self._started)
            except requests.RequestException as exc:
                logger.warning("driver step failed: %s", type(exc).__name__)

    def start(self) -> Driver:
        """Tick in a daemon thread, measuring time from now."""
        self._started = self._clock()
        self._thread = threading.Thread(target=self._loop, name="demo-driver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop ticking (waits for the current step)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._session.close()
