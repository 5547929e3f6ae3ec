"""PaperTradingSystem: fills against the current book, the ledger, risk, atomicity, days, reset."""

from __future__ import annotations

import threading
import zoneinfo
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from arbkit.config import Secret, Settings
from arbkit.errors import PersistenceError, RiskRejected, ValidationError
from arbkit.models import Market, OrderBook
from arbkit.trading.notify import Event, EventKind
from arbkit.trading.paper import PaperTradingSystem
from arbkit.trading.records import LegStatus, TradeStatus
from arbkit.trading.risk import MaxDailyTrades, MinRoi, RiskChain
from arbkit.trading.store import JsonFileStore, SqliteStore
from arbkit.trading.system import TradingSystem
from tests.core.test_trading_fakes import T0, Clock, FakeExchange, arb, binary_market, kalshi_fee

D = Decimal


@pytest.fixture
def venues() -> tuple[FakeExchange, FakeExchange]:
    return FakeExchange("alpha"), FakeExchange("beta")


def crossing_markets(alpha: FakeExchange, beta: FakeExchange) -> tuple[Market, Market]:
    """Markets A on alpha and B on beta whose books cross: YES A at 0.40 + NO B at 0.50."""
    a, b = alpha.add_market(binary_market("alpha", "A")), beta.add_market(binary_market("beta", "B"))
    alpha.set_book(a, "yes", [("0.40", "1000")])
    beta.set_book(b, "no", [("0.50", "1000")])
    return a, b


def paper(
    tmp_path: Path,
    venues: tuple[FakeExchange, ...],
    *,
    risk: RiskChain | None = None,
    clock: Clock | None = None,
    balance: str = "1000",
    store: object = None,
    **kw: object,
) -> PaperTradingSystem:
    return PaperTradingSystem(
        initial_balance=D(balance),
        store=store or JsonFileStore(tmp_path / "paper_trading_data.json"),  # type: ignore[arg-type]
        risk=risk,
        exchanges={v.name: v for v in venues},
        clock=clock or Clock(),
        **kw,  # type: ignore[arg-type]
    )


