"""Fixtures: both exchange sandboxes in-process with the demo scenario, settings pointed at them, the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from examples.demo.scenario import Game, demo_games, kalshi_scenario, polymarket_scenario, resolutions
from examples.polymix import create_app, stop_app
from flask import Flask

import arbkit
from arbkit.sandbox import SandboxServer
from arbkit_kalshi.sandbox import PREFIX, KalshiSandbox
from arbkit_kalshi.sandbox.stream import WS_PATH
from arbkit_kalshi.sandbox.stream import serve_stream as serve_kalshi_stream
from arbkit_polymarket.sandbox import PolymarketSandbox
from arbkit_polymarket.sandbox.stream import serve_stream as serve_polymarket_stream

RESET_KEY = "reset-key-7f3a"


@attrs.frozen
class Venues:
    """Both sandboxes, their servers and the games they list."""

    kalshi: KalshiSandbox
    polymarket: PolymarketSandbox
    kalshi_server: SandboxServer
    polymarket_server: SandboxServer
    games: list[Game]

    def environment(self, data_dir: Path) -> dict[str, str]:
        """Settings that point arbkit at these sandboxes, paper mode, state in ``data_dir``."""
        return {
            "KALSHI_BASE_URL": self.kalshi_server.url + PREFIX,
            "POLYMARKET_CLOB_URL": self.polymarket_server.url,
            "POLYMARKET_GAMMA_URL": self.polymarket_server.url + "/gamma",
            "POLYMARKET_DATA_URL": self.polymarket_server.url + "/data-api",
            "ARBKIT_DATA_DIR": str(data_dir),
            "TRADING_RESET_CONFIRM_KEY": RESET_KEY,
        }

    def resolve(self, game: Game) -> None:
        """Resolve ``game`` on both venues with its winner (what the demo driver does over HTTP)."""
        kalshi, polymarket = resolutions(game)
        for body in kalshi:
            self.kalshi.resolve(body["ticker"], body["result"])
        for body in polymarket:
            self.polymarket.resolve(body["condition_id"], winner=body["winner"])


@pytest.fixture
def venues() -> Iterator[Venues]:
    games = demo_games()
    kalshi = KalshiSandbox()
    kalshi.load_scenario(kalshi_scenario(games))
    polymarket = PolymarketSandbox()
    polymarket.load_scenario(polymarket_scenario(games))
    with SandboxServer(kalshi) as kalshi_server, SandboxServer(polymarket) as polymarket_server:
        yield Venues(kalshi, polymarket, kalshi_server, polymarket_server, games)


@pytest.fixture
def make_settings(venues: Venues, tmp_path: Path) -> Callable[..., arbkit.Settings]:
    """``make_settings(**overrides)``: settings for the sandboxes; ``NAME=None`` removes a variable."""

    def build(**overrides: str | None) -> arbkit.Settings:
        env: dict[str, str | None] = dict(venues.environment(tmp_path))
        env.update(overrides)
        return arbkit.Settings.from_mapping({k: v for k, v in env.items() if v is not None})

    return build


@pytest.fixture
def make_app(make_settings: Callable[..., arbkit.Settings]) -> Iterator[Callable[..., Flask]]:
    """``make_app(env=..., **create_app options)``: an app without background jobs, closed after the test."""
    apps: list[Flask] = []

    def build(env: dict[str, str | None] | None = None, **options: Any) -> Flask:
        options.setdefault("start_jobs", False)
        app = create_app(make_settings(**(env or {})), **options)
        apps.append(app)
        return app

    yield build
    for app in apps:
        stop_app(app)


@pytest.fixture
def streams(venues: Venues) -> Iterator[dict[str, Any]]:
    """Both sandboxes' WebSocket streams on loopback, and the settings that point at them."""
    kalshi = serve_kalshi_stream(venues.kalshi)
    polymarket = serve_polymarket_stream(venues.polymarket)
    try:
        yield {
            "kalshi": kalshi,
            "polymarket": polymarket,
            "env": {
                "KALSHI_WS_URL": kalshi.url + WS_PATH,
                "POLYMARKET_WS_URL": polymarket.url + "/ws",
            },
        }
    finally:
        kalshi.stop()
        polymarket.stop()
