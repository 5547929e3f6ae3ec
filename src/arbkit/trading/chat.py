"""Notifications where traders are: Telegram, Slack and Discord, delivered off the trading thread.

Each chat notifier sends :attr:`arbkit.trading.notify.Event.text`, which starts with the mode
(``"🔴 LIVE"`` / ``"📄 PAPER"``), so a paper trade is never mistaken for a real one. They
are registered as the built-in notifiers ``telegram``, ``slack`` and ``discord`` and
configured by ``ARBKIT_TELEGRAM_BOT_TOKEN`` + ``ARBKIT_TELEGRAM_CHAT_ID``,
``ARBKIT_SLACK_WEBHOOK_URL`` and ``ARBKIT_DISCORD_WEBHOOK_URL``.

A network notifier can take seconds to answer; :class:`BackgroundNotifier` queues each
event and delivers it on a worker thread, so ``notify`` returns at once and trading never
waits for a chat service. :meth:`arbkit.Bot.from_settings` wraps every network notifier it
builds in one.

The bot token and the webhook URLs are credentials (whoever has them can post as you):
they never appear in a log line, an error or a repr; logs name only the service's host.

>>> from arbkit.trading.chat import SlackNotifier
>>> SlackNotifier("https://hooks.slack.com/services/T000/B000/XXXX")
SlackNotifier('https://hooks.slack.com')
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from arbkit.config import Secret, Settings
from arbkit.trading.notify import Event, EventKind, Notifier, WebhookNotifier

__all__ = ["BackgroundNotifier", "DiscordNotifier", "SlackNotifier", "TelegramNotifier", "chat_notifiers"]

logger = logging.getLogger(__name__)


def _reveal(value: Secret | str) -> str:
    return value.reveal() if isinstance(value, Secret) else value


def _origin(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http:// or https:// URL")
    return f"{parts.scheme}://{parts.hostname}"


class _ChatPoster:
    """POSTs one JSON message per event; logs (never raises) on failure."""

    #: Longest text the service accepts; longer texts are cut with an ellipsis.
    max_text = 4000

    def __init__(
        self,
        url: str,
        shown: str,
        *,
        timeout: float,
        session: requests.Session | None,
        kinds: Iterable[EventKind] | None,
    ) -> None:
        self._url = url
        self._shown = shown
        self.timeout = timeout
        self.session = session or requests.Session()
        self.kinds = frozenset(kinds) if kinds is not None else None
        self.sent = 0
        self.failures = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._shown!r})"

    def body(self, text: str) -> dict[str, Any]:
        """The JSON the service expects for one message."""
        raise NotImplementedError

    def text_of(self, event: Event) -> str:
        """The message: the event's mode-labelled text, cut to what the service accepts."""
        text = event.text
        return text if len(text) <= self.max_text else text[: self.max_text - 1] + "…"

    def notify(self, event: Event) -> None:
        """Send the event (unless filtered out by ``kinds``)."""
        if self.kinds is not None and event.kind not in self.kinds:
            return
        try:
            response = self.session.post(self._url, json=self.body(self.text_of(event)), timeout=self.timeout)
        except requests.RequestException as exc:
            self.failures += 1
            # The exception's text may hold the URL (and so the token): only its type is logged.
            logger.warning(
                "%s: sending to %s failed: %s", type(self).__name__, self._shown, type(exc).__name__
            )
            return
        if response.status_code >= 300:
            self.failures += 1
            logger.warning(
                "%s: %s answered HTTP %s%s",
                type(self).__name__,
                self._shown,
                response.status_code,
                self._reason(response),
            )
            return
        self.sent += 1

    def _reason(self, response: requests.Response) -> str:
        return ""


class TelegramNotifier(_ChatPoster):
    """Sends each event to a Telegram chat through a bot (``sendMessage`` of the Bot API).

    ``bot_token`` is the token @BotFather gave (``123456:ABC...``); ``chat_id`` the chat,
    group or channel (``-100...`` or ``@channel``). ``api_url`` points elsewhere in tests.
    """

    max_text = 4096

    def __init__(
        self,
        bot_token: Secret | str,
        chat_id: str | int,
        *,
        api_url: str = "https://api.telegram.org",
        timeout: float = 5.0,
        session: requests.Session | None = None,
        kinds: Iterable[EventKind] | None = None,
    ) -> None:
        token = _reveal(bot_token).strip()
        if not token or "/" in token or any(c.isspace() for c in token):
            raise ValueError("a Telegram bot token looks like 123456:ABC-DEF... (no spaces or slashes)")
        if not str(chat_id).strip():
            raise ValueError("a Telegram chat id is required")
        shown = _origin(api_url, "the Telegram API URL")
        super().__init__(
            f"{api_url.rstrip('/')}/bot{token}/sendMessage",
            shown,
            timeout=timeout,
            session=session,
            kinds=kinds,
        )
        self.chat_id = str(chat_id).strip()

    def body(self, text: str) -> dict[str, Any]:
        """``sendMessage`` parameters: plain text (no parse mode, so no escaping to get wrong)."""
        return {"chat_id": self.chat_id, "text": text, "disable_web_page_preview": True}

    def _reason(self, response: requests.Response) -> str:
        try:
            payload = response.json()
        except ValueError:
            return ""
        if not isinstance(payload, Mapping):
            return ""
        description = str(payload.get("description", ""))[:200]
        return f" ({description})" if description else ""


