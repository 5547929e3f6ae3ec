"""Each venue's settings are read by its adapter's spec; the core holds them and knows no venue.

A fake plugin registers a venue's settings in-process, as a third party's would: its variables
are read, checked and noticed like the core's, for its default account and for each extra
account ``ARBKIT_ACCOUNTS`` declares, and the streaming rule takes its hosts from the spec.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import arbkit
from arbkit import ConfigError, Secret, Settings
from arbkit.config import EnvReader, SettingsSpec, known_variables, secret_variables
from arbkit.plugins import plugin_problems
from arbkit.trading.store import open_store


@attrs.frozen
class ToySettings:
    token: Secret | None = None
    region: str = "eu"
    rest_url: str | None = None
    ws_url: str | None = None

    @classmethod
    def read(cls, env: EnvReader) -> ToySettings:
        token = env.secret("TOY_TOKEN")
        if token is not None and not token.reveal().startswith("tk-"):
            raise env.fail("TOY_TOKEN", "expected tk-...")
        return cls(
            token=token,
            region=env.choice("TOY_REGION", "eu", ("eu", "us")),
            rest_url=env.url("TOY_REST_URL"),
            ws_url=env.ws_url("TOY_WS_URL"),
        )


TOY = SettingsSpec(
    ToySettings,
    ToySettings.read,
    {
        "TOY_TOKEN": "toy API token (secret)",
        "TOY_REGION": "eu or us",
        "TOY_REST_URL": "REST host",
        "TOY_WS_URL": "stream host",
    },
    secrets={"TOY_TOKEN"},
    rest_hosts=("rest_url",),
    stream_hosts=("ws_url",),
    shared={"TOY_REST_URL", "TOY_WS_URL"},
)


class ToyPlugin:
    @arbkit.hookimpl
    def arbkit_register_exchanges(self, register: Any) -> None:
        register("toy", lambda settings=None, **options: (settings, options))

    @arbkit.hookimpl
    def arbkit_register_settings(self, register: Any) -> None:
        register("toy", TOY)


@pytest.fixture
def toy() -> Iterator[ToyPlugin]:
    plugin = ToyPlugin()
    arbkit.plugin_manager.register(plugin)
    yield plugin
    arbkit.plugin_manager.unregister(plugin)


def read(**values: str) -> Settings:
    return Settings.from_mapping({"ARBKIT_EXCHANGES": "toy", **values})


def test_a_plugins_variables_are_read_into_its_own_settings(toy: ToyPlugin) -> None:
    settings = read(TOY_TOKEN="tk-1", TOY_REGION="US")
    assert settings.venue("toy") == ToySettings(token=Secret("tk-1"), region="us")
    assert {"TOY_TOKEN", "TOY_REGION", "LIVE_TRADING"} <= set(known_variables())
    assert "TOY_TOKEN" in secret_variables()
    assert not hasattr(settings, "toy_token")


def test_a_plugins_bad_value_names_its_variable_and_hides_its_secret(toy: ToyPlugin) -> None:
    with pytest.raises(ConfigError, match="TOY_REGION: must be one of eu, us") as info:
        read(TOY_REGION="mars")
    assert info.value.variable == "TOY_REGION"
    with pytest.raises(ConfigError) as secret:
        read(TOY_TOKEN="sentinel-token")
    assert secret.value.variable == "TOY_TOKEN"
    assert "sentinel" not in str(secret.value)
    assert "sentinel" not in repr(read(TOY_TOKEN="tk-sentinel"))


def test_a_misspelt_plugin_variable_is_noticed(toy: ToyPlugin) -> None:
    assert read(TOY_REGOIN="us").notices == (
        "TOY_REGOIN is not a variable arbkit reads; did you mean TOY_REGION?",
    )


def test_extra_accounts_read_their_own_suffixed_variables_and_share_the_hosts(toy: ToyPlugin) -> None:
    settings = read(
        ARBKIT_ACCOUNTS="toy:hedge, toy:alt,toy:hedge",
        TOY_TOKEN="tk-main",
        TOY_REST_URL="http://127.0.0.1:1",
        TOY_TOKEN__HEDGE="tk-hedge",
        TOY_REGION__HEDGE="us",
        TOY_REST_URL__ALT="http://127.0.0.1:2",
    )
    assert settings.accounts == (("toy", "default"), ("toy", "hedge"), ("toy", "alt"))
    hedge, alt = settings.venue("toy", "hedge"), settings.venue("toy", "alt")
    assert (hedge.token, hedge.region, hedge.rest_url) == (Secret("tk-hedge"), "us", "http://127.0.0.1:1")
    assert (alt.token, alt.region, alt.rest_url) == (None, "eu", "http://127.0.0.1:2")  # no secret shared
    assert settings.notices == ()


def test_an_accounts_bad_value_names_the_accounts_variable(toy: ToyPlugin) -> None:
    with pytest.raises(ConfigError) as info:
        read(ARBKIT_ACCOUNTS="toy:hedge", TOY_TOKEN__HEDGE="sentinel")
    assert info.value.variable == "TOY_TOKEN__HEDGE"
    assert "sentinel" not in str(info.value)
    with pytest.raises(ConfigError) as shared:
        read(ARBKIT_ACCOUNTS="toy:hedge", TOY_REST_URL="ftp://x")  # the hedge account's, inherited
    assert shared.value.variable == "TOY_REST_URL"


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ("toy", "venue:name"),
        ("toy:default", "venue:name"),
        ("toy:Bad-Name", "venue:name"),
        ("toy:", "venue:name"),
        ("nosuchvenue:hedge", "installed: "),
    ],
)
def test_a_bad_accounts_declaration_is_refused(toy: ToyPlugin, declared: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read(ARBKIT_ACCOUNTS=declared)
    assert info.value.variable == "ARBKIT_ACCOUNTS"


def test_an_account_variable_without_its_account_is_noticed(toy: ToyPlugin) -> None:
    assert read(TOY_TOKEN__HEDGE="tk-1").notices == (
        "TOY_TOKEN__HEDGE is not a variable arbkit reads: an account's variable needs its account"
        " in ARBKIT_ACCOUNTS",
    )
    misspelt = read(ARBKIT_ACCOUNTS="toy:hedge", TOY_TOKEN__HEGDE="tk-1").notices
    assert misspelt == ("TOY_TOKEN__HEGDE is not a variable arbkit reads; did you mean TOY_TOKEN__HEDGE?",)


def test_exchange_builds_the_client_from_the_accounts_settings(toy: ToyPlugin) -> None:
    settings = read(ARBKIT_ACCOUNTS="toy:hedge", TOY_TOKEN="tk-main", TOY_TOKEN__HEDGE="tk-hedge")
    given, _ = arbkit.exchange("toy", settings, account="hedge")  # type: ignore[misc]
    assert given.venue("toy").token == Secret("tk-hedge")
    default, _ = arbkit.exchange("toy", settings)  # type: ignore[misc]
    assert default.venue("toy").token == Secret("tk-main")
    with pytest.raises(ConfigError, match="declare it as toy:nobody") as info:
        arbkit.exchange("toy", settings, account="nobody")
    assert info.value.variable == "ARBKIT_ACCOUNTS"


def test_streaming_auto_follows_the_hosts_the_spec_names(toy: ToyPlugin) -> None:
    assert read(LIVE_TRADING="true").streams
    pointed = read(LIVE_TRADING="true", TOY_REST_URL="http://127.0.0.1:1")
    assert pointed.unmatched_streams == ("toy",)
    assert not pointed.streams
    both = read(LIVE_TRADING="true", TOY_REST_URL="http://127.0.0.1:1", TOY_WS_URL="ws://127.0.0.1:1")
    assert both.streams
    account = read(LIVE_TRADING="true", ARBKIT_ACCOUNTS="toy:hedge", TOY_REST_URL__HEDGE="http://127.0.0.1:2")
    assert account.unmatched_streams == ("toy",)  # the hedge account would trade where the stream is not


def test_with_venue_changes_one_venues_settings(toy: ToyPlugin) -> None:
    settings = Settings(exchanges=("toy",)).with_venue("toy", rest_url="http://127.0.0.1:1")
    assert settings.venue("toy") == ToySettings(rest_url="http://127.0.0.1:1")
    assert settings.unmatched_streams == ("toy",)
    hedged = settings.with_venue("toy", account="hedge", region="us")
    assert hedged.accounts == (("toy", "default"), ("toy", "hedge"))
    assert hedged.venue("toy", "hedge").region == "us"
    with pytest.raises(ConfigError, match="toy settings"):
        settings.with_venue("toy", no_such_field=1)
    with pytest.raises(ConfigError, match="no installed plugin"):
        settings.with_venue("nosuchvenue", rest_url="x")


class BadSpecs:
    @arbkit.hookimpl
    def arbkit_register_settings(self, register: Any) -> None:
        register("notaspec", {"TOY2_X": "x"})
        register("thief", SettingsSpec(ToySettings, ToySettings.read, {"TOY_TOKEN": "stolen"}))
        register("core", SettingsSpec(ToySettings, ToySettings.read, {"LIVE_TRADING": "mine"}))


def test_bad_settings_registrations_are_reported_and_skipped(toy: ToyPlugin) -> None:
    plugin = BadSpecs()
    arbkit.plugin_manager.register(plugin)
    try:
        settings = read(TOY_TOKEN="tk-1")
        assert settings.venue("toy").token == Secret("tk-1")
        assert settings.venue("thief") is None
        assert settings.venue("notaspec") is None
        problems = " | ".join(plugin_problems())
        assert "registered 'notaspec' with dict, not a SettingsSpec" in problems
        assert "settings of 'thief' read TOY_TOKEN, already read by 'toy'" in problems
        assert "settings of 'core' read LIVE_TRADING, already read by 'the core'" in problems
    finally:
        arbkit.plugin_manager.unregister(plugin)


def test_a_spec_is_checked_when_made() -> None:
    with pytest.raises(ConfigError, match="nope is not a field of ToySettings"):
        SettingsSpec(ToySettings, ToySettings.read, {"TOY_X": "x"}, rest_hosts=("nope",))
    with pytest.raises(ConfigError, match="TOY_X is a secret, never shared"):
        SettingsSpec(ToySettings, ToySettings.read, {"TOY_X": "x"}, secrets={"TOY_X"}, shared={"TOY_X"})
    with pytest.raises(ConfigError, match="contains '__'"):
        SettingsSpec(ToySettings, ToySettings.read, {"TOY__X": "x"})


def test_a_reader_for_an_account_names_what_it_read() -> None:
    env = EnvReader({"A_B__HEDGE": "7", "A_HOST": "http://h"}, account="hedge", shared={"A_HOST"})
    assert (env.integer("A_B", 1), env.variable("A_B")) == (7, "A_B__HEDGE")
    assert (env.url("A_HOST"), env.variable("A_HOST")) == ("http://h", "A_HOST")
    assert env.integer("A_C", 3) == 3
    with pytest.raises(ConfigError) as info:
        EnvReader({"A_B__HEDGE": "x"}, account="hedge").integer("A_B", 1)
    assert info.value.variable == "A_B__HEDGE"


def test_the_instance_name_goes_to_the_postgres_store(tmp_path: Path) -> None:
    settings = Settings.from_mapping(
        {"ARBKIT_STORE_URL": "postgresql://arbkit:pw@127.0.0.1:1/arbkit", "ARBKIT_INSTANCE": "bot-east-1"}
    )
    assert settings.instance == "bot-east-1"
    store = open_store(settings.store, tmp_path, "live", url=settings.store_url, instance=settings.instance)
    assert store.instance == "bot-east-1"  # type: ignore[attr-defined]
    unnamed = open_store("postgres", tmp_path, "live", url=settings.store_url)
    assert unnamed.instance != "bot-east-1"  # type: ignore[attr-defined]


def test_a_bad_or_useless_instance_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping({"ARBKIT_INSTANCE": "bot east/1"})
    assert info.value.variable == "ARBKIT_INSTANCE"
    notices = Settings.from_mapping({"ARBKIT_INSTANCE": "bot-1", "ARBKIT_DATA_DIR": str(tmp_path)}).notices
    assert notices == ("ARBKIT_INSTANCE is set, but only the postgres store uses it (ARBKIT_STORE=json)",)
