"""Flattening a paper trade, and the loss bound of any flatten plan, over random books."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from arbkit.errors import RiskRejected, TradeNotFound, ValidationError
from arbkit.models import OrderBook
from arbkit.trading.flatten import plan_flatten
from arbkit.trading.paper import PaperTradingSystem
from arbkit.trading.records import TradeStatus
from arbkit.trading.store import JsonFileStore
from tests.core.test_trading_fakes import Clock, FakeExchange, arb, binary_market, kalshi_fee

D = Decimal


def _setup(
    tmp_path: Path, yes_bids: list[tuple[str, str]], no_bids: list[tuple[str, str]]
) -> tuple[PaperTradingSystem, FakeExchange, FakeExchange, str]:
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    a = alpha.add_market(binary_market("alpha", "A", fees=kalshi_fee()))
    b = beta.add_market(binary_market("beta", "B"))
    alpha.set_book(a, "yes", [("0.40", "50")])
    beta.set_book(b, "no", [("0.50", "50")])
    system = PaperTradingSystem(
        initial_balance=D(1000),
        store=JsonFileStore(tmp_path / "paper_trading_data.json"),
        exchanges={"alpha": alpha, "beta": beta},
        clock=Clock(),
    )
    result = system.execute(arb(a, b))
    assert result.trade is not None
    assert result.trade.status is TradeStatus.OPEN
    alpha.books[(a.id, "yes")] = OrderBook.build("alpha", a.id, "yes", bids=yes_bids)
    beta.books[(b.id, "no")] = OrderBook.build("beta", b.id, "no", bids=no_bids)
    return system, alpha, beta, result.trade.id


def test_paper_flatten_sells_into_the_bids_and_books_the_loss(tmp_path: Path) -> None:
    system, _, _, trade_id = _setup(tmp_path, [("0.38", "6"), ("0.37", "10")], [("0.49", "20")])
    before = system.state()
    flat = system.flatten(trade_id, max_loss=D(1))
    assert flat.status is TradeStatus.UNWOUND
    yes, no = flat.legs
    # 6 at 0.38 and 4 at 0.37 (the book walked best first), 10 at 0.49; the YES fee on the sale.
    sale_fee = kalshi_fee().order_fee([(D("0.38"), D(6)), (D("0.37"), D(4))])
    assert yes.unwind_proceeds == D("2.28") + D("1.48") - sale_fee
    assert no.unwind_proceeds == D("4.90")
    state = system.state()
    loss = flat.total_cost - flat.unwind_proceeds
    assert state.balance - before.balance == flat.unwind_proceeds
    assert state.realised_pnl == -loss
    assert state.daily_loss == loss
    assert state.open_positions == ()
    # The store holds it: a restart reads the same trade and balance.
    again = PaperTradingSystem(
        initial_balance=D(1000), store=JsonFileStore(tmp_path / "paper_trading_data.json"), clock=Clock()
    )
    assert again.trade(trade_id) == flat
    assert again.state().balance == state.balance


def test_paper_flatten_refuses_a_bound_or_a_depth_it_cannot_keep_and_changes_nothing(tmp_path: Path) -> None:
    system, _, _, trade_id = _setup(tmp_path, [("0.20", "10")], [("0.49", "20")])
    before = system.state()
    with pytest.raises(RiskRejected, match="more than the bound"):
        system.flatten(trade_id, max_loss=D(1))
    with pytest.raises(RiskRejected, match="below"):
        system.flatten(trade_id)  # the default: no lower than entry less 0.10 a contract
    assert system.state() == before
    thin, _, _, thin_id = _setup(tmp_path / "thin", [("0.39", "3")], [("0.49", "20")])
    with pytest.raises(RiskRejected, match="bids hold 3 of the 10"):
        thin.flatten(thin_id, max_loss=D(100))
    with pytest.raises(TradeNotFound):
        system.flatten("nope")


def test_paper_flatten_of_a_flat_trade_is_refused(tmp_path: Path) -> None:
    system, _, _, trade_id = _setup(tmp_path, [("0.39", "30")], [("0.49", "20")])
    system.flatten(trade_id, max_loss=D(1))
    with pytest.raises(ValidationError, match="holds no position"):
        system.flatten(trade_id, max_loss=D(1))


prices = st.integers(min_value=1, max_value=99).map(lambda c: D(c) / 100)
ladders = st.lists(
    st.tuples(prices, st.integers(min_value=1, max_value=20).map(D)), min_size=1, max_size=5
).map(lambda levels: sorted(dict(levels).items(), reverse=True))


@settings(max_examples=150, deadline=None)
@given(yes=ladders, no=ladders, max_loss=st.integers(min_value=0, max_value=1200).map(lambda c: D(c) / 100))
def test_any_plan_keeps_its_bound_even_if_every_sale_fills_at_its_worst_price(
    tmp_path_factory: pytest.TempPathFactory,
    yes: list[tuple[Decimal, Decimal]],
    no: list[tuple[Decimal, Decimal]],
    max_loss: Decimal,
) -> None:
    system, alpha, beta, trade_id = _setup(tmp_path_factory.mktemp("p"), yes, no)
    trade = system.trade(trade_id)
    markets = {0: alpha.listed["A"], 1: beta.listed["B"]}
    books = {0: alpha.books[("A", "yes")], 1: beta.books[("B", "no")]}
    try:
        plan = plan_flatten(trade, markets, books, max_loss=max_loss)
    except RiskRejected:
        event("refused")
        return
    event("flattened")
    worst = D(0)
    for step in plan.legs:
        market = markets[step.index]
        fee = market.fees.order_fee([(step.worst_price, step.size)]) if market.fees else D(0)
        worst += step.basis - (step.worst_price * step.size - fee)
        # Every order can fill at the books read: the worst price is no higher than the walk needs.
        depth = sum(lv.size for lv in books[step.index].bids if lv.price >= step.worst_price)
        assert depth >= step.size
    assert worst == plan.worst_loss <= max_loss
    assert plan.expected_loss <= plan.worst_loss
    flat = system.flatten(trade_id, max_loss=max_loss)
    assert flat.status is TradeStatus.UNWOUND
    assert flat.total_cost - flat.unwind_proceeds <= max_loss
