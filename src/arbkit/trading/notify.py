"""Notifications: what a trading system tells people, and the notifiers that deliver it.

Every :class:`Event` carries the mode, shown as ``"🔴 LIVE"`` or ``"📄 PAPER"`` in its
text, so nobody mistakes a paper trade for a real one. A :class:`Notifier` is any
object with ``notify(event)``; the built-ins are :class:`LogNotifier` (the ``logging``
module) and :class:`WebhookNotifier` (a JSON POST). A notifier that fails is logged
and skipped: notifications never break trading.

>>> from arbkit.trading.notify import Event, EventKind
>>> Event(EventKind.TRADE_EXECUTED, "paper", "New arb", "Lakers vs Celtics +$2.40").text
'📄 PAPER New arb: Lakers vs Celtics +$2.40'
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import urlsplit

import attrs
import requests

from arbkit.codec import configure, unstructure
from arbkit.models import utcnow

__all__ = [
    "CallbackNotifier",
    "Event",
    "EventKind",
    "LogNotifier",
    "Notifier",
    "NotifierHub",
    "Severity",
    "WebhookNotifier",
    "mode_label",
]

logger = logging.getLogger(__name__)


class EventKind(enum.StrEnum):
    """What happened."""

    TRADE_EXECUTED = "trade_executed"
    TRADE_SETTLED = "trade_settled"
    RISK_REJECTED = "risk_rejected"
    LEG_FAILED = "leg_failed"
    LEG_UNWOUND = "leg_unwound"
    EXPOSURE_OPEN = "exposure_open"
    LIMIT_TRIPPED = "limit_tripped"
    DISAGREEMENT = "disagreement"
    ERROR = "error"


class Severity(enum.StrEnum):
    """How loudly to say it (maps onto logging levels)."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def level(self) -> int:
        """The ``logging`` level."""
        return {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}[self.value]


def mode_label(mode: str) -> str:
    """``"🔴 LIVE"`` for live trading, ``"📄 PAPER"`` otherwise."""
    return "🔴 LIVE" if mode == "live" else "📄 PAPER"


def _frozen(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen
class Event:
    """One notification. ``data`` holds JSON-ready details (amounts as strings)."""

    kind: EventKind = attrs.field(converter=EventKind)
    mode: str
    title: str
    message: str
    severity: Severity = attrs.field(default=Severity.INFO, converter=Severity)
    trade_id: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen, eq=False, hash=False)
    time: datetime = attrs.field(factory=utcnow)

    @property
    def label(self) -> str:
        """The mode as shown to people."""
        return mode_label(self.mode)

    @property
    def text(self) -> str:
        """One line for a chat message or a log: ``"📄 PAPER title: message"``."""
        return f"{self.label} {self.title}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON body a webhook receives (:mod:`arbkit.codec`, with the label and text)."""
        data: dict[str, Any] = unstructure(self)
        return data


configure(Event, derived={"label": lambda event: event.label, "text": lambda event: event.text})


@runtime_checkable
class Notifier(Protocol):
    """Anything that delivers events. ``notify`` should not raise, but if it does it is caught."""

    def notify(self, event: Event) -> None:
        """Deliver one event."""
        ...


class LogNotifier:
    """Writes each event to a logger at its severity's level."""

    def __init__(self, logger_name: str = "arbkit.events") -> None:
        self.logger = logging.getLogger(logger_name)

    def notify(self, event: Event) -> None:
        """Log the event's text."""
        self.logger.log(event.severity.level, "%s", event.text)


class CallbackNotifier:
    """Calls ``callback(event)``: the simplest way to hook a notebook or a bot in."""

    def __init__(self, callback: Callable[[Event], object]) -> None:
        self.callback = callback

    def notify(self, event: Event) -> None:
        """Hand the event to the callback."""
        self.callback(event)


class WebhookNotifier:
    """POSTs each event as JSON to ``url`` (Slack-style, ntfy, a custom endpoint).

    Failures (timeouts, refused connections, non-2xx answers) are logged and never
    raised. The URL often embeds a token, so logs show only its scheme and host.
    ``kinds`` limits which events are sent (all by default).
    """

    #: It waits for the network: a hub delivers it on a :class:`BackgroundNotifier`.
    blocking: ClassVar[bool] = True

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        session: requests.Session | None = None,
        kinds: Iterable[EventKind] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("webhook URL must be http:// or https://")
        self._url = url
        self._shown = f"{parts.scheme}://{parts.hostname}"
        self.timeout = timeout
        self.session = session or requests.Session()
        self.kinds = frozenset(kinds) if kinds is not None else None
        self.headers = dict(headers or {})
        self.failures = 0

    def __repr__(self) -> str:
        return f"WebhookNotifier({self._shown!r})"

    def notify(self, event: Event) -> None:
        """POST the event; log (never raise) on failure."""
        if self.kinds is not None and event.kind not in self.kinds:
            return
        try:
            response = self.session.post(
                self._url, json=event.to_dict(), timeout=self.timeout, headers=self.headers
            )
            if response.status_code >= 300:
                self.failures += 1
                logger.warning("webhook %s answered HTTP %s", self._shown, response.status_code)
        except requests.RequestException as exc:
            self.failures += 1
            logger.warning("webhook %s failed: %s", self._shown, type(exc).__name__)


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


class NotifierHub:
    """Fans an event out to several notifiers; one failing never stops the others."""

    def __init__(self, notifiers: Iterable[Notifier] = ()) -> None:
        self.notifiers: list[Notifier] = []
        for notifier in notifiers:
            self.add(notifier)

    def add(self, notifier: Notifier | Callable[[Event], object]) -> Notifier:
        """Add a notifier (or a plain callable, wrapped in :class:`CallbackNotifier`).

        A notifier that sends over the network (``blocking = True``: the webhook and chat
        notifiers, or a plugin's that says so) is put on its own
        :class:`BackgroundNotifier`, so the trading thread never waits for it; the wrapper is
        what is returned (``flush()``/``close()`` it). Others are called inline and must be quick.
        """
        if not isinstance(notifier, Notifier):
            notifier = CallbackNotifier(notifier)
        elif getattr(notifier, "blocking", False):
            notifier = BackgroundNotifier(notifier)
        self.notifiers.append(notifier)
        return notifier

    def notify(self, event: Event) -> None:
        """Deliver to every notifier."""
        for notifier in list(self.notifiers):
            try:
                notifier.notify(event)
            except Exception:
                logger.exception("notifier %r failed on %s", notifier, event.kind.value)
