"""Settings read PolyMix's variables, refuse bad values by name, and never show secrets."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

import arbkit
from arbkit import ConfigError, Secret, Settings
from arbkit.config import known_variables

D = Decimal
PRIVATE_KEY = "0x" + "ab" * 32
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIsentinel\n-----END RSA PRIVATE KEY-----\n"


def test_defaults_match_polymix() -> None:
    s = Settings.from_env(env_file=None, environ={})
    assert s.mode == "paper"
    assert s.paper_trading_enabled
    assert s.paper.initial_balance == D(10000)
    assert s.paper.bet_amount == D(100)
    assert s.paper.min_roi_percent == D(1)
    assert (s.live.max_position_size, s.live.max_daily_trades, s.live.daily_loss_limit) == (
        D(1000),
        10,
        D(500),
    )
    assert s.venue("kalshi").env == "prod"
    assert s.exchanges == tuple(arbkit.exchanges()) == ("kalshi", "polymarket")  # every installed one
    assert (s.monitor_interval_seconds, s.settlement_interval_seconds) == (30, 60)


def test_live_mode_switches_limits() -> None:
    s = Settings.from_env(
        env_file=None,
        environ={
            "LIVE_TRADING": "TRUE",
            "LIVE_TRADING_BET_AMOUNT": "25.50",
            "LIVE_TRADING_MAX_DAILY_TRADES": "3",
        },
    )
    assert s.mode == "live"
    assert s.limits.bet_amount == D("25.50")
    assert s.limits.max_daily_trades == 3


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("PAPER_TRADING_BET_AMOUNT=42\nKALSHI_ENV=demo\n")
    s = Settings.from_env(env_file=env, environ={"KALSHI_ENV": "prod"})
    assert s.paper.bet_amount == D(42)
    assert s.venue("kalshi").env == "prod"


def test_missing_env_file_is_fine(tmp_path: Path) -> None:
    assert Settings.from_env(env_file=tmp_path / "absent.env", environ={}).mode == "paper"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LIVE_TRADING", "maybe", "true or false"),
        ("PAPER_TRADING_INITIAL_BALANCE", "lots", "number"),
        ("PAPER_TRADING_BET_AMOUNT", "0", "positive"),
        ("PAPER_TRADING_BET_AMOUNT", "-5", "positive"),
        ("PAPER_TRADING_MIN_ROI", "NaN", "number"),
        ("LIVE_TRADING_MAX_DAILY_TRADES", "2.5", "whole number"),
        ("LIVE_TRADING_MAX_DAILY_TRADES", "-1", "between"),
        ("LIVE_TRADING_DAILY_LOSS_LIMIT", "1e999999", "at most"),
        ("LIVE_TRADING_MAX_POSITION_SIZE", "0", "positive"),
        ("POLYMARKET_SIGNATURE_TYPE", "7", "between"),
        ("POLYMARKET_FUNDER", "not-an-address", "address"),
        ("KALSHI_ENV", "staging", "prod, demo"),
        ("KALSHI_BASE_URL", "ftp://x", "URL"),
        ("ARBKIT_TIMEZONE", "Mars/Olympus", "timezone"),
        ("ARBKIT_STORE", "mongo", "json, sqlite"),
        ("ARBKIT_HTTP_TIMEOUT", "0", "positive"),
        ("MONITOR_INTERVAL_SECONDS", "0", "between"),
        ("ARBKIT_EXCHANGES", " , ", "exchange names"),
        ("ARBKIT_EXCHANGES", "-1,kalshi", "exchange names"),
        ("KALSHI_PRIVATE_KEY_PATH", "/nonexistent/key.pem", "does not exist"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        Settings.from_env(env_file=None, environ={variable: value})
    assert info.value.variable == variable
    assert variable in str(info.value)
    assert isinstance(info.value, ValueError)


def test_empty_values_mean_default() -> None:
    s = Settings.from_env(env_file=None, environ={"PAPER_TRADING_BET_AMOUNT": "  ", "LIVE_TRADING": ""})
    assert s.paper.bet_amount == D(100)
    assert not s.live_trading


@pytest.mark.parametrize(
    ("variable", "value"),
    [("POLYMARKET_PRIVATE_KEY", "0xdeadbeefsecretsentinel"), ("KALSHI_SECRET", "secretsentinel-not-a-pem")],
)
def test_bad_secret_is_refused_without_showing_it(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env_file=None, environ={variable: value})
    assert "sentinel" not in str(info.value)
    assert info.value.variable == variable


def test_secrets_never_show(caplog: pytest.LogCaptureFixture) -> None:
    s = Settings.from_env(
        env_file=None,
        environ={
            "POLYMARKET_PRIVATE_KEY": PRIVATE_KEY,
            "POLYMARKET_API_KEY": "api-key",
            "POLYMARKET_API_SECRET": "apisecret-sentinel",
            "POLYMARKET_API_PASSPHRASE": "passphrase-sentinel",
            "KALSHI_API_KEY": "key-id-sentinel",
            "KALSHI_SECRET": PEM,
            "TRADING_RESET_CONFIRM_KEY": "reset-sentinel",
            "ARBKIT_API_TOKEN": "token-sentinel",
        },
    )
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("settings: %s %r", s, s)
    shown = repr(s) + str(s) + caplog.text
    for secret in (PRIVATE_KEY, "sentinel", "MIIsentinel"):
        assert secret not in shown
    assert s.venue("polymarket").private_key.reveal() == PRIVATE_KEY


def test_secret_compares_in_constant_time() -> None:
    secret = Secret("open sesame")
    assert secret.matches("open sesame")
    assert not secret.matches("open sesam")
    assert repr(secret) == str(secret) == "Secret('***')"


def test_env_example_documents_every_variable() -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    text = example.read_text()
    missing = [name for name in known_variables() if f"{name}=" not in text]
    assert not missing, f".env.example lacks {missing}"


def test_the_configuration_page_lists_every_variable() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    missing = [name for name in known_variables() if f"| `{name}` |" not in page]
    assert not missing, f"docs/configuration.md lacks {missing}"


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("LIVE_TRADNG", "LIVE_TRADING"),
        ("KALSHI_SECERT", "KALSHI_SECRET"),
        ("PAPER_TRADING_BET_AMMOUNT", "PAPER_TRADING_BET_AMOUNT"),
        ("ARBKIT_DATADIR", "ARBKIT_DATA_DIR"),
        ("POLYMARKET_PRIVATEKEY", "POLYMARKET_PRIVATE_KEY"),
    ],
)
def test_a_misspelt_variable_is_reported_with_the_name_it_probably_meant(
    name: str, suggestion: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="arbkit.config"):
        settings = Settings.from_env(env_file=None, environ={name: "true", "PATH": "/usr/bin"})
    assert settings.notices == (f"{name} is not a variable arbkit reads; did you mean {suggestion}?",)
    assert f"did you mean {suggestion}?" in caplog.text
    assert "PATH" not in caplog.text


def test_only_names_that_look_like_ours_are_reported() -> None:
    environ = {"HOME": "/root", "LANG": "C", "ARBKIT_SOMETHING_NEW": "1", "LIVE_TRADING": "false"}
    assert Settings.from_env(env_file=None, environ=environ).notices == (
        "ARBKIT_SOMETHING_NEW is not a variable arbkit reads (see .env.example for the variables)",
    )


def test_notices_never_show_the_value_of_a_misspelt_secret() -> None:
    settings = Settings.from_env(
        env_file=None, environ={"KALSHI_SECERT": "-----BEGIN PRIVATE KEY----- s3cr3t"}
    )
    assert settings.notices
    assert not any("s3cr3t" in notice for notice in settings.notices)


def test_state_goes_to_a_per_user_folder_by_default_never_the_current_directory(tmp_path: Path) -> None:
    settings = Settings.from_env(env_file=None, environ={"XDG_DATA_HOME": str(tmp_path)})
    assert settings.data_dir == tmp_path / "arbkit"
    home = Settings.from_env(env_file=None, environ={"HOME": str(tmp_path), "XDG_DATA_HOME": "relative"})
    assert home.data_dir == tmp_path / ".local" / "share" / "arbkit"
    assert Settings().data_dir.is_absolute()
    explicit = Settings.from_env(env_file=None, environ={"ARBKIT_DATA_DIR": str(tmp_path / "mine")})
    assert explicit.data_dir == tmp_path / "mine"
