"""In-memory exchanges and builders shared by the trading-core tests.

``FakeExchange`` implements :class:`arbkit.exchange.Exchange` over dicts of markets,
books and resolutions; ``FakeVenuesPlugin`` registers some with the real plugin
manager in-process, the way a third-party plugin would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

import arbkit
from arbkit.engine.fees import FeeSchedule, NoFees, QuadraticFee
from arbkit.engine.opportunity import Leg, Opportunity
from arbkit.errors import ExchangeUnavailable, NotFound
from arbkit.models import (
    Balance,
    BookKey,
    Market,
    MarketStatus,
    OrderBook,
    Outcome,
    Resolution,
    ResolutionState,
)

D = Decimal
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class FakeExchange:
    """An exchange in memory. Set ``fail`` to an operation name to make it raise."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.listed: dict[str, Market] = {}
        self.books: dict[BookKey, OrderBook] = {}
        self.resolutions: dict[str, Resolution] = {}
        self.fail: set[str] = set()
        self.calls: list[str] = []

    def _call(self, operation: str) -> None:
        self.calls.append(operation)
        if operation in self.fail:
            raise ExchangeUnavailable(
                f"{operation} is down", exchange=self.name, status_code=503, code="down"
            )

    def add_market(self, market: Market) -> Market:
        self.listed[market.id] = market
        return market

    def set_book(
        self, market: Market, outcome_id: str, asks: Sequence[tuple[str, str]], at: datetime = T0
    ) -> None:
        self.books[(market.id, outcome_id)] = OrderBook.build(
            self.name, market.id, outcome_id, asks=asks, timestamp=at
        )

    def markets(self, **filters: Any) -> list[Market]:
        self._call("markets")
        return [m for m in self.listed.values() if m.status is MarketStatus.OPEN]

    def market(self, market_id: str) -> Market:
        self._call("market")
        try:
            return self.listed[market_id]
        except KeyError:
            raise NotFound(f"no market {market_id}", exchange=self.name) from None

    def order_book(self, market: Market, outcome_id: str) -> OrderBook:
        self._call("order_book")
        return self.books.get((market.id, outcome_id)) or OrderBook.build(self.name, market.id, outcome_id)

    def order_books(self, markets: Sequence[Market]) -> Mapping[BookKey, OrderBook]:
        self._call("order_books")
        return {b.key: b for k, b in self.books.items() if k[0] in {m.id for m in markets}}

    def fee_schedule(self, market: Market) -> FeeSchedule | None:
        return market.fees

    def resolution(self, market: Market) -> Resolution:
        self._call("resolution")
        return self.resolutions.get(market.id) or Resolution(self.name, market.id, ResolutionState.PENDING)

    def resolve(self, market_id: str, payouts: Mapping[str, str], state: str = "resolved") -> None:
        self.resolutions[market_id] = Resolution(self.name, market_id, state, payouts=payouts)

    def balance(self) -> Balance:
        return Balance(self.name, D(1000))

    def place_order(self, request: Any) -> Any:
        raise NotImplementedError

    cancel_order = get_order = find_order = fills = positions = place_order

    def close(self) -> None:
        self.calls.append("close")


class FakeVenuesPlugin:
    """A plugin object offering the given exchanges (``register(name, factory)``)."""

    def __init__(self, *venues: FakeExchange) -> None:
        self.venues = {v.name: v for v in venues}

    @arbkit.hookimpl
    def arbkit_register_exchanges(self, register: Any) -> None:
        for name, venue in self.venues.items():
            register(name, lambda settings=None, _venue=venue, **options: _venue)


def binary_market(
    exchange: str,
    market_id: str,
    *,
    fees: FeeSchedule | None = None,
    min_order_size: str = "0",
    size_increment: str = "1",
    tick: str = "0.01",
    title: str = "Lakers at Celtics",
) -> Market:
    """A yes/no market (Kalshi style outcome ids)."""
    return Market(
        exchange=exchange,
        id=market_id,
        title=title,
        outcomes=(Outcome("yes", "Yes"), Outcome("no", "No")),
        status=MarketStatus.OPEN,
        fees=fees if fees is not None else NoFees(),
        min_order_size=D(min_order_size),
        size_increment=D(size_increment),
        tick_size=D(tick),
    )


def arb(
    yes_market: Market,
    no_market: Market,
    *,
    size: str = "10",
    yes_price: str = "0.40",
    no_price: str = "0.50",
    yes_limit: str | None = None,
    no_limit: str | None = None,
    at: datetime = T0,
    title: str = "Lakers at Celtics",
) -> Opportunity:
    """YES on one market and NO on the other, ``size`` contracts at the given prices, no fees."""
    n = D(size)
    return Opportunity(
        legs=(
            Leg(yes_market, "yes", "buy", D(yes_limit or yes_price), n, n * D(yes_price), D(0), at),
            Leg(no_market, "no", "buy", D(no_limit or no_price), n, n * D(no_price), D(0), at),
        ),
        payout=n,
        title=title,
        detected_at=at,
    )


class Clock:
    """A settable clock for the trading system (no sleeping in tests)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def kalshi_fee() -> QuadraticFee:
    """Kalshi's general taker fee: 7% x C x P x (1-P), rounded up to the cent per order."""
    return QuadraticFee(rate=D("0.07"))


def test_fake_exchange_satisfies_the_exchange_protocol() -> None:
    venue = FakeExchange("alpha")
    assert isinstance(venue, arbkit.Exchange)
    venue.fail.add("markets")
    with pytest.raises(ExchangeUnavailable):
        venue.markets()
