"""Telegram, Slack and Discord notifiers over real loopback HTTP, delivered off the trading thread."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import arbkit
from arbkit import ConfigError, Settings
from arbkit.plugins import notifier_factories
from arbkit.trading.chat import (
    BackgroundNotifier,
    DiscordNotifier,
    SlackNotifier,
    TelegramNotifier,
    chat_notifiers,
)
from arbkit.trading.notify import Event, EventKind, Notifier, Severity

BOT_TOKEN = "123456:SECRET-bot-token-xyz"


class ChatService:
    """A loopback server standing in for a chat service: records (path, body), answers ``status``.

    While ``gate`` is clear, requests wait on it: the service is slow.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.status = 200
        self.answer: bytes = b""
        self.gate = threading.Event()
        self.gate.set()
        self.arrived = threading.Event()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                service.arrived.set()
                service.gate.wait(10)
                service.requests.append((self.path, body))
                self.send_response(service.status)
                self.send_header("Content-Length", str(len(service.answer)))
                self.end_headers()
                self.wfile.write(service.answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chat() -> Iterator[ChatService]:
    service = ChatService()
    yield service
    service.close()


def event(mode: str = "live", message: str = "Lakers at Celtics +$2.40") -> Event:
    return Event(EventKind.TRADE_EXECUTED, mode, "New arb", message, Severity.INFO, trade_id="t1")


def test_telegram_sends_the_mode_labelled_text_to_the_chat(chat: ChatService) -> None:
    notifier = TelegramNotifier(BOT_TOKEN, "-1001234", api_url=chat.url)
    notifier.notify(event("live"))
    notifier.notify(event("paper"))
    assert [path for path, _ in chat.requests] == [f"/bot{BOT_TOKEN}/sendMessage"] * 2
    bodies = [body for _, body in chat.requests]
    assert bodies[0] == {
        "chat_id": "-1001234",
        "text": "🔴 LIVE New arb: Lakers at Celtics +$2.40",
        "disable_web_page_preview": True,
    }
    assert bodies[1]["text"].startswith("📄 PAPER ")
    assert notifier.sent == 2


def test_slack_and_discord_send_the_same_text_in_their_own_shapes(chat: ChatService) -> None:
    SlackNotifier(f"{chat.url}/services/T0/B0/SECRET").notify(event("live"))
    DiscordNotifier(f"{chat.url}/api/webhooks/1/SECRET").notify(event("paper"))
    (slack_path, slack), (discord_path, discord) = chat.requests
    assert (slack_path, slack) == (
        "/services/T0/B0/SECRET",
        {"text": "🔴 LIVE New arb: Lakers at Celtics +$2.40"},
    )
    assert discord_path == "/api/webhooks/1/SECRET"
    assert discord == {
        "content": "📄 PAPER New arb: Lakers at Celtics +$2.40",
        "allowed_mentions": {"parse": []},
    }


def test_long_texts_are_cut_to_what_each_service_accepts(chat: ChatService) -> None:
    long = "x" * 5000
    DiscordNotifier(f"{chat.url}/d").notify(event(message=long))
    TelegramNotifier(BOT_TOKEN, "1", api_url=chat.url).notify(event(message=long))
    discord, telegram = (body for _, body in chat.requests)
    assert len(discord["content"]) == 2000
    assert discord["content"].endswith("…")
    assert len(telegram["text"]) == 4096


@pytest.mark.parametrize(
    ("build", "answer"),
    [
        (
            lambda url: TelegramNotifier(BOT_TOKEN, "1", api_url=url),
            b'{"ok":false,"description":"chat not found"}',
        ),
        (lambda url: SlackNotifier(f"{url}/services/T0/B0/SECRET-hook"), b"invalid_token"),
        (lambda url: DiscordNotifier(f"{url}/api/webhooks/1/SECRET-hook"), b'{"message": "Unknown Webhook"}'),
    ],
)
def test_failures_are_logged_without_the_credential_and_never_raised(
    chat: ChatService, caplog: pytest.LogCaptureFixture, build: Any, answer: bytes
) -> None:
    chat.status, chat.answer = 404, answer
    notifier = build(chat.url)
    with caplog.at_level(logging.WARNING, logger="arbkit.trading.chat"):
        notifier.notify(event())
    assert notifier.failures == 1
    assert "HTTP 404" in caplog.text
    assert "SECRET" not in caplog.text
    assert "SECRET" not in repr(notifier)


def test_an_unreachable_service_is_logged_by_host_only(caplog: pytest.LogCaptureFixture) -> None:
    notifier = TelegramNotifier(BOT_TOKEN, "1", api_url="http://127.0.0.1:9", timeout=2)
    with caplog.at_level(logging.WARNING, logger="arbkit.trading.chat"):
        notifier.notify(event())
    assert notifier.failures == 1
    assert "http://127.0.0.1" in caplog.text
    assert "SECRET" not in caplog.text


def test_background_delivery_never_waits_for_a_slow_service(chat: ChatService) -> None:
    chat.gate.clear()  # the service holds every request until released
    background = BackgroundNotifier(SlackNotifier(f"{chat.url}/hook"))
    background.notify(event(message="first"))
    background.notify(event(message="second"))  # returns although the first is still in flight
    assert chat.arrived.wait(5)
    assert chat.requests == []  # nothing has been answered yet: notify did not wait for it
    chat.gate.set()
    background.flush()
    assert [body["text"] for _, body in chat.requests] == [
        "🔴 LIVE New arb: first",
        "🔴 LIVE New arb: second",
    ]  # in order
    background.close()


def test_a_full_queue_drops_new_events_and_counts_them(chat: ChatService) -> None:
    chat.gate.clear()
    background = BackgroundNotifier(SlackNotifier(f"{chat.url}/hook"), maxsize=2)
    background.notify(event(message="0"))
    assert chat.arrived.wait(5)  # the worker holds event 0; the queue has room for two more
    for n in range(1, 6):
        background.notify(event(message=str(n)))
    assert background.dropped == 3
    chat.gate.set()
    background.close()
    assert [body["text"][-1] for _, body in chat.requests] == ["0", "1", "2"]


def test_a_notifier_that_raises_does_not_stop_the_worker() -> None:
    seen: list[str] = []

    class Flaky:
        def notify(self, e: Event) -> None:
            if e.message == "boom":
                raise RuntimeError("boom")
            seen.append(e.message)

    background = BackgroundNotifier(Flaky())
    for message in ("a", "boom", "b"):
        background.notify(event(message=message))
    background.close()
    assert seen == ["a", "b"]


def test_settings_build_each_configured_chat_notifier_in_the_background() -> None:
    settings = Settings.from_env(
        env_file=None,
        environ={
            "ARBKIT_TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "ARBKIT_TELEGRAM_CHAT_ID": "@desk",
            "ARBKIT_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/SECRET",
            "ARBKIT_DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/SECRET",
        },
    )
    assert "SECRET" not in repr(settings)
    built = chat_notifiers(settings)
    assert all(isinstance(n, BackgroundNotifier) for n in built)
    inner = [n.inner for n in built if isinstance(n, BackgroundNotifier)]
    assert [type(n) for n in inner] == [TelegramNotifier, SlackNotifier, DiscordNotifier]
    assert chat_notifiers(Settings.from_env(env_file=None, environ={})) == []


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"ARBKIT_TELEGRAM_BOT_TOKEN": BOT_TOKEN}, "ARBKIT_TELEGRAM_CHAT_ID"),
        ({"ARBKIT_TELEGRAM_CHAT_ID": "1"}, "ARBKIT_TELEGRAM_BOT_TOKEN"),
        (
            {"ARBKIT_TELEGRAM_BOT_TOKEN": "no-colon", "ARBKIT_TELEGRAM_CHAT_ID": "1"},
            "ARBKIT_TELEGRAM_BOT_TOKEN",
        ),
        ({"ARBKIT_SLACK_WEBHOOK_URL": "hooks.slack.com/x"}, "ARBKIT_SLACK_WEBHOOK_URL"),
        ({"ARBKIT_DISCORD_WEBHOOK_URL": "ftp://discord.com/x"}, "ARBKIT_DISCORD_WEBHOOK_URL"),
    ],
)
def test_bad_chat_settings_are_refused_by_name_without_showing_the_value(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env_file=None, environ=environ)
    assert raised.value.variable == variable
    for value in environ.values():
        if len(value) > 2:
            assert value not in str(raised.value)


def test_chat_notifiers_are_built_in_plugins_and_wired_into_the_bot() -> None:
    factories = notifier_factories()
    assert {"telegram", "slack", "discord"} <= set(factories)
    notifier = factories["slack"](webhook_url="https://hooks.slack.com/services/T/B/SECRET")
    assert isinstance(notifier, Notifier)
    settings = Settings.from_env(
        env_file=None, environ={"ARBKIT_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/SECRET"}
    )
    bot = arbkit.Bot.from_settings(settings, exchanges={})
    try:
        kinds = [type(getattr(n, "inner", n)) for n in bot.trading.notifiers.notifiers]
        assert SlackNotifier in kinds
    finally:
        bot.close()
