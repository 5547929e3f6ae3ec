"""A fake venue stream for the core's streaming tests, with a tiny JSON frame protocol.

Frames (one JSON object each): ``{"book": [market, outcome, [[price, size], ...]]}``,
``{"stale": [markets...], "reason": "..."}``, ``{"live": [markets...]}``, ``{"ping": 1}``.
Anything else is a bad frame, reported as :class:`~arbkit.errors.InvalidResponse`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import arbkit
from arbkit.errors import InvalidResponse
from arbkit.models import Market, OrderBook, utcnow
from arbkit.streams import FeedSink, FeedState, FeedStatus, FrameDecoder


class FakeDecoder:
    def __init__(self, venue: str, sink: FeedSink) -> None:
        self.venue = venue
        self.sink = sink

    def feed(self, text: str, received_at: datetime) -> None:
        try:
            data = json.loads(text)
            if "book" in data:
                market, outcome, asks = data["book"]
                self.sink.book(
                    OrderBook.build(
                        self.venue, market, outcome, asks=asks, timestamp=received_at, source="stream"
                    )
                )
            elif "stale" in data:
                self.sink.stale(self.venue, data["stale"], data.get("reason", "stale"))
            elif "live" in data:
                self.sink.live(self.venue, data["live"])
            elif "ping" not in data:
                raise ValueError("unknown frame")
        except (ValueError, TypeError, KeyError, arbkit.ArbkitError):
            self.sink.error(InvalidResponse(f"bad frame: {text[:40]!r}", exchange=self.venue), "decode")


class FakeStream:
    """A MarketStream the test drives: :meth:`push` delivers a frame as the socket would."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sink: FeedSink | None = None
        self.subscribed: list[str] = []
        self.calls: list[str] = []
        self._decoder: FakeDecoder | None = None
        self.closed = False

    def start(self, sink: FeedSink) -> None:
        self.sink = sink
        self._decoder = FakeDecoder(self.name, sink)
        self.calls.append("start")

    def subscribe(self, markets: Sequence[Market]) -> None:
        self.calls.append("subscribe:" + ",".join(m.id for m in markets))
        self.subscribed.extend(m.id for m in markets if m.id not in self.subscribed)

    def unsubscribe(self, markets: Sequence[Market]) -> None:
        self.calls.append("unsubscribe:" + ",".join(m.id for m in markets))
        self.subscribed = [m for m in self.subscribed if m not in {x.id for x in markets}]

    def status(self) -> FeedStatus:
        return FeedStatus(
            self.name, FeedState.CLOSED if self.closed else FeedState.LIVE, subscribed=len(self.subscribed)
        )

    def decoder(self, sink: FeedSink, connection: str = "market") -> FrameDecoder:
        return FakeDecoder(self.name, sink)

    def close(self) -> None:
        self.closed = True

    def push(self, frame: dict[str, Any] | str, at: datetime | None = None) -> None:
        assert self.sink is not None
        assert self._decoder is not None
        text = frame if isinstance(frame, str) else json.dumps(frame)
        received = at or utcnow()
        self.sink.frame(self.name, "market", text, received)
        self._decoder.feed(text, received)


class FakeStreamsPlugin:
    """Registers fake streams in-process, as a venue plugin would (``arbkit_register_streams``)."""

    def __init__(self, *names: str) -> None:
        self.names = names

    @arbkit.hookimpl
    def arbkit_register_streams(self, register: Any) -> None:
        for name in self.names:
            register(name, lambda settings=None, _name=name, **options: FakeStream(_name))
