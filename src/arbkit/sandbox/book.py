"""A price-time priority matching engine for one binary market, in YES-price terms.

Both venues reduce to the same book. Every order is interest on one side of the
YES price: a *bid* is "buy YES at p" or "sell NO at 1-p"; an *ask* is "sell YES at p"
or "buy NO at 1-p". On Kalshi a NO bid at q is a YES ask at 1-q; on Polymarket a buy
of the NO token at q is shown as an ask of the YES token at 1-q. Venue sandboxes
translate their orders into this form, match, and keep their own accounts, fees and
positions; this module only matches.

>>> from decimal import Decimal as D
>>> book = BinaryBook()
>>> book.add(RestingOrder("m1", "house", BookSide.ASK, D("0.47"), D("10")))
>>> [(m.price, m.size) for m in book.take("t1", "alice", BookSide.BID, D("0.50"), D("4"))]
[(Decimal('0.47'), Decimal('4'))]
"""

from __future__ import annotations

import bisect
import enum
import itertools
from collections import deque
from decimal import Decimal

import attrs

__all__ = ["BinaryBook", "BookSide", "Match", "RestingOrder"]

ZERO = Decimal(0)


class BookSide(enum.StrEnum):
    """A side of the YES book."""

    BID = "bid"
    ASK = "ask"

    @property
    def opposite(self) -> BookSide:
        """The side this side trades against."""
        return BookSide.ASK if self is BookSide.BID else BookSide.BID


_sequence = itertools.count()


@attrs.define
class RestingOrder:
    """Interest resting in the book. ``remaining`` shrinks as it is filled."""

    order_id: str
    account: str
    side: BookSide
    price: Decimal
    remaining: Decimal
    seq: int = attrs.field(factory=lambda: next(_sequence))


@attrs.frozen
class Match:
    """One execution: ``size`` at the maker's ``price`` (YES terms)."""

    maker_order_id: str
    maker_account: str
    price: Decimal
    size: Decimal


class BinaryBook:
    """Resting orders of one market, price-time priority, self-trades skipped."""

    def __init__(self) -> None:
        self._levels: dict[BookSide, dict[Decimal, deque[RestingOrder]]] = {
            BookSide.BID: {},
            BookSide.ASK: {},
        }
        # Prices kept sorted ascending per side for best-price access.
        self._prices: dict[BookSide, list[Decimal]] = {BookSide.BID: [], BookSide.ASK: []}
        self._by_id: dict[str, RestingOrder] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, order_id: str) -> RestingOrder | None:
        """A resting order by id."""
        return self._by_id.get(order_id)

    def add(self, order: RestingOrder) -> None:
        """Rest an order (it must not cross; call :meth:`take` first)."""
        if order.remaining <= ZERO:
            return
        levels = self._levels[order.side]
        if order.price not in levels:
            levels[order.price] = deque()
            bisect.insort(self._prices[order.side], order.price)
        levels[order.price].append(order)
        self._by_id[order.order_id] = order

    def cancel(self, order_id: str) -> RestingOrder | None:
        """Remove an order; returns it (with what remained) or ``None`` if not resting."""
        order = self._by_id.pop(order_id, None)
        if order is None:
            return None
        queue = self._levels[order.side][order.price]
        queue.remove(order)
        if not queue:
            self._drop_level(order.side, order.price)
        return order

    def cancel_account(self, account: str) -> list[RestingOrder]:
        """Remove every order of one account (e.g. the house liquidity before a book move)."""
        return [
            o for o in [self.cancel(oid) for oid, r in list(self._by_id.items()) if r.account == account] if o
        ]

    def orders(self, account: str | None = None) -> list[RestingOrder]:
        """Resting orders, optionally of one account."""
        return [o for o in self._by_id.values() if account is None or o.account == account]

    def _drop_level(self, side: BookSide, price: Decimal) -> None:
        del self._levels[side][price]
        prices = self._prices[side]
        prices.pop(bisect.bisect_left(prices, price))

    def _crossing_prices(self, taker_side: BookSide, limit: Decimal) -> list[Decimal]:
        """Prices of the opposite side the taker may trade at, best first."""
        maker_side = taker_side.opposite
        prices = self._prices[maker_side]
        if taker_side is BookSide.BID:  # buy YES: lowest asks first, up to the limit
            return prices[: bisect.bisect_right(prices, limit)]
        return list(reversed(prices[bisect.bisect_left(prices, limit) :]))  # sell: highest bids first

    def fillable(self, taker_side: BookSide, limit: Decimal, account: str | None = None) -> Decimal:
        """How much a taker could fill at ``limit`` or better right now (own orders excluded)."""
        maker_side = taker_side.opposite
        total = ZERO
        for price in self._crossing_prices(taker_side, limit):
            total += sum((o.remaining for o in self._levels[maker_side][price] if o.account != account), ZERO)
        return total

    def take(self, order_id: str, account: str, side: BookSide, limit: Decimal, size: Decimal) -> list[Match]:
        """Match a taker against the book, best price first; returns the executions.

        The caller decides what happens to the unfilled remainder (rest, cancel, or
        refuse the whole order for fill-or-kill by checking :meth:`fillable` first).
        """
        maker_side = side.opposite
        matches: list[Match] = []
        left = size
        for price in self._crossing_prices(side, limit):
            if left <= ZERO:
                break
            queue = self._levels[maker_side][price]
            for maker in list(queue):
                if left <= ZERO:
                    break
                if maker.account == account:
                    continue
                qty = min(left, maker.remaining)
                maker.remaining -= qty
                left -= qty
                matches.append(Match(maker.order_id, maker.account, price, qty))
                if maker.remaining <= ZERO:
                    queue.remove(maker)
                    del self._by_id[maker.order_id]
            if not queue:
                self._drop_level(maker_side, price)
        return matches

    def levels(self, side: BookSide) -> list[tuple[Decimal, Decimal]]:
        """Aggregated ``(price, size)`` levels of one side, best first."""
        prices = self._prices[side]
        ordered = reversed(prices) if side is BookSide.BID else iter(prices)
        return [(p, sum((o.remaining for o in self._levels[side][p]), ZERO)) for p in ordered]
