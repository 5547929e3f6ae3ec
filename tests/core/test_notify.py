"""Notifiers: mode labels, the log notifier, the webhook over real loopback HTTP, fan-out."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from arbkit.plugins import notifier_factories
from arbkit.trading.notify import (
    Event,
    EventKind,
    LogNotifier,
    NotifierHub,
    Severity,
    WebhookNotifier,
    mode_label,
)


class Receiver:
    """A loopback HTTP server that records JSON bodies and answers with ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self.received = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()
                receiver.received.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0/SECRET-TOKEN"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def event(mode: str = "live", kind: EventKind = EventKind.TRADE_EXECUTED) -> Event:
    return Event(
        kind, mode, "New arb", "Lakers at Celtics +$2.40", Severity.INFO, trade_id="t1", data={"x": "1"}
    )


def test_every_message_carries_its_mode() -> None:
    assert mode_label("live") == "🔴 LIVE"
    assert mode_label("paper") == "📄 PAPER"
    assert event("live").text == "🔴 LIVE New arb: Lakers at Celtics +$2.40"
    assert event("paper").text.startswith("📄 PAPER ")


def test_log_notifier_logs_at_the_event_severity(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="arbkit.events"):
        LogNotifier().notify(event("paper"))
        LogNotifier().notify(Event(EventKind.EXPOSURE_OPEN, "live", "EXPOSURE", "act", Severity.ERROR))
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "📄 PAPER New arb: Lakers at Celtics +$2.40"),
        (logging.ERROR, "🔴 LIVE EXPOSURE: act"),
    ]


def test_webhook_posts_the_event_as_json(receiver: Receiver) -> None:
    WebhookNotifier(receiver.url, timeout=5).notify(event("live"))
    assert receiver.received.wait(5)
    (body,) = receiver.bodies
    assert body["label"] == "🔴 LIVE"
    assert body["text"] == "🔴 LIVE New arb: Lakers at Celtics +$2.40"
    assert body["kind"] == "trade_executed"
    assert body["trade_id"] == "t1"
    assert body["data"] == {"x": "1"}


def test_webhook_failures_are_logged_without_the_url_token_and_never_raised(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.status = 500
    notifier = WebhookNotifier(receiver.url, timeout=5)
    with caplog.at_level(logging.WARNING):
        notifier.notify(event())
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            closed_port = s.getsockname()[1]
        refused = WebhookNotifier(f"http://127.0.0.1:{closed_port}/SECRET-TOKEN", timeout=2)
        refused.notify(event())
    assert notifier.failures == 1
    assert refused.failures == 1
    assert "HTTP 500" in caplog.text
    assert "ConnectionError" in caplog.text
    assert "SECRET-TOKEN" not in caplog.text
    assert "SECRET-TOKEN" not in repr(notifier)


def test_webhook_can_be_limited_to_some_kinds(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url, kinds=[EventKind.EXPOSURE_OPEN])
    notifier.notify(event(kind=EventKind.TRADE_EXECUTED))
    notifier.notify(event(kind=EventKind.EXPOSURE_OPEN))
    assert [b["kind"] for b in receiver.bodies] == ["exposure_open"]


def test_one_failing_notifier_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    got: list[Event] = []

    def broken(_: Event) -> None:
        raise RuntimeError("down")

    hub = NotifierHub()
    hub.add(broken)
    hub.add(got.append)
    with caplog.at_level(logging.ERROR):
        hub.notify(event())
    assert len(got) == 1
    assert "failed on trade_executed" in caplog.text


def test_built_in_notifiers_are_registered() -> None:
    factories = notifier_factories()
    assert factories["log"] is LogNotifier
    assert factories["webhook"] is WebhookNotifier
