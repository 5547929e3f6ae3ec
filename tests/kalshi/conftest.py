"""Fixtures: a Kalshi sandbox on a free loopback port and clients signed with fresh RSA keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from arbkit.sandbox import SandboxServer
from arbkit_kalshi.auth import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from arbkit_kalshi.client import KalshiClient
from arbkit_kalshi.sandbox import KalshiSandbox, example_scenario

KEY_ID = "3f1c2d4e-0000-4000-8000-00000000a11c"


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit key for the whole run (generation is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    """A second key that no sandbox account knows."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def private_pem(rsa_key: rsa.RSAPrivateKey) -> str:
    """The session key as PKCS#1 PEM text, the format Kalshi hands out."""
    return _pem(rsa_key)


@pytest.fixture(scope="session")
def public_pem(rsa_key: rsa.RSAPrivateKey) -> str:
    """The session key's public half."""
    return _public_pem(rsa_key)


@pytest.fixture(scope="session")
def _running() -> Iterator[tuple[KalshiSandbox, SandboxServer]]:
    # One server for the session: stopping one waits out its 0.5 s poll interval.
    app = KalshiSandbox()
    with SandboxServer(app) as running:
        yield app, running


@pytest.fixture
def sandbox(_running: tuple[KalshiSandbox, SandboxServer], public_pem: str) -> KalshiSandbox:
    """The sandbox, reset to the bundled example scenario and one funded account ($1,000)."""
    app = _running[0]
    app.faults.clear()
    app.requests.clear()
    app.load_scenario(example_scenario())
    app.add_account(KEY_ID, public_pem, "1000")
    return app


@pytest.fixture
def server(_running: tuple[KalshiSandbox, SandboxServer], sandbox: KalshiSandbox) -> SandboxServer:
    """The sandbox served on 127.0.0.1 and a free port."""
    return _running[1]


@pytest.fixture
def client(server: SandboxServer, private_pem: str) -> Iterator[KalshiClient]:
    """A signed client against the sandbox (no client-side throttling, one retry, short timeout)."""
    with KalshiClient(
        base_url=server.url,
        api_key_id=KEY_ID,
        private_key=private_pem,
        rate_limit=None,
        timeout=5,
        max_retries=1,
    ) as kalshi:
        kalshi.transport.session.trust_env = False  # never route loopback through a proxy
        yield kalshi


@pytest.fixture
def public_client(server: SandboxServer) -> Iterator[KalshiClient]:
    """An unauthenticated client against the sandbox."""
    with KalshiClient(base_url=server.url, rate_limit=None, timeout=5, max_retries=1) as kalshi:
        kalshi.transport.session.trust_env = False
        yield kalshi


# -- cassettes (pytest-recording) ---------------------------------------------------------------------
def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in {"set-cookie", "cf-ray"}:
            del headers[name]
    return response


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    """Replay only by default; signature, key and timestamp headers never reach a cassette."""
    return {
        "record_mode": "none",
        "filter_headers": [KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, "authorization", "cookie"],
        "before_record_response": _scrub_response,
        "decode_compressed_response": True,
    }


@pytest.fixture
def recording(request: pytest.FixtureRequest) -> bool:
    """True when the run records new cassettes (``--record-mode`` other than ``none``)."""
    mode = request.config.getoption("--record-mode", default="none")
    return mode not in (None, "none")


@pytest.fixture
def demo_client(recording: bool, private_pem: str) -> Iterator[KalshiClient]:
    """A client for the demo host: real demo credentials when recording, a throwaway key on replay."""
    if recording:
        kalshi = KalshiClient(
            env="demo",
            api_key_id=os.environ["KALSHI_API_KEY"],
            private_key=os.environ.get("KALSHI_SECRET"),
            private_key_path=os.environ.get("KALSHI_PRIVATE_KEY_PATH"),
        )
    else:
        kalshi = KalshiClient(env="demo", api_key_id=KEY_ID, private_key=private_pem, rate_limit=None)
    with kalshi:
        yield kalshi
