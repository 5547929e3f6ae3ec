"""Every public parser of both adapters, fed hostile payloads, fails only with an arbkit error.

Malformed JSON values, missing fields, wrong types, huge numbers, NaN, negative sizes and
random mutations of the adapters' real sample payloads must end in a value or an
:class:`arbkit.errors.ArbkitError` (the venue-bug one is ``InvalidResponse``), never in
``KeyError``/``TypeError``/``ValueError``/``IndexError``/``AttributeError``/
``decimal.InvalidOperation``/``OverflowError``. A book that does parse obeys the book
invariants, so nothing downstream can trade on a malformed one.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import arbkit_kalshi.parse as kp
import arbkit_kalshi.parse_trading as kt
import arbkit_polymarket.parse as pp
import arbkit_polymarket.parse_trading as po
import arbkit_polymarket.units as pu
from arbkit.errors import ArbkitError
from arbkit.models import Market, OrderBook, Outcome, Side
from tests.hardening.strategies import (
    KALSHI_SAMPLES,
    POLY_SAMPLES,
    json_values,
    load_sample,
    mutated,
    sweep,
)

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
POLY_MARKET = Market(
    exchange="polymarket",
    id="0xcond",
    title="q",
    outcomes=(Outcome("1", "Yes"), Outcome("2", "No")),
    status="open",
)


def _kalshi_event_markets(body: Any) -> object:
    event = kp.parse_event(body)
    return kp.build_markets(event, {event.series_ticker or "": kp.fee_schedule("quadratic")})


#: name -> a call of one public parser on one payload.
PARSERS: dict[str, Callable[[Any], object]] = {
    "kalshi.page": lambda b: kp.page(b, "markets"),
    "kalshi.parse_time": lambda b: kp.parse_time(b),
    "kalshi.parse_series": kp.parse_series,
    "kalshi.parse_event": kp.parse_event,
    "kalshi.build_markets": _kalshi_event_markets,
    "kalshi.parse_market": kp.parse_market,
    "kalshi.parse_orderbook": lambda b: kp.parse_orderbook(b, "T"),
    "kalshi.parse_orderbooks": kp.parse_orderbooks,
    "kalshi.parse_resolution": kp.parse_resolution,
    "kalshi.top_of_book": kp.top_of_book,
    "kalshi.parse_order": kt.parse_order,
    "kalshi.parse_fill": kt.parse_fill,
    "kalshi.parse_position": kt.parse_position,
    "kalshi.parse_balance": kt.parse_balance,
    "kalshi.parse_settlement": kt.parse_settlement,
    "polymarket.number": lambda b: pu.number(b, "x"),
    "polymarket.decode_list": lambda b: pp.decode_list(b, "x"),
    "polymarket.parse_time": pp.parse_time,
    "polymarket.parse_fee_details": pp.parse_fee_details,
    "polymarket.parse_gamma_fees": lambda b: pp.parse_gamma_fees(pp.obj(b, "market")),
    "polymarket.parse_clob_market_info": pp.parse_clob_market_info,
    "polymarket.parse_gamma_market": pp.parse_gamma_market,
    "polymarket.parse_event": pp.parse_event,
    "polymarket.parse_book": pp.parse_book,
    "polymarket.parse_books": pp.parse_books,
    "polymarket.parse_clob_resolution": lambda b: pp.parse_clob_resolution(b, POLY_MARKET),
    "polymarket.parse_gamma_resolution": lambda b: pp.parse_gamma_resolution(b, POLY_MARKET),
    "polymarket.parse_send_order": lambda b: po.parse_send_order(
        b,
        order_id="0xabc",
        market_id="0xcond",
        outcome_id="1",
        side=Side.BUY,
        price=Decimal("0.5"),
        size=Decimal(10),
        marketable=True,
        client_order_id=None,
    ),
    "polymarket.parse_open_order": po.parse_open_order,
    "polymarket.parse_order_page": po.parse_order_page,
    "polymarket.parse_trades": lambda b: po.parse_trades(
        b if isinstance(b, list) else [b], owner="k", address="0xa"
    ),
    "polymarket.parse_cancel": lambda b: po.parse_cancel(b, "0xabc"),
    "polymarket.parse_balance": po.parse_balance,
    "polymarket.parse_positions": po.parse_positions,
}

#: (parser, sample file, how to pick the payload out of the file).
SAMPLES: list[tuple[str, Any]] = [
    ("kalshi.parse_market", KALSHI_SAMPLES / "market.json"),
    ("kalshi.parse_market", KALSHI_SAMPLES / "market_tapered.json"),
    ("kalshi.parse_resolution", KALSHI_SAMPLES / "market.json"),
    ("kalshi.top_of_book", KALSHI_SAMPLES / "market.json"),
    ("kalshi.parse_orderbook", KALSHI_SAMPLES / "orderbook_fp.json"),
    ("kalshi.parse_order", KALSHI_SAMPLES / "order_partial.json"),
    ("kalshi.parse_fill", (KALSHI_SAMPLES / "fills.json", "fills")),
    ("kalshi.parse_position", (KALSHI_SAMPLES / "positions.json", "market_positions")),
    ("kalshi.parse_settlement", (KALSHI_SAMPLES / "settlements.json", "settlements")),
    ("polymarket.parse_clob_market_info", POLY_SAMPLES / "clob_markets_compact.json"),
    ("polymarket.parse_clob_resolution", POLY_SAMPLES / "clob_market_resolved.json"),
    ("polymarket.parse_gamma_market", POLY_SAMPLES / "gamma_market_sports.json"),
    ("polymarket.parse_gamma_resolution", POLY_SAMPLES / "gamma_market_sports.json"),
    ("polymarket.parse_event", POLY_SAMPLES / "gamma_event_mlb.json"),
    ("polymarket.parse_book", POLY_SAMPLES / "ws_book_snapshot.json"),
]


def _sample(spec: Any) -> Any:
    if isinstance(spec, tuple):
        path, key = spec
        return load_sample(path)[key][0]
    return load_sample(spec)


def call(name: str, payload: Any) -> object | None:
    """Run one parser; ``None`` when it refused with an arbkit error; anything else fails the test."""
    try:
        return PARSERS[name](payload)
    except ArbkitError:
        return None


def check_book(book: OrderBook) -> None:
    """What every parsed book promises: prices in (0, 1), positive sizes, best first, no crossing itself."""
    for level in (*book.bids, *book.asks):
        assert level.price.is_finite(), level
        assert 0 < level.price < 1, level
        assert level.size.is_finite(), level
        assert level.size > 0, level
    assert [lv.price for lv in book.bids] == sorted((lv.price for lv in book.bids), reverse=True)
    assert [lv.price for lv in book.asks] == sorted(lv.price for lv in book.asks)


def _books_in(result: object) -> list[OrderBook]:
    if isinstance(result, OrderBook):
        return [result]
    if isinstance(result, tuple | list):
        return [b for item in result for b in _books_in(item)]
    if isinstance(result, dict):
        return [b for item in result.values() for b in _books_in(item)]
    return []


def test_every_sample_still_parses() -> None:
    """The mutations start from payloads that parse, so a failure below is the mutation's doing."""
    for name, spec in SAMPLES:
        assert call(name, _sample(spec)) is not None, name


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(payload=json_values())
def test_random_json_raises_only_arbkit_errors(name: str, payload: Any) -> None:
    for book in _books_in(call(name, payload)):
        check_book(book)


