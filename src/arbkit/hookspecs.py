"""The hooks a plugin may implement (pluggy), in the spirit of simonw/llm's ``register_models``.

Each hook receives a ``register`` callback, so one plugin can offer several things
and stays tiny::

    import arbkit

    @arbkit.hookimpl
    def arbkit_register_exchanges(register):
        register("myvenue", MyVenueClient.from_settings)
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("arbkit")
hookimpl = pluggy.HookimplMarker("arbkit")

#: ``register(name, factory)``: what every hook below receives.
Register = Callable[..., None]


@hookspec
def arbkit_register_exchanges(register: Register) -> None:
    """Called once when the plugin manager loads. Call ``register(name, factory)`` per venue.

    ``factory(settings=None, **options)`` returns an object implementing
    :class:`arbkit.exchange.Exchange`; ``settings`` is an :class:`arbkit.config.Settings`
    or ``None`` (then credentials come from ``options`` or nowhere). The factory reads its
    venue's settings with ``settings.venue(name)`` (for another account, ``arbkit.exchange``
    hands it settings in which that account's are the venue's own).
    """


@hookspec
def arbkit_register_settings(register: Register) -> None:
    """Called when settings are first read. Call ``register(name, spec)`` per venue.

    ``spec`` is an :class:`arbkit.config.SettingsSpec`: the venue's variables (which are
    secrets, which are hosts) and the function that reads them into the plugin's own frozen
    settings object, ``settings.venue(name)``, for the default account and for each extra
    account ``ARBKIT_ACCOUNTS`` declares. ``name`` is the venue's exchange name::

        @arbkit.hookimpl
        def arbkit_register_settings(register):
            register("myvenue", SettingsSpec(MyVenueSettings, MyVenueSettings.read, VARIABLES))
    """


@hookspec
def arbkit_register_notifiers(register: Register) -> None:
    """Called once. Call ``register(name, factory)``; ``factory(**options)`` returns a notifier."""


@hookspec
def arbkit_register_stores(register: Register) -> None:
    """Called once. Call ``register(name, factory)``; ``factory(path, **options)`` returns a trade store."""


@hookspec
def arbkit_register_risk_policies(register: Register) -> None:
    """Called once. Call ``register(name, factory)``; ``factory(settings)`` returns a risk policy.

    Registered policies join the default chain built by ``arbkit.trading.risk.default_chain``.
    """


@hookspec
def arbkit_register_sandboxes(register: Register) -> None:
    """Called once. Call ``register(name, main)`` per venue sandbox the plugin ships.

    ``main(argv)`` runs that sandbox from the command line (``arbkit sandbox NAME ARGS...``)
    until interrupted and returns an exit status; ``argv`` are the arguments after the name.
    """


@hookspec
def arbkit_register_streams(register: Register) -> None:
    """Called once. Call ``register(name, factory)`` per venue that streams market data.

    ``factory(settings=None, **options)`` returns an :class:`arbkit.streams.MarketStream`;
    ``name`` is the venue's exchange name. Options the factory does not know raise
    :class:`~arbkit.errors.ConfigError`.
    """


@hookspec
def arbkit_register_leagues(register: Register) -> None:
    """Called once. Call ``register(exchange, naming)`` per venue whose sports markets the plugin reads.

    ``naming`` is an :class:`arbkit.games.VenueNaming` of that ``exchange``: the venue's
    codes for each core league (series, slug prefix) and for each canonical team. The core
    keeps only venue-neutral names; the matcher's alias table joins every venue's codes to them.
    """
