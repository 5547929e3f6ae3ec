"""Kalshi's settings are read by the adapter (arbkit_kalshi.settings), for each account."""

from __future__ import annotations

from pathlib import Path

import pytest

import arbkit
from arbkit import ConfigError, Settings
from arbkit_kalshi.client import HOSTS, KalshiClient
from arbkit_kalshi.settings import KalshiSettings


def test_the_adapter_reads_the_kalshi_variables(private_pem: str) -> None:
    settings = Settings.from_mapping(
        {"KALSHI_API_KEY": "key-1", "KALSHI_SECRET": private_pem, "KALSHI_ENV": "DEMO"}
    )
    own = settings.venue("kalshi")
    assert isinstance(own, KalshiSettings)
    assert (own.api_key, own.env, own.base_url) == ("key-1", "demo", None)
    assert "key-1" not in repr(settings)
    assert "MII" not in repr(settings)


def test_a_hedge_account_signs_with_its_own_key_on_the_shared_host(private_pem: str) -> None:
    settings = Settings.from_mapping(
        {
            "ARBKIT_ACCOUNTS": "kalshi:hedge",
            "KALSHI_ENV": "demo",
            "KALSHI_API_KEY": "key-main",
            "KALSHI_SECRET": private_pem,
            "KALSHI_API_KEY__HEDGE": "key-hedge",
            "KALSHI_SECRET__HEDGE": private_pem,
        }
    )
    assert ("kalshi", "hedge") in settings.accounts
    hedge = arbkit.exchange("kalshi", settings, account="hedge")
    main = arbkit.exchange("kalshi", settings)
    assert isinstance(hedge, KalshiClient)
    assert isinstance(main, KalshiClient)
    assert hedge.signer is not None
    assert main.signer is not None
    assert (hedge.signer.api_key_id, main.signer.api_key_id) == ("key-hedge", "key-main")
    assert hedge.base_url == main.base_url == HOSTS["demo"]
    assert arbkit.plugins.stream("kalshi", settings, account="hedge").can_connect  # type: ignore[attr-defined]


def test_a_half_configured_account_names_the_accounts_variable(private_pem: str) -> None:
    base = {"ARBKIT_ACCOUNTS": "kalshi:hedge"}
    with pytest.raises(ConfigError, match="KALSHI_PRIVATE_KEY_PATH__HEDGE") as info:
        Settings.from_mapping({**base, "KALSHI_API_KEY__HEDGE": "key-2"})
    assert info.value.variable == "KALSHI_SECRET__HEDGE"
    with pytest.raises(ConfigError) as keyless:
        Settings.from_mapping({**base, "KALSHI_SECRET__HEDGE": private_pem})
    assert keyless.value.variable == "KALSHI_API_KEY__HEDGE"
    with pytest.raises(ConfigError) as missing:
        Settings.from_mapping({**base, "KALSHI_PRIVATE_KEY_PATH__HEDGE": "/nonexistent/hedge.pem"})
    assert missing.value.variable == "KALSHI_PRIVATE_KEY_PATH__HEDGE"


def test_a_key_without_its_id_is_refused_when_the_settings_are_read(private_pem: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping({"KALSHI_SECRET": private_pem})
    assert info.value.variable == "KALSHI_API_KEY"
    assert "MII" not in str(info.value)


def test_settings_built_in_code_reach_the_client() -> None:
    settings = Settings().with_venue("kalshi", base_url="http://127.0.0.1:9")
    assert KalshiClient.from_settings(settings).base_url == "http://127.0.0.1:9/trade-api/v2"
    assert KalshiSettings.of(Settings()) == KalshiSettings()


def test_a_trading_system_from_settings_trades_from_every_declared_account(
    private_pem: str, tmp_path: Path
) -> None:
    from arbkit import PaperTradingSystem
    from arbkit.accounts import AccountId

    settings = Settings.from_mapping(
        {
            "ARBKIT_EXCHANGES": "kalshi",
            "ARBKIT_ACCOUNTS": "kalshi:hedge",
            "ARBKIT_DATA_DIR": str(tmp_path),
            "KALSHI_API_KEY__HEDGE": "key-hedge",
            "KALSHI_SECRET__HEDGE": private_pem,
        }
    )
    system = PaperTradingSystem.from_settings(settings)
    assert system.account_ids == (AccountId("kalshi"), AccountId("kalshi", "hedge"))
    hedge = system.client("kalshi:hedge")
    assert isinstance(hedge, KalshiClient)
    assert hedge.signer is not None
    assert hedge.signer.api_key_id == "key-hedge"
    assert system.client("kalshi").signer is None  # type: ignore[attr-defined]  # the default: no key
