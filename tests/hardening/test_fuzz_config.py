"""Configuration fuzz: every variable set to empty, garbage, negative, huge, NaN or unicode.

Start-up must end in a valid :class:`~arbkit.config.Settings` (and a bot built from it) or a
:class:`~arbkit.errors.ConfigError` that names the variable, never another exception, and
never later, mid-trade: the clients are built here too, before any request is sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import arbkit
from arbkit.config import Settings, known_variables, secret_variables
from arbkit.errors import ConfigError
from arbkit.plugins import exchange

VALUES = [
    "",
    " ",
    "garbage",
    "-1",
    "-0.01",
    "0",
    "-1e9",
    "1e999999",
    "99999999999999999999999999999999",
    "1" * 5000,
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "0x10",
    "1_000",
    "١٢٣",  # Arabic-Indic digits
    "ｔｒｕｅ",  # fullwidth
    "é",
    "💥",
    "\u202e1",
    "true",
    "http://",
    "https://exa mple",
    "file:///etc/passwd",
    "/nonexistent/dir/key.pem",
    "0x" + "zz" * 32,
    "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----",
]

#: When a variable is set alone, the error may rightly name the partner it needs.
PARTNERS = {
    "KALSHI_API_KEY": {"KALSHI_SECRET", "KALSHI_PRIVATE_KEY_PATH"},
    "KALSHI_SECRET": {"KALSHI_API_KEY"},
    "KALSHI_PRIVATE_KEY_PATH": {"KALSHI_API_KEY"},
    "POLYMARKET_API_KEY": {"POLYMARKET_API_SECRET", "POLYMARKET_API_PASSPHRASE"},
    "POLYMARKET_API_SECRET": {"POLYMARKET_API_KEY"},
    "POLYMARKET_API_PASSPHRASE": {"POLYMARKET_API_KEY"},
    "POLYMARKET_SIGNATURE_TYPE": {"POLYMARKET_FUNDER"},
    "POLYMARKET_FUNDER": {"POLYMARKET_SIGNATURE_TYPE"},
    "ARBKIT_TELEGRAM_BOT_TOKEN": {"ARBKIT_TELEGRAM_CHAT_ID"},
    "ARBKIT_TELEGRAM_CHAT_ID": {"ARBKIT_TELEGRAM_BOT_TOKEN"},
}


def start(variable: str, value: str, data_dir: Path) -> None:
    """What a program does at start-up (settings, every exchange client, the bot); checks the outcome."""
    error = _start_up_error(variable, value, data_dir)
    if error is None:
        return
    if variable == "LIVE_TRADING" and error.variable is None:
        # Live start-up asks each venue for its balance and names the missing credentials in the
        # message (arbkit.trading.live); it does not set ``variable``.
        assert "POLYMARKET_PRIVATE_KEY" in str(error) or "credentials" in str(error), error
        return
    base, sep, account = variable.rpartition("__")
    if not sep:
        base, account = variable, ""
    suffix = f"__{account}" if account else ""
    assert error.variable in {variable, *(p + suffix for p in PARTNERS.get(base, set()))}, error
    if base in _secret_names() and len(value) > 3:
        assert value not in str(error), "a secret reached an error message"


def _start_up_error(variable: str, value: str, data_dir: Path) -> ConfigError | None:
    environ = {variable: value, "ARBKIT_ACCOUNTS": "kalshi:hedge,polymarket:alt"}
    if variable == "ARBKIT_ACCOUNTS":
        environ = {variable: value}
    if variable != "ARBKIT_DATA_DIR":
        environ["ARBKIT_DATA_DIR"] = str(data_dir)
    try:
        loaded = Settings.from_env(env_file=None, environ=environ)
        for name, account in loaded.accounts:
            try:
                client = exchange(name, loaded, account=account)
            except arbkit.UnknownExchangeError:
                continue  # a well-formed name nobody provides: reported, not a crash
            client.close()
        arbkit.Bot.from_settings(loaded).close()
    except ConfigError as exc:
        return exc
    return None


def _secret_names() -> set[str]:
    return set(secret_variables())


#: Every variable, the core's and each installed venue's, and an extra account's (declared by
#: ``ARBKIT_ACCOUNTS`` in :func:`start`): its values are checked by the same code, naming it.
VARIABLES = [*sorted(known_variables()), "KALSHI_SECRET__HEDGE", "POLYMARKET_PRIVATE_KEY__ALT"]


@pytest.mark.parametrize("variable", VARIABLES)
def test_every_variable_with_every_bad_value_fails_at_start_up_naming_it(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for value in VALUES:
        start(variable, value, tmp_path / "data")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(variable=st.sampled_from(VARIABLES), value=st.text(max_size=60))
def test_random_text_in_any_variable_is_settings_or_config_error(
    variable: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    start(variable, value.replace("\x00", ""), tmp_path / "data")


def test_the_error_names_the_variable_in_its_message() -> None:
    with pytest.raises(ConfigError, match="LIVE_TRADING_BET_AMOUNT"):
        Settings.from_env(env_file=None, environ={"LIVE_TRADING_BET_AMOUNT": "NaN"})
