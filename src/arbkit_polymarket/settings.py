"""Polymarket's settings: the ``POLYMARKET_*`` variables, read by this adapter for each account.

Registered with ``arbkit_register_settings`` (:mod:`arbkit_polymarket.plugin`); the core holds
the :class:`PolymarketSettings` read, ``settings.venue("polymarket")``, and knows nothing of its
fields. An extra account (``ARBKIT_ACCOUNTS=polymarket:alt``) reads the same names with its
suffix (``POLYMARKET_PRIVATE_KEY__ALT``); it shares the default account's hosts unless it sets
its own.

>>> from arbkit.config import EnvReader
>>> PolymarketSettings.read(EnvReader({"POLYMARKET_SIGNATURE_TYPE": "2"})).signature_type
2
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from arbkit.config import EnvReader, Secret, SettingsSpec
from arbkit.errors import ConfigError

if TYPE_CHECKING:
    from arbkit.config import Settings

__all__ = ["SPEC", "VARIABLES", "PolymarketSettings"]

NAME = "polymarket"

#: Every variable this adapter reads, with its meaning (``.env.example`` documents each).
VARIABLES = {
    "POLYMARKET_PRIVATE_KEY": "hex private key of the Polymarket signer (secret)",
    "POLYMARKET_API_KEY": "CLOB API key (derived from the private key if unset)",
    "POLYMARKET_API_SECRET": "CLOB API secret (secret)",
    "POLYMARKET_API_PASSPHRASE": "CLOB API passphrase (secret)",
    "POLYMARKET_FUNDER": "address holding the funds (proxy/Safe wallet) for signature types 1 and 2",
    "POLYMARKET_SIGNATURE_TYPE": "0 EOA, 1 Poly proxy, 2 Gnosis Safe (0; 3, deposit wallets, is refused)",
    "POLYMARKET_CLOB_URL": "CLOB base URL (https://clob.polymarket.com)",
    "POLYMARKET_GAMMA_URL": "Gamma base URL (https://gamma-api.polymarket.com)",
    "POLYMARKET_DATA_URL": "Data API base URL, for positions (https://data-api.polymarket.com)",
    "POLYMARKET_WS_URL": "WebSocket base URL (wss://ws-subscriptions-clob.polymarket.com/ws)",
}


def _is_hex_key(value: str) -> bool:
    body = value[2:] if value.lower().startswith("0x") else value
    return len(body) == 64 and all(c in "0123456789abcdefABCDEF" for c in body)


def _is_address(value: str) -> bool:
    return (
        len(value) == 42
        and value.lower().startswith("0x")
        and all(c in "0123456789abcdefABCDEF" for c in value[2:])
    )


@attrs.frozen
class PolymarketSettings:
    """One Polymarket account's wallet and CLOB credentials, and the hosts it talks to."""

    private_key: Secret | None = None
    api_key: str | None = None
    api_secret: Secret | None = None
    api_passphrase: Secret | None = None
    funder: str | None = None
    signature_type: int = 0
    clob_url: str | None = None
    gamma_url: str | None = None
    data_url: str | None = None
    ws_url: str | None = None

    @classmethod
    def read(cls, env: EnvReader) -> PolymarketSettings:
        """Read and check the variables as ``env`` (one account's view) resolves them."""
        private_key = env.secret("POLYMARKET_PRIVATE_KEY")
        if private_key is not None and not _is_hex_key(private_key.reveal()):
            raise env.fail("POLYMARKET_PRIVATE_KEY", "expected 32 bytes of hex (64 hex digits, optional 0x)")
        funder = env.text("POLYMARKET_FUNDER", _is_address, "expected a 0x-prefixed 20-byte address")
        signature_type = env.integer("POLYMARKET_SIGNATURE_TYPE", 0, minimum=0, maximum=3) or 0
        if signature_type == 3:
            raise env.fail(
                "POLYMARKET_SIGNATURE_TYPE", "must be 0, 1 or 2 (3, deposit wallets, is not supported)"
            )
        if signature_type and private_key is not None and funder is None:
            raise env.fail(
                "POLYMARKET_FUNDER", "signature types 1 and 2 need the proxy/Safe address as funder"
            )
        api_key = env.text("POLYMARKET_API_KEY")
        api_secret = env.secret("POLYMARKET_API_SECRET")
        passphrase = env.secret("POLYMARKET_API_PASSPHRASE")
        given = [v is not None for v in (api_key, api_secret, passphrase)]
        if any(given) and not all(given):
            partners = (
                f"{env.variable('POLYMARKET_API_SECRET')} and {env.variable('POLYMARKET_API_PASSPHRASE')}"
            )
            raise env.fail(
                "POLYMARKET_API_KEY", f"goes with {partners} (all three, or none to derive them from the key)"
            )
        return cls(
            private_key=private_key,
            api_key=api_key,
            api_secret=api_secret,
            api_passphrase=passphrase,
            funder=funder,
            signature_type=signature_type,
            clob_url=env.url("POLYMARKET_CLOB_URL"),
            gamma_url=env.url("POLYMARKET_GAMMA_URL"),
            data_url=env.url("POLYMARKET_DATA_URL"),
            ws_url=env.ws_url("POLYMARKET_WS_URL"),
        )

    @classmethod
    def of(cls, settings: Settings | None) -> PolymarketSettings:
        """The Polymarket settings ``settings`` hold; the defaults when there are none."""
        held = settings.venue(NAME) if settings is not None else None
        if held is None:
            return cls()
        if not isinstance(held, cls):
            raise ConfigError(
                f"the settings hold a {type(held).__name__} for polymarket, not PolymarketSettings"
            )
        return held


#: What :mod:`arbkit_polymarket.plugin` registers.
SPEC = SettingsSpec(
    PolymarketSettings,
    PolymarketSettings.read,
    VARIABLES,
    secrets={"POLYMARKET_PRIVATE_KEY", "POLYMARKET_API_SECRET", "POLYMARKET_API_PASSPHRASE"},
    rest_hosts=("clob_url",),
    stream_hosts=("ws_url",),
    shared={"POLYMARKET_CLOB_URL", "POLYMARKET_GAMMA_URL", "POLYMARKET_DATA_URL", "POLYMARKET_WS_URL"},
)
