"""Which Kalshi key a client or a stream is built with, read from the settings.

Kept apart from :mod:`arbkit_kalshi.auth` (which needs ``cryptography``, the ``live`` extra)
so that a market-data client can be built from settings without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from arbkit_kalshi.settings import KalshiSettings

if TYPE_CHECKING:
    from arbkit.config import Settings

__all__ = ["credential_options"]


def credential_options(settings: Settings | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The key options taken from ``settings`` (``KALSHI_API_KEY`` and ``KALSHI_SECRET`` or
    ``KALSHI_PRIVATE_KEY_PATH``), unless ``overrides`` bring a key of their own."""
    options: dict[str, Any] = {}
    if settings is None:
        return options
    own = KalshiSettings.of(settings)
    options["api_key_id"] = own.api_key
    if not {"private_key", "private_key_path", "signer"} & set(overrides):
        if own.secret is not None:
            options["private_key"] = own.secret.reveal()
        elif own.private_key_path is not None:
            options["private_key_path"] = own.private_key_path
    return options
