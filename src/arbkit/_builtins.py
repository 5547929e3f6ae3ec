"""The core's own plugin: the built-in trade stores and notifiers.

Registered by :func:`arbkit.plugins.get_plugin_manager` after the entry-point plugins,
through the same hooks a third-party plugin implements, so ``store_factories()`` and
``notifier_factories()`` list built-ins and plugins alike.
"""

from __future__ import annotations

from typing import Any

from arbkit.errors import ConfigError
from arbkit.hookspecs import Register, hookimpl
from arbkit.trading.chat import DiscordNotifier, SlackNotifier, TelegramNotifier
from arbkit.trading.notify import LogNotifier, WebhookNotifier
from arbkit.trading.store import JsonFileStore, SqliteStore, TradeStore


def _postgres_store(url: Any, **options: Any) -> TradeStore:
    """The PostgreSQL store, imported on first use (it needs the ``postgres`` extra)."""
    try:
        from arbkit.trading.postgres.store import PostgresStore
    except ImportError:
        raise ConfigError(
            "the postgres store needs psycopg: pip install 'arbkit[postgres]'", variable="ARBKIT_STORE_URL"
        ) from None
    return PostgresStore(url, **options)


@hookimpl
def arbkit_register_stores(register: Register) -> None:
    """``json`` (PolyMix's files), ``sqlite`` and ``postgres`` (``url=``, ``mode=``)."""
    register("json", JsonFileStore)
    register("sqlite", SqliteStore)
    register("postgres", _postgres_store)


@hookimpl
def arbkit_register_notifiers(register: Register) -> None:
    """``log``, ``webhook`` (``url=``), ``telegram`` (``bot_token=``, ``chat_id=``), ``slack`` and
    ``discord`` (``webhook_url=``)."""
    register("log", LogNotifier)
    register("webhook", WebhookNotifier)
    register("telegram", TelegramNotifier)
    register("slack", SlackNotifier)
    register("discord", DiscordNotifier)
