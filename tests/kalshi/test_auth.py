"""RSA-PSS signing: what is signed, that the public key verifies it, and that keys never leak."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from arbkit.errors import ConfigError
from arbkit_kalshi.auth import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    KalshiSigner,
    load_private_key,
    signing_message,
    verify_signature,
)


def test_message_is_timestamp_method_and_path_without_query() -> None:
    assert signing_message(1703123456789, "get", "/trade-api/v2/portfolio/orders?limit=5") == (
        b"1703123456789GET/trade-api/v2/portfolio/orders"
    )


def test_signature_verifies_with_the_public_key_pss_sha256_digest_salt(rsa_key: rsa.RSAPrivateKey) -> None:
    signer = KalshiSigner("key-1", rsa_key, clock=lambda: 1703123456789)
    headers = signer("POST", "/trade-api/v2/portfolio/orders", b'{"ticker":"X"}')
    assert headers[KEY_HEADER] == "key-1"
    assert headers[TIMESTAMP_HEADER] == "1703123456789"
    raw = base64.b64decode(headers[SIGNATURE_HEADER], validate=True)
    # Verified independently with the exact parameters the reference gives (salt = 32 bytes).
    rsa_key.public_key().verify(
        raw,
        b"1703123456789POST/trade-api/v2/portfolio/orders",
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )


def test_signature_does_not_verify_for_another_path_or_key(
    rsa_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    signer = KalshiSigner("key-1", rsa_key, clock=lambda: 1000)
    sig = signer.headers("GET", "/trade-api/v2/portfolio/balance")[SIGNATURE_HEADER]
    assert verify_signature(rsa_key.public_key(), b"1000GET/trade-api/v2/portfolio/balance", sig)
    assert not verify_signature(rsa_key.public_key(), b"1000GET/portfolio/balance", sig)
    assert not verify_signature(other_key.public_key(), b"1000GET/trade-api/v2/portfolio/balance", sig)
    assert not verify_signature(rsa_key.public_key(), b"x", "not base64!")


def test_pss_is_randomised_so_signatures_differ(rsa_key: rsa.RSAPrivateKey) -> None:
    signer = KalshiSigner("key-1", rsa_key)
    assert signer.sign(b"same") != signer.sign(b"same")


def test_key_loads_from_pkcs1_pkcs8_escaped_text_and_file(
    rsa_key: rsa.RSAPrivateKey, private_pem: str, tmp_path: Path
) -> None:
    pkcs8 = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = tmp_path / "kalshi.key"
    path.write_text(private_pem)
    expected = rsa_key.private_numbers()
    for source in (private_pem, pkcs8, private_pem.replace("\n", "\\n"), path, str(path)):
        assert load_private_key(source).private_numbers() == expected


def test_bad_key_errors_never_contain_the_key(private_pem: str) -> None:
    broken = private_pem[:200] + "garbage" + private_pem[210:]
    with pytest.raises(ConfigError) as info:
        load_private_key(broken)
    assert "MII" not in str(info.value)
    assert "garbage" not in str(info.value)
    with pytest.raises(ConfigError):
        load_private_key("/nonexistent/kalshi.key")


def test_repr_names_the_key_id_only(private_pem: str) -> None:
    signer = KalshiSigner("key-1", private_pem)
    assert repr(signer) == "KalshiSigner(api_key_id='key-1')"
    assert "BEGIN" not in repr(signer)
    assert "BEGIN" not in str(signer)
