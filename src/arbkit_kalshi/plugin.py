"""Registers the Kalshi exchange with arbkit (entry point group ``arbkit``)."""

from __future__ import annotations

from typing import Any

import arbkit


def _factory(settings: arbkit.Settings | None = None, **options: Any) -> arbkit.Exchange:
    # Imported here so that listing exchanges does not import the whole adapter.
    from arbkit_kalshi.client import KalshiClient

    return KalshiClient.from_settings(settings, **options)


@arbkit.hookimpl
def arbkit_register_settings(register: Any) -> None:
    """Offer how ``kalshi``'s variables are read (:mod:`arbkit_kalshi.settings`)."""
    from arbkit_kalshi.settings import SPEC

    register("kalshi", SPEC)


@arbkit.hookimpl
def arbkit_register_exchanges(register: Any) -> None:
    """Offer ``kalshi``."""
    register("kalshi", _factory)


def _stream(settings: arbkit.Settings | None = None, **options: Any) -> Any:
    # Imported here: the stream needs the ``stream`` extra (websockets) only when used.
    from arbkit_kalshi.stream import KalshiStream

    return KalshiStream.from_settings(settings, **options)


@arbkit.hookimpl
def arbkit_register_streams(register: Any) -> None:
    """Offer ``kalshi``'s WebSocket stream (books, tickers, own fills and orders, lifecycle)."""
    register("kalshi", _stream)


def _sandbox(argv: list[str]) -> int:
    from arbkit_kalshi.sandbox.__main__ import main

    return main(argv)


@arbkit.hookimpl
def arbkit_register_sandboxes(register: Any) -> None:
    """Offer the kalshi sandbox to ``arbkit sandbox kalshi``."""
    register("kalshi", _sandbox)


@arbkit.hookimpl
def arbkit_register_leagues(register: Any) -> None:
    """Offer kalshi's codes for the core's leagues and teams (for the sports matcher)."""
    from arbkit_kalshi.games import naming

    register("kalshi", naming())
