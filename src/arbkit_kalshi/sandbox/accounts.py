"""Funded sandbox accounts with fresh credentials, for tests, benchmarks and the demo.

:func:`new_account` makes a key pair (RSA 2048, as Kalshi issues) and a key id;
:func:`open_account` also registers it on a :class:`~arbkit_kalshi.sandbox.KalshiSandbox`
with a cash balance. The private key is a sandbox credential, but it is still wrapped in a
:class:`~arbkit.config.Secret` so it never reaches a repr or a log. The Polymarket sandbox
offers the same two functions (:mod:`arbkit_polymarket.sandbox.accounts`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from arbkit.config import Secret

if TYPE_CHECKING:
    from arbkit_kalshi.client import KalshiClient
    from arbkit_kalshi.sandbox.app import KalshiSandbox

__all__ = ["SandboxAccount", "new_account", "open_account"]


@attrs.frozen
class SandboxAccount:
    """An API key for the sandbox: its id, private key (PKCS#1 PEM) and public key (SPKI PEM)."""

    key_id: str
    private_key_pem: Secret
    public_key_pem: str = attrs.field(repr=False)

    def client(self, base_url: str, **options: Any) -> KalshiClient:
        """A signed client for the sandbox at ``base_url``: no throttle, no environment proxies.

        ``options`` go to :class:`~arbkit_kalshi.client.KalshiClient` (``timeout``, ``max_retries``...).
        """
        from arbkit_kalshi.client import KalshiClient

        options.setdefault("rate_limit", None)
        client = KalshiClient(
            base_url=base_url, api_key_id=self.key_id, private_key=self.private_key_pem.reveal(), **options
        )
        client.transport.session.trust_env = False
        return client


def new_account(key_id: str | None = None) -> SandboxAccount:
    """Fresh credentials (not yet known to any sandbox)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return SandboxAccount(key_id or str(uuid.uuid4()), Secret(private), public)


def open_account(
    app: KalshiSandbox, *, balance: Decimal | int | str, account: SandboxAccount | None = None
) -> SandboxAccount:
    """Register ``account`` (fresh credentials by default) on ``app`` with ``balance`` dollars."""
    account = account or new_account()
    app.add_account(account.key_id, account.public_key_pem, balance)
    return account
