"""Registers the Polymarket exchange with arbkit (entry point group ``arbkit``)."""

from __future__ import annotations

from typing import Any

import arbkit


def _factory(settings: arbkit.Settings | None = None, **options: Any) -> arbkit.Exchange:
    # Imported here so that listing exchanges does not import the whole adapter.
    from arbkit_polymarket.client import PolymarketClient

    return PolymarketClient.from_settings(settings, **options)


@arbkit.hookimpl
def arbkit_register_settings(register: Any) -> None:
    """Offer how ``polymarket``'s variables are read (:mod:`arbkit_polymarket.settings`)."""
    from arbkit_polymarket.settings import SPEC

    register("polymarket", SPEC)


@arbkit.hookimpl
def arbkit_register_exchanges(register: Any) -> None:
    """Offer ``polymarket``."""
    register("polymarket", _factory)


def _stream(settings: arbkit.Settings | None = None, **options: Any) -> Any:
    # Imported here: the stream needs the ``stream`` extra (websockets) only when used.
    from arbkit_polymarket.stream import PolymarketStream

    return PolymarketStream.from_settings(settings, **options)


@arbkit.hookimpl
def arbkit_register_streams(register: Any) -> None:
    """Offer ``polymarket``'s WebSocket stream (books by token, own orders and fills, resolutions)."""
    register("polymarket", _stream)


def _sandbox(argv: list[str]) -> int:
    from arbkit_polymarket.sandbox.__main__ import main

    return main(argv)


@arbkit.hookimpl
def arbkit_register_sandboxes(register: Any) -> None:
    """Offer the polymarket sandbox to ``arbkit sandbox polymarket``."""
    register("polymarket", _sandbox)


@arbkit.hookimpl
def arbkit_register_leagues(register: Any) -> None:
    """Offer polymarket's codes for the core's leagues and teams (for the sports matcher)."""
    from arbkit_polymarket.games import naming

    register("polymarket", naming())
