"""A Bot trading from streams: discovery by REST, books by stream, detection on every change.

:class:`StreamingSession` is what :meth:`arbkit.Bot.start_streaming` returns. It lists
and matches markets with the bot's :class:`~arbkit.scanner.Scanner` (cached as in
polling), subscribes each venue's :class:`~arbkit.streams.MarketStream` to the markets
of tradable matches, and runs a :class:`~arbkit.streams.engine.StreamingEngine` over a
:class:`~arbkit.streams.books.BookStore`. Each detection is traded through the bot's
trading system on the engine's thread, after a last check that every leg's book is
still usable: an opportunity whose books went stale after its detection is skipped.

A feed the store finds silent is resynchronised by resubscribing its markets (fresh
snapshots); until they arrive its books are not used.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from arbkit.engine.opportunity import Opportunity
from arbkit.models import Market
from arbkit.streams.books import BookStore
from arbkit.streams.engine import Detection, LatencySummary, OpportunityLife, StreamingEngine
from arbkit.streams.feed import FeedState, FeedStatus, MarketStream
from arbkit.streams.followup import FollowUps
from arbkit.streams.recording import Recorder

if TYPE_CHECKING:
    from arbkit.bot import Bot
    from arbkit.trading.system import TradeResult

__all__ = ["StreamedTrade", "StreamingSession", "streams_for"]

logger = logging.getLogger(__name__)


def streams_for(settings: Any, venues: Iterable[str], **options: Any) -> dict[str, MarketStream]:
    """Each venue's stream from its plugin (``arbkit.plugins.stream``).

    A venue without one, or whose stream cannot be built from ``settings``, is left out with a
    warning: its matches are not traded while streaming. A stream that builds but cannot start
    (Kalshi's without credentials) stays in: the session records why and its feed status says so.
    """
    from arbkit.errors import ConfigError, UnknownExchangeError
    from arbkit.plugins import stream

    built: dict[str, MarketStream] = {}
    for venue in venues:
        try:
            built[venue] = stream(venue, settings, **options)
        except UnknownExchangeError:
            logger.warning("%s offers no stream: not traded while streaming", venue)
        except ConfigError as exc:
            logger.warning("%s stream not started: %s", venue, exc)
    return built


@attrs.frozen
class StreamedTrade:
    """What the session did with one detection: traded (``result``) or why not (``skipped``)."""

    detection: Detection
    result: TradeResult | None = None
    skipped: str = ""


class StreamingSession:
    """Streams, a book store and an engine wired to one :class:`~arbkit.Bot`.

    ``streams``: each venue's stream by name (venues without one are not traded while
    streaming). ``cadence``: per-venue silence limits for the store (seconds); or pass a
    ready ``store`` (its clock injected, say). ``record``: a file to record every frame to
    while trading (:class:`~arbkit.streams.recording.Recorder`; the matches are written at
    each refresh that changes them), for :func:`~arbkit.streams.recording.replay` later.
    """

    def __init__(
        self,
        bot: Bot,
        streams: Mapping[str, MarketStream],
        *,
        cadence: Mapping[str, float | None] | None = None,
        store: BookStore | None = None,
        record: str | os.PathLike[str] | None = None,
        keep: int = 1000,
    ) -> None:
        self.bot = bot
        self.streams = dict(streams)
        self.store = store if store is not None else BookStore(cadence=cadence)
        self.recorder = (
            None if record is None else Recorder(record, venues=sorted(self.streams), inner=self.store)
        )
        self._recorded: list[Any] | None = None
        if self.store.on_error is None:
            self.store.on_error = bot._record
        scanner = bot.scanner
        self.engine = StreamingEngine(
            self.store,
            bet_amount=scanner.bet_amount,
            min_roi_percent=scanner.min_roi_percent,
            max_position=scanner.max_position,
            balances=self._balances,
            detector=scanner.detector,
            on_opportunity=self._on_detection,
        )
        self.store.listen(silence=self._resync)
        self._subscribed: dict[str, dict[str, Market]] = {}
        self._trades: list[StreamedTrade] = []
        self._keep = keep
        self._lock = threading.Lock()
        self._started = False
        self.followups: FollowUps | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, *, background: bool = True) -> StreamingSession:
        """Start the streams, discover and subscribe (:meth:`refresh`), and run the engine.

        ``background=False`` runs no engine thread: the caller evaluates with :meth:`step`.
        """
        if self._started:
            return self
        self._started = True
        # The user and lifecycle channels: reconcile undecided orders, settle resolutions, at once.
        self.followups = FollowUps(self.bot, self.store)
        for name, stream in self.streams.items():
            try:
                stream.start(self.recorder if self.recorder is not None else self.store)
            except Exception as exc:
                self.bot._record(exc, name, "start stream")
        self.refresh()
        if background:
            self.engine.start()
        return self

    def run(
        self,
        stop: threading.Event,
        *,
        refresh_seconds: float | None = None,
        settle_seconds: float = 60.0,
        reconcile_seconds: float = 60.0,
        tick: float = 1.0,
    ) -> None:
        """Block until ``stop`` is set, doing what a polling scheduler would besides trading.

        Every ``tick`` the operator controls are applied (pause, kill); markets are listed and
        matched again every ``refresh_seconds`` (default: the scanner's), subscribing what
        changed; resolved trades are settled every ``settle_seconds`` and (live) the venues
        reconciled every ``reconcile_seconds``. Detection and trading run on the engine's thread.
        """
        self.start()
        refresh = self.bot.scanner.refresh_seconds if refresh_seconds is None else refresh_seconds
        clock = time.monotonic
        due = {"refresh": clock() + refresh, "settle": clock() + settle_seconds, "reconcile": clock()}
        while not stop.wait(tick):
            now = clock()
            try:
                self.bot.sync_controls()
                if self.recorder is not None:
                    self.recorder.flush()  # a crash then loses at most a tick of the recording
                if now >= due["refresh"]:
                    due["refresh"] = now + refresh
                    self.refresh()
                if now >= due["settle"]:
                    due["settle"] = now + settle_seconds
                    self.bot.settle()
                if now >= due["reconcile"]:
                    due["reconcile"] = now + reconcile_seconds
                    self.bot.reconcile()
            except Exception as exc:  # a bug: record it and keep the session alive
                logger.exception("streaming loop step failed")
                self.bot._record(exc, "streaming", "run")

    def step(self, timeout: float | None = 0.0) -> list[Detection]:
        """Evaluate the pending changes now and trade what they show (without the engine thread)."""
        return self.engine.step(timeout)

    def refresh(self, *, force: bool = False) -> int:
        """List and match markets again (cached by the scanner); subscribe what changed.

        Returns how many tradable matches are watched.
        """
        scanner = self.bot.scanner
        markets = scanner.markets(force=force)
        matches: list[Any] = []
        if sum(1 for listed in markets.values() if listed) >= 2:
            try:
                matches = [m for m in scanner.match(markets) if getattr(m, "tradable", True)]
            except Exception as exc:
                self.bot._record(exc, "scanner", "match markets")
                return len(self.engine.matches)
        wanted: dict[str, dict[str, Market]] = {}
        for match in matches:
            for market in match.markets:
                if market.exchange in self.streams:
                    wanted.setdefault(market.exchange, {})[market.id] = market
        for venue, stream in self.streams.items():
            now = wanted.get(venue, {})
            before = self._subscribed.get(venue, {})
            added = [m for mid, m in now.items() if mid not in before]
            removed = [m for mid, m in before.items() if mid not in now]
            try:
                if removed:
                    stream.unsubscribe(removed)
                    before = {mid: m for mid, m in before.items() if mid in now}
                if added:
                    stream.subscribe(added)
                    before = {**before, **{m.id: m for m in added}}
            except Exception as exc:  # what failed is tried again at the next refresh
                self.bot._record(exc, venue, "subscribe")
            self._subscribed[venue] = before
        watched = [m for m in matches if all(x.exchange in self.streams for x in m.markets)]
        if self.recorder is not None and watched != self._recorded:
            self.recorder.catalog(watched)
            self._recorded = watched
        self.engine.set_matches(watched)
        return len(self.engine.matches)

    def close(self) -> None:
        """Stop the engine and close every stream; idempotent."""
        self.engine.stop()
        if self.followups is not None:
            self.followups.close()
            self.followups = None
        for name, stream in self.streams.items():
            try:
                stream.close()
            except Exception as exc:
                self.bot._record(exc, name, "close stream")
        self.store.close()
        if self.recorder is not None:
            self.recorder.close()
        self._started = False

    def __enter__(self) -> StreamingSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the service shows -------------------------------------------------------------
    def feed_status(self) -> list[FeedStatus]:
        """Each venue's feed: the stream's own status, made stale when the store finds it silent."""
        statuses: list[FeedStatus] = []
        for name, stream in sorted(self.streams.items()):
            try:
                status = stream.status()
            except Exception as exc:
                status = FeedStatus(exchange=name, state=FeedState.STALE, reason=f"status failed: {exc}")
            seen = self.store.status(name)
            if seen.state is FeedState.STALE and status.state is FeedState.LIVE:
                status = attrs.evolve(status, state=FeedState.STALE, reason=seen.reason)
            statuses.append(status)
        return statuses

    def latency(self) -> LatencySummary:
        """Detection latency (book change received -> opportunity found), p50 / p99."""
        return self.engine.latency()

    def opportunities(self) -> list[Opportunity]:
        """The opportunities that exist now, best first."""
        return self.engine.current()

    def lifetimes(self) -> list[OpportunityLife]:
        """Every arbitrage seen while streaming, with how long it lived."""
        return self.engine.lifetimes()

    def trades(self) -> list[StreamedTrade]:
        """What was done with recent detections, oldest first."""
        with self._lock:
            return list(self._trades)

    # -- internals --------------------------------------------------------------------------
    def _balances(self) -> Mapping[Any, Any] | None:
        balances_of = getattr(self.bot.trading, "balances", None)
        if not callable(balances_of):
            return None
        result = balances_of()
        return result if isinstance(result, Mapping) else None

    def _on_detection(self, detection: Detection) -> None:
        outcome = self._trade(detection)
        with self._lock:
            self._trades.append(outcome)
            del self._trades[: -self._keep]

    def _trade(self, detection: Detection) -> StreamedTrade:
        bot = self.bot
        opportunity = detection.opportunity
        if not bot.trade_enabled:
            return StreamedTrade(detection, skipped="trading disabled")
        if not bot.allow_repeat and opportunity.key in bot._held_keys():
            return StreamedTrade(detection, skipped="already held")
        # The store may have gone stale between detection and now: never trade on such a book.
        keys = [leg.key for leg in opportunity.legs]
        books = self.store.view(keys)
        if len(books) != len(keys):
            return StreamedTrade(detection, skipped="a leg's book is stale")
        try:
            result = bot.trading.execute(opportunity, books=list(books.values()))
        except Exception as exc:  # a bug, not a venue error: record it and go on
            logger.exception("execute failed")
            bot._record(exc, "trading", "execute")
            return StreamedTrade(detection, skipped=f"execute failed: {type(exc).__name__}")
        return StreamedTrade(detection, result=result)

    def _resync(self, venue: str, reason: str) -> None:
        stream = self.streams.get(venue)
        markets = list(self._subscribed.get(venue, {}).values())
        if stream is None or not markets:
            return

        def resubscribe() -> None:
            try:
                stream.unsubscribe(markets)
                stream.subscribe(markets)
            except Exception as exc:
                self.bot._record(exc, venue, "resubscribe")

        # Off the watchdog's thread: a resubscribe does network I/O.
        threading.Thread(target=resubscribe, name=f"arbkit-resync-{venue}", daemon=True).start()
