"""The plugin manager and the registries it fills.

Plugins are found through the ``arbkit`` entry-point group, loaded once on first
use (never at import time); the shipped adapters are found the same way as a
third party's. Tests and notebooks can also register a plugin in-process with
``arbkit.plugin_manager.register(module_or_object)``; registries are rebuilt on
the next look-up.

A plugin that fails to import, or whose hook raises or registers nonsense, is logged and
skipped (:func:`plugin_problems` lists what went wrong): one broken third-party package
never stops the others. ``ARBKIT_PLUGINS`` (read from the environment when plugins first
load) allow-lists the entry points that may load at all, e.g. ``myvenue,othervenue`` in a
process that holds trading keys.

>>> import arbkit
>>> arbkit.exchanges()  # doctest: +SKIP
['myvenue', 'othervenue']
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import sys
import threading
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from arbkit import hookspecs
from arbkit.envreader import DEFAULT_ACCOUNT, SettingsSpec
from arbkit.errors import ConfigError, UnknownExchangeError

if TYPE_CHECKING:
    from arbkit.exchange import Exchange
    from arbkit.games import VenueNaming
    from arbkit.streams import MarketStream

__all__ = [
    "exchange",
    "exchanges",
    "get_plugin_manager",
    "lazy_exports",
    "notifier_factories",
    "plugin_problems",
    "plugins_version",
    "reload_plugins",
    "risk_policy_factories",
    "sandbox_runners",
    "settings_specs",
    "store_factories",
    "stream",
    "streams",
    "venue_namings",
]

ENTRY_POINT_GROUP = "arbkit"
_LEAGUES_HOOK = "arbkit_register_leagues"
_SETTINGS_HOOK = "arbkit_register_settings"
#: Comma-separated entry-point names allowed to load (unset or empty: every installed one).
ALLOW_ENV = "ARBKIT_PLUGINS"
#: The entry point of the core's own plugin (built-in stores and notifiers): always loaded.
BUILTINS = "arbkit"
BUILTINS_MODULE = "arbkit._builtins"

logger = logging.getLogger(__name__)

_lock = threading.RLock()
_manager: pluggy.PluginManager | None = None
_registries: dict[str, dict[str, Callable[..., Any]]] = {}
# The plugin objects the registries were built from. Held (not their ids) so that a
# plugin unregistered and freed cannot be mistaken for a new one that reuses its id.
_registered_plugins: frozenset[object] = frozenset()
_problems: list[str] = []


def plugin_problems() -> list[str]:
    """What failed while loading plugins or filling a registry (each skipped), oldest first."""
    with _lock:
        return list(_problems)


def _report(problem: str) -> None:
    with _lock:
        if problem not in _problems:
            _problems.append(problem)
    logger.warning("%s; skipped", problem)


def _allowed() -> frozenset[str] | None:
    raw = os.environ.get(ALLOW_ENV, "").strip()
    return frozenset(n.strip() for n in raw.split(",") if n.strip()) if raw else None


def _load_entry_points(manager: pluggy.PluginManager) -> None:
    """Register every allowed ``arbkit`` entry point; one that fails is reported and skipped."""
    allowed = _allowed()
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and entry.name not in allowed and entry.name != BUILTINS:
            logger.info("plugin %r not loaded: not in %s", entry.name, ALLOW_ENV)
            continue
        if manager.get_plugin(entry.name) is not None or manager.is_blocked(entry.name):
            continue
        try:
            plugin = entry.load()
            manager.register(plugin, name=entry.name)
        except Exception as exc:  # a third party's import error must not stop the others
            _report(f"plugin {entry.name!r} ({entry.value}) failed to load: {type(exc).__name__}: {exc}")


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, counting every change to its plugins (see :func:`plugins_version`)."""

    def register(self, plugin: object, name: str | None = None) -> str | None:
        try:
            return super().register(plugin, name)
        finally:
            _changed()

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        try:
            return super().unregister(plugin, name)
        finally:
            _changed()


_version = 0


def _changed() -> None:
    global _version
    with _lock:
        _version += 1


