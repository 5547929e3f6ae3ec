"""Trade records hold what venues charged and paid, and losses are counted once (issue 14: 5, 9, 11).

* a leg's cost is what was paid fill by fill (2 @ 0.30 + 1 @ 0.40 is 1.00, not
  0.9999999999999999999999999999), fees are per fill where the venue charges per fill, and
  both survive the stores; records written before these fields still load;
* the daily loss counter is recounted from the records: an unwind inside a trade that stays
  hedged reaches it, a corrected record never counts twice, and a property test checks the
  counter equals the sum of the day's realised losses over random histories;
* the "New arb" notice's expected profit includes what unwinds brought back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbkit.engine.fees import PowerFee
from arbkit.engine.opportunity import Opportunity
from arbkit.trading.events import trade_events
from arbkit.trading.paper import PaperTradingSystem
from arbkit.trading.records import (
    LegFill,
    LegStatus,
    OpportunitySummary,
    Trade,
    TradeLeg,
    TradeStatus,
    client_order_id,
    daily_loss,
    trade_from_dict,
    trade_to_dict,
)
from arbkit.trading.risk import DailyLossLimit, RiskChain
from arbkit.trading.store import JsonFileStore, SqliteStore
from arbkit.trading.system import BaseTradingSystem, BookIndex
from tests.core.test_trading_fakes import T0, Clock, FakeExchange, arb, binary_market

D = Decimal


def leg(index: int = 0, **kw: object) -> TradeLeg:
    base: dict[str, object] = {
        "exchange": "kalshi" if index == 0 else "polymarket",
        "market_id": f"M{index}",
        "outcome_id": "yes" if index == 0 else "no",
        "outcome_name": "Yes" if index == 0 else "No",
        "side": "buy",
        "limit_price": "0.60",
        "requested_size": "10",
        "client_order_id": client_order_id("T", index),
    }
    base.update(kw)
    return TradeLeg(**base)  # type: ignore[arg-type]


def summary(size: str = "10") -> OpportunitySummary:
    n = D(size)
    return OpportunitySummary(
        title="Lakers at Celtics",
        match_description="pair",
        kind="binary",
        key="k",
        expected_size=n,
        expected_cost=n * D("0.9"),
        expected_fees=D(0),
        expected_payout=n,
        expected_profit=n * D("0.1"),
        roi_percent=D("11.1"),
        detected_at=T0,
    )


def trade(legs: tuple[TradeLeg, ...], status: TradeStatus, *, at: datetime = T0, **kw: object) -> Trade:
    return Trade(
        id=str(kw.pop("id", "T")),
        mode="paper",
        opportunity=summary(),
        legs=legs,
        status=status,
        created_at=at,
        updated_at=at,
        **kw,  # type: ignore[arg-type]
    )


# -- item 9: what was paid, exactly ------------------------------------------------------------


def test_a_leg_filled_across_levels_costs_exactly_what_was_paid() -> None:
    fills = [LegFill("buy", "0.30", "2"), LegFill("buy", "0.40", "1")]
    record = leg(filled_size="3", fills=fills, fees="0.05", status=LegStatus.PARTIAL)
    assert record.cost == D("1.00")  # was 3 x (1.00 / 3) = 0.9999999999999999999999999999
    assert record.basis == D("1.05")
    assert record.average_price == D("1.00") / 3  # for display only
    # The venue's own total wins over anything derived.
    reported = leg(filled_size="3", average_price=D(1) / 3, paid="1.00", status=LegStatus.PARTIAL)
    assert reported.cost == D("1.00")


@pytest.mark.parametrize("kind", ["json", "sqlite"])
def test_stores_keep_what_was_paid_fill_by_fill(tmp_path: Path, kind: str) -> None:
    from arbkit.trading.ledger import DailyCounters, Ledger

    fills = [LegFill("buy", "0.30", "2", "0.01890", "o1"), LegFill("buy", "0.40", "1", "0.00720", "o1")]
    original = trade(
        (
            leg(0, filled_size="3", paid="1.00", fills=fills, fees="0.02610", status=LegStatus.PARTIAL),
            leg(1, filled_size="3", paid="1.50", fees="0.05", status=LegStatus.PARTIAL),
        ),
        TradeStatus.OPEN,
    )
    store = JsonFileStore(tmp_path / "t.json") if kind == "json" else SqliteStore(tmp_path / "t.sqlite3")
    store.append_trade(original, Ledger("paper", D(100), D(100), DailyCounters(date(2026, 3, 1))))
    loaded = store.load()
    assert loaded is not None
    (back,) = loaded.trades
    assert back == original
    assert back.legs[0].fills == tuple(fills)
    assert back.total_cost == D("2.57610")


def test_records_written_before_per_fill_data_still_load() -> None:
    data = trade_to_dict(trade((leg(0, filled_size="10", average_price="0.42"), leg(1)), TradeStatus.OPEN))
    for item in data["legs"]:
        del item["paid"], item["fills"]
    old = trade_from_dict(data)
    assert old.legs[0].cost == D("4.20")
    assert old.legs[0].fills == ()


def test_paper_fills_record_each_level_and_fees_per_fill(tmp_path: Path) -> None:
    # Polymarket charges its fee per fill at the fill's price: 2 @ 0.30 and 1 @ 0.40 pay
    # 0.03 x (2 x 0.21 + 1 x 0.24) = 0.0198, not 3 x 0.03 x p(1-p) at the average 0.3333.
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    a = alpha.add_market(binary_market("alpha", "A"))
    b = beta.add_market(binary_market("beta", "B", fees=PowerFee(rate=D("0.03"))))
    alpha.set_book(a, "yes", [("0.50", "100")])
    beta.set_book(b, "no", [("0.30", "2"), ("0.40", "1")])
    system = PaperTradingSystem(
        initial_balance=D(100),
        store=JsonFileStore(tmp_path / "paper_trading_data.json"),
        exchanges={"alpha": alpha, "beta": beta},
        clock=Clock(),
    )
    opportunity = arb(a, b, size="3", yes_price="0.50", no_price="0.40")
    result = system.execute(opportunity)
    assert result.trade is not None
    no_leg = result.trade.legs[1]
    assert no_leg.cost == D("1.00")
    assert [(f.price, f.size, f.fee) for f in no_leg.fills] == [
        (D("0.30"), D(2), D("0.01260")),
        (D("0.40"), D(1), D("0.00720")),
    ]
    assert no_leg.fees == D("0.01980")
    assert system.state().balance == D(100) - D("1.50") - D("1.00") - D("0.01980")


# -- item 5: one place counts the daily loss ---------------------------------------------------


class ScriptedSystem(BaseTradingSystem):
    """A trading system whose trades are given in advance (what a live executor would have made)."""

    mode = "paper"

    def __init__(self, script: list[Trade], **kw: object) -> None:
        self.script = script
        super().__init__(**kw)  # type: ignore[arg-type]

    def _execute(self, opportunity: Opportunity, *, trade_id: str, now: datetime, books: BookIndex) -> Trade:
        return attrs.evolve(self.script.pop(0), id=trade_id, created_at=now, updated_at=now)


def partly_hedged() -> Trade:
    """Kalshi filled 10 @ 0.40, Polymarket 6 @ 0.50: 4 sold back at 0.10 (a $1.20 loss); 6 stay hedged."""
    return trade(
        (
            leg(0, filled_size="10", paid="4.00", unwound_size="4", unwind_proceeds="0.40", status="partial"),
            leg(1, filled_size="6", paid="3.00", status=LegStatus.PARTIAL),
        ),
        TradeStatus.OPEN,
    )


def test_an_unwind_loss_inside_a_trade_that_stays_hedged_trips_the_daily_loss_limit(tmp_path: Path) -> None:
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    a = alpha.add_market(binary_market("alpha", "A"))
    b = beta.add_market(binary_market("beta", "B"))
    system = ScriptedSystem(
        [partly_hedged(), partly_hedged()],
        initial_balance=D(100),
        store=JsonFileStore(tmp_path / "paper_trading_data.json"),
        risk=RiskChain([DailyLossLimit(D(1))]),
        exchanges={"alpha": alpha, "beta": beta},
        clock=Clock(),
    )
    first = system.execute(arb(a, b))
    assert first.status is TradeStatus.OPEN
    assert system.state().daily_loss == D("1.20")  # 4 x 0.40 paid, 0.40 back
    second = system.execute(arb(a, b))
    assert second.rejected  # it used to allow two more trades
    assert "daily loss limit reached ($1.20 lost today" in second.reasons[0]
    # The counter survives a restart as the same recount.
    again = ScriptedSystem(
        [],
        initial_balance=D(100),
        store=JsonFileStore(tmp_path / "paper_trading_data.json"),
        exchanges={"alpha": alpha, "beta": beta},
        clock=Clock(),
    )
    assert again.state().daily_loss == D("1.20")


def test_a_corrected_unwound_record_is_counted_once() -> None:
    unwound = trade(
        (
            leg(
                0, filled_size="10", paid="4.00", unwound_size="10", unwind_proceeds="3.00", status="unwound"
            ),
            leg(1),
        ),
        TradeStatus.UNWOUND,
        realised_pnl="-1.00",
    )
    # Recovery found the unwind sold for less: the record is replaced, not added to.
    corrected = attrs.evolve(
        unwound,
        legs=(attrs.evolve(unwound.legs[0], unwind_proceeds="2.50"), unwound.legs[1]),
        realised_pnl="-1.50",
        updated_at=T0 + timedelta(hours=1),
    )
    assert daily_loss([unwound], T0.date(), UTC) == D("1.00")
    assert daily_loss([corrected], T0.date(), UTC) == D("1.50")


def test_losses_belong_to_the_day_they_were_realised_in_the_trading_timezone() -> None:
    new_york = ZoneInfo("America/New_York")
    late = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)  # 22:30 on March 1st in New York
    held = partly_hedged()
    held = attrs.evolve(held, created_at=late, updated_at=late)
    settled = attrs.evolve(
        held,
        legs=(attrs.evolve(held.legs[0], payout=D(0)), attrs.evolve(held.legs[1], payout=D(0))),
        status=TradeStatus.SETTLED,
        settled_at=late + timedelta(hours=12),
        realised_pnl=D("0.40") - D("7.00"),
    )
    assert daily_loss([settled], date(2026, 3, 1), new_york) == D("1.20")  # the unwind
    assert daily_loss([settled], date(2026, 3, 2), new_york) == D("5.40")  # 6/10 x 4 + 3 paid, 0 back
    assert held.realised_loss + D("5.40") == settled.realised_loss


amounts = st.integers(0, 500).map(lambda c: D(c) / 100)


@st.composite
def histories(draw: st.DrawFn) -> list[Trade]:
    found = []
    for i in range(draw(st.integers(0, 6))):
        filled = D(draw(st.integers(1, 20)))
        unwound = D(draw(st.integers(0, int(filled))))
        paid = [draw(amounts) for _ in range(2)]
        created = T0 + timedelta(hours=draw(st.integers(0, 60)))
        legs = (
            leg(
                0,
                filled_size=filled,
                paid=paid[0],
                fees=draw(amounts),
                unwound_size=unwound,
                unwind_proceeds=draw(amounts) if unwound else D(0),
            ),
            leg(1, filled_size=filled - unwound, paid=paid[1] if unwound < filled else D(0)),
        )
        status = TradeStatus.UNWOUND if unwound == filled else TradeStatus.OPEN
        record = trade(legs, status, at=created, id=f"T{i}")
        if status is TradeStatus.OPEN and draw(st.booleans()):
            payout = draw(st.sampled_from([D(0), D("0.5"), D(1)])) * (filled - unwound)
            record = attrs.evolve(
                record,
                legs=(attrs.evolve(legs[0], payout=payout), attrs.evolve(legs[1], payout=D(0))),
                status=TradeStatus.SETTLED,
                settled_at=created + timedelta(hours=draw(st.integers(0, 40))),
            )
        found.append(record)
    return found


@settings(max_examples=200, deadline=None)
@given(histories())
def test_the_counter_is_the_sum_of_each_days_realised_losses(trades: list[Trade]) -> None:
    days = sorted(
        {t.created_at.date() for t in trades} | {t.settled_at.date() for t in trades if t.settled_at}
    )
    # Every dollar of realised loss lands on exactly one day, once.
    assert sum((daily_loss(trades, day, UTC) for day in days), D(0)) == sum(
        (t.realised_loss for t in trades), D(0)
    )
    for day in days:
        counted = daily_loss(trades, day, UTC)
        assert counted >= 0
        # Correcting (replacing) any record never changes another record's share.
        for index, record in enumerate(trades):
            without = trades[:index] + trades[index + 1 :]
            assert daily_loss(without, day, UTC) + daily_loss([record], day, UTC) == counted
    for record in trades:
        total = record.legs[0].basis + record.legs[1].basis
        back = record.unwind_proceeds + sum((lg.payout or D(0) for lg in record.legs), D(0))
        if record.status is not TradeStatus.OPEN:  # fully realised: never less than its net loss
            assert record.realised_loss >= max(total - back, D(0))


# -- item 11 (half): the "New arb" notice --------------------------------------------------------


def test_new_arb_notice_counts_what_unwinds_brought_back() -> None:
    # 6 hedged pay $6; paid 4.00 + 3.00; 0.40 back from the 4 sold: expected -$0.60, not -$1.00.
    (event, *_) = trade_events("paper", partly_hedged(), T0)
    assert event.title == "New arb"
    assert event.message == (
        "Lakers at Celtics (6 contracts, cost $7.00, $0.40 back from unwinds, expected -$0.60)"
    )
    assert event.data["expected_profit"] == "-0.60"


def test_a_counter_stored_twice_over_is_recounted_when_the_system_starts(tmp_path: Path) -> None:
    # An older version added a recovered UNWOUND trade's loss again when recovery corrected it:
    # the stored counter says $2.00 for a $1.00 loss. Opening the store recounts from the records.
    from arbkit.trading.ledger import DailyCounters, Ledger

    unwound = trade(
        (
            leg(
                0, filled_size="10", paid="4.00", unwound_size="10", unwind_proceeds="3.00", status="unwound"
            ),
            leg(1),
        ),
        TradeStatus.UNWOUND,
        realised_pnl="-1.00",
    )
    store = JsonFileStore(tmp_path / "paper_trading_data.json")
    store.append_trade(unwound, Ledger("paper", D(100), D(99), DailyCounters(T0.date(), 1, D(2))))
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    a = alpha.add_market(binary_market("alpha", "A"))
    b = beta.add_market(binary_market("beta", "B"))
    alpha.set_book(a, "yes", [("0.40", "100")])
    beta.set_book(b, "no", [("0.50", "100")])
    system = PaperTradingSystem(
        initial_balance=D(100),
        store=JsonFileStore(tmp_path / "paper_trading_data.json"),
        risk=RiskChain([DailyLossLimit(D("1.50"))]),
        exchanges={"alpha": alpha, "beta": beta},
        clock=Clock(),
    )
    assert system.state().daily_loss == D("1.00")
    assert system.execute(arb(a, b)).executed  # $1.00 lost of $1.50: still trading
