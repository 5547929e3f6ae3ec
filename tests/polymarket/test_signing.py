"""Signing: the reference's official vectors, and our fast EIP-712 path against eth-account."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from arbkit.config import Secret
from arbkit.errors import ConfigError, ValidationError
from arbkit_polymarket.auth import (
    CLOB_AUTH_MESSAGE,
    ApiCredentials,
    L2Signer,
    clob_auth_digest,
    hmac_signature,
    l1_headers,
)
from arbkit_polymarket.crypto import SigningKey, checksum, recover_address
from arbkit_polymarket.orders import (
    EXCHANGE,
    NEG_RISK_EXCHANGE,
    OrderSigner,
    order_amounts,
    salt_for,
)

# Public Hardhat account #0, used by the official SDK tests (reference section 4.1).
HARDHAT_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
HARDHAT_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def test_official_hmac_vector() -> None:
    # Reference section 4.3: py-clob-client-v2 tests/signing/test_hmac.py.
    signature = hmac_signature(
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 1000000, "test-sign", "/orders", '{"hash": "0x123"}'
    )
    assert signature == "ZwAdJKvoYRlEKDkNMwd5BuwNNtg93kNaR_oU2HrfVvc="


def test_official_clob_auth_vector() -> None:
    # Reference section 4.1: chain 80002, timestamp 10000000, nonce 23.
    key = SigningKey(HARDHAT_KEY)
    headers = l1_headers(key, chain_id=80002, nonce=23, timestamp=10000000)
    assert key.address == HARDHAT_ADDRESS
    assert headers["POLY_SIGNATURE"] == (
        "0xf62319a987514da40e57e2f4d7529f7bac38f0355bd88bb5adbb3768d80de6c1"
        "682518e0af677d5260366425f4361e7b70c25ae232aff0ab2331e2b164a1aedc1b"
    )
    assert headers["POLY_ADDRESS"] == HARDHAT_ADDRESS
    assert headers["POLY_TIMESTAMP"] == "10000000"
    assert headers["POLY_NONCE"] == "23"


def test_clob_auth_digest_matches_eth_account() -> None:
    message = encode_typed_data(
        full_message={
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                ],
                "ClobAuth": [
                    {"name": "address", "type": "address"},
                    {"name": "timestamp", "type": "string"},
                    {"name": "nonce", "type": "uint256"},
                    {"name": "message", "type": "string"},
                ],
            },
            "primaryType": "ClobAuth",
            "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": 137},
            "message": {
                "address": HARDHAT_ADDRESS,
                "timestamp": "1700000000",
                "nonce": 0,
                "message": CLOB_AUTH_MESSAGE,
            },
        }
    )
    signed = Account.sign_message(message, HARDHAT_KEY)
    digest = clob_auth_digest(HARDHAT_ADDRESS, 1700000000, 0, 137)
    assert digest == bytes(signed.message_hash)
    assert SigningKey(HARDHAT_KEY).sign_digest(digest) == bytes(signed.signature)


def _typed_order(order: dict[str, object], contract: str) -> dict[str, object]:
    fields = [
        ("salt", "uint256"),
        ("maker", "address"),
        ("signer", "address"),
        ("tokenId", "uint256"),
        ("makerAmount", "uint256"),
        ("takerAmount", "uint256"),
        ("side", "uint8"),
        ("signatureType", "uint8"),
        ("timestamp", "uint256"),
        ("metadata", "bytes32"),
        ("builder", "bytes32"),
    ]
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Order": [{"name": n, "type": t} for n, t in fields],
        },
        "primaryType": "Order",
        "domain": {
            "name": "Polymarket CTF Exchange",
            "version": "2",
            "chainId": 137,
            "verifyingContract": contract,
        },
        "message": {
            "salt": order["salt"],
            "maker": order["maker"],
            "signer": order["signer"],
            "tokenId": int(str(order["tokenId"])),
            "makerAmount": int(str(order["makerAmount"])),
            "takerAmount": int(str(order["takerAmount"])),
            "side": 0 if order["side"] == "BUY" else 1,
            "signatureType": order["signatureType"],
            "timestamp": int(str(order["timestamp"])),
            "metadata": bytes(32),
            "builder": bytes(32),
        },
    }


@pytest.mark.parametrize(("neg_risk", "contract"), [(False, EXCHANGE), (True, NEG_RISK_EXCHANGE)])
def test_order_signature_equals_eth_account_and_recovers(neg_risk: bool, contract: str) -> None:
    signer = OrderSigner(SigningKey(HARDHAT_KEY))
    amounts = order_amounts("buy", Decimal("0.52"), Decimal("100"), Decimal("0.01"))
    order = signer.sign(
        token_id=TOKEN, amounts=amounts, neg_risk=neg_risk, salt=1018789015136, timestamp_ms=1784486089486
    )
    wire = order.to_json()
    message = encode_typed_data(full_message=_typed_order(wire, contract))
    expected = Account.sign_message(message, HARDHAT_KEY)
    assert order.signature == "0x" + bytes(expected.signature).hex()
    assert order.order_id == "0x" + bytes(expected.message_hash).hex()
    assert Account.recover_message(message, signature=bytes.fromhex(order.signature[2:])) == HARDHAT_ADDRESS
    assert (
        recover_address(bytes(expected.message_hash), bytes.fromhex(order.signature[2:])) == HARDHAT_ADDRESS
    )
    assert (wire["makerAmount"], wire["takerAmount"], wire["side"]) == ("52000000", "100000000", "BUY")


def test_neg_risk_orders_sign_against_a_different_contract() -> None:
    signer = OrderSigner(SigningKey(HARDHAT_KEY))
    amounts = order_amounts("sell", Decimal("0.30"), Decimal("33.30"), Decimal("0.01"))
    kwargs = {"token_id": TOKEN, "amounts": amounts, "salt": 7, "timestamp_ms": 1}
    assert signer.sign(neg_risk=True, **kwargs).order_id != signer.sign(neg_risk=False, **kwargs).order_id


def test_proxy_and_safe_wallets_sign_as_the_owner_for_the_funder() -> None:
    funder = "0x43bc9b674ba052f815cbe2113cde784cf9475b35"
    signer = OrderSigner(SigningKey(HARDHAT_KEY), signature_type=2, funder=funder)
    order = signer.sign(
        token_id=TOKEN,
        amounts=order_amounts("buy", Decimal("0.5"), Decimal("10"), Decimal("0.01")),
        neg_risk=False,
        salt=1,
    ).to_json()
    assert order["maker"] == "0x43bc9b674bA052f815CbE2113cDe784cF9475B35"
    assert order["signer"] == HARDHAT_ADDRESS
    assert order["signatureType"] == 2


def test_deposit_wallets_are_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match="deposit wallet"):
        OrderSigner(SigningKey(HARDHAT_KEY), signature_type=3, funder=HARDHAT_ADDRESS)


def test_proxy_wallet_without_funder_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="funder"):
        OrderSigner(SigningKey(HARDHAT_KEY), signature_type=1)


def test_salt_is_a_pure_function_of_the_client_order_id() -> None:
    assert salt_for("leg-1") == salt_for("leg-1")
    assert salt_for("leg-1") != salt_for("leg-2")
    assert 0 < salt_for("leg-1") < 2**53
    assert salt_for(None) != salt_for(None)


def test_l2_signer_signs_path_without_query_and_hides_secrets() -> None:
    creds = ApiCredentials(
        "key-uuid-1234", Secret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), Secret("pp")
    )
    signer = L2Signer(HARDHAT_ADDRESS, creds, clock=lambda: 1000000.7)
    headers = signer("POST", "/orders", b'{"hash": "0x123"}')
    assert headers["POLY_SIGNATURE"] == hmac_signature(
        creds.secret.reveal(), 1000000, "POST", "/orders", b'{"hash": "0x123"}'
    )
    assert headers["POLY_TIMESTAMP"] == "1000000"
    assert headers["POLY_API_KEY"] == "key-uuid-1234"
    text = repr(creds) + repr(signer)
    assert "AAAA" not in text
    assert "pp'" not in text
    assert "key-uuid-1234" not in text


def test_signing_key_repr_shows_only_the_address() -> None:
    assert "ac0974" not in repr(SigningKey(HARDHAT_KEY))


@given(raw=st.binary(min_size=20, max_size=20))
@settings(max_examples=300, deadline=None)
def test_checksum_writes_eip55_exactly_as_eth_utils_does(raw: bytes) -> None:
    from eth_utils.address import to_checksum_address

    address = "0x" + raw.hex()
    assert checksum(address) == to_checksum_address(address)
    assert checksum(address.upper().replace("0X", "0x")) == checksum(address)


@pytest.mark.parametrize("bad", ["0x" + "g" * 40, "0x12", "12" * 21, 42])
def test_checksum_refuses_what_is_not_an_address(bad: object) -> None:
    with pytest.raises(ValidationError):
        checksum(bad)  # type: ignore[arg-type]
