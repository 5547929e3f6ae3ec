"""Record every raw stream frame to a file, and replay a recording deterministically.

A recording is gzip-compressed JSON lines (schema in ``docs/streams.md``):

* line 1, the header: ``{"schema": "arbkit.stream-recording", "version": 1,
  "venues": [...], "started_at": "<ISO time>", "t": <ns since epoch>}``;
* catalog lines: ``{"t": ..., "catalog": {"markets": [...], "matches": [...]}}``, the
  markets and matches the frames are about (written at start and when they change);
* one line per frame: ``{"t": <ns since epoch, as received>, "venue": "kalshi",
  "conn": "market" | "user", "msg": "<the frame's text, unchanged>"}``.

:class:`Recorder` is a :class:`~arbkit.streams.feed.FeedSink` wrapper: it writes each
``frame()`` and passes every call on. :func:`replay` feeds a recording's frames, in file
order and on a simulated clock (no sleeping), through each venue's own decoder
(``arbkit.plugins.stream(venue).decoder(sink, conn)``, the code that parsed them live)
into a :class:`~arbkit.streams.books.BookStore`, the
:class:`~arbkit.streams.engine.StreamingEngine` and a
:class:`~arbkit.trading.paper.PaperTradingSystem`, and reports what existed and what paper
trading would have made. The same file replays to the same report every time.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from arbkit.errors import ArbkitError, ValidationError
from arbkit.models import Fill, Order, OrderBook
from arbkit.streams.books import BookStore
from arbkit.streams.catalog import catalog_from_json, catalog_to_json, dumps
from arbkit.streams.engine import Detection, OpportunityLife, StreamingEngine
from arbkit.streams.feed import FeedSink, FrameDecoder, MarketEvent
from arbkit.trading.records import ErrorRecord, TradeResult

if TYPE_CHECKING:
    from arbkit.engine.matching import MarketMatch

__all__ = ["SCHEMA", "RecordedFrame", "Recorder", "ReplayReport", "read_recording", "replay"]

logger = logging.getLogger(__name__)

SCHEMA = "arbkit.stream-recording"
VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZERO = Decimal(0)

DecoderFactory = Callable[[FeedSink, str], FrameDecoder]


def to_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (exact, no float)."""
    return ((moment - _EPOCH) // timedelta(microseconds=1)) * 1000


def from_ns(ns: int) -> datetime:
    """The aware UTC datetime of nanoseconds since the epoch (to the microsecond)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


class Recorder:
    """A sink that writes every raw frame to ``path`` (gzip JSON lines), then passes it on.

    ``inner``: the sink the stream really feeds (a :class:`BookStore`), or ``None`` to
    only record. Thread-safe: the venues' streams write from their own threads.

    >>> rec = Recorder("s.jsonl.gz", venues=["kalshi"], inner=store)  # doctest: +SKIP
    >>> rec.catalog(matches); stream.start(rec)  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        venues: Sequence[str],
        inner: FeedSink | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = Path(path)
        self.inner = inner
        self._lock = threading.Lock()
        self._file: IO[str] | None = gzip.open(  # noqa: SIM115 - open for the recorder's life
            self.path, "wt", encoding="utf-8", compresslevel=6
        )
        started = clock()
        #: Frames written.
        self.frames = 0
        self._write(
            {
                "schema": SCHEMA,
                "version": VERSION,
                "venues": list(venues),
                "started_at": started.isoformat(),
                "t": to_ns(started),
            }
        )
        self._clock = clock

    def catalog(self, matches: Iterable[MarketMatch]) -> None:
        """Write the matches (and their markets) the following frames are about."""
        self._write({"t": to_ns(self._clock()), "catalog": catalog_to_json(matches)})

    def _write(self, data: Mapping[str, Any], *, frame: bool = False) -> None:
        line = dumps(data) + "\n"
        with self._lock:
            if self._file is None:
                return
            self._file.write(line)
            self.frames += frame

    def flush(self) -> None:
        """Push what is buffered to the file (a reader then sees it; gzip stays open)."""
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close(self) -> None:
        """Finish the gzip stream; idempotent."""
        with self._lock:
            handle, self._file = self._file, None
        if handle is not None:
            handle.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- FeedSink ---------------------------------------------------------------------------
    def frame(self, exchange: str, connection: str, text: str, received_at: datetime) -> None:
        """Write the frame, then pass it on."""
        self._write({"t": to_ns(received_at), "venue": exchange, "conn": connection, "msg": text}, frame=True)
        if self.inner is not None:
            self.inner.frame(exchange, connection, text, received_at)

    def book(self, book: OrderBook) -> None:
        if self.inner is not None:
            self.inner.book(book)

    def stale(self, exchange: str, market_ids: Sequence[str], reason: str) -> None:
        if self.inner is not None:
            self.inner.stale(exchange, market_ids, reason)

    def live(self, exchange: str, market_ids: Sequence[str]) -> None:
        if self.inner is not None:
            self.inner.live(exchange, market_ids)

    def order(self, order: Order) -> None:
        if self.inner is not None:
            self.inner.order(order)

    def fill(self, fill: Fill) -> None:
        if self.inner is not None:
            self.inner.fill(fill)

    def market(self, event: MarketEvent) -> None:
        if self.inner is not None:
            self.inner.market(event)

    def error(self, exc: ArbkitError, operation: str) -> None:
        if self.inner is not None:
            self.inner.error(exc, operation)


@attrs.frozen
class RecordedFrame:
    """One line of a recording: a frame (``msg``) or a catalog (``catalog``)."""

    t: int
    venue: str = ""
    conn: str = ""
    msg: str = ""
    catalog: list[MarketMatch] | None = None


@attrs.frozen
class _Header:
    venues: tuple[str, ...]
    started_at: datetime
    t: int


def read_recording(path: str | os.PathLike[str]) -> tuple[_Header, Iterator[RecordedFrame], list[str]]:
    """The header, the lines (lazily) and a list that collects problems met while reading.

    A bad header raises :class:`ValidationError`; a bad line later is skipped and noted, and
    a file cut short (a recorder killed before closing) ends where the data ends, noted.
    """
    problems: list[str] = []
    handle = gzip.open(Path(path), "rt", encoding="utf-8")  # noqa: SIM115 - closed by lines()
    try:
        first = handle.readline()
        header = json.loads(first)
        if not isinstance(header, dict) or header.get("schema") != SCHEMA:
            raise ValidationError(f"{path} is not an arbkit stream recording")
        if header.get("version") != VERSION:
            raise ValidationError(f"{path}: recording version {header.get('version')!r} is not {VERSION}")
        head = _Header(
            tuple(header["venues"]), datetime.fromisoformat(header["started_at"]), int(header["t"])
        )
    except ValidationError:
        handle.close()
        raise
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        handle.close()
        raise ValidationError(f"{path}: unreadable recording header ({type(exc).__name__})") from None
    except BaseException:
        handle.close()
        raise

    def lines() -> Iterator[RecordedFrame]:
        number = 1
        try:
            while True:
                try:
                    line = handle.readline()
                except (EOFError, OSError, gzip.BadGzipFile) as exc:
                    problems.append(f"file ends early after line {number} ({type(exc).__name__})")
                    return
                if not line:
                    return
                number += 1
                try:
                    data = json.loads(line)
                    t = data["t"]
                    if isinstance(t, bool) or not isinstance(t, int):
                        raise TypeError("t must be an integer")
                    if "catalog" in data:
                        yield RecordedFrame(t=t, catalog=catalog_from_json(data["catalog"]))
                        continue
                    venue, conn, msg = data["venue"], data["conn"], data["msg"]
                    if not all(isinstance(x, str) for x in (venue, conn, msg)):
                        raise TypeError("venue, conn and msg must be strings")
                    yield RecordedFrame(t=t, venue=venue, conn=conn, msg=msg)
                except (ValueError, KeyError, TypeError) as exc:
                    problems.append(f"line {number}: {type(exc).__name__}: {str(exc)[:100]}")
        finally:
            handle.close()

    return head, lines(), problems


@attrs.frozen
class ReplayReport:
    """What a recording held and what paper trading would have done with it.

    ``opportunities``: every arbitrage seen, with when it opened and how long it lived
    (recorded time); ``trades``: what the paper system did with each detection it was
    given; ``profit``: the executed trades' expected profit after fees.
    """

    path: str
    venues: tuple[str, ...]
    started_at: datetime
    ended_at: datetime
    messages: int
    book_updates: int
    opportunities: tuple[OpportunityLife, ...]
    trades: tuple[TradeResult, ...]
    cost: Decimal
    fees: Decimal
    profit: Decimal
    errors: tuple[ErrorRecord, ...]
    problems: tuple[str, ...]
    wall_seconds: float

    @property
    def executed(self) -> tuple[TradeResult, ...]:
        """Results in which contracts were bought."""
        return tuple(r for r in self.trades if r.executed)

    @property
    def recorded_seconds(self) -> float:
        """How long the recording spans."""
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def messages_per_second(self) -> float:
        """Replay speed."""
        return self.messages / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary (the CLI prints it); the same recording gives the same one."""
        return {
            "path": self.path,
            "venues": list(self.venues),
            "started_at": self.started_at.isoformat(),
            "recorded_seconds": self.recorded_seconds,
            "messages": self.messages,
            "book_updates": self.book_updates,
            "opportunities": [
                {
                    "title": life.title,
                    "key": life.key,
                    "opened_at": life.opened_at.isoformat(),
                    "lived_seconds": life.seconds,
                    "detections": life.detections,
                    "best_profit": str(life.best.profit),
                    "best_roi_percent": str(life.best.roi_percent),
                }
                for life in self.opportunities
            ],
            "trades": [
                {
                    "title": r.opportunity.title,
                    "status": None if r.status is None else str(r.status),
                    "cost": None if r.trade is None else str(r.trade.cost),
                    "fees": None if r.trade is None else str(r.trade.fees),
                    "expected_profit": None if r.trade is None else str(r.trade.expected_profit),
                    "reasons": list(r.reasons),
                    "error": r.error,
                }
                for r in self.trades
            ],
            "executed": len(self.executed),
            "cost": str(self.cost),
            "fees": str(self.fees),
            "profit": str(self.profit),
            "errors": [f"{e.venue} {e.operation}: {e.message}" for e in self.errors],
            "problems": list(self.problems),
        }


class _SimClock:
    """Recorded time: the monotonic clock and the wall clock of a replay."""

    def __init__(self, ns: int) -> None:
        self.ns = ns

    def monotonic(self) -> int:
        return self.ns

    def now(self) -> datetime:
        return from_ns(self.ns)


class _MemoryStore:
    """A trade store that keeps nothing beyond the replay (the paper system's state is the report)."""

    def load(self) -> None:
        return None

    def append_trade(self, trade: Any, ledger: Any) -> None:
        pass

    def update_trade(self, trade: Any, ledger: Any) -> None:
        pass

    def append_error(self, error: Any) -> None:
        pass

    def save_ledger(self, ledger: Any) -> None:
        pass

    def reset(self, ledger: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _plugin_decoders(settings: Any) -> Callable[[str, FeedSink, str], FrameDecoder]:
    from arbkit.plugins import stream

    built: dict[str, Any] = {}

    def make(venue: str, sink: FeedSink, conn: str) -> FrameDecoder:
        if venue not in built:
            built[venue] = stream(venue, settings)
        decoder: FrameDecoder = built[venue].decoder(sink, conn)
        return decoder

    return make


def replay(
    path: str | os.PathLike[str],
    *,
    bet_amount: Decimal = Decimal(100),
    min_roi_percent: Decimal = ZERO,
    max_position: Decimal | None = None,
    initial_balance: Decimal = Decimal(10_000),
    trade: bool = True,
    settings: Any = None,
    decoders: Callable[[str, FeedSink, str], FrameDecoder] | None = None,
    cadence: Mapping[str, float | None] | None = None,
    on_detection: Callable[[Detection], object] | None = None,
) -> ReplayReport:
    """Replay a recording through the venues' decoders, the engine and paper trading.

    ``decoders(venue, sink, conn)`` builds a venue's decoder (default: its plugin's
    ``stream(venue, settings).decoder(sink, conn)``). Frames are fed in file order on the
    recorded clock; detection runs after every frame; each opportunity not already held is
    paper-traded against the books as they were (``trade=False`` only finds).
    """
    from arbkit.trading.paper import PaperTradingSystem

    tick = time.perf_counter()
    header, lines, problems = read_recording(path)
    clock = _SimClock(header.t)
    store = BookStore(cadence=cadence, monotonic_ns=clock.monotonic, clock=clock.now)
    paper = PaperTradingSystem(initial_balance=initial_balance, store=_MemoryStore(), clock=clock.now)
    store.on_error = lambda exc, venue, op: paper.record_error(exc, venue=venue, operation=op)
    results: list[TradeResult] = []
    held: set[str] = set()

    def trade_it(detection: Detection) -> None:
        if on_detection is not None:
            on_detection(detection)
        opportunity = detection.opportunity
        if not trade or opportunity.key in held:
            return
        keys = [leg.key for leg in opportunity.legs]
        books = store.view(keys)
        if len(books) != len(keys):
            return
        result = paper.execute(opportunity, books=list(books.values()))
        results.append(result)
        if result.executed:
            held.add(opportunity.key)

    engine = StreamingEngine(
        store,
        (),
        bet_amount=bet_amount,
        min_roi_percent=min_roi_percent,
        max_position=max_position,
        balances=paper.balances if hasattr(paper, "balances") else None,
        on_opportunity=trade_it,
        clock=clock.now,
    )
    make = decoders or _plugin_decoders(settings)
    active: dict[tuple[str, str], FrameDecoder] = {}
    messages = 0
    last_check = clock.ns
    ended = header.t
    for item in lines:
        clock.ns = max(clock.ns, item.t)  # lines are in arrival order; time never runs back
        ended = clock.ns
        if item.catalog is not None:
            engine.set_matches(item.catalog)
            continue
        decoder = active.get((item.venue, item.conn))
        if decoder is None:
            try:
                decoder = active[(item.venue, item.conn)] = make(item.venue, store, item.conn)
            except ArbkitError as exc:
                problems.append(f"no decoder for {item.venue}: {exc}")
                active[(item.venue, item.conn)] = decoder = _Skip()
        messages += 1
        store.frame(item.venue, item.conn, item.msg, clock.now())
        decoder.feed(item.msg, clock.now())
        if clock.ns - last_check >= 1_000_000_000:
            last_check = clock.ns
            store.check_silence()
        engine.step()
    engine.close_all()
    executed = [r for r in results if r.executed and r.trade is not None]
    report = ReplayReport(
        path=str(path),
        venues=header.venues,
        started_at=header.started_at,
        ended_at=from_ns(ended),
        messages=messages,
        book_updates=store.updates,
        opportunities=tuple(engine.lifetimes()),
        trades=tuple(results),
        cost=sum((r.trade.cost for r in executed if r.trade is not None), ZERO),
        fees=sum((r.trade.fees for r in executed if r.trade is not None), ZERO),
        profit=sum((r.trade.expected_profit for r in executed if r.trade is not None), ZERO),
        errors=tuple(store.errors()),
        problems=tuple(problems),
        wall_seconds=time.perf_counter() - tick,
    )
    store.close()
    return report


class _Skip:
    def feed(self, text: str, received_at: datetime) -> None:
        pass