@pytest.mark.parametrize(("name", "spec"), SAMPLES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SAMPLES)])
@FUZZ
@given(data=st.data())
def test_mutated_samples_raise_only_arbkit_errors(name: str, spec: Any, data: st.DataObject) -> None:
    payload = data.draw(mutated(_sample(spec)))
    for book in _books_in(call(name, payload)):
        check_book(book)


@pytest.mark.parametrize(("name", "spec"), SAMPLES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SAMPLES)])
def test_every_field_of_every_sample_set_to_every_nasty_value(name: str, spec: Any) -> None:
    """Exhaustive, not random: each field (at any depth) deleted or replaced by NaN, 1e999999, -5, ..."""
    for payload in sweep(_sample(spec)):
        for book in _books_in(call(name, payload)):
            check_book(book)


@pytest.mark.parametrize("ts", [10**20, -(10**20), 253_402_300_800, True])
def test_kalshi_fill_with_an_impossible_unix_time_is_an_invalid_response(ts: int) -> None:
    """Two edits the single-field sweep cannot make: no created_time, and a ts no datetime can hold."""
    fill = {
        "side": "yes",
        "action": "buy",
        "count": 1,
        "yes_price": 45,
        "order_id": "o",
        "ticker": "T",
        "ts": ts,
    }
    result = call("kalshi.parse_fill", fill)
    assert ts is True or result is None  # a boolean ts is ignored: the fill is stamped now
