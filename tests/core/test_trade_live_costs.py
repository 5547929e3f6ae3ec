"""Live trades record what the venues charged: exact fill costs and per-fill fees (issue 14, item 9).

The order executor is run against two in-memory venues that answer like the real ones: one
reports an order's fill cost and fee (Kalshi), the other reports only the matched pUSD and no
fee, its fills priced per fill (Polymarket). The recorded trade must hold exactly that.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from arbkit.engine.fees import PowerFee
from arbkit.models import Fill, Order, OrderRequest, OrderStatus
from arbkit.trading.execution.executor import ExecutionConfig, OrderExecutor
from arbkit.trading.execution.journal import Journal
from tests.core.test_trading_fakes import T0, FakeExchange, arb, binary_market

D = Decimal


class FillingVenue(FakeExchange):
    """Fills every buy across the given levels at once, as an IOC order would."""

    def __init__(self, name: str, levels: list[tuple[str, str]], *, reports_fee: bool) -> None:
        super().__init__(name)
        self.levels = [(D(p), D(s)) for p, s in levels]
        self.reports_fee = reports_fee
        self.orders: dict[str, Order] = {}
        self.executions: list[Fill] = []

    def place_order(self, request: OrderRequest) -> Order:
        assert request.market.fees is not None
        order_id = f"{self.name}-{len(self.orders) + 1}"
        remaining, paid, fee = request.size, D(0), D(0)
        for price, size in self.levels:
            take = min(size, remaining)
            if take <= 0 or price > request.price:
                break
            paid += price * take
            fee += request.market.fees.fee(price, take)
            self.executions.append(
                Fill(self.name, order_id, request.market.id, request.outcome_id, "buy", price, take, fee=fee)
            )
            remaining -= take
        filled = request.size - remaining
        order = Order(
            exchange=self.name,
            id=order_id,
            market_id=request.market.id,
            outcome_id=request.outcome_id,
            side=request.side,
            price=request.price,
            size=request.size,
            status=OrderStatus.FILLED if remaining == 0 else OrderStatus.CANCELED,
            filled_size=filled,
            average_price=paid / filled if filled else None,  # an inexact average, as adapters give
            fill_cost=paid if filled else None,
            fees=fee if self.reports_fee else D(0),
            client_order_id=request.client_order_id,
        )
        self.orders[order_id] = order
        return order

    def fills(self, *, order_id: str | None = None, market: Any = None) -> list[Fill]:
        found = [f for f in self.executions if order_id is None or f.order_id == order_id]
        # Per fill, as Polymarket's client prices them: each at its own price.
        out = []
        for f in found:
            fee = market.fees.fee(f.price, f.size) if market is not None and market.fees else D(0)
            out.append(
                Fill(f.exchange, f.order_id, f.market_id, f.outcome_id, f.side, f.price, f.size, fee=fee)
            )
        return out

    def get_order(self, order_id: str, *, market: Any = None) -> Order:
        return self.orders[order_id]


def test_a_live_trade_records_exact_costs_and_polymarket_fees_per_fill(tmp_path: Path) -> None:
    kalshi = FillingVenue("alpha", [("0.30", "2"), ("0.40", "1")], reports_fee=True)
    poly = FillingVenue("beta", [("0.50", "1"), ("0.55", "2")], reports_fee=False)
    a = kalshi.add_market(binary_market("alpha", "A", tick="0.01"))
    b = poly.add_market(binary_market("beta", "B", fees=PowerFee(rate=D("0.03"))))
    opportunity = arb(a, b, size="3", yes_price="0.40", no_price="0.55")
    executor = OrderExecutor(Journal(tmp_path / "journal.jsonl"), ExecutionConfig(concurrent=False))
    try:
        report = executor.execute(opportunity, trade_id="T1", now=T0, clients={"alpha": kalshi, "beta": poly})
    finally:
        executor.close()
    trade = report.trade
    yes, no = trade.legs
    assert yes.filled_size == no.filled_size == D(3)
    # 2 @ 0.30 + 1 @ 0.40 is 1.00 exactly (it was booked 0.9999999999999999999999999999).
    assert yes.cost == D("1.00")
    assert no.cost == D("1.60")  # 0.50 + 2 x 0.55
    # Polymarket's fee per fill: 0.03 x (1 x 0.25 + 2 x 0.2475) = 0.02235 (at the average
    # price 0.5333 it would be 3 x 0.03 x 0.24889 = 0.02240).
    assert no.fees == D("0.00750") + D("0.01485")
    assert [(f.price, f.size) for f in no.fills] == [(D("0.50"), D(1)), (D("0.55"), D(2))]
    assert trade.total_cost == D("2.60") + D("0.02235")
