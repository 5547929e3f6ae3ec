"""CLOB V2 orders: amounts in 10^6 base units, the 11-field EIP-712 struct, and signing.

Reference: polymarket.md section 5 (CLOB V2 since 2026-04-28; V1-signed orders are refused).

* Domain ``{"Polymarket CTF Exchange", "2", 137, verifyingContract}`` where the contract is the
  neg-risk exchange for neg-risk markets and the standard exchange otherwise (section 5.1).
* Struct ``Order(salt, maker, signer, tokenId, makerAmount, takerAmount, side, signatureType,
  timestamp, metadata, builder)``; ``expiration`` travels in the JSON but is not signed.
* Amounts (section 5.5): shares rounded **down** to 2 dp, price on the tick grid, notional exact.
  Marketable orders (FOK/FAK) use the conservative precision (maker 2 dp / taker 4 dp) with
  the share count rounded down, so a BUY's implied price ``maker / taker`` is never below its
  limit (a FAK priced under the ask is killed: py-sdk #291).

Signing is the hot path of an arbitrage leg: domain separators and the type hash are
computed once per signer and the digest is signed with libsecp256k1 (coincurve).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

import attrs

from arbkit.errors import ConfigError, ValidationError
from arbkit.models import Side, TimeInForce
from arbkit_polymarket.crypto import (
    SigningKey,
    address_word,
    bytes32_word,
    checksum,
    domain_separator,
    keccak,
    typed_digest,
    uint_word,
)
from arbkit_polymarket.units import MIN_MARKETABLE_NOTIONAL, from_base_units, to_base_units

__all__ = [
    "CHAIN_ID",
    "EXCHANGE",
    "NEG_RISK_EXCHANGE",
    "TICK_SIZES",
    "OrderAmounts",
    "OrderSigner",
    "SignatureType",
    "SignedOrder",
    "order_amounts",
    "salt_for",
]

CHAIN_ID = 137
EXCHANGE_NAME = "Polymarket CTF Exchange"
EXCHANGE_VERSION = "2"
#: CTF Exchange (V2) and Neg Risk CTF Exchange (V2) on Polygon (reference section 5.4).
EXCHANGE = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE = "0xe2222d279d744050d28e00520010520000310F59"
ZERO_BYTES32 = "0x" + "00" * 32
ORDER_TYPE = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
    "uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)"
)


@functools.cache
def order_typehash() -> bytes:
    """Keccak of :data:`ORDER_TYPE`, computed on first use (importing loads no Keccak library)."""
    return keccak(ORDER_TYPE.encode())


#: Salts stay below 2^53 so they survive JSON numbers in every client (the SDKs do the same).
SALT_LIMIT = 2**53
SHARE_QUANTUM = Decimal("0.01")

#: tick size -> (price decimals, size decimals, amount decimals), reference section 5.5.
TICK_SIZES: dict[Decimal, tuple[int, int, int]] = {
    Decimal("0.1"): (1, 2, 3),
    Decimal("0.01"): (2, 2, 4),
    Decimal("0.005"): (3, 2, 5),
    Decimal("0.0025"): (4, 2, 6),
    Decimal("0.001"): (3, 2, 5),
    Decimal("0.0001"): (4, 2, 6),
}
MARKETABLE = frozenset({TimeInForce.FOK, TimeInForce.IOC})


class SignatureType:
    """``signatureType`` values (reference section 4.4)."""

    EOA = 0
    POLY_PROXY = 1
    POLY_GNOSIS_SAFE = 2
    POLY_1271 = 3


def _quantum(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)


def tick_decimals(tick: Decimal) -> tuple[int, int, int]:
    """The rounding row of a tick size; ``ValidationError`` for a tick the CLOB does not use."""
    row = TICK_SIZES.get(tick)
    if row is None:
        raise ValidationError(f"unknown tick size {tick}; known: {', '.join(str(t) for t in TICK_SIZES)}")
    return row


@attrs.frozen
class OrderAmounts:
    """What an order gives and gets, in 10^6 base units (``maker``/``taker``) and in core units."""

    side: Side
    maker_amount: int
    taker_amount: int

    @property
    def shares(self) -> Decimal:
        """Shares bought (BUY) or sold (SELL)."""
        units = self.taker_amount if self.side is Side.BUY else self.maker_amount
        return from_base_units(units)

    @property
    def notional(self) -> Decimal:
        """pUSD paid (BUY) or received (SELL), before fees."""
        units = self.maker_amount if self.side is Side.BUY else self.taker_amount
        return from_base_units(units)

    @property
    def implied_price(self) -> Decimal:
        """pUSD per share the amounts imply."""
        return self.notional / self.shares


def check_price(price: Decimal, tick: Decimal) -> None:
    """Refuse a price off the tick grid or outside ``[tick, 1 - tick]`` (the server does too)."""
    tick_decimals(tick)
    if price % tick != 0 or not tick <= price <= 1 - tick:
        raise ValidationError(f"price {price} is not on the {tick} tick grid within [{tick}, {1 - tick}]")


def order_amounts(
    side: Side | str, price: Decimal, size: Decimal, tick: Decimal, *, marketable: bool = False
) -> OrderAmounts:
    """Maker and taker amounts of an order of ``size`` shares at ``price``.

    Limit orders (GTC/GTD) follow the official SDK algorithm: shares floored to 2 dp,
    notional = shares x price (exact). ``marketable=True`` (FOK/FAK) keeps the maker at
    2 dp and the taker at 4 dp, rounding shares down so the implied price never crosses
    the limit the wrong way.

    >>> a = order_amounts("buy", Decimal("0.30"), Decimal("16.90"), Decimal("0.01"))
    >>> a.maker_amount, a.taker_amount
    (5070000, 16900000)
    """
    side = Side(side)
    _, size_dp, amount_dp = tick_decimals(tick)
    check_price(price, tick)
    shares = size.quantize(_quantum(size_dp), rounding=ROUND_DOWN)
    if shares <= 0:
        raise ValidationError(f"size {size} rounds down to zero shares")
    if not marketable:
        notional = shares * price
        if notional.as_tuple().exponent < -amount_dp:  # type: ignore[operator]
            # Never true in exact arithmetic (2-dp shares x on-grid price); kept from the SDKs.
            notional = notional.quantize(_quantum(amount_dp + 4), rounding=ROUND_UP)
            notional = notional.quantize(_quantum(amount_dp), rounding=ROUND_DOWN)
        if side is Side.BUY:
            return OrderAmounts(side, to_base_units(notional), to_base_units(shares))
        return OrderAmounts(side, to_base_units(shares), to_base_units(notional))
    if side is Side.BUY:
        spend = (shares * price).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        got = (spend / price).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)  # <= spend/price
        if spend <= 0 or got <= 0:
            raise ValidationError(f"order of {size} at {price} is too small to express")
        return OrderAmounts(side, to_base_units(spend), to_base_units(got))
    receive = (shares * price).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)  # implied <= price
    if receive <= 0:
        raise ValidationError(f"order of {size} at {price} is too small to express")
    return OrderAmounts(side, to_base_units(shares), to_base_units(receive))


def check_minimum(amounts: OrderAmounts, *, marketable: bool, min_order_size: Decimal) -> None:
    """Refuse what the CLOB would: resting orders under ``min_order_size`` shares, tiny marketable ones."""
    if marketable:
        if amounts.notional < MIN_MARKETABLE_NOTIONAL:
            raise ValidationError(
                f"marketable order notional {amounts.notional} is under "
                f"the ${MIN_MARKETABLE_NOTIONAL} minimum"
            )
    elif amounts.shares < min_order_size:
        raise ValidationError(f"Size ({amounts.shares}) lower than the minimum: {min_order_size}")


def salt_for(client_order_id: str | None) -> int:
    """A salt below 2^53: a pure function of the client order id, random without one."""
    if client_order_id is None:
        return secrets.randbelow(SALT_LIMIT - 1) + 1
    digest = hashlib.sha256(client_order_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % (SALT_LIMIT - 1) + 1


@attrs.frozen
class SignedOrder:
    """A signed V2 order, ready to post. ``order_id`` is its EIP-712 hash (the CLOB's ``orderID``)."""

    salt: int
    maker: str
    signer: str
    token_id: str
    maker_amount: int
    taker_amount: int
    side: Side
    signature_type: int
    timestamp_ms: int
    expiration: int
    signature: str
    order_id: str
    metadata: str = ZERO_BYTES32
    builder: str = ZERO_BYTES32

    def to_json(self) -> dict[str, Any]:
        """The ``order`` object of ``POST /order``: keys, order and wire types as the SDKs send them."""
        return {
            "salt": self.salt,
            "maker": self.maker,
            "signer": self.signer,
            "tokenId": self.token_id,
            "makerAmount": str(self.maker_amount),
            "takerAmount": str(self.taker_amount),
            "side": "BUY" if self.side is Side.BUY else "SELL",
            "expiration": str(self.expiration),
            "signatureType": self.signature_type,
            "timestamp": str(self.timestamp_ms),
            "metadata": self.metadata,
            "builder": self.builder,
            "signature": self.signature,
        }


def order_struct_hash(
    *,
    salt: int,
    maker: str,
    signer: str,
    token_id: int,
    maker_amount: int,
    taker_amount: int,
    side: int,
    signature_type: int,
    timestamp_ms: int,
    metadata: str = ZERO_BYTES32,
    builder: str = ZERO_BYTES32,
) -> bytes:
    """``hashStruct(Order)`` of the V2 struct (shared by the client and the sandbox's verifier)."""
    return keccak(
        order_typehash()
        + uint_word(salt)
        + address_word(maker)
        + address_word(signer)
        + uint_word(token_id)
        + uint_word(maker_amount)
        + uint_word(taker_amount)
        + uint_word(side)
        + uint_word(signature_type)
        + uint_word(timestamp_ms)
        + bytes32_word(metadata)
        + bytes32_word(builder)
    )


#: Domain separators of both V2 exchanges on Polygon, computed once.
def exchange_domain(contract: str, chain_id: int = CHAIN_ID) -> bytes:
    """The exchange's EIP-712 domain separator (name, version "2", chain, contract)."""
    return domain_separator(EXCHANGE_NAME, EXCHANGE_VERSION, chain_id, contract)


class OrderSigner:
    """Builds and signs V2 orders for one wallet.

    ``signature_type`` 0 signs for the EOA itself; 1 (Polymarket proxy) and 2 (Gnosis Safe)
    sign with the owner EOA for ``funder``, the smart wallet that holds the money.
    Type 3 (deposit wallet) is refused: the CLOB binds API keys to the EOA when they are
    derived the documented way, so every type-3 order fails with "the order signer address
    has to be the address of the API KEY" (reference section 4.4; the deposit-wallet L1 form
    is UNCERTAIN). Use the official unified SDK for deposit wallets.
    """

    def __init__(
        self,
        key: SigningKey,
        *,
        signature_type: int = SignatureType.EOA,
        funder: str | None = None,
        chain_id: int = CHAIN_ID,
        exchange: str = EXCHANGE,
        neg_risk_exchange: str = NEG_RISK_EXCHANGE,
    ) -> None:
        if signature_type == SignatureType.POLY_1271:
            raise ConfigError(
                "signature type 3 (deposit wallet) is not supported: API keys derived with the "
                "documented L1 flow bind to the EOA and the CLOB refuses deposit-wallet orders signed "
                "for them; use a type 0, 1 or 2 account",
                variable="POLYMARKET_SIGNATURE_TYPE",
            )
        if signature_type not in (0, 1, 2):
            raise ConfigError("must be 0, 1 or 2", variable="POLYMARKET_SIGNATURE_TYPE")
        if signature_type != SignatureType.EOA and funder is None:
            raise ConfigError(
                "signature types 1 and 2 need the proxy/Safe address as funder", variable="POLYMARKET_FUNDER"
            )
        self.key = key
        self.signature_type = signature_type
        self.signer = key.address
        self.maker = checksum(funder) if funder else key.address
        self.chain_id = chain_id
        self._domains = {
            False: exchange_domain(checksum(exchange), chain_id),
            True: exchange_domain(checksum(neg_risk_exchange), chain_id),
        }
        # Maker and signer words never change for this wallet.
        self._prefix_words = address_word(self.maker) + address_word(self.signer)

    def __repr__(self) -> str:
        return f"OrderSigner(maker={self.maker!r}, signer={self.signer!r}, type={self.signature_type})"

    def sign(
        self,
        *,
        token_id: str,
        amounts: OrderAmounts,
        neg_risk: bool,
        salt: int,
        timestamp_ms: int | None = None,
        expiration: int = 0,
    ) -> SignedOrder:
        """Sign one order against the right exchange (neg-risk or standard)."""
        if not token_id.isdigit():
            raise ValidationError(f"token id must be a decimal uint256 string, got {token_id[:40]!r}")
        ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        side = 0 if amounts.side is Side.BUY else 1
        struct_hash = keccak(
            order_typehash()
            + uint_word(salt)
            + self._prefix_words
            + uint_word(int(token_id))
            + uint_word(amounts.maker_amount)
            + uint_word(amounts.taker_amount)
            + uint_word(side)
            + uint_word(self.signature_type)
            + uint_word(ts)
            + bytes(64)  # metadata, builder: zero
        )
        digest = typed_digest(self._domains[bool(neg_risk)], struct_hash)
        signature = self.key.sign_digest(digest)
        return SignedOrder(
            salt=salt,
            maker=self.maker,
            signer=self.signer,
            token_id=token_id,
            maker_amount=amounts.maker_amount,
            taker_amount=amounts.taker_amount,
            side=amounts.side,
            signature_type=self.signature_type,
            timestamp_ms=ts,
            expiration=expiration,
            signature="0x" + signature.hex(),
            order_id="0x" + digest.hex(),
        )