class SlackNotifier(_ChatPoster):
    """Posts each event to a Slack incoming webhook (``{"text": ...}``)."""

    max_text = 4000

    def __init__(
        self,
        webhook_url: Secret | str,
        *,
        timeout: float = 5.0,
        session: requests.Session | None = None,
        kinds: Iterable[EventKind] | None = None,
    ) -> None:
        url = _reveal(webhook_url).strip()
        super().__init__(
            url, _origin(url, "the Slack webhook URL"), timeout=timeout, session=session, kinds=kinds
        )

    def body(self, text: str) -> dict[str, Any]:
        """An incoming-webhook message."""
        return {"text": text}

    def _reason(self, response: requests.Response) -> str:
        # Slack answers a short code in plain text (invalid_token, channel_not_found, ...).
        return f" ({response.text[:80]})" if response.text else ""


class DiscordNotifier(_ChatPoster):
    """Posts each event to a Discord webhook (``{"content": ...}``, at most 2,000 characters)."""

    max_text = 2000

    def __init__(
        self,
        webhook_url: Secret | str,
        *,
        timeout: float = 5.0,
        session: requests.Session | None = None,
        kinds: Iterable[EventKind] | None = None,
    ) -> None:
        url = _reveal(webhook_url).strip()
        super().__init__(
            url, _origin(url, "the Discord webhook URL"), timeout=timeout, session=session, kinds=kinds
        )

    def body(self, text: str) -> dict[str, Any]:
        """A webhook message; mentions are disabled so an event text can never ping anyone."""
        return {"content": text, "allowed_mentions": {"parse": []}}


_STOP = object()


class BackgroundNotifier:
    """Delivers to ``inner`` on a worker thread, so ``notify`` never waits for the network.

    Events are delivered in order. When ``maxsize`` events are waiting (the service is
    down and each send waits for its timeout), new events are dropped and counted in
    ``dropped``, rather than growing memory or blocking the caller. ``flush()`` waits until
    everything queued has been delivered; ``close()`` delivers what is queued and stops.
    """

    def __init__(self, inner: Notifier, *, maxsize: int = 1000) -> None:
        self.inner = inner
        self.dropped = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=maxsize)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"BackgroundNotifier({self.inner!r})"

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=f"notify-{self.inner!r}", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                assert isinstance(item, Event)
                self.inner.notify(item)
            except Exception:  # a notifier must never kill the worker
                logger.exception("notifier %r failed", self.inner)
            finally:
                self._queue.task_done()

    def notify(self, event: Event) -> None:
        """Queue the event and return at once."""
        if self._closed:
            return
        self._ensure_worker()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                logger.warning("%r is not keeping up: %d events dropped", self, self.dropped)

    def flush(self) -> None:
        """Wait until every queued event has been handed to ``inner``."""
        if self._thread is not None:
            self._queue.join()

    def close(self) -> None:
        """Deliver what is queued, then stop the worker. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()


def chat_notifiers(settings: Settings) -> list[Notifier]:
    """The network notifiers the settings configure, each on its own :class:`BackgroundNotifier`."""
    built: list[Notifier] = []
    if settings.notify_webhook_url:
        built.append(WebhookNotifier(settings.notify_webhook_url))
    if settings.telegram_bot_token is not None and settings.telegram_chat_id is not None:
        built.append(TelegramNotifier(settings.telegram_bot_token, settings.telegram_chat_id))
    if settings.slack_webhook_url is not None:
        built.append(SlackNotifier(settings.slack_webhook_url))
    if settings.discord_webhook_url is not None:
        built.append(DiscordNotifier(settings.discord_webhook_url))
    return [BackgroundNotifier(notifier) for notifier in built]
