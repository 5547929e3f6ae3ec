"""Fixtures: the Polymarket sandbox on a free loopback port, a fresh wallet, a client, vcr config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from arbkit.sandbox import SandboxServer
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.sandbox import PolymarketSandbox

SCENARIO = Path(__file__).parents[2] / "src" / "arbkit_polymarket" / "sandbox" / "scenarios" / "example.json"
NBA = "0x5f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
KNICKS = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
ROCKETS = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
FED = "0x9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9"
FED_YES = "10812345678901234567890123456789012345678901234567890123456789012345678901234"


@pytest.fixture
def scenario() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCENARIO.read_text(), parse_float=Decimal)
    return data


@pytest.fixture
def sandbox(scenario: dict[str, Any]) -> PolymarketSandbox:
    app = PolymarketSandbox()
    app.load_scenario(scenario)
    return app


@pytest.fixture
def server(sandbox: PolymarketSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def wallet(sandbox: PolymarketSandbox) -> tuple[str, str]:
    """A fresh private key and its address, funded with 1000 pUSD."""
    account = Account.create()
    sandbox.add_account(account.address, 1000)
    return "0x" + bytes(account.key).hex(), account.address


def make_client(server: SandboxServer, private_key: str | None = None, **kw: Any) -> PolymarketClient:
    """A client pointed at the sandbox (no automatic retries unless asked)."""
    kw.setdefault("max_retries", 0)
    return PolymarketClient(
        base_url=server.url,
        gamma_url=server.url + "/gamma",
        data_url=server.url + "/data-api",
        private_key=private_key,
        **kw,
    )


@pytest.fixture
def client(server: SandboxServer, wallet: tuple[str, str]) -> Iterator[PolymarketClient]:
    polymarket = make_client(server, wallet[0])
    yield polymarket
    polymarket.close()


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    """Replay only; never record in CI; scrub every credential header."""
    return {
        "record_mode": "none",
        "filter_headers": [
            "POLY_ADDRESS",
            "POLY_SIGNATURE",
            "POLY_TIMESTAMP",
            "POLY_NONCE",
            "POLY_API_KEY",
            "POLY_PASSPHRASE",
            "Authorization",
            "Cookie",
        ],
        "before_record_request": _scrub_request,
        "match_on": ["method", "scheme", "host", "path", "query"],
    }


def _scrub_request(request: Any) -> Any:
    # Order bodies carry the owner API key and a signature: keep the shape, drop the values.
    if request.body and b'"owner"' in (request.body if isinstance(request.body, bytes) else b""):
        body = json.loads(request.body)
        body["owner"] = "00000000-0000-0000-0000-000000000000"
        if isinstance(body.get("order"), dict):
            body["order"]["signature"] = "0x" + "00" * 65
        request.body = json.dumps(body, separators=(",", ":")).encode()
    return request
