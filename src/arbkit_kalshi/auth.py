"""Kalshi request signing: RSA-PSS over ``timestamp + METHOD + path`` (reference: kalshi.md section 2).

Every authenticated request carries three headers:

* ``KALSHI-ACCESS-KEY``: the API key id (a UUID);
* ``KALSHI-ACCESS-TIMESTAMP``: Unix time in **milliseconds**;
* ``KALSHI-ACCESS-SIGNATURE``: base64 of RSASSA-PSS(SHA-256, MGF1-SHA-256, salt = 32 bytes)
  over ``timestamp + METHOD + path``, where ``path`` includes the ``/trade-api/v2`` prefix and
  excludes the query string. The body is not signed.

The key is parsed once, when the signer is built, so signing a request costs one RSA
operation and nothing else. Nothing here ever shows key material: the repr names the
key id only.

>>> from cryptography.hazmat.primitives.asymmetric import rsa
>>> key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
>>> signer = KalshiSigner("key-id", key)
>>> sorted(signer("GET", "/trade-api/v2/portfolio/balance", b""))
['KALSHI-ACCESS-KEY', 'KALSHI-ACCESS-SIGNATURE', 'KALSHI-ACCESS-TIMESTAMP']
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from arbkit.errors import ConfigError

__all__ = [
    "KEY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "KalshiSigner",
    "load_private_key",
    "load_public_key",
    "signing_message",
    "verify_signature",
]

KEY_HEADER = "KALSHI-ACCESS-KEY"
TIMESTAMP_HEADER = "KALSHI-ACCESS-TIMESTAMP"
SIGNATURE_HEADER = "KALSHI-ACCESS-SIGNATURE"

# RSASSA-PSS with MGF1(SHA-256) and a salt as long as the digest (32 bytes), as Kalshi's
# docs and official SDKs use (kalshi.md section 2, "Algorithm").
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def signing_message(timestamp_ms: int | str, method: str, path: str) -> bytes:
    """The bytes Kalshi signs: ``timestamp + METHOD + path`` with any query string cut off."""
    return f"{timestamp_ms}{method.upper()}{path.split('?', 1)[0]}".encode()


PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def load_private_key(pem: str | bytes | os.PathLike[str] | PrivateKey) -> PrivateKey:
    """Parse an RSA (PKCS#1 or PKCS#8) or Ed25519 private key from PEM text/bytes or a PEM file path.

    Raises :class:`~arbkit.errors.ConfigError` naming the problem, never the key.
    """
    if isinstance(pem, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return pem
    if isinstance(pem, os.PathLike) or (isinstance(pem, str) and "-----BEGIN" not in pem):
        path = Path(pem).expanduser()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the Kalshi private key file: {type(exc).__name__}") from None
    else:
        data = pem.encode() if isinstance(pem, str) else pem
    # Keys pasted into .env files often carry literal "\n" instead of newlines.
    data = data.replace(b"\\n", b"\n").strip()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError(
            "the Kalshi private key is not an unencrypted PEM RSA or Ed25519 key", variable="KALSHI_SECRET"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise ConfigError("the Kalshi private key must be an RSA or Ed25519 key", variable="KALSHI_SECRET")
    return key


def load_public_key(pem: str | bytes | rsa.RSAPublicKey) -> rsa.RSAPublicKey:
    """Parse an RSA public key from PEM (``BEGIN PUBLIC KEY`` or ``BEGIN RSA PUBLIC KEY``)."""
    if isinstance(pem, rsa.RSAPublicKey):
        return pem
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data.strip())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError("not a PEM RSA public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError("the public key must be an RSA key")
    return key


def verify_signature(public_key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` is a valid Kalshi signature of ``message`` under ``public_key``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, message, _PSS, hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


class KalshiSigner:
    """Signs Kalshi requests; an :class:`arbkit.http.RequestSigner`.

    ``clock`` returns Unix milliseconds (tests pin it). The key is parsed here, once.
    """

    def __init__(
        self,
        api_key_id: str,
        private_key: str | bytes | os.PathLike[str] | PrivateKey,
        *,
        clock: Callable[[], int] = _now_ms,
    ) -> None:
        if not api_key_id or not isinstance(api_key_id, str):
            raise ConfigError("a Kalshi API key id is required to sign", variable="KALSHI_API_KEY")
        self.api_key_id = api_key_id
        self._key = load_private_key(private_key)
        self._clock = clock

    def __repr__(self) -> str:
        return f"KalshiSigner(api_key_id={self.api_key_id!r})"

    def sign(self, message: bytes) -> str:
        """Base64 signature of ``message``: RSA-PSS (randomised: two calls differ) or Ed25519 (2026 keys)."""
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            return base64.b64encode(self._key.sign(message)).decode("ascii")
        return base64.b64encode(self._key.sign(message, _PSS, hashes.SHA256())).decode("ascii")

    def headers(self, method: str, path: str, *, timestamp_ms: int | None = None) -> dict[str, str]:
        """The three ``KALSHI-ACCESS-*`` headers for one request."""
        ts = str(self._clock() if timestamp_ms is None else timestamp_ms)
        return {
            KEY_HEADER: self.api_key_id,
            TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: self.sign(signing_message(ts, method, path)),
        }

    def __call__(self, method: str, path: str, body: bytes) -> Mapping[str, str]:
        """The :class:`arbkit.http.RequestSigner` hook: Kalshi does not sign the body."""
        return self.headers(method, path)

    def public_key_pem(self) -> str:
        """The matching public key as PEM (to register it with a sandbox)."""
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )
