"""Kalshi's settings: the ``KALSHI_*`` variables, read by this adapter for each account.

Registered with ``arbkit_register_settings`` (:mod:`arbkit_kalshi.plugin`); the core holds the
:class:`KalshiSettings` read, ``settings.venue("kalshi")``, and knows nothing of its fields.
An extra account (``ARBKIT_ACCOUNTS=kalshi:hedge``) reads the same names with its suffix
(``KALSHI_API_KEY__HEDGE``); it shares the default account's hosts unless it sets its own.

>>> from arbkit.config import EnvReader
>>> KalshiSettings.read(EnvReader({"KALSHI_ENV": "demo"})).env
'demo'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from arbkit.config import EnvReader, Secret, SettingsSpec
from arbkit.errors import ConfigError

if TYPE_CHECKING:
    from arbkit.config import Settings

__all__ = ["SPEC", "VARIABLES", "KalshiSettings"]

NAME = "kalshi"

#: Every variable this adapter reads, with its meaning (``.env.example`` documents each).
VARIABLES = {
    "KALSHI_API_KEY": "Kalshi API key id (a UUID)",
    "KALSHI_SECRET": "Kalshi RSA private key, PEM text (secret)",
    "KALSHI_PRIVATE_KEY_PATH": "path to the Kalshi RSA private key PEM file",
    "KALSHI_ENV": "prod or demo (prod)",
    "KALSHI_BASE_URL": "explicit Kalshi REST base URL, overriding KALSHI_ENV",
    "KALSHI_WS_URL": "explicit Kalshi WebSocket URL, overriding KALSHI_ENV",
}


def _hidden(value: str | None) -> str:
    return "None" if value is None else "'***'"


@attrs.frozen
class KalshiSettings:
    """One Kalshi account's key and the hosts it talks to."""

    #: Not a secret by itself, but an account identifier: kept out of reprs and logs all the same.
    api_key: str | None = attrs.field(default=None, repr=_hidden)
    secret: Secret | None = None
    private_key_path: Path | None = None
    env: str = "prod"
    base_url: str | None = None
    ws_url: str | None = None

    @classmethod
    def read(cls, env: EnvReader) -> KalshiSettings:
        """Read and check the variables as ``env`` (one account's view) resolves them."""
        secret = env.secret("KALSHI_SECRET")
        if secret is not None and "PRIVATE KEY" not in secret.reveal():
            raise env.fail("KALSHI_SECRET", "expected a PEM private key (-----BEGIN ... PRIVATE KEY-----)")
        key_path = env.file("KALSHI_PRIVATE_KEY_PATH")
        api_key = env.text("KALSHI_API_KEY")
        has_key = secret is not None or key_path is not None
        if has_key and api_key is None:
            raise env.fail("KALSHI_API_KEY", "a private key was given without its API key id")
        if api_key is not None and not has_key:
            path_variable = env.variable("KALSHI_PRIVATE_KEY_PATH")
            raise env.fail(
                "KALSHI_SECRET", f"an API key id was given without its private key (or {path_variable})"
            )
        return cls(
            api_key=api_key,
            secret=secret,
            private_key_path=key_path,
            env=env.choice("KALSHI_ENV", "prod", ("prod", "demo")),
            base_url=env.url("KALSHI_BASE_URL"),
            ws_url=env.ws_url("KALSHI_WS_URL"),
        )

    @classmethod
    def of(cls, settings: Settings | None) -> KalshiSettings:
        """The Kalshi settings ``settings`` hold; the defaults when there are none."""
        held = settings.venue(NAME) if settings is not None else None
        if held is None:
            return cls()
        if not isinstance(held, cls):
            raise ConfigError(f"the settings hold a {type(held).__name__} for kalshi, not KalshiSettings")
        return held


#: What :mod:`arbkit_kalshi.plugin` registers.
SPEC = SettingsSpec(
    KalshiSettings,
    KalshiSettings.read,
    VARIABLES,
    secrets={"KALSHI_SECRET"},
    rest_hosts=("base_url",),
    stream_hosts=("ws_url",),
    shared={"KALSHI_ENV", "KALSHI_BASE_URL", "KALSHI_WS_URL"},
)
