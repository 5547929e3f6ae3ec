"""Polymarket CLOB authentication: L1 (ClobAuth EIP-712) and L2 (HMAC-SHA256).

* **L1** proves control of the wallet key and is only used to derive or create API
  credentials (reference: polymarket.md section 4.1).
* **L2** signs every account request with the API secret over
  ``timestamp + METHOD + path + body``: the path without its query string and the
  exact body bytes sent (section 4.3). :class:`L2Signer` implements
  :class:`arbkit.http.RequestSigner`, so the transport hands it those bytes.

Secrets are held in :class:`arbkit.config.Secret`; no repr shows a key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

import attrs

from arbkit.config import Secret
from arbkit.errors import InvalidResponse
from arbkit_polymarket.crypto import (
    SigningKey,
    address_word,
    domain_separator,
    keccak,
    typed_digest,
    uint_word,
)

__all__ = [
    "CLOB_AUTH_MESSAGE",
    "ApiCredentials",
    "L2Signer",
    "clob_auth_digest",
    "hmac_signature",
    "l1_headers",
]

#: The exact ClobAuth message (no trailing period).
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"
CLOB_AUTH_TYPE = b"ClobAuth(address address,string timestamp,uint256 nonce,string message)"


@functools.cache
def _hashes() -> tuple[bytes, bytes]:
    """The ClobAuth type hash and the message's hash, computed on first signing (so importing
    the client loads no Keccak library)."""
    return keccak(CLOB_AUTH_TYPE), keccak(CLOB_AUTH_MESSAGE.encode())


def _masked(value: str) -> str:
    return f"{value[:4]}…" if len(value) > 8 else "***"


@attrs.frozen(repr=False)
class ApiCredentials:
    """CLOB API credentials (``apiKey``, ``secret``, ``passphrase``). Never printed."""

    api_key: str
    secret: Secret
    passphrase: Secret

    @classmethod
    def from_json(cls, payload: object) -> ApiCredentials:
        """Read the ``/auth/api-key`` / ``/auth/derive-api-key`` answer."""
        if not isinstance(payload, Mapping):
            raise InvalidResponse("API-key response is not an object", exchange="polymarket")
        key, secret, passphrase = (payload.get(k) for k in ("apiKey", "secret", "passphrase"))
        if not all(isinstance(v, str) and v for v in (key, secret, passphrase)):
            raise InvalidResponse("API-key response lacks apiKey/secret/passphrase", exchange="polymarket")
        return cls(str(key), Secret(str(secret)), Secret(str(passphrase)))

    def __repr__(self) -> str:
        return f"ApiCredentials(api_key={_masked(self.api_key)!r}, secret='***', passphrase='***')"


def clob_auth_digest(address: str, timestamp: int, nonce: int, chain_id: int) -> bytes:
    """The EIP-712 digest of a ``ClobAuth`` struct (domain ClobAuthDomain v1, no contract)."""
    struct_hash = keccak(
        _hashes()[0]
        + address_word(address)
        + keccak(str(timestamp).encode())  # timestamp is a *string* field
        + uint_word(nonce)
        + _hashes()[1]
    )
    return typed_digest(domain_separator("ClobAuthDomain", "1", chain_id), struct_hash)


def l1_headers(
    key: SigningKey, *, chain_id: int, nonce: int = 0, timestamp: int | None = None
) -> dict[str, str]:
    """The ``POLY_*`` headers of an L1 request (seconds timestamp, 0x-hex signature)."""
    ts = int(time.time()) if timestamp is None else timestamp
    signature = key.sign_digest(clob_auth_digest(key.address, ts, nonce, chain_id))
    return {
        "POLY_ADDRESS": key.address,
        "POLY_SIGNATURE": "0x" + signature.hex(),
        "POLY_TIMESTAMP": str(ts),
        "POLY_NONCE": str(nonce),
    }


def _secret_bytes(secret: str) -> bytes:
    # The secret is url-safe base64; accept the standard alphabet and missing padding too.
    normalised = secret.replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(normalised + "=" * (-len(normalised) % 4))


def hmac_signature(secret: str, timestamp: int | str, method: str, path: str, body: bytes | str = b"") -> str:
    """The L2 ``POLY_SIGNATURE``: url-safe base64 (padding kept) HMAC-SHA256 of the message.

    ``path`` must not include the query string; ``body`` must be the bytes sent.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    message = f"{timestamp}{method}{path}".encode() + body
    digest = hmac.new(_secret_bytes(secret), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


class L2Signer:
    """Signs CLOB account requests (an :class:`arbkit.http.RequestSigner`).

    ``clock`` returns unix seconds; ``offset`` seconds are added (server-time sync).
    """

    def __init__(
        self, address: str, credentials: ApiCredentials, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.address = address
        self.credentials = credentials
        self.clock = clock
        self.offset = 0

    def __call__(self, method: str, path: str, body: bytes) -> Mapping[str, str]:
        timestamp = int(self.clock()) + self.offset
        creds = self.credentials
        return {
            "POLY_ADDRESS": self.address,
            "POLY_SIGNATURE": hmac_signature(creds.secret.reveal(), timestamp, method.upper(), path, body),
            "POLY_TIMESTAMP": str(timestamp),
            "POLY_API_KEY": creds.api_key,
            "POLY_PASSPHRASE": creds.passphrase.reveal(),
        }

    def __repr__(self) -> str:
        return f"L2Signer(address={self.address!r})"
