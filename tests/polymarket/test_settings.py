"""Polymarket's settings are read by the adapter (arbkit_polymarket.settings), for each account."""

from __future__ import annotations

import pytest

import arbkit
from arbkit import ConfigError, Settings
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.settings import PolymarketSettings

# Hardhat's first two development accounts: public test keys.
MAIN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
MAIN_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
ALT_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ALT_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_the_adapter_reads_the_polymarket_variables() -> None:
    settings = Settings.from_mapping(
        {"POLYMARKET_PRIVATE_KEY": MAIN_KEY, "POLYMARKET_CLOB_URL": "http://127.0.0.1:9"}
    )
    own = settings.venue("polymarket")
    assert isinstance(own, PolymarketSettings)
    assert own.clob_url == "http://127.0.0.1:9"
    assert MAIN_KEY[2:] not in repr(settings)


def test_an_alt_account_trades_from_its_own_wallet_on_the_shared_hosts() -> None:
    settings = Settings.from_mapping(
        {
            "ARBKIT_ACCOUNTS": "polymarket:alt",
            "POLYMARKET_PRIVATE_KEY": MAIN_KEY,
            "POLYMARKET_PRIVATE_KEY__ALT": ALT_KEY,
            "POLYMARKET_CLOB_URL": "http://127.0.0.1:9",
        }
    )
    alt = arbkit.exchange("polymarket", settings, account="alt")
    main = arbkit.exchange("polymarket", settings)
    assert isinstance(alt, PolymarketClient)
    assert isinstance(main, PolymarketClient)
    assert (alt.address, main.address) == (ALT_ADDRESS, MAIN_ADDRESS)
    assert alt.clob.base_url == main.clob.base_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"POLYMARKET_PRIVATE_KEY__ALT": "0xnot-a-key-sentinel"}, "POLYMARKET_PRIVATE_KEY__ALT"),
        ({"POLYMARKET_API_SECRET__ALT": "sentinel"}, "POLYMARKET_API_KEY__ALT"),
        ({"POLYMARKET_SIGNATURE_TYPE__ALT": "3"}, "POLYMARKET_SIGNATURE_TYPE__ALT"),
        (
            {"POLYMARKET_PRIVATE_KEY__ALT": ALT_KEY, "POLYMARKET_SIGNATURE_TYPE__ALT": "2"},
            "POLYMARKET_FUNDER__ALT",
        ),
        ({"POLYMARKET_WS_URL": "http://not-a-stream"}, "POLYMARKET_WS_URL"),
    ],
)
def test_an_accounts_bad_setting_names_the_variable_it_came_from(
    values: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping({"ARBKIT_ACCOUNTS": "polymarket:alt", **values})
    assert info.value.variable == variable
    assert "sentinel" not in str(info.value)


def test_settings_built_in_code_reach_the_client() -> None:
    settings = Settings().with_venue("polymarket", private_key=arbkit.Secret(ALT_KEY))
    assert PolymarketClient.from_settings(settings).address == ALT_ADDRESS
    assert PolymarketSettings.of(None) == PolymarketSettings()