def plugins_version() -> int:
    """A number that changes whenever a plugin is registered or unregistered, or plugins reload.

    Lets a caller cache what it built from the registries (the sports alias table) and
    rebuild only after a change, at the cost of one read on the hot path.
    """
    if _manager is None:
        get_plugin_manager()
    return _version


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created and loaded on first call."""
    global _manager
    with _lock:
        if _manager is None:
            manager = _PluginManager("arbkit")
            manager.add_hookspecs(hookspecs)
            _load_entry_points(manager)
            if manager.get_plugin(BUILTINS) is None:
                # Run from a source tree without installed metadata: the core's own plugin
                # is still found by its module name (no import edge from the registry to it).
                manager.register(importlib.import_module(BUILTINS_MODULE), name=BUILTINS)
            _manager = manager
        return _manager


def reload_plugins() -> pluggy.PluginManager:
    """Forget the loaded plugins and load them again (after ``pip install``-ing one in a notebook)."""
    global _manager
    with _lock:
        _manager = None
        _registries.clear()
        _problems.clear()
        _changed()
    return get_plugin_manager()


def _registry(hook_name: str) -> dict[str, Any]:
    """Call ``hook_name`` on every plugin and collect ``register(name, factory)`` calls.

    Each offer is checked by the hook's check (:data:`_CHECKS`; a factory must be callable).
    Cached until the set of registered plugins changes.
    """
    global _registered_plugins
    manager = get_plugin_manager()
    with _lock:
        current = frozenset(manager.get_plugins())
        if current != _registered_plugins:
            _registries.clear()
            _registered_plugins = current
        if hook_name not in _registries:
            found: dict[str, Callable[..., Any]] = {}
            # Each plugin's hook on its own, in pluggy's call order (last registered first), so
            # that one raising or registering nonsense is reported and skipped, not fatal.
            for impl in reversed(getattr(manager.hook, hook_name).get_hookimpls()):
                found.update(_offered_by(impl, hook_name, _CHECKS.get(hook_name, _not_callable)))
            _registries[hook_name] = found
        return _registries[hook_name]


def _not_callable(name: str, factory: Any) -> str | None:
    return None if callable(factory) else f"registered {name!r} with a factory that is not callable"


def _offered_by(impl: Any, hook_name: str, check: Callable[[str, Any], str | None]) -> dict[str, Any]:
    """What one plugin's ``hook_name`` registers; a raise or a bad registration is reported, skipped."""
    offered: dict[str, Any] = {}
    bad: list[str] = []

    def register(name: str, factory: Any) -> None:
        problem = (
            "registered an empty name" if not isinstance(name, str) or not name else check(name, factory)
        )
        if problem is not None:
            bad.append(problem)
        else:
            offered[name] = factory

    try:
        impl.function(register=register)
    except Exception as exc:
        _report(f"plugin {impl.plugin_name!r}: {hook_name} raised {type(exc).__name__}: {exc}")
        return {}
    for problem in bad:
        _report(f"plugin {impl.plugin_name!r}: {hook_name} {problem}")
    return offered


def _bad_naming(name: str, value: Any) -> str | None:
    from arbkit.games import VenueNaming

    if isinstance(value, VenueNaming) and value.exchange == name:
        return None
    return f"registered {name!r} without a VenueNaming of that exchange"


def venue_namings() -> dict[str, VenueNaming]:
    """How each installed venue names the core's leagues and teams, by exchange name.

    Filled by the ``arbkit_register_leagues`` hook; the matcher's alias table
    (:func:`arbkit.engine.matching.default_teams`) is built from these.
    """
    return dict(_registry(_LEAGUES_HOOK))


def exchanges() -> list[str]:
    """Names of the exchanges the installed plugins provide, sorted."""
    return sorted(_registry("arbkit_register_exchanges"))


def _for_account(name: str, settings: Any, account: str) -> Any:
    """``settings`` as ``account`` of venue ``name`` sees them (the factory reads the venue's own)."""
    if account == DEFAULT_ACCOUNT:
        return settings
    if settings is None:
        raise ConfigError(
            f"account {account[:40]!r} needs settings that declare it", variable="ARBKIT_ACCOUNTS"
        )
    return settings.for_account(name, account)


