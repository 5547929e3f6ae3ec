"""The interface every exchange adapter implements.

The core never names an exchange: it talks to whatever object the plugin registry
returns for ``arbkit.exchange(name)``, through this protocol. Market data methods
need no credentials; trading methods raise :class:`~arbkit.errors.AuthenticationError`
when the adapter was built without them.

Failures are always :mod:`arbkit.errors` exceptions. In particular a request that
may have reached the venue but got no clear answer (placing an order) raises
:class:`~arbkit.errors.OutcomeUnknown`; the caller then reconciles with
:meth:`Exchange.find_order` by client order id before doing anything else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from arbkit.engine.fees import FeeSchedule
from arbkit.models import (
    Balance,
    BookKey,
    Fill,
    Market,
    MarketStatus,
    Order,
    OrderBook,
    OrderRequest,
    Position,
    Resolution,
)

__all__ = ["Exchange"]


@runtime_checkable
class Exchange(Protocol):
    """One venue, in the core's units (Decimal dollars, contracts, prices in (0, 1))."""

    #: The registry name: ``"kalshi"``, ``"polymarket"``, ...
    name: str

    # -- market data (public) ---------------------------------------------------------
    def markets(
        self,
        *,
        status: MarketStatus | None = MarketStatus.OPEN,
        event_id: str | None = None,
        series: str | None = None,
        query: str | None = None,
        limit: int | None = None,
    ) -> list[Market]:
        """List markets, following the venue's pagination to the end (or ``limit``).

        ``query`` filters by text where the venue supports it, locally otherwise.
        """
        ...

    def market(self, market_id: str) -> Market:
        """One market by its venue id; :class:`~arbkit.errors.NotFound` if none."""
        ...

    def order_book(self, market: Market, outcome_id: str) -> OrderBook:
        """The current book of one outcome, bids and asks best first."""
        ...

    def order_books(self, markets: Sequence[Market]) -> Mapping[BookKey, OrderBook]:
        """Books of every outcome of every market, in as few requests as the venue allows."""
        ...

    def fee_schedule(self, market: Market) -> FeeSchedule | None:
        """The market's fee model, or ``None`` if the venue does not say (never traded)."""
        ...

    def resolution(self, market: Market) -> Resolution:
        """Whether and how the market resolved."""
        ...

    # -- trading (authenticated) ------------------------------------------------------
    def place_order(self, request: OrderRequest) -> Order:
        """Send one limit order. Raises ``OrderRejected`` (or a subclass) on refusal."""
        ...

    def cancel_order(self, order_id: str, *, market: Market | None = None) -> Order:
        """Cancel what remains of an order and return its final state."""
        ...

    def get_order(self, order_id: str, *, market: Market | None = None) -> Order:
        """One order by the venue's id; :class:`~arbkit.errors.OrderNotFound` if none."""
        ...

    def find_order(self, client_order_id: str, *, market: Market | None = None) -> Order | None:
        """The order placed with that client order id, or ``None`` if it never arrived."""
        ...

    def fills(self, *, order_id: str | None = None, market: Market | None = None) -> list[Fill]:
        """Our executions, newest first, optionally for one order or market."""
        ...

    def balance(self) -> Balance:
        """Cash available to trade."""
        ...

    def positions(self) -> list[Position]:
        """Contracts held, one row per (market, outcome)."""
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...
