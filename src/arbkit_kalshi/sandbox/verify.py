"""The sandbox's own checks, written from the reference and never shared with the client.

A check that reuses the client's code passes a bug both sides share, so the sandbox
verifies signatures with ``cryptography`` directly from the registered PUBLIC key
(kalshi.md section 2: RSA-PSS SHA-256, MGF1 SHA-256, salt = 32 bytes; or Ed25519, both over
``timestamp + METHOD + path``) and prices fees with its own reading of the published
formula (section 5), never importing :mod:`arbkit_kalshi.auth` or :mod:`arbkit.engine.fees`.

>>> taker_fee(Decimal(1), Decimal("10"), Decimal("0.50"))
Decimal('0.175000')
>>> taker_fee(Decimal(1), Decimal("4"), Decimal("0.49"))  # kalshi.md 10: 0.07 x 4 x 0.49 x 0.51
Decimal('0.069972')
>>> taker_fee(Decimal(1), Decimal("1.03"), Decimal("0.0103"))  # 0.000734965... rounded up
Decimal('0.000735')
"""

from __future__ import annotations

import base64
import binascii
from decimal import ROUND_CEILING, Decimal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

__all__ = [
    "MAKER_RATES",
    "PublicKey",
    "fee_for",
    "load_public_pem",
    "signed_text",
    "taker_fee",
    "verify",
]

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
TAKER_RATE = Decimal("0.07")
#: Maker rate per ``fee_type`` (kalshi.md 5): none on ``quadratic``; 0.0175 = 0.25 x 0.07;
#: combo makers pay 0.5 x 0.07. ``flat`` (a table the API does not publish) is not modelled.
MAKER_RATES = {
    "quadratic": Decimal(0),
    "quadratic_with_maker_fees": Decimal("0.0175"),
    "quadratic_with_combo_maker_fees": Decimal("0.035"),
}
MICRO = Decimal("0.000001")


def load_public_pem(pem: str | bytes) -> PublicKey:
    """An RSA or Ed25519 public key from PEM (``BEGIN PUBLIC KEY`` or ``BEGIN RSA PUBLIC KEY``)."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise ValueError("Kalshi keys are RSA or Ed25519")
    return key


def signed_text(timestamp_ms: str, method: str, path: str) -> bytes:
    """What the client must have signed: ``ts + METHOD + path`` (path with ``/trade-api/v2``, no query)."""
    return f"{timestamp_ms}{method.upper()}{path.split('?', 1)[0]}".encode()


def verify(key: PublicKey, message: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` (standard base64) signs ``message`` under ``key``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(
                signature,
                message,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
        else:
            key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _quadratic(rate: Decimal, multiplier: Decimal, count: Decimal, price: Decimal) -> Decimal:
    raw = rate * multiplier * count * price * (1 - price)
    # "trade fee rounded UP to $0.000001" (kalshi.md 5, docs' fee_rounding example).
    return raw.quantize(MICRO, rounding=ROUND_CEILING)


def taker_fee(multiplier: Decimal, count: Decimal, price: Decimal) -> Decimal:
    """``ceil_6dp(M x 0.07 x C x P x (1 - P))`` for one taker execution."""
    return _quadratic(TAKER_RATE, multiplier, count, price)


def fee_for(fee_type: str, multiplier: Decimal, count: Decimal, price: Decimal, *, taker: bool) -> Decimal:
    """The fee of one execution of ``count`` contracts at YES price ``price`` (symmetric in P(1-P)).

    The per-order "rounding fee" accumulator that floors balance changes to the member's
    precision is not modelled (UNCERTAIN in the reference); balances move by these fees exactly.
    """
    if taker:
        return taker_fee(multiplier, count, price)
    rate = MAKER_RATES.get(fee_type, Decimal(0))
    return _quadratic(rate, multiplier, count, price) if rate else Decimal(0).quantize(MICRO)