def exchange(name: str, settings: Any = None, *, account: str = DEFAULT_ACCOUNT, **options: Any) -> Exchange:
    """Build the client of exchange ``name`` (for ``account``, one ``ARBKIT_ACCOUNTS`` declares).

    ``settings`` (an :class:`arbkit.config.Settings`) supplies credentials and hosts;
    keyword ``options`` override it (for example ``base_url=`` to point at a sandbox).
    Unknown names raise :class:`~arbkit.errors.UnknownExchangeError` listing the installed ones;
    an account the settings do not declare, :class:`~arbkit.errors.ConfigError`.
    """
    factories = _registry("arbkit_register_exchanges")
    factory = factories.get(name)
    if factory is None:
        raise UnknownExchangeError(name, sorted(factories))
    client: Exchange = factory(settings=_for_account(name, settings, account), **options)
    return client


def notifier_factories() -> dict[str, Callable[..., Any]]:
    """Notifier factories by name, from every plugin."""
    return dict(_registry("arbkit_register_notifiers"))


def store_factories() -> dict[str, Callable[..., Any]]:
    """Trade-store factories by name, from every plugin."""
    return dict(_registry("arbkit_register_stores"))


def risk_policy_factories() -> dict[str, Callable[..., Any]]:
    """Extra risk-policy factories by name, from every plugin."""
    return dict(_registry("arbkit_register_risk_policies"))


def sandbox_runners() -> dict[str, Callable[..., Any]]:
    """Each installed venue sandbox's command-line entry, ``main(argv) -> int``, by venue name."""
    return dict(_registry("arbkit_register_sandboxes"))


def streams() -> list[str]:
    """Names of the venues whose plugins offer a market data stream, sorted."""
    return sorted(_registry("arbkit_register_streams"))


def stream(
    name: str, settings: Any = None, *, account: str = DEFAULT_ACCOUNT, **options: Any
) -> MarketStream:
    """Build the streaming client of venue ``name`` (see :class:`arbkit.streams.MarketStream`),
    for ``account`` as :func:`exchange` does.

    Unknown names raise :class:`~arbkit.errors.UnknownExchangeError` listing the venues that stream.
    """
    factories = _registry("arbkit_register_streams")
    factory = factories.get(name)
    if factory is None:
        raise UnknownExchangeError(name, sorted(factories))
    feed: MarketStream = factory(settings=_for_account(name, settings, account), **options)
    return feed


def _bad_spec(name: str, spec: Any) -> str | None:
    if isinstance(spec, SettingsSpec):
        return None
    return f"registered {name!r} with {type(spec).__name__}, not a SettingsSpec"


def settings_specs(reserved: Collection[str] = ()) -> dict[str, SettingsSpec]:
    """How each venue's settings are read (:class:`arbkit.config.SettingsSpec`), by venue name.

    A spec that reads a ``reserved`` variable (the core's own, which :mod:`arbkit.config`
    passes) or one a plugin registered before it already reads is reported and skipped, so
    that one variable is never read by two owners.
    """
    specs: dict[str, SettingsSpec] = {}
    claimed: dict[str, str] = dict.fromkeys(reserved, "the core")
    # The registry lists the last-registered plugin's offers first: the first registered wins.
    for name, spec in reversed(_registry(_SETTINGS_HOOK).items()):
        taken = sorted(v for v in spec.variables if claimed.get(v, name) != name)
        if taken:
            _report(f"settings of {name!r} read {', '.join(taken)}, already read by {claimed[taken[0]]!r}")
            continue
        claimed.update(dict.fromkeys(spec.variables, name))
        specs[name] = spec
    return specs


def lazy_exports(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A plugin package's ``__getattr__`` and ``__dir__`` for names that live in its submodules.

    ``homes`` maps each public name to the module defining it; a name is imported on first
    use, so discovering the plugin (which imports the package) loads none of them::

        __getattr__, __dir__ = lazy_exports(__name__, {"MyClient": "my_plugin.client"})
    """
    module = sys.modules[package]

    def getattr_(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(module, name, value)
        return value

    def dir_() -> list[str]:
        return sorted(set(vars(module)) | set(homes))

    return getattr_, dir_


#: What each hook's registrations must be, when not a callable factory: the problem, or ``None``.
_CHECKS: dict[str, Callable[[str, Any], str | None]] = {_LEAGUES_HOOK: _bad_naming, _SETTINGS_HOOK: _bad_spec}
