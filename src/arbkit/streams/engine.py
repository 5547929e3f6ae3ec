"""Event-driven detection: re-run detection for the matches a book change touches.

:class:`StreamingEngine` keeps an index from each :data:`~arbkit.models.BookKey` to the
matches that read it (the matches the :class:`~arbkit.scanner.Scanner` computes). For
each batch of changes from a :class:`~arbkit.streams.books.BookStore` it calls the same
detector a REST scan calls (:func:`arbkit.engine.detect.find_opportunities` by default) on
the touched matches only, with the store's *usable* books only, so a stale book can
never produce an opportunity. Each opportunity goes to ``on_opportunity`` as a
:class:`Detection`, with the latency from the first receipt of the change that
triggered it to its detection::

    store = BookStore()
    engine = StreamingEngine(store, matches, bet_amount=Decimal(100), on_opportunity=trade)
    engine.start()                 # a thread: wait for changes, evaluate, call back
    stream.start(store); stream.subscribe(markets)

The engine also follows each match's opportunity from when it appears to when it is
gone (prices moved, or its books went stale): :meth:`StreamingEngine.lifetimes`.
Book ages are not checked against ``max_book_age``: a streamed book stays current until
the venue says otherwise, and the store's staleness rules decide whether it is used.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from arbkit.engine.opportunity import Opportunity
from arbkit.models import BookKey, OrderBook, utcnow
from arbkit.streams.books import BookStore

if TYPE_CHECKING:
    from arbkit.engine.matching import MarketMatch
    from arbkit.scanner import Detector

__all__ = ["Detection", "LatencySummary", "OpportunityLife", "StreamingEngine", "percentile"]

logger = logging.getLogger(__name__)

ZERO = Decimal(0)


@attrs.frozen
class Detection:
    """One opportunity found on a book change, with when the change arrived and when it was found.

    Times are the store's monotonic clock in nanoseconds (replay: simulated time).
    """

    opportunity: Opportunity
    received_ns: int
    detected_ns: int

    @property
    def latency_seconds(self) -> float:
        """From the first receipt of the triggering change to detection (a duration, not money)."""
        return max(0, self.detected_ns - self.received_ns) / 1e9


@attrs.frozen
class OpportunityLife:
    """One arbitrage from the change that opened it to the change that closed it.

    ``first`` is the opportunity as first detected, ``last`` as last detected, ``best`` the
    most profitable detection while it lived; ``closed_at`` is ``None`` while it is open.
    """

    key: str
    title: str
    first: Opportunity
    last: Opportunity
    best: Opportunity
    opened_at: datetime
    closed_at: datetime | None
    opened_ns: int
    closed_ns: int | None
    detections: int

    @property
    def seconds(self) -> float | None:
        """How long it lived (``None`` while open)."""
        return None if self.closed_ns is None else (self.closed_ns - self.opened_ns) / 1e9


@attrs.frozen
class LatencySummary:
    """Detection latencies (seconds) over the last detections the engine kept."""

    count: int
    p50: float | None
    p99: float | None
    max: float | None


def _quantile(ordered: Sequence[float], q: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class StreamingEngine:
    """Detection on every book change, for the matches that change touches.

    * ``store``: where books and changes come from;
    * ``matches``: the matches to watch (only :attr:`~arbkit.engine.matching.MarketMatch.tradable`
      ones are indexed); :meth:`set_matches` replaces them;
    * ``bet_amount`` / ``min_roi_percent`` / ``max_position``: as for the scanner;
    * ``balances``: called before each evaluation for dollars per venue (``None``: no cap);
    * ``detector``: the scanner's detector (default :func:`arbkit.engine.detect.find_opportunities`);
    * ``on_opportunity(detection)``: called on the engine's thread for each opportunity;
    * ``clock``: wall time for the opportunities' ``detected_at`` (replay: simulated);
    * ``keep``: how many recent detections and closed lifetimes to keep.
    """

    def __init__(
        self,
        store: BookStore,
        matches: Iterable[MarketMatch] = (),
        *,
        bet_amount: Decimal,
        min_roi_percent: Decimal = ZERO,
        max_position: Decimal | None = None,
        balances: Callable[[], Mapping[str, Decimal] | None] | None = None,
        detector: Detector | None = None,
        on_opportunity: Callable[[Detection], object] | None = None,
        clock: Callable[[], datetime] = utcnow,
        monotonic_ns: Callable[[], int] | None = None,
        keep: int = 10_000,
        silence_check_seconds: float = 1.0,
    ) -> None:
        from arbkit.scanner import default_detector

        self.store = store
        self.bet_amount = bet_amount
        self.min_roi_percent = min_roi_percent
        self.max_position = max_position
        self.balances = balances
        self.detector: Detector = detector or default_detector
        self.on_opportunity = on_opportunity
        self.silence_check_seconds = silence_check_seconds
        self._clock = clock
        self._ns = monotonic_ns or store._ns
        self._lock = threading.RLock()
        self._matches: list[MarketMatch] = []
        self._index: dict[BookKey, list[int]] = {}
        self._keys: list[tuple[BookKey, ...]] = []
        self._open: dict[str, OpportunityLife] = {}
        self._open_by_match: dict[int, str] = {}
        self._closed: collections.deque[OpportunityLife] = collections.deque(maxlen=keep)
        self._detections: collections.deque[Detection] = collections.deque(maxlen=keep)
        self._changes = store.changes()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        #: Evaluations run and matches evaluated, over the engine's life.
        self.evaluations = 0
        self.matches_evaluated = 0
        self.set_matches(matches)

    # -- matches ----------------------------------------------------------------------------
    def set_matches(self, matches: Iterable[MarketMatch]) -> None:
        """Watch these matches (tradable ones) instead; each is evaluated once at once."""
        tradable = [m for m in matches if getattr(m, "tradable", True)]
        index: dict[BookKey, list[int]] = {}
        keys: list[tuple[BookKey, ...]] = []
        for n, match in enumerate(tradable):
            match_keys = tuple(ref.book_key for group in match.groups for ref in group.refs)
            keys.append(match_keys)
            for key in match_keys:
                index.setdefault(key, []).append(n)
        with self._lock:
            self._matches, self._index, self._keys = tradable, index, keys
            self._open_by_match.clear()
        now = self._ns()
        # An arbitrage still found on the new matches lives on (same key); others end.
        self.evaluate({key: now for key in index})
        with self._lock:
            still = set(self._open_by_match.values())
            for open_key in [k for k in self._open if k not in still]:
                self._close(open_key, now)

    @property
    def matches(self) -> list[MarketMatch]:
        """The tradable matches watched."""
        with self._lock:
            return list(self._matches)

    def book_keys(self) -> set[BookKey]:
        """Every book the watched matches read (what to subscribe to)."""
        with self._lock:
            return set(self._index)

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(self, changes: Mapping[BookKey, int]) -> list[Detection]:
        """Re-run detection for the matches touched by ``changes`` (key -> first receipt, ns)."""
        with self._lock:
            touched: dict[int, int] = {}
            for key, received in changes.items():
                for n in self._index.get(key, ()):
                    earlier = touched.get(n)
                    if earlier is None or received < earlier:
                        touched[n] = received
            if not touched:
                return []
            matches = [self._matches[n] for n in touched]
            wanted = {key for n in touched for key in self._keys[n]}
            books: Mapping[BookKey, OrderBook] = self.store.view(wanted)
            balances = self.balances() if self.balances is not None else None
            found = self.detector(
                matches,
                books,
                bet_amount=self.bet_amount,
                min_roi_percent=self.min_roi_percent,
                max_position=self.max_position,
                balances=balances,
                now=self._clock(),
                max_book_age=None,
            )
            detected = self._ns()
            self.evaluations += 1
            self.matches_evaluated += len(matches)
            position = {id(match): n for n, match in zip(touched, matches, strict=True)}
            detections: list[Detection] = []
            seen: set[int] = set()
            for opportunity in found:
                n = position.get(id(opportunity.match), -1)
                seen.add(n)
                detection = Detection(opportunity, touched.get(n, detected), detected)
                detections.append(detection)
                self._detections.append(detection)
                self._track(n, opportunity, detected)
            for n in touched:
                if n not in seen and n in self._open_by_match:
                    self._close(self._open_by_match.pop(n), detected)
        for detection in detections:
            if self.on_opportunity is not None:
                try:
                    self.on_opportunity(detection)
                except Exception:
                    logger.exception("opportunity callback failed")
        return detections

    def step(self, timeout: float | None = 0.0) -> list[Detection]:
        """Take the pending changes (waiting up to ``timeout`` s for some) and evaluate them."""
        changes = self._changes.take(timeout)
        return self.evaluate(changes) if changes else []

    def pending(self) -> int:
        """Changed books not evaluated yet."""
        return len(self._changes)

    # -- background loop --------------------------------------------------------------------
    def start(self) -> None:
        """Evaluate changes as they come, in a daemon thread (also runs the silence watchdog)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="arbkit-streaming-engine", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        next_check = time.monotonic() + self.silence_check_seconds
        while not self._stop.is_set():
            try:
                self.step(timeout=min(0.25, self.silence_check_seconds))
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.silence_check_seconds
                    self.store.check_silence()
            except Exception:
                logger.exception("streaming evaluation failed")
                self._stop.wait(0.1)

    def stop(self) -> None:
        """Stop the background loop (the store keeps running); idempotent."""
        self._stop.set()
        self._changes.close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._changes = self.store.changes()

    # -- what it found ----------------------------------------------------------------------
    def detections(self) -> list[Detection]:
        """Recent detections, oldest first."""
        with self._lock:
            return list(self._detections)

    def latency(self) -> LatencySummary:
        """p50 / p99 / max detection latency over the recent detections."""
        with self._lock:
            values = sorted(d.latency_seconds for d in self._detections)
        return LatencySummary(
            count=len(values),
            p50=_quantile(values, 0.5),
            p99=_quantile(values, 0.99),
            max=values[-1] if values else None,
        )

    def current(self) -> list[Opportunity]:
        """The opportunities that exist now (the last detection of each open one), best first."""
        with self._lock:
            found = [life.last for life in self._open.values()]
        return sorted(found, key=lambda o: (-o.profit, -o.roi_percent, o.key))

    def lifetimes(self, *, include_open: bool = True) -> list[OpportunityLife]:
        """Every arbitrage seen, in the order they opened; open ones last-seen so far."""
        with self._lock:
            lives = list(self._closed) + (list(self._open.values()) if include_open else [])
        lives.sort(key=lambda life: (life.opened_ns, life.key))
        return lives

    def close_all(self) -> None:
        """End every open lifetime now (a replay's end)."""
        with self._lock:
            now = self._ns()
            for key in list(self._open):
                self._close(key, now)
            self._open_by_match.clear()

    # -- internals (lock held) --------------------------------------------------------------
    def _track(self, n: int, opportunity: Opportunity, now_ns: int) -> None:
        key = opportunity.key
        previous = self._open_by_match.get(n)
        if previous is not None and previous != key:
            self._close(previous, now_ns)
        life = self._open.get(key)
        if life is None:
            self._open[key] = OpportunityLife(
                key=key,
                title=opportunity.title,
                first=opportunity,
                last=opportunity,
                best=opportunity,
                opened_at=opportunity.detected_at,
                closed_at=None,
                opened_ns=now_ns,
                closed_ns=None,
                detections=1,
            )
        else:
            best = opportunity if opportunity.profit > life.best.profit else life.best
            self._open[key] = attrs.evolve(life, last=opportunity, best=best, detections=life.detections + 1)
        self._open_by_match[n] = key

    def _close(self, key: str, now_ns: int) -> None:
        life = self._open.pop(key, None)
        if life is not None:
            self._closed.append(attrs.evolve(life, closed_at=self._clock(), closed_ns=now_ns))


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q`` quantile (0..1, nearest rank) of ``values`` (benchmarks, reports)."""
    ordered = sorted(values)
    return _quantile(ordered, q)
