"""The sandbox's own checks of what a client sends, written from the published recipes only.

Nothing here imports arbkit's Polymarket client code (``arbkit_polymarket.auth``,
``.crypto``, ``.orders``) or arbkit's fee code: a bug shared by client and sandbox
would otherwise pass both sides. EIP-712 hashing and signer recovery go through
eth-account (``encode_typed_data`` / ``Account.recover_message``), the L2 HMAC is
rebuilt with :mod:`hmac`, :mod:`hashlib` and :mod:`base64`, and fees follow the
formula of reference polymarket.md section 7.

Constants are copied from the reference (sections 4.1, 5.1, 5.4, 5.5), not from the client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import attrs
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

__all__ = [
    "CHAIN_ID",
    "CLOB_AUTH_MESSAGE",
    "EXCHANGE",
    "NEG_RISK_EXCHANGE",
    "TICK_DECIMALS",
    "SandboxFee",
    "checksum",
    "expected_hmac",
    "recover_clob_auth",
    "recover_order",
    "same_api_credentials",
]

CHAIN_ID = 137
EXCHANGE = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE = "0xe2222d279d744050d28e00520010520000310F59"
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"
ZERO32 = "0x" + "00" * 32
#: tick -> (price decimals, size decimals, amount decimals), reference section 5.5.
TICK_DECIMALS: dict[Decimal, tuple[int, int, int]] = {
    Decimal("0.1"): (1, 2, 3),
    Decimal("0.01"): (2, 2, 4),
    Decimal("0.005"): (3, 2, 5),
    Decimal("0.0025"): (4, 2, 6),
    Decimal("0.001"): (3, 2, 5),
    Decimal("0.0001"): (4, 2, 6),
}

_ORDER_FIELDS = [
    {"name": "salt", "type": "uint256"},
    {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"},
    {"name": "takerAmount", "type": "uint256"},
    {"name": "side", "type": "uint8"},
    {"name": "signatureType", "type": "uint8"},
    {"name": "timestamp", "type": "uint256"},
    {"name": "metadata", "type": "bytes32"},
    {"name": "builder", "type": "bytes32"},
]
_CLOB_AUTH_FIELDS = [
    {"name": "address", "type": "address"},
    {"name": "timestamp", "type": "string"},
    {"name": "nonce", "type": "uint256"},
    {"name": "message", "type": "string"},
]


def checksum(address: str) -> str:
    """EIP-55 form of a 0x address; ``ValueError`` when it is not one."""
    if not isinstance(address, str) or len(address) != 42 or not address.startswith("0x"):
        raise ValueError(f"not an address: {address!r}")
    return str(to_checksum_address(address))


def _bytes32(value: Any) -> bytes:
    raw = bytes.fromhex(str(value or ZERO32).removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError("bytes32 field of the wrong length")
    return raw


def _signature(value: Any) -> bytes:
    raw = bytes.fromhex(str(value).removeprefix("0x"))
    if len(raw) != 65:
        raise ValueError("an ECDSA signature is 65 bytes")
    return raw


def recover_order(order: dict[str, Any], *, neg_risk: bool, chain_id: int = CHAIN_ID) -> tuple[str, str]:
    """(signer recovered from the order's EIP-712 signature, order id = the typed-data hash).

    The domain is the CLOB V2 exchange (version "2"), the neg-risk exchange for neg-risk
    markets. ``ValueError``/``TypeError``/``KeyError`` on a malformed order.
    """
    side = {"BUY": 0, "SELL": 1}[str(order["side"])]
    signable = encode_typed_data(
        domain_data={
            "name": "Polymarket CTF Exchange",
            "version": "2",
            "chainId": chain_id,
            "verifyingContract": NEG_RISK_EXCHANGE if neg_risk else EXCHANGE,
        },
        message_types={"Order": _ORDER_FIELDS},
        message_data={
            "salt": int(order["salt"]),
            "maker": checksum(order["maker"]),
            "signer": checksum(order["signer"]),
            "tokenId": int(order["tokenId"]),
            "makerAmount": int(order["makerAmount"]),
            "takerAmount": int(order["takerAmount"]),
            "side": side,
            "signatureType": int(order["signatureType"]),
            "timestamp": int(order["timestamp"]),
            "metadata": _bytes32(order.get("metadata")),
            "builder": _bytes32(order.get("builder")),
        },
    )
    digest = keccak(b"\x19" + signable.version + signable.header + signable.body)
    signer = Account.recover_message(signable, signature=_signature(order["signature"]))
    return str(signer), "0x" + digest.hex()


def recover_clob_auth(
    address: str, timestamp: str, nonce: int, signature: str, chain_id: int = CHAIN_ID
) -> str:
    """The address that signed a ``ClobAuth`` L1 message (reference section 4.1)."""
    signable = encode_typed_data(
        domain_data={"name": "ClobAuthDomain", "version": "1", "chainId": chain_id},
        message_types={"ClobAuth": _CLOB_AUTH_FIELDS},
        message_data={
            "address": checksum(address),
            "timestamp": str(timestamp),
            "nonce": int(nonce),
            "message": CLOB_AUTH_MESSAGE,
        },
    )
    return str(Account.recover_message(signable, signature=_signature(signature)))


def expected_hmac(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """``POLY_SIGNATURE`` as the documented recipe defines it (reference section 4.3).

    HMAC-SHA256 keyed with the url-safe-base64-decoded secret over
    ``timestamp + METHOD + path + body`` (no query string, the body bytes as sent),
    encoded url-safe base64 with padding.
    """
    key = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    message = timestamp.encode() + method.encode() + path.encode() + body
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def same_api_credentials(record: dict[str, Any], secret: Any, passphrase: Any) -> bool:
    """Whether the user channel's ``auth`` secret and passphrase are the key's (reference 8.1).

    The channel sends them raw (no HMAC); compared in constant time, both always compared.
    """
    if not (isinstance(secret, str) and isinstance(passphrase, str) and secret and passphrase):
        return False
    good_secret = hmac.compare_digest(secret.encode(), str(record["secret"]).encode())
    good_passphrase = hmac.compare_digest(passphrase.encode(), str(record["passphrase"]).encode())
    return good_secret and good_passphrase


#: Fee rounding: to 0.00001 pUSD per fill, half-even [UNCERTAIN: the venue documents no
#: rounding; reference section 7 cites a third party that floors "matching the venue charge"
#: and older code of the same project that rounded. Set ``FEE_ROUNDING = ROUND_DOWN`` to
#: model the floor; arbkit's own fee model rounds half-even].
FEE_QUANTUM = Decimal("0.00001")
FEE_ROUNDING = ROUND_HALF_EVEN


@attrs.frozen
class SandboxFee:
    """The CLOB V2 platform fee of one market: ``shares x rate x (p x (1 - p)) ** exponent``.

    Charged to the taker of each fill, makers pay nothing (``fd.to``, taker only).
    ``rate`` zero means a market without fees.
    """

    rate: Decimal = Decimal(0)
    exponent: int = 1

    def fee(self, price: Decimal, shares: Decimal, *, taker: bool = True) -> Decimal:
        """The fee of one fill, in pUSD."""
        if not taker or not self.rate:
            return Decimal(0)
        raw = shares * self.rate * (price * (1 - price)) ** self.exponent
        return raw.quantize(FEE_QUANTUM, rounding=FEE_ROUNDING)
