"""The Scanner: discover markets on each exchange, match them, fetch the books, find opportunities.

This is the detection half of PolyMix's ``monitor_job`` as a library: the Flask
example, the scheduler script and a notebook all call :meth:`Scanner.scan`::

    scanner = Scanner.from_settings(settings)
    result = scanner.scan()
    for opportunity in result.opportunities:      # best first
        print(opportunity.title, opportunity.roi_percent)

Markets are cached per exchange and refreshed on their own interval
(``refresh_seconds``), since the set of markets changes far more slowly than prices.
Books are fetched only for markets in tradable matches, with one
:meth:`~arbkit.exchange.Exchange.order_books` call per exchange (the adapter batches
as far as its venue allows). A failing exchange is reported through ``on_error`` and
the scan goes on with the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from arbkit.engine.opportunity import Opportunity
from arbkit.exchange import Exchange
from arbkit.models import BookKey, Market, OrderBook, utcnow

if TYPE_CHECKING:
    from arbkit.config import Settings
    from arbkit.engine.matching import MarketMatch

__all__ = ["Detector", "Matcher", "ScanResult", "Scanner"]

logger = logging.getLogger(__name__)

#: ``matcher(markets_by_exchange, **match_options) -> matches``.
Matcher = Callable[..., Sequence["MarketMatch"]]
#: ``detector(matches, books, *, bet_amount, min_roi_percent, max_position, balances, now, max_book_age)``.
Detector = Callable[..., Sequence[Opportunity]]
#: ``on_error(exc, venue, operation)``.
ErrorSink = Callable[[BaseException, str, str], object]


def default_matcher(markets: Mapping[str, Sequence[Market]], **options: Any) -> Sequence[MarketMatch]:
    """:func:`arbkit.engine.matching.match_markets` (pairs, then sports games) over every exchange."""
    from arbkit.engine.matching import match_markets

    return match_markets(markets, **options)


def default_detector(
    matches: Sequence[MarketMatch], books: Mapping[BookKey, OrderBook], **kw: Any
) -> Sequence[Opportunity]:
    """:func:`arbkit.engine.detect.find_opportunities`."""
    from arbkit.engine.detect import find_opportunities

    return find_opportunities(matches, books, **kw)


@attrs.frozen
class ScanResult:
    """One scan: opportunities best first, the matches and books they came from, and timings.

    ``books`` is every book fetched (each knows its exchange, market and outcome);
    ``book_requests`` counts ``order_books`` calls per exchange; ``errors`` lists
    ``(venue, operation, message)`` for each failure.
    """

    opportunities: tuple[Opportunity, ...]
    matches: tuple[Any, ...]
    books: tuple[OrderBook, ...]
    markets: Mapping[str, tuple[Market, ...]]
    book_requests: Mapping[str, int]
    errors: tuple[tuple[str, str, str], ...]
    started_at: datetime
    seconds: float

    @property
    def market_count(self) -> int:
        """Markets known across exchanges."""
        return sum(len(v) for v in self.markets.values())


class Scanner:
    """Discovers, matches and detects across ``exchanges`` (clients by name).

    * ``bet_amount`` / ``min_roi_percent`` / ``max_position``: passed to the detector;
    * ``max_book_age_seconds``: books older than this are not used;
    * ``market_filters``: per exchange, keyword arguments for ``markets()``
      (``{"kalshi": {"series": "KXNBAGAME"}}``);
    * ``refresh_seconds``: how long a market list is reused;
    * ``matcher`` / ``detector``: replaceable (defaults: :mod:`arbkit.engine.matching`,
      :mod:`arbkit.engine.detect`);
    * ``match_options``: keyword arguments for the matcher (``{"pairs": "pairs.toml"}``);
    * ``on_error(exc, venue, operation)``: where failures go (a trading system's ``record_error``).
    """

    def __init__(
        self,
        exchanges: Mapping[str, Exchange],
        *,
        bet_amount: Decimal,
        min_roi_percent: Decimal = Decimal(0),
        max_position: Decimal | None = None,
        max_book_age_seconds: Decimal | None = None,
        market_filters: Mapping[str, Mapping[str, Any]] | None = None,
        refresh_seconds: float = 300.0,
        matcher: Matcher | None = None,
        detector: Detector | None = None,
        match_options: Mapping[str, Any] | None = None,
        on_error: ErrorSink | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.exchanges = dict(exchanges)
        self.bet_amount = bet_amount
        self.min_roi_percent = min_roi_percent
        self.max_position = max_position
        self.max_book_age_seconds = max_book_age_seconds
        self.market_filters = {k: dict(v) for k, v in (market_filters or {}).items()}
        self.refresh_seconds = refresh_seconds
        self.matcher: Matcher = matcher or default_matcher
        self.detector: Detector = detector or default_detector
        self.match_options = dict(match_options or {})
        self.on_error = on_error
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[datetime, tuple[Market, ...]]] = {}
        # The last matching and the market lists it was computed from: matching depends only
        # on those lists, so it is reused until discovery returns a new list (a 5,000-market
        # match costs ~0.2 s and, recomputed per scan, held two copies while the last
        # scan's result was still shown).
        self._matched: tuple[dict[str, tuple[Market, ...]], Any, dict[str, Any], list[Any]] | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, exchanges: Mapping[str, Exchange] | None = None, **options: Any
    ) -> Scanner:
        """A scanner over ``settings.exchanges`` with the current mode's bet size and limits."""
        if exchanges is None:
            from arbkit.plugins import exchange

            exchanges = {name: exchange(name, settings) for name in settings.exchanges}
        limits = settings.limits
        options.setdefault("bet_amount", limits.bet_amount)
        options.setdefault("min_roi_percent", limits.min_roi_percent)
        options.setdefault("max_position", limits.max_position_size)
        options.setdefault("max_book_age_seconds", settings.max_book_age_seconds)
        return cls(exchanges, **options)

    def _report(
        self, exc: BaseException, venue: str, operation: str, errors: list[tuple[str, str, str]]
    ) -> None:
        errors.append((venue, operation, str(exc)[:300] or type(exc).__name__))
        logger.warning("%s %s failed: %s", venue, operation, type(exc).__name__)
        if self.on_error is not None:
            try:
                self.on_error(exc, venue, operation)
            except Exception:
                logger.exception("error sink failed")

    def invalidate(self, venue: str | None = None) -> None:
        """Forget cached markets (of one exchange, or all) so the next scan lists them again."""
        with self._lock:
            if venue is None:
                self._cache.clear()
            else:
                self._cache.pop(venue, None)
            self._matched = None

    def markets(
        self, *, force: bool = False, _errors: list[tuple[str, str, str]] | None = None
    ) -> dict[str, tuple[Market, ...]]:
        """Each exchange's markets, from the cache while it is fresh.

        An exchange that fails keeps its previous list (if any) and is reported.
        """
        errors = _errors if _errors is not None else []
        now = self._clock()
        result: dict[str, tuple[Market, ...]] = {}
        for venue, client in self.exchanges.items():
            with self._lock:
                cached = self._cache.get(venue)
            fresh = cached is not None and (now - cached[0]).total_seconds() < self.refresh_seconds
            if cached is not None and fresh and not force:
                result[venue] = cached[1]
                continue
            try:
                listed = tuple(client.markets(**self.market_filters.get(venue, {})))
            except Exception as exc:
                self._report(exc, venue, "list markets", errors)
                if cached is not None:
                    result[venue] = cached[1]
                continue
            with self._lock:
                self._cache[venue] = (now, listed)
            result[venue] = listed
        return result

    @property
    def last_matches(self) -> list[Any]:
        """What the last :meth:`match` returned (refusals included), empty before any."""
        with self._lock:
            matched = self._matched
        return [] if matched is None else list(matched[3])

    def match(self, markets: Mapping[str, tuple[Market, ...]]) -> list[Any]:
        """``matcher(markets, **match_options)``, reused while the same market lists come back."""
        with self._lock:
            previous = self._matched
        if (
            previous is not None
            and previous[1] is self.matcher
            and previous[2] == self.match_options
            and previous[0].keys() == markets.keys()
            and all(previous[0][venue] is listed for venue, listed in markets.items())
        ):
            return previous[3]
        matches = list(self.matcher(markets, **self.match_options))
        with self._lock:
            self._matched = (dict(markets), self.matcher, dict(self.match_options), matches)
        return matches

    def fetch_books(
        self, markets: Iterable[Market], *, _errors: list[tuple[str, str, str]] | None = None
    ) -> tuple[list[OrderBook], dict[str, int]]:
        """Books of every outcome of ``markets``: one ``order_books`` call per exchange."""
        errors = _errors if _errors is not None else []
        by_venue: dict[str, dict[str, Market]] = {}
        for market in markets:
            by_venue.setdefault(market.exchange, {})[market.id] = market
        books: list[OrderBook] = []
        calls: dict[str, int] = {}
        for venue, venue_markets in by_venue.items():
            client = self.exchanges.get(venue)
            if client is None:
                continue
            calls[venue] = calls.get(venue, 0) + 1
            try:
                books.extend(client.order_books(list(venue_markets.values())).values())
            except Exception as exc:
                self._report(exc, venue, "fetch order books", errors)
        return books, calls

    def scan(
        self, *, balances: Mapping[str, Decimal] | None = None, force_markets: bool = False
    ) -> ScanResult:
        """Discover (cached), match, fetch books and detect: opportunities ranked best first.

        ``balances`` (dollars per exchange) caps each venue's legs; ``None`` means no cap.
        """
        started = self._clock()
        tick = time.perf_counter()
        errors: list[tuple[str, str, str]] = []
        markets = self.markets(force=force_markets, _errors=errors)
        matches: Sequence[Any] = ()
        books: list[OrderBook] = []
        calls: dict[str, int] = {}
        opportunities: list[Opportunity] = []
        live_venues = [v for v, ms in markets.items() if ms]
        if len(live_venues) >= 2:
            try:
                matches = self.match(markets)
            except Exception as exc:
                self._report(exc, "scanner", "match markets", errors)
            tradable = [m for m in matches if getattr(m, "tradable", True)]
            wanted = [market for match in tradable for market in match.markets]
            if wanted:
                books, calls = self.fetch_books(wanted, _errors=errors)
            if books:
                age = self.max_book_age_seconds
                try:
                    opportunities = list(
                        self.detector(
                            tradable,
                            {book.key: book for book in books},
                            bet_amount=self.bet_amount,
                            min_roi_percent=self.min_roi_percent,
                            max_position=self.max_position,
                            balances=balances,
                            now=self._clock(),
                            max_book_age=None if age is None else timedelta(seconds=float(age)),
                        )
                    )
                except Exception as exc:
                    self._report(exc, "scanner", "find opportunities", errors)
        opportunities.sort(key=lambda o: (-o.profit, -o.roi_percent, o.key))
        return ScanResult(
            opportunities=tuple(opportunities),
            matches=tuple(matches),
            books=tuple(books),
            markets=markets,
            book_requests=calls,
            errors=tuple(errors),
            started_at=started,
            seconds=time.perf_counter() - tick,
        )
