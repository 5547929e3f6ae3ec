"""Both adapters have the same shape: the same module for each role, the same constructor conventions.

A module added to one adapter for a role the other fills under another name, or a client that
takes a positional argument or names its host differently, fails here (docs/architecture.md,
"Adapter roles").
"""

from __future__ import annotations

import importlib
import inspect
from importlib import resources
from typing import Any

import pytest

from arbkit.plugins import venue_namings
from arbkit_kalshi.client import KalshiClient
from arbkit_kalshi.stream import KalshiStream
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.stream import PolymarketStream

ADAPTERS = ("arbkit_kalshi", "arbkit_polymarket")
#: The modules every adapter has, one per role (the table in docs/architecture.md).
ROLES = (
    "auth",
    "client",
    "errors",
    "games",
    "parse",
    "parse_stream",
    "parse_trading",
    "plugin",
    "settings",
    "stream",
    "throttle",
    "units",
    "sandbox",
    "sandbox.accounts",
    "sandbox.app",
    "sandbox.engine",
    "sandbox.stream",
    "sandbox.verify",
    "sandbox.wire",
)
CLIENTS = (KalshiClient, PolymarketClient)
STREAMS = (KalshiStream, PolymarketStream)


def _modules(package: str) -> set[str]:
    root = resources.files(package)
    found = {p.name.removesuffix(".py") for p in root.iterdir() if p.name.endswith(".py")}
    found |= {
        f"sandbox.{p.name.removesuffix('.py')}"
        for p in root.joinpath("sandbox").iterdir()
        if p.name.endswith(".py")
    }
    return (found - {"__init__", "sandbox.__init__", "sandbox.__main__"}) | {"sandbox"}


@pytest.mark.parametrize("package", ADAPTERS)
def test_every_role_has_its_module(package: str) -> None:
    missing = [role for role in ROLES if role not in _modules(package)]
    assert missing == []
    for role in ROLES:
        importlib.import_module(f"{package}.{role}")


def test_the_adapters_differ_only_in_venue_specific_modules() -> None:
    kalshi, poly = (_modules(p) - set(ROLES) for p in ADAPTERS)
    # Kalshi's price grid and order-parameter checks; Polymarket's keys, EIP-712 orders and
    # public market-data routes: roles the other venue does not have.
    assert kalshi == {"credentials", "grid", "sandbox.orders"}
    assert poly == {"crypto", "orders", "sandbox.market_data"}


def _parameters(cls: type) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(cls).parameters)


@pytest.mark.parametrize("cls", CLIENTS + STREAMS, ids=lambda c: c.__name__)
def test_constructors_take_keywords_only(cls: type) -> None:
    kinds = {name: p.kind for name, p in _parameters(cls).items()}
    assert set(kinds.values()) == {inspect.Parameter.KEYWORD_ONLY}, kinds


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_clients_name_their_host_base_url_and_take_the_same_common_options(cls: type) -> None:
    assert {"base_url", "timeout", "max_retries", "rate_limit"} <= set(_parameters(cls))


@pytest.mark.parametrize("cls", STREAMS, ids=lambda c: c.__name__)
def test_streams_name_their_endpoint_url(cls: type) -> None:
    assert "url" in _parameters(cls)


@pytest.mark.parametrize("cls", CLIENTS + STREAMS, ids=lambda c: c.__name__)
def test_clients_and_streams_are_context_managers_that_close(
    cls: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[object] = []
    monkeypatch.setattr(cls, "close", lambda self: closed.append(self))
    with cls() as opened:
        assert isinstance(opened, cls)
    assert closed == [opened]


@pytest.mark.parametrize(
    "client", [KalshiClient(base_url="http://127.0.0.1:9"), PolymarketClient(base_url="http://127.0.0.1:9")]
)
def test_base_url_is_where_the_client_sends(client: Any) -> None:
    with client:
        assert client.base_url.startswith("http://127.0.0.1:9")


def _transports(client: Any) -> list[Any]:
    return (
        [client.transport] if isinstance(client, KalshiClient) else [client.clob, client.gamma, client.data]
    )


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_both_clients_throttle_to_their_venues_documented_limits(cls: Any) -> None:
    with cls() as client:
        assert all(t.throttle is not None and t.throttle.rules for t in _transports(client))
    with cls(rate_limit=None) as unthrottled:
        assert all(t.throttle is None for t in _transports(unthrottled))


@pytest.mark.parametrize("exchange", ["kalshi", "polymarket"])
def test_both_adapters_register_their_league_and_team_codes(exchange: str) -> None:
    naming = venue_namings()[exchange]
    assert naming.exchange == exchange
    assert {"nba", "nfl", "epl"} <= set(naming.leagues)
    assert naming.teams["nba"]["NYK"]


@pytest.mark.parametrize("package", ADAPTERS)
def test_each_adapter_registers_its_settings_spec_from_its_settings_module(package: str) -> None:
    import attrs

    import arbkit
    from arbkit.config import SettingsSpec
    from arbkit.plugins import settings_specs

    module = importlib.import_module(f"{package}.settings")
    name = package.removeprefix("arbkit_")
    spec = module.SPEC
    assert isinstance(spec, SettingsSpec)
    assert settings_specs()[name] is spec
    assert attrs.has(spec.cls)
    assert spec.cls.of(None) == spec.cls() == spec.defaults()
    assert spec.rest_hosts
    assert spec.stream_hosts
    assert spec.secrets
    assert set(spec.variables) == set(module.VARIABLES)
    assert isinstance(arbkit.Settings.from_mapping({}).venue(name), spec.cls)
