"""Exchanges are found through pluggy: entry points, in-process plugins, clear errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

import arbkit
from arbkit import plugins
from arbkit.plugins import reload_plugins


class FakeExchange:
    def __init__(self, name: str, settings: Any, options: dict[str, Any]) -> None:
        self.name = name
        self.settings = settings
        self.options = options


class FakePlugin:
    @arbkit.hookimpl
    def arbkit_register_exchanges(self, register: Any) -> None:
        register("fakevenue", lambda settings=None, **options: FakeExchange("fakevenue", settings, options))
        register("othervenue", lambda settings=None, **options: FakeExchange("othervenue", settings, options))


@pytest.fixture
def fake_plugin() -> Iterator[FakePlugin]:
    plugin = FakePlugin()
    arbkit.plugin_manager.register(plugin)
    yield plugin
    arbkit.plugin_manager.unregister(plugin)


def test_shipped_adapters_are_declared_as_entry_points() -> None:
    names = {ep.name: ep.value for ep in entry_points(group="arbkit")}
    assert names["kalshi"] == "arbkit_kalshi.plugin"
    assert names["polymarket"] == "arbkit_polymarket.plugin"


def test_shipped_adapters_are_listed() -> None:
    assert {"kalshi", "polymarket"} <= set(arbkit.exchanges())


def test_in_process_plugin_offers_several_exchanges(fake_plugin: FakePlugin) -> None:
    assert {"fakevenue", "othervenue"} <= set(arbkit.exchanges())
    client = arbkit.exchange("fakevenue", settings="S", base_url="http://127.0.0.1:1")
    assert isinstance(client, FakeExchange)
    assert (client.settings, client.options) == ("S", {"base_url": "http://127.0.0.1:1"})


def test_registry_follows_unregistration(fake_plugin: FakePlugin) -> None:
    assert "fakevenue" in arbkit.exchanges()
    arbkit.plugin_manager.unregister(fake_plugin)
    try:
        assert "fakevenue" not in arbkit.exchanges()
    finally:
        arbkit.plugin_manager.register(fake_plugin)


def test_unknown_exchange_lists_installed_ones() -> None:
    with pytest.raises(arbkit.UnknownExchangeError) as info:
        arbkit.exchange("nyse")
    message = str(info.value)
    assert "nyse" in message
    assert "kalshi" in message
    assert "polymarket" in message
    assert isinstance(info.value, LookupError)


def test_a_third_party_distribution_is_found_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _distribution(
        tmp_path,
        "thirdparty",
        "arbkit_thirdparty",
        """
        import arbkit

        @arbkit.hookimpl
        def arbkit_register_exchanges(register):
            register("thirdparty", lambda settings=None, **options: ("thirdparty-client", options))
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        reload_plugins()
        assert "thirdparty" in arbkit.exchanges()
        assert arbkit.exchange("thirdparty", region="eu") == ("thirdparty-client", {"region": "eu"})
    finally:
        monkeypatch.undo()
        reload_plugins()
    assert "thirdparty" not in arbkit.exchanges()


def test_import_loads_no_plugins() -> None:
    code = (
        "import arbkit, arbkit.plugins as p; assert p._manager is None; arbkit.exchanges(); assert p._manager"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_bad_registration_or_a_raising_hook_is_reported_and_skipped(fake_plugin: FakePlugin) -> None:
    class BadPlugin:
        @arbkit.hookimpl
        def arbkit_register_exchanges(self, register: Any) -> None:
            register("", lambda **kw: None)
            register("half-good", lambda **kw: "ok")

    class RaisingPlugin:
        @arbkit.hookimpl
        def arbkit_register_exchanges(self, register: Any) -> None:
            raise RuntimeError("boom")

    bad, raising = BadPlugin(), RaisingPlugin()
    arbkit.plugin_manager.register(bad, name="bad-plugin")
    arbkit.plugin_manager.register(raising, name="raising-plugin")
    try:
        listed = arbkit.exchanges()
        assert {"kalshi", "polymarket", "half-good"} <= set(listed)  # the others are all there
        problems = plugins.plugin_problems()
        assert any("'bad-plugin'" in p and "empty name" in p for p in problems)
        assert any("'raising-plugin'" in p and "RuntimeError: boom" in p for p in problems)
    finally:
        arbkit.plugin_manager.unregister(bad)
        arbkit.plugin_manager.unregister(raising)


def _distribution(tmp_path: Path, name: str, module: str, source: str) -> None:
    """A real (if tiny) installed distribution: a module plus a dist-info with entry_points.txt."""
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
    dist = tmp_path / f"{module}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[arbkit]\n{name} = {module}\n")


def test_a_third_party_plugin_that_fails_to_import_is_reported_never_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _distribution(tmp_path, "broken", "arbkit_broken", "import no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        reload_plugins()
        assert {"kalshi", "polymarket"} <= set(arbkit.exchanges())
        problems = plugins.plugin_problems()
        assert any("'broken'" in p and "ModuleNotFoundError" in p for p in problems), problems
    finally:
        monkeypatch.undo()
        reload_plugins()


def test_arbkit_plugins_allow_lists_what_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _distribution(
        tmp_path,
        "sneaky",
        "arbkit_sneaky",
        """
        import arbkit

        @arbkit.hookimpl
        def arbkit_register_exchanges(register):
            register("sneaky", lambda settings=None, **options: "reads your keys")
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        reload_plugins()
        assert "sneaky" in arbkit.exchanges()
        monkeypatch.setenv("ARBKIT_PLUGINS", "kalshi, polymarket")
        reload_plugins()
        assert arbkit.exchanges() == ["kalshi", "polymarket"]
        assert arbkit.plugin_manager.get_plugin("sneaky") is None  # never even imported
    finally:
        monkeypatch.undo()
        reload_plugins()


class NumberedVenue:
    def __init__(self, number: int) -> None:
        self.number = number

    @arbkit.hookimpl
    def arbkit_register_exchanges(self, register: Any) -> None:
        number = self.number  # the factory does not keep the plugin alive, as in most plugins
        register("reused", lambda settings=None, **options: number)


def test_a_new_plugin_is_never_mistaken_for_a_freed_one() -> None:
    # CPython reuses the id of a freed object at once; the registry must still see a new plugin.
    for number in range(50):
        plugin = NumberedVenue(number)
        arbkit.plugin_manager.register(plugin)
        try:
            assert arbkit.exchange("reused") == number
        finally:
            arbkit.plugin_manager.unregister(plugin)
        del plugin


@pytest.mark.parametrize(
    ("package", "venue"), [("arbkit_kalshi", "Kalshi"), ("arbkit_polymarket", "Polymarket")]
)
def test_each_adapter_exports_its_client_stream_and_sandbox_and_listing_imports_none(
    package: str, venue: str
) -> None:
    code = (
        "import sys, importlib, arbkit; arbkit.exchanges(); "
        f"assert '{package}.client' not in sys.modules, 'listing imported the client'; "
        f"m = importlib.import_module('{package}'); "
        "names = {n: getattr(m, n) for n in m.__all__}; "
        f"assert {{'{venue}Client', '{venue}Stream', '{venue}Sandbox'}} <= set(names), names; "
        f"assert names['{venue}Client'].__module__ == '{package}.client'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
