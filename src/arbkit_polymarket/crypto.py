"""EIP-712 hashing and secp256k1 signatures, on well-kept libraries only.

Keccak comes from ``eth-hash`` (whichever backend is installed), signatures from
``coincurve`` (libsecp256k1, deterministic RFC 6979 nonces, low-s). Addresses are
checksummed here (EIP-55 is one Keccak hash and a case rule; ``eth-utils`` would pull in
pydantic, 13 MB of every process's memory). Nothing here implements elliptic-curve arithmetic.

The structs Polymarket signs are fixed, so their type hashes are computed once and
each struct is hashed by concatenating 32-byte words (EIP-712 ``encodeData``); the
tests check every digest against ``eth_account.messages.encode_typed_data``.
"""

from __future__ import annotations

import functools
from typing import Any

from arbkit.errors import ConfigError, ValidationError


def _live(module: str) -> Any:
    """A signing library of the ``live`` extra, imported on first use: paper trading and
    market data never load them (about 2 MB of a service's memory)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("Polymarket signing needs the 'live' extra: pip install 'arbkit[live]'") from exc


@functools.cache
def _keccak() -> Any:
    return _live("eth_hash.auto").keccak


@functools.cache
def _coincurve() -> Any:
    return _live("coincurve")


__all__ = [
    "SigningKey",
    "address_word",
    "checksum",
    "domain_separator",
    "keccak",
    "recover_address",
    "typed_digest",
    "uint_word",
]

WORD = 32
UINT256_MAX = 2**256 - 1


def keccak(data: bytes) -> bytes:
    """Keccak-256 of ``data``."""
    digest: bytes = _keccak()(data)
    return digest


def checksum(address: str) -> str:
    """The EIP-55 checksummed form of a 0x address; ``ValidationError`` if it is not one."""
    if not isinstance(address, str) or len(address) != 42 or not address.lower().startswith("0x"):
        raise ValidationError(f"not a 0x-prefixed 20-byte address: {str(address)[:50]!r}")
    hex_part = address[2:].lower()
    if any(c not in "0123456789abcdef" for c in hex_part):
        raise ValidationError(f"not a hex address: {address[:50]!r}")
    # EIP-55: a letter is upper case where the same nibble of keccak(lower-case hex) is >= 8.
    nibbles = keccak(hex_part.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if int(n, 16) >= 8 else c for c, n in zip(hex_part, nibbles, strict=False)
    )


def uint_word(value: int) -> bytes:
    """A uint256 as one big-endian 32-byte word."""
    if value < 0 or value > UINT256_MAX:
        raise ValidationError(f"{value} does not fit in uint256")
    return value.to_bytes(WORD, "big")


def address_word(address: str) -> bytes:
    """An address left-padded to 32 bytes."""
    return bytes.fromhex(address[2:]).rjust(WORD, b"\0")


def bytes32_word(value: str) -> bytes:
    """A 0x-hex bytes32 as a word."""
    raw = bytes.fromhex(value[2:] if value.startswith("0x") else value)
    if len(raw) != WORD:
        raise ValidationError("bytes32 value must be 32 bytes")
    return raw


def domain_separator(name: str, version: str, chain_id: int, verifying_contract: str | None = None) -> bytes:
    """``hashStruct(EIP712Domain)`` for a domain with or without a verifying contract."""
    if verifying_contract is None:
        type_hash = keccak(b"EIP712Domain(string name,string version,uint256 chainId)")
        return keccak(type_hash + keccak(name.encode()) + keccak(version.encode()) + uint_word(chain_id))
    type_hash = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    return keccak(
        type_hash
        + keccak(name.encode())
        + keccak(version.encode())
        + uint_word(chain_id)
        + address_word(verifying_contract)
    )


def typed_digest(domain_sep: bytes, struct_hash: bytes) -> bytes:
    """The EIP-712 signing digest ``keccak(0x1901 || domainSeparator || hashStruct(message))``."""
    return keccak(b"\x19\x01" + domain_sep + struct_hash)


def _address_of(public_key: Any) -> str:
    raw: bytes = public_key.format(compressed=False)[1:]
    return checksum("0x" + keccak(raw)[-20:].hex())


def recover_address(digest: bytes, signature: bytes) -> str:
    """The checksummed address that made a 65-byte ``r || s || v`` signature of ``digest``.

    ``ValidationError`` when the signature is malformed or recovers no key.
    """
    if len(signature) != 65:
        raise ValidationError("signature must be 65 bytes")
    v = signature[64]
    if v >= 27:
        v -= 27
    if v not in (0, 1):
        raise ValidationError("signature has an invalid recovery id")
    try:
        public_key = _coincurve().PublicKey.from_signature_and_message(
            signature[:64] + bytes([v]), digest, hasher=None
        )
    except Exception:  # coincurve raises plain Exception/ValueError on bad input
        raise ValidationError("signature does not recover a public key") from None
    return _address_of(public_key)


class SigningKey:
    """A secp256k1 private key that signs 32-byte digests. Never shows the key.

    >>> key = SigningKey("0x" + "11" * 32)
    >>> key.address
    '0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A'
    """

    __slots__ = ("_key", "address")

    def __init__(self, private_key: str) -> None:
        body = private_key[2:] if private_key.lower().startswith("0x") else private_key
        try:
            raw = bytes.fromhex(body)
            if len(raw) != WORD:
                raise ValueError
            self._key = _coincurve().PrivateKey(raw)
        except ValueError:
            raise ConfigError("expected 32 bytes of hex", variable="POLYMARKET_PRIVATE_KEY") from None
        self.address: str = _address_of(self._key.public_key)

    def sign_digest(self, digest: bytes) -> bytes:
        """A 65-byte Ethereum signature ``r || s || v`` (v = 27/28) of a 32-byte digest."""
        signature: bytes = self._key.sign_recoverable(digest, hasher=None)
        return signature[:64] + bytes([signature[64] + 27])

    def __repr__(self) -> str:
        return f"SigningKey(address={self.address!r})"
