"""Kalshi market-data payloads -> core models: one function per payload (reference: kalshi.md 3-5, 7).

Only the current fields are read: ``*_dollars`` / ``*_fp`` strings, ``orderbook_fp`` and
``price_ranges`` (the integer cents and counts, the legacy ``orderbook`` object and
``tick_size`` were removed in 2026, kalshi.md 4.2). Unknown enum values become ``UNKNOWN`` and never crash;
a payload that is not what the API promises raises :class:`~arbkit.errors.InvalidResponse`
(never ``KeyError``/``TypeError``/``ValueError``). Trading payloads (orders, fills,
positions, balance, settlements) are in :mod:`arbkit_kalshi.parse_trading`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from arbkit.engine.fees import FeeSchedule, QuadraticFee
from arbkit.errors import ArbkitError, InvalidResponse
from arbkit.models import (
    BookLevel,
    Market,
    MarketStatus,
    OrderBook,
    Outcome,
    Resolution,
    ResolutionState,
    utcnow,
)
from arbkit_kalshi.games import game_info
from arbkit_kalshi.grid import grid_of
from arbkit_kalshi.units import number, read_count, read_dollars

__all__ = [
    "EXCHANGE",
    "GRID_META_KEY",
    "EventData",
    "SeriesFees",
    "bid_levels",
    "books_from_bids",
    "build_markets",
    "complement",
    "event_fees",
    "fee_schedule",
    "market_status",
    "obj",
    "page",
    "parse_event",
    "parse_market",
    "parse_orderbook",
    "parse_orderbooks",
    "parse_resolution",
    "parse_series",
    "parse_time",
    "top_of_book",
]

EXCHANGE = "kalshi"
#: ``Market.meta`` key of the market's :class:`~arbkit_kalshi.grid.PriceGrid`.
GRID_META_KEY = "kalshi_price_grid"
COUNT_STEP = Decimal("0.01")
ONE = Decimal(1)
ZERO = Decimal(0)
TAKER_RATE = Decimal("0.07")

# Object vocabulary (market_lifecycle) and the legacy/filter words (kalshi.md 4.3).
_STATUS = {
    "initialized": MarketStatus.UNOPENED,
    "unopened": MarketStatus.UNOPENED,
    "active": MarketStatus.OPEN,
    "open": MarketStatus.OPEN,
    "inactive": MarketStatus.PAUSED,
    "paused": MarketStatus.PAUSED,
    "closed": MarketStatus.CLOSED,
    "disputed": MarketStatus.CLOSED,
    "determined": MarketStatus.RESOLVED,
    "amended": MarketStatus.RESOLVED,
    "finalized": MarketStatus.RESOLVED,
    "settled": MarketStatus.RESOLVED,
}

# Series.fee_type -> maker share of the taker rate (kalshi.md section 5). "flat" means a
# per-series table the API does not publish: the fee is unknown, so the market is not traded.
_MAKER_SHARE = {
    "quadratic": ZERO,
    "quadratic_with_maker_fees": Decimal("0.25"),
    "quadratic_with_combo_maker_fees": Decimal("0.5"),
}


def _fail(message: str) -> InvalidResponse:
    return InvalidResponse(f"kalshi: {message}", exchange=EXCHANGE)


def obj(value: Any, what: str) -> Mapping[str, Any]:
    """``value`` as a JSON object, or :class:`InvalidResponse`."""
    if not isinstance(value, Mapping):
        raise _fail(f"{what} is not a JSON object")
    return value


def _str(data: Mapping[str, Any], key: str, what: str, *, required: bool = True) -> str:
    value = data.get(key)
    if isinstance(value, str) and value:
        return value
    if required:
        raise _fail(f"{what} has no {key}")
    return ""


def page(body: Any, key: str) -> tuple[list[Mapping[str, Any]], str | None]:
    """The items under ``key`` and the next cursor (``None`` on the last page) of a list response."""
    data = obj(body, f"{key} response")
    items = data.get(key)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise _fail(f"{key} is not a list")
    cursor = data.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise _fail("cursor is not a string")
    return [obj(item, key) for item in items], cursor or None


def parse_time(value: Any, field: str = "time") -> datetime | None:
    """An RFC3339 string (``...Z``, with or without fractions) as an aware UTC datetime."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _fail(f"{field} is not an RFC3339 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _fail(f"{field} is not an RFC3339 time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise _fail(f"{field} has no timezone: {value[:40]!r}")
    return parsed


def market_status(raw: Any) -> MarketStatus:
    """The neutral status of a Kalshi status word; unknown words -> ``UNKNOWN``."""
    return _STATUS.get(raw.lower(), MarketStatus.UNKNOWN) if isinstance(raw, str) else MarketStatus.UNKNOWN


@attrs.frozen
class SeriesFees:
    """A series' fee parameters (``GET /series/{ticker}``)."""

    ticker: str
    fee_type: str | None
    fee_multiplier: Decimal
    title: str = ""


def parse_series(body: Any) -> SeriesFees:
    """``{"series": Series}`` (or the bare object) -> :class:`SeriesFees`."""
    data = obj(body, "series response")
    series = obj(data.get("series", data), "series")
    multiplier = series.get("fee_multiplier")
    return SeriesFees(
        ticker=_str(series, "ticker", "series"),
        fee_type=series.get("fee_type") if isinstance(series.get("fee_type"), str) else None,
        fee_multiplier=ONE if multiplier in (None, "") else number(multiplier, "fee_multiplier"),
        title=_str(series, "title", "series", required=False),
    )


def fee_schedule(
    fee_type: str | None, multiplier: Decimal = ONE, *, combo_maker_share: Decimal | None = None
) -> FeeSchedule | None:
    """Kalshi's trading fee as a :class:`~arbkit.engine.fees.QuadraticFee`, or ``None`` when unknown.

    ``ceil_to_cent(0.07 x multiplier x C x P x (1-P))`` per order for takers; makers pay
    0.25 (or 0.5 for combo) of that rate only on series with maker fees (kalshi.md section 5).
    """
    if fee_type is None:
        fee_type = "quadratic"  # a series without fee_type is on the general table
    share = _MAKER_SHARE.get(fee_type)
    if share is None:
        return None
    if combo_maker_share is not None and fee_type == "quadratic_with_combo_maker_fees":
        share = combo_maker_share
    return QuadraticFee(rate=TAKER_RATE, maker_rate=TAKER_RATE * share, multiplier=multiplier)


@attrs.frozen
class EventData:
    """One event and the raw payloads of its markets (``GET /events``)."""

    event_ticker: str
    series_ticker: str | None
    title: str
    sub_title: str
    mutually_exclusive: bool | None
    fee_type_override: str | None
    fee_multiplier_override: Decimal | None
    market_payloads: tuple[Mapping[str, Any], ...] = ()


def parse_event(body: Any, markets: Sequence[Any] | None = None) -> EventData:
    """An ``EventData`` object (or ``{"event": ..., "markets": [...]}``) -> :class:`EventData`."""
    data = obj(body, "event")
    if "event" in data and isinstance(data.get("event"), Mapping):
        markets = markets if markets is not None else data.get("markets")
        data = data["event"]
    nested = data.get("markets")
    if not nested and markets:
        nested = markets
    if nested is None:
        nested = []
    if not isinstance(nested, list):
        raise _fail("event markets is not a list")
    override = data.get("fee_multiplier_override")
    mutually_exclusive = data.get("mutually_exclusive")
    return EventData(
        event_ticker=_str(data, "event_ticker", "event"),
        series_ticker=_str(data, "series_ticker", "event", required=False) or None,
        title=_str(data, "title", "event", required=False),
        sub_title=_str(data, "sub_title", "event", required=False),
        mutually_exclusive=mutually_exclusive if isinstance(mutually_exclusive, bool) else None,
        fee_type_override=data.get("fee_type_override")
        if isinstance(data.get("fee_type_override"), str)
        else None,
        fee_multiplier_override=None
        if override in (None, "")
        else number(override, "fee_multiplier_override"),
        market_payloads=tuple(obj(m, "market") for m in nested),
    )


@functools.lru_cache(maxsize=4096)
def _outcomes(yes_name: str) -> tuple[Outcome, Outcome]:
    """A market's YES and NO outcomes, shared by the markets naming the same team or answer."""
    return Outcome("yes", yes_name or "Yes"), Outcome("no", f"Not {yes_name}" if yes_name else "No")


def _suffix(ticker: str, event_ticker: str) -> str | None:
    prefix = event_ticker + "-"
    return ticker[len(prefix) :].upper() if event_ticker and ticker.startswith(prefix) else None


def parse_market(
    body: Any,
    *,
    event: EventData | None = None,
    fees: FeeSchedule | None = None,
    siblings: Sequence[Mapping[str, Any]] = (),
) -> Market:
    """A ``Market`` object (or ``{"market": ...}``) -> :class:`arbkit.models.Market`.

    ``event`` supplies the series, the event title and grouping; ``siblings`` are the
    event's other market payloads (their ticker suffixes name the teams of a game).
    """
    data = obj(body, "market")
    if "market" in data and isinstance(data.get("market"), Mapping):
        data = data["market"]
    ticker = _str(data, "ticker", "market")
    event_ticker = _str(data, "event_ticker", "market", required=False) or (
        event.event_ticker if event else ""
    )
    yes_name = _str(data, "yes_sub_title", "market", required=False)
    series_ticker = (event.series_ticker if event else None) or (
        _str(data, "series_ticker", "market", required=False) or None
    )
    raw_status = data.get("status")
    try:
        grid = grid_of(data)
    except InvalidResponse as exc:
        raise _fail(f"market {ticker!r}: {exc}") from None
    team_names: dict[str, str] = {}
    for sibling in (*siblings, data):
        code = _suffix(str(sibling.get("ticker", "")), event_ticker)
        if code:
            team_names[code] = str(sibling.get("yes_sub_title") or "")
    rules = "\n\n".join(
        part
        for part in (data.get("rules_primary"), data.get("rules_secondary"))
        if isinstance(part, str) and part
    )
    try:
        game = (
            game_info(
                series_ticker,
                event_ticker,
                ticker,
                team_names,
                # The game's time signals (sports.md 3); close_time is two weeks later, never one.
                expected_expiration=parse_time(
                    data.get("expected_expiration_time"), "expected_expiration_time"
                ),
                rules=rules,
                floor_strike=data.get("floor_strike"),
            )
            if event_ticker
            else None
        )
    except ArbkitError:
        game = None
    meta: dict[str, Any] = {
        "series_ticker": series_ticker,
        "event_ticker": event_ticker or None,
        "mutually_exclusive": event.mutually_exclusive if event else None,
        "can_close_early": data.get("can_close_early"),
        "expected_expiration_time": data.get("expected_expiration_time"),
        "occurrence_datetime": data.get("occurrence_datetime"),
        "status_raw": raw_status,
        "result": data.get("result"),
        "market_type": data.get("market_type"),
        "yes_sub_title": yes_name,
        "no_sub_title": data.get("no_sub_title"),
        "exchange_index": data.get("exchange_index"),
        "price_level_structure": grid.structure,
        # The market's own price grid (kalshi.md 4.5): the client snaps or refuses prices by it.
        GRID_META_KEY: grid,
    }
    try:
        return Market(
            exchange=EXCHANGE,
            id=ticker,
            title=_str(data, "title", "market", required=False) or (event.title if event else "") or yes_name,
            outcomes=_outcomes(yes_name),
            status=market_status(raw_status),
            close_time=parse_time(data.get("close_time"), "close_time"),
            tick_size=grid.finest_step,
            # Every market is fractional since Jul 2026 (fractional_trading_enabled was removed).
            min_order_size=COUNT_STEP,
            size_increment=COUNT_STEP,
            fees=fees,
            event_id=event_ticker or None,
            event_title=event.title if event else None,
            start_time=game.start_time if game else None,
            rules=rules,
            meta=meta,
            game=game,
        )
    except InvalidResponse:
        raise
    except (ArbkitError, TypeError, ValueError) as exc:
        raise _fail(f"market {ticker!r} is malformed: {exc}") from None


def event_fees(event: EventData, fees_by_series: Mapping[str, FeeSchedule | None]) -> FeeSchedule | None:
    """The fee schedule of an event's markets: its series' schedule with the event overrides applied."""
    fees = fees_by_series.get(event.series_ticker or "")
    if event.fee_type_override:
        base = fees if isinstance(fees, QuadraticFee) else None
        multiplier = event.fee_multiplier_override or (base.multiplier if base else ONE)
        return fee_schedule(event.fee_type_override, multiplier)
    if event.fee_multiplier_override is not None and isinstance(fees, QuadraticFee):
        return attrs.evolve(fees, multiplier=event.fee_multiplier_override)
    return fees


def build_markets(event: EventData, fees_by_series: Mapping[str, FeeSchedule | None]) -> list[Market]:
    """Every market of an event, with the event's fee schedule (event overrides applied)."""
    fees = event_fees(event, fees_by_series)
    return [
        parse_market(m, event=event, fees=fees, siblings=event.market_payloads) for m in event.market_payloads
    ]


def bid_levels(value: Any, *, what: str) -> list[tuple[Decimal, Decimal]]:
    """``[[price, count], ...]`` strings -> ``(price, size)`` pairs; empty levels dropped.

    ``None`` is an empty side. Prices must lie inside (0, 1); anything else that is not a
    list of two strings raises :class:`InvalidResponse`.
    """
    if value is None:
        return []  # live bodies send [] (kalshi.md 3.11); null is tolerated as empty
    if not isinstance(value, list):
        raise _fail(f"{what} is not a list of levels")
    levels = []
    for level in value:
        if not isinstance(level, list | tuple) or len(level) != 2:
            raise _fail(f"{what} has a malformed level")
        if not all(isinstance(x, str) for x in level):
            raise _fail(f"{what} levels must be [price, count] strings")
        price = number(level[0], what)
        size = number(level[1], what)
        if size <= 0:
            continue
        if not ZERO < price < ONE:
            raise _fail(f"{what} has a price outside (0, 1): {price}")
        levels.append((price, size))
    return levels


def _bid_ladders(
    data: Mapping[str, Any],
) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """YES and NO bids of ``orderbook_fp`` (the legacy ``orderbook`` object was removed Mar 2026)."""
    fp = data.get("orderbook_fp")
    if not isinstance(fp, Mapping):
        raise _fail("orderbook response has no orderbook_fp")
    return (
        bid_levels(fp.get("yes_dollars"), what="yes_dollars"),
        bid_levels(fp.get("no_dollars"), what="no_dollars"),
    )


def parse_orderbook(
    body: Any, ticker: str, *, timestamp: datetime | None = None
) -> tuple[OrderBook, OrderBook]:
    """An orderbook response -> ``(yes_book, no_book)``.

    Kalshi returns only bids, for YES and for NO (kalshi.md 3.11): a NO bid at q is a YES
    ask at 1-q of the same size, and a YES bid at p is a NO ask at 1-p. Array order is not
    trusted (the reference contradicts itself on it); :meth:`OrderBook.build` sorts.
    """
    data = obj(body, "orderbook response")
    yes_bids, no_bids = _bid_ladders(data)
    return books_from_bids(ticker, yes_bids, no_bids, timestamp=timestamp)


def complement(level: BookLevel) -> BookLevel:
    """The other outcome's ask that a bid is: a YES bid at p is a NO ask at 1-p (and back)."""
    return BookLevel(ONE - level.price, level.size)


#: ``1 - p`` per bid price object ``p`` (kept alive here, so its id is not reused): a scan turns
#: ~10^5 bids into the other side's asks, at a few hundred distinct prices that the parser
#: shares (``decimal_from_text``), and a new Decimal per level took 2 MB of a 5,000-market
#: scan's books. Keyed by identity, not value: ``0.5`` and ``0.50`` keep their own exponents.
_COMPLEMENTS: dict[int, tuple[Decimal, Decimal]] = {}


def _one_minus(price: Decimal) -> Decimal:
    found = _COMPLEMENTS.get(id(price))
    if found is None or found[0] is not price:
        if len(_COMPLEMENTS) > 4096:
            _COMPLEMENTS.clear()
        found = _COMPLEMENTS[id(price)] = (price, ONE - price)
    return found[1]


def books_from_bids(
    ticker: str,
    yes_bids: Sequence[tuple[Decimal, Decimal]],
    no_bids: Sequence[tuple[Decimal, Decimal]],
    *,
    timestamp: datetime | None = None,
    source: str = "rest",
) -> tuple[OrderBook, OrderBook]:
    """``(yes_book, no_book)`` from Kalshi's two bid ladders, in any order (kalshi.md 3.11, 11.5).

    Kalshi publishes only bids: a NO bid at q is a YES ask at 1-q of the same size, and a
    YES bid at p is a NO ask at 1-p. REST and the WebSocket stream both build books here.
    """
    when = timestamp or utcnow()
    try:
        yes = OrderBook.build(
            EXCHANGE,
            ticker,
            "yes",
            bids=yes_bids,
            asks=[(_one_minus(p), s) for p, s in no_bids],
            timestamp=when,
            source=source,
        )
        no = OrderBook.build(
            EXCHANGE,
            ticker,
            "no",
            bids=no_bids,
            asks=[(_one_minus(p), s) for p, s in yes_bids],
            timestamp=when,
            source=source,
        )
    except ArbkitError as exc:
        raise _fail(f"orderbook of {ticker!r} is malformed: {exc}") from None
    return yes, no


def parse_orderbooks(
    body: Any, *, timestamp: datetime | None = None
) -> dict[str, tuple[OrderBook, OrderBook]]:
    """``GET /markets/orderbooks`` -> ``{ticker: (yes_book, no_book)}``."""
    items, _ = page(body, "orderbooks")
    out = {}
    for item in items:
        ticker = (
            _str(item, "ticker", "orderbook")
            if "ticker" in item
            else _str(item, "market_ticker", "orderbook")
        )
        out[ticker] = parse_orderbook(item, ticker, timestamp=timestamp)
    return out


def _book_level(price: Decimal | None, size: Decimal | None) -> BookLevel | None:
    if price is None or size is None or size <= 0 or not ZERO < price < ONE:
        return None
    return BookLevel(price, size)


def parse_resolution(body: Any) -> Resolution:
    """A market payload -> :class:`~arbkit.models.Resolution` (kalshi.md 4.3-4.4).

    ``result`` yes/no resolves; ``void`` (UNCERTAIN in the reference) is ``VOID`` with payouts
    from ``settlement_value`` when given; ``scalar`` pays ``settlement_value`` to YES; an empty
    result is pending whatever the status.
    """
    data = obj(body, "market")
    if "market" in data and isinstance(data.get("market"), Mapping):
        data = data["market"]
    ticker = _str(data, "ticker", "market")
    result = str(data.get("result") or "").lower()
    value = read_dollars(data, "settlement_value_dollars")
    when = (
        parse_time(data.get("settlement_ts"), "settlement_ts")
        if isinstance(data.get("settlement_ts"), str)
        else None
    )
    payouts: dict[str, Decimal] = {}
    if result == "yes":
        state, payouts = ResolutionState.RESOLVED, {"yes": ONE, "no": ZERO}
    elif result == "no":
        state, payouts = ResolutionState.RESOLVED, {"yes": ZERO, "no": ONE}
    elif result in ("void", "voided"):
        state = ResolutionState.VOID
        if value is not None:
            payouts = {"yes": value, "no": ONE - value}
    elif result == "scalar" and value is not None:
        state, payouts = ResolutionState.RESOLVED, {"yes": value, "no": ONE - value}
    else:
        state = ResolutionState.PENDING
    try:
        return Resolution(EXCHANGE, ticker, state, payouts, resolved_at=when, raw_result=result)
    except ArbkitError as exc:
        raise _fail(f"resolution of {ticker!r} is malformed: {exc}") from None


def top_of_book(body: Any) -> tuple[BookLevel | None, BookLevel | None]:
    """Best YES bid and ask from a market payload's summary fields (no book request needed)."""
    data = obj(body, "market")
    bid = _book_level(read_dollars(data, "yes_bid_dollars"), read_count(data, "yes_bid_size_fp"))
    ask = _book_level(read_dollars(data, "yes_ask_dollars"), read_count(data, "yes_ask_size_fp"))
    return bid, ask