def test_paper_system_implements_the_trading_system_protocol(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    assert isinstance(paper(tmp_path, venues), TradingSystem)


def test_paper_fill_walks_the_current_book_not_the_quoted_top(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    alpha, beta = venues
    a, b = alpha.add_market(binary_market("alpha", "A")), beta.add_market(binary_market("beta", "B"))
    alpha.set_book(a, "yes", [("0.40", "5"), ("0.42", "10")])
    beta.set_book(b, "no", [("0.50", "20")])
    system = paper(tmp_path, venues)

    result = system.execute(arb(a, b, yes_limit="0.42"))

    assert result.executed
    assert result.status is TradeStatus.OPEN
    yes_leg, no_leg = result.trade.legs  # type: ignore[union-attr]
    assert (yes_leg.filled_size, yes_leg.average_price) == (D(10), D("0.41"))
    assert (no_leg.filled_size, no_leg.average_price) == (D(10), D("0.50"))
    assert yes_leg.status is LegStatus.FILLED
    assert yes_leg.client_order_id == f"{result.trade.id}-0"  # type: ignore[union-attr]
    assert system.state().balance == D(1000) - D("4.10") - D("5.00")
    # Books were fetched fresh through the clients, one per leg.
    assert alpha.calls == ["order_book"]
    assert beta.calls == ["order_book"]


def test_thin_depth_fills_equal_contracts_on_every_leg(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    alpha, beta = venues
    a, b = alpha.add_market(binary_market("alpha", "A")), beta.add_market(binary_market("beta", "B"))
    alpha.set_book(a, "yes", [("0.40", "6"), ("0.45", "50")])  # only 6 within the 0.40 limit
    beta.set_book(b, "no", [("0.50", "20")])

    result = paper(tmp_path, venues).execute(arb(a, b))

    trade = result.trade
    assert trade is not None
    assert trade.status is TradeStatus.OPEN
    assert [leg.filled_size for leg in trade.legs] == [D(6), D(6)]
    assert {leg.status for leg in trade.legs} == {LegStatus.PARTIAL}
    assert trade.total_cost == D(6) * D("0.90")
    assert "6 of 10" in trade.note


def test_depth_gone_above_the_limit_fills_nothing_and_moves_no_money(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    alpha, beta = venues
    a, b = alpha.add_market(binary_market("alpha", "A")), beta.add_market(binary_market("beta", "B"))
    alpha.set_book(a, "yes", [("0.44", "100")])
    beta.set_book(b, "no", [("0.50", "100")])
    system = paper(tmp_path, venues)

    result = system.execute(arb(a, b))

    assert result.status is TradeStatus.NO_FILL
    assert not result.executed
    state = system.state()
    assert state.balance == D(1000)
    assert state.daily_trades == 0
    assert state.open_positions == ()
    assert state.trade_history[0].status is TradeStatus.NO_FILL


def test_venue_minimum_and_lot_size_are_respected(tmp_path: Path, venues: tuple[FakeExchange, ...]) -> None:
    alpha, beta = venues
    a = alpha.add_market(binary_market("alpha", "A", min_order_size="5", size_increment="0.01"))
    b = beta.add_market(binary_market("beta", "B"))  # whole contracts
    alpha.set_book(a, "yes", [("0.40", "100")])
    beta.set_book(b, "no", [("0.50", "7.5")])
    system = paper(tmp_path, venues)

    result = system.execute(arb(a, b))
    assert [leg.filled_size for leg in result.trade.legs] == [D(7), D(7)]  # type: ignore[union-attr]

    beta.set_book(b, "no", [("0.50", "4")])  # below alpha's minimum of 5
    result = system.execute(arb(a, b))
    assert result.status is TradeStatus.NO_FILL
    assert "minimum order 5" in result.trade.note  # type: ignore[union-attr]


def test_a_venue_that_spends_whole_cents_fills_only_what_it_could_buy_exactly(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    # beta takes a crossing buy as whole cents spent, at least $1 (as Polymarket does): at its
    # 0.50 limit only even hundredths cost whole cents, so 21.63 available fills 21.62.
    alpha, beta = venues
    a = alpha.add_market(binary_market("alpha", "A", size_increment="0.01"))
    b = beta.add_market(
        attrs.evolve(
            binary_market("beta", "B", size_increment="0.01"), cost_increment=D("0.01"), min_order_cost=D(1)
        )
    )
    alpha.set_book(a, "yes", [("0.40", "100")])
    beta.set_book(b, "no", [("0.50", "21.63")])
    system = paper(tmp_path, venues)

    result = system.execute(arb(a, b, size="30"))
    assert [leg.filled_size for leg in result.trade.legs] == [D("21.62"), D("21.62")]  # type: ignore[union-attr]

    beta.set_book(b, "no", [("0.50", "1.9")])  # $0.95 at the limit: under beta's $1
    result = system.execute(arb(a, b))
    assert result.status is TradeStatus.NO_FILL
    assert "minimum cost $1" in result.trade.note  # type: ignore[union-attr]


def test_fees_are_the_venues_own_rounded_once_per_order(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    alpha, beta = venues
    a = alpha.add_market(binary_market("alpha", "A", fees=kalshi_fee()))
    b = beta.add_market(binary_market("beta", "B"))
    alpha.set_book(a, "yes", [("0.40", "5"), ("0.42", "5")])
    beta.set_book(b, "no", [("0.50", "10")])

    trade = paper(tmp_path, venues).execute(arb(a, b, yes_limit="0.42")).trade

    # 0.07 x (5 x 0.40 x 0.60 + 5 x 0.42 x 0.58) = 0.16926 -> 0.17 (two separate orders would pay 0.18)
    assert trade is not None
    assert trade.legs[0].fees == D("0.17")
    assert trade.legs[1].fees == D(0)
    assert trade.total_cost == D("4.10") + D("5.00") + D("0.17")


def test_untradable_market_and_off_tick_limit_are_refused_like_the_venue(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    alpha, beta = venues
    a = alpha.add_market(binary_market("alpha", "A"))
    b = beta.add_market(binary_market("beta", "B", tick="0.05"))
    alpha.set_book(a, "yes", [("0.40", "100")])
    beta.set_book(b, "no", [("0.50", "100")])
    events: list[Event] = []
    system = paper(tmp_path, venues)
    system.add_notifier(events.append)

    result = system.execute(arb(a, b, no_limit="0.52"))

    assert result.status is TradeStatus.NO_FILL
    assert result.trade.legs[1].status is LegStatus.REJECTED  # type: ignore[union-attr]
    assert "off the tick" in (result.trade.legs[1].error or "")  # type: ignore[union-attr]
    assert [e.kind for e in events] == [EventKind.LEG_FAILED]
    assert system.state().balance == D(1000)


def test_passed_in_books_are_used_without_fetching(tmp_path: Path, venues: tuple[FakeExchange, ...]) -> None:
    alpha, beta = venues
    a, b = alpha.add_market(binary_market("alpha", "A")), beta.add_market(binary_market("beta", "B"))
    books = [
        OrderBook.build("alpha", "A", "yes", asks=[("0.40", "3")], timestamp=T0),
        OrderBook.build("beta", "B", "no", asks=[("0.50", "30")], timestamp=T0),
    ]
    result = paper(tmp_path, venues).execute(arb(a, b), books=books)
    assert result.trade is not None
    assert result.trade.hedged_size == D(3)
    assert alpha.calls == []
    assert beta.calls == []


def test_venue_error_is_recorded_not_raised(tmp_path: Path, venues: tuple[FakeExchange, ...]) -> None:
    alpha, beta = venues
    a, b = alpha.add_market(binary_market("alpha", "A")), beta.add_market(binary_market("beta", "B"))
    beta.fail.add("order_book")
    events: list[Event] = []
    system = paper(tmp_path, venues)
    system.add_notifier(events.append)

    result = system.execute(arb(a, b))

    assert result.trade is None
    assert result.error
    assert "order_book is down" in result.error
    state = system.state()
    assert state.trade_history == ()
    assert state.balance == D(1000)
    assert state.recent_errors[-1].venue == "beta"
    assert state.recent_errors[-1].code == "down"
    assert events[-1].kind is EventKind.ERROR
    assert events[-1].text.startswith("📄 PAPER")


def test_risk_rejection_is_reported_or_raised_on_request(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    alpha, beta = venues
    a, b = alpha.add_market(binary_market("alpha", "A")), beta.add_market(binary_market("beta", "B"))
    system = paper(tmp_path, venues, risk=RiskChain([MinRoi(D(50))]))

    result = system.execute(arb(a, b))
    assert result.rejected
    assert "below the minimum 50%" in result.reasons[0]
    assert alpha.calls == []  # nothing was even fetched

    with pytest.raises(RiskRejected, match="below the minimum"):
        system.execute(arb(a, b), raise_on_reject=True)


def test_sixteen_threads_racing_execute_make_exactly_the_daily_limit(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    alpha, beta = venues
    a, b = crossing_markets(alpha, beta)
    system = paper(tmp_path, venues, risk=RiskChain([MaxDailyTrades(10)]))
    start = threading.Barrier(16)
    results = []

    def worker() -> None:
        start.wait()
        results.append(system.execute(arb(a, b)))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(r.executed for r in results) == 10
    assert sum(r.rejected for r in results) == 6
    state = system.state()
    assert state.daily_trades == 10
    assert len(state.trade_history) == 10
    assert state.balance == D(1000) - 10 * D(9)
    assert len(JsonFileStore(tmp_path / "paper_trading_data.json").load().trades) == 10  # type: ignore[union-attr]


def test_daily_counters_roll_over_at_midnight_in_the_trading_timezone(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    alpha, beta = venues
    a, b = crossing_markets(alpha, beta)
    new_york = zoneinfo.ZoneInfo("America/New_York")
    clock = Clock(datetime(2026, 3, 1, 18, 30, tzinfo=new_york))  # 23:30 UTC
    events: list[Event] = []
    system = paper(tmp_path, venues, risk=RiskChain([MaxDailyTrades(2)]), clock=clock, zone=new_york)
    system.add_notifier(events.append)

    def trade() -> bool:
        return system.execute(arb(a, b, at=clock.now)).executed

    assert trade()
    assert trade()
    assert not trade()
    clock.advance(hours=1)  # 00:30 UTC: a new day in UTC, not in New York
    assert not trade()
    assert [e.kind for e in events].count(EventKind.LIMIT_TRIPPED) == 1  # notified once per day
    clock.now = datetime(2026, 3, 2, 0, 5, tzinfo=new_york)
    assert trade()
    state = system.state()
    assert state.day.isoformat() == "2026-03-02"
    assert state.daily_trades == 1


def test_state_survives_a_restart_with_either_store(tmp_path: Path, venues: tuple[FakeExchange, ...]) -> None:
    alpha, beta = venues
    a, b = crossing_markets(alpha, beta)
    for store_type, name in ((JsonFileStore, "p.json"), (SqliteStore, "p.sqlite3")):
        system = paper(tmp_path, venues, store=store_type(tmp_path / name))
        system.execute(arb(a, b))
        system.record_error(ValueError("boom"), venue="alpha", operation="scan")
        before = system.state()
        system.store.close()

        again = paper(tmp_path, venues, store=store_type(tmp_path / name), balance="5")
        after = again.state()
        assert after == before
        assert after.unrealised_pnl == D(1)  # 10 contracts pay $10 for $9
        again.store.close()


def test_a_live_file_is_never_used_for_paper_trading(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    path = tmp_path / "x.json"
    path.write_text(
        '{"mode": "live", "initial_balance": "1", "balance": "1", '
        '"daily": {"date": "2026-03-01", "trades": 0, "loss": "0"}, "trades": [], "error_history": []}'
    )
    with pytest.raises(PersistenceError, match="live"):
        paper(tmp_path, venues, store=JsonFileStore(path))


def test_reset_needs_confirmation(tmp_path: Path, venues: tuple[FakeExchange, ...]) -> None:
    alpha, beta = venues
    a, b = crossing_markets(alpha, beta)
    system = paper(tmp_path, venues, reset_key=Secret("let-me-reset"))
    system.execute(arb(a, b))

    with pytest.raises(ValidationError, match="not confirmed"):
        system.reset("paper")
    system.reset("let-me-reset")

    state = system.state()
    assert state.balance == D(1000)
    assert state.trade_history == ()
    assert JsonFileStore(tmp_path / "paper_trading_data.json").load().trades == ()  # type: ignore[union-attr]


def test_from_settings_uses_the_mode_limits_store_and_zone(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    settings = Settings.from_mapping(
        {
            "ARBKIT_DATA_DIR": str(tmp_path),
            "ARBKIT_STORE": "sqlite",
            "ARBKIT_TIMEZONE": "Europe/London",
            "PAPER_TRADING_INITIAL_BALANCE": "250",
            "PAPER_TRADING_MAX_DAILY_TRADES": "3",
        }
    )
    system = PaperTradingSystem.from_settings(settings, exchanges={v.name: v for v in venues})
    assert isinstance(system.store, SqliteStore)
    assert system.store.path == tmp_path / "paper_trading.sqlite3"
    assert system.state().balance == D(250)
    assert str(system.zone) == "Europe/London"
    assert any(isinstance(p, MaxDailyTrades) and p.max_trades == 3 for p in system.risk)
    system.store.close()


def test_new_trade_notification_carries_the_paper_label(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    alpha, beta = venues
    a, b = crossing_markets(alpha, beta)
    events: list[Event] = []
    system = paper(tmp_path, venues)
    system.add_notifier(events.append)
    system.execute(arb(a, b))
    (event,) = events
    assert event.kind is EventKind.TRADE_EXECUTED
    assert event.text == "📄 PAPER New arb: Lakers at Celtics (10 contracts, cost $9.00, expected +$1.00)"
    assert event.time == T0.astimezone(UTC)


class _StuckWebhook:
    """A notifier that sends over the network and whose service hangs until released."""

    blocking = True

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.received: list[Event] = []

    def notify(self, event: Event) -> None:
        self.entered.set()
        assert self.release.wait(10), "never released"
        self.received.append(event)


def test_a_hanging_network_notifier_never_holds_up_trading(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    alpha, beta = venues
    a, b = crossing_markets(alpha, beta)
    system = paper(tmp_path, venues)
    hook = _StuckWebhook()
    delivery = system.add_notifier(hook)
    first = system.execute(arb(a, b))
    assert hook.entered.wait(10)  # the worker is inside the hanging send ...
    second = system.execute(arb(a, b))  # ... and trading goes on without waiting for it
    assert first.trade is not None
    assert second.trade is not None
    assert system.state().total_trades == 2
    assert hook.received == []
    hook.release.set()
    delivery.flush()  # type: ignore[attr-defined]
    assert [e.trade_id for e in hook.received] == [first.trade.id, second.trade.id]


def test_paper_books_are_read_without_holding_the_trading_lock(
    tmp_path: Path, venues: tuple[FakeExchange, ...]
) -> None:
    alpha, beta = venues
    a, b = crossing_markets(alpha, beta)
    entered, release = threading.Event(), threading.Event()
    slow_book = beta.order_book

    def hanging_book(market: object, outcome_id: str) -> OrderBook:
        entered.set()
        assert release.wait(10)
        return slow_book(market, outcome_id)  # type: ignore[arg-type]

    beta.order_book = hanging_book  # type: ignore[method-assign]
    system = paper(tmp_path, venues)
    trading = threading.Thread(target=system.execute, args=(arb(a, b),))
    trading.start()
    try:
        assert entered.wait(10)  # the trade is waiting for the venue's book ...
        reader = threading.Thread(target=system.state)
        reader.start()
        reader.join(5)
        assert not reader.is_alive()  # ... and the state is readable meanwhile: the lock is free
    finally:
        release.set()
        trading.join(10)
    assert system.state().total_trades == 1
