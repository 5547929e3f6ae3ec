"""The one codec (arbkit.codec): every record round-trips exactly, old records load, bad ones
are refused with a typed error that says where."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbkit.accounts import AccountId, AccountState
from arbkit.codec import structure, unstructure
from arbkit.errors import ValidationError
from arbkit.models import Side
from arbkit.trading.ledger import DailyCounters, Ledger
from arbkit.trading.records import (
    ErrorRecord,
    LegFill,
    LegStatus,
    OpportunitySummary,
    Trade,
    TradeLeg,
    TradeStatus,
    TradingState,
    error_from_dict,
    error_to_dict,
    trade_from_dict,
    trade_to_dict,
)
from arbkit.trading.store import _ledger_from_dict, _ledger_to_dict

money = st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), allow_nan=False, places=12)
size = st.decimals(min_value=Decimal(0), max_value=Decimal("1e6"), allow_nan=False, places=6)
price = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("0.999"), allow_nan=False, places=4)
ident = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=12)
times = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2030, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))]),
)
fills = st.builds(
    LegFill, side=st.sampled_from(Side), price=price, size=size, fee=size, order_id=st.none() | ident
)
legs = st.builds(
    TradeLeg,
    exchange=ident,
    market_id=ident,
    outcome_id=ident,
    outcome_name=st.text(max_size=20),
    side=st.sampled_from(Side),
    limit_price=price,
    requested_size=size,
    client_order_id=ident,
    filled_size=size,
    average_price=st.none() | price,
    fees=size,
    order_id=st.none() | ident,
    status=st.sampled_from(LegStatus),
    market_title=st.text(max_size=20),
    error=st.none() | st.text(max_size=20),
    unwound_size=size,
    unwind_proceeds=size,
    payout=st.none() | size,
    order_ids=st.lists(ident, max_size=3).map(tuple),
    client_order_ids=st.lists(ident, max_size=3).map(tuple),
    paid=st.none() | size,
    fills=st.lists(fills, max_size=3).map(tuple),
)
summaries = st.builds(
    OpportunitySummary,
    title=st.text(max_size=20),
    match_description=st.text(max_size=20),
    kind=st.sampled_from(["binary", "three_way"]),
    key=ident,
    expected_size=size,
    expected_cost=money,
    expected_fees=size,
    expected_payout=size,
    expected_profit=money,
    roi_percent=money,
    detected_at=times,
)
trades = st.builds(
    Trade,
    id=ident,
    mode=st.sampled_from(["paper", "live"]),
    opportunity=summaries,
    legs=st.lists(legs, min_size=1, max_size=3).map(tuple),
    status=st.sampled_from(TradeStatus),
    created_at=times,
    updated_at=times,
    settled_at=st.none() | times,
    realised_pnl=st.none() | money,
    note=st.text(max_size=20),
    flags=st.lists(ident, max_size=2).map(tuple),
)


def _through_json(data: Any) -> Any:
    """What a file or database column gives back (numbers as Decimal, never float)."""
    return json.loads(json.dumps(data), parse_float=Decimal)


@settings(max_examples=150, deadline=None)
@given(trades)
def test_every_trade_round_trips_exactly_through_json(trade: Trade) -> None:
    data = trade_to_dict(trade)
    assert trade_from_dict(_through_json(data)) == trade
    assert all(isinstance(v, str) for v in (data["legs"][0]["limit_price"], data["created_at"]))


errors = st.builds(
    ErrorRecord, time=times, venue=ident, operation=ident, message=st.text(), code=st.none() | ident
)
account_names = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
account_states = st.builds(
    AccountState,
    account=st.builds(AccountId, venue=account_names, name=account_names),
    balance=st.none() | money,
    cash_flow=money,
    exposure=size,
    positions=st.lists(st.tuples(ident, ident, size), max_size=2).map(tuple),
)


@settings(max_examples=60, deadline=None)
@given(
    history=st.lists(trades, max_size=4),
    recent=st.lists(errors, max_size=2),
    accounts=st.lists(account_states, max_size=2),
    limit=st.none() | st.integers(0, 3),
)
def test_the_state_view_is_plain_json_whose_trades_load_back(
    history: list[Trade], recent: list[ErrorRecord], accounts: list[AccountState], limit: int | None
) -> None:
    state = TradingState(
        mode="paper",
        initial_balance=Decimal(100),
        balance=Decimal("99.5"),
        open_positions=tuple(history[:1]),
        trade_history=tuple(history),
        realised_pnl=Decimal(0),
        unrealised_pnl=Decimal("0.25"),
        day=date(2026, 12, 3),
        daily_trades=len(history),
        daily_loss=Decimal(0),
        recent_errors=tuple(recent),
        accounts=tuple(accounts),
    )
    data = state.to_dict(history_limit=limit)
    # Plain JSON: no Decimal, float or datetime left for a web framework to guess at.
    assert json.loads(json.dumps(data)) == data
    assert data["total_trades"] == len(history)
    shown = history if limit is None else history[-limit:] if limit else []
    assert [trade_from_dict(_through_json(t)) for t in data["trade_history"]] == shown
    assert [t["total_cost"] for t in data["trade_history"]] == [str(t.total_cost) for t in shown]
    assert [error_from_dict(_through_json(e)) for e in data["recent_errors"]] == recent
    for row, account in zip(data["accounts"], accounts, strict=True):
        assert (row["account"], row["venue"], row["name"]) == (
            str(account.account),
            *attrs.astuple(account.account),
        )
        assert row["positions"] == [
            {"market_id": m, "outcome_id": o, "contracts": str(c)} for m, o, c in account.positions
        ]


@settings(max_examples=60, deadline=None)
@given(
    st.builds(
        ErrorRecord, time=times, venue=ident, operation=ident, message=st.text(), code=st.none() | ident
    )
)
def test_every_error_record_round_trips(record: ErrorRecord) -> None:
    assert error_from_dict(_through_json(error_to_dict(record))) == record


def test_the_ledger_keeps_polymix_key_names_and_round_trips() -> None:
    ledger = Ledger(
        "live", Decimal(1000), Decimal("987.654321"), DailyCounters(date(2026, 3, 1), 2, Decimal("1.5"))
    )
    data = _ledger_to_dict(ledger)
    assert data["daily"] == {"date": "2026-03-01", "trades": 2, "loss": "1.5"}
    assert data["balance"] == "987.654321"
    assert _ledger_from_dict(_through_json(data)) == ledger


def test_a_record_written_before_newer_fields_existed_loads_with_their_defaults() -> None:
    data = trade_to_dict(_trade())
    for leg in data["legs"]:
        for newer in (
            "market_title",
            "unwound_size",
            "unwind_proceeds",
            "payout",
            "order_ids",
            "paid",
            "fills",
        ):
            del leg[newer]
    for newer in ("settled_at", "realised_pnl", "note", "flags"):
        del data[newer]
    loaded = trade_from_dict(data)
    assert loaded.legs[0].fills == ()
    assert loaded.legs[0].market_title == ""
    assert loaded.note == ""


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("legs", 0, "filled_size"), 1.5),  # a float is never money
        (("legs", 0, "filled_size"), True),
        (("legs", 0, "status"), "exploded"),
        (("created_at",), 1700000000),
        (("created_at",), "yesterday"),
        (("legs",), "not a list"),
        (("mode",), "sim"),
        (("opportunity", "title"), 7),
    ],
)
def test_a_malformed_trade_is_a_validation_error_never_a_bare_exception(
    where: tuple[Any, ...], value: Any
) -> None:
    data = trade_to_dict(_trade())
    target: Any = data
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    with pytest.raises(ValidationError):
        trade_from_dict(data)


def test_a_missing_required_key_is_named() -> None:
    data = trade_to_dict(_trade())
    del data["legs"][0]["client_order_id"]
    with pytest.raises(ValidationError, match="client_order_id"):
        trade_from_dict(data)


def test_integers_are_never_coerced() -> None:
    data = _ledger_to_dict(Ledger("paper", Decimal(1), Decimal(1), DailyCounters(date(2026, 1, 1))))
    for bad in ("3", 2.0, True, -1):
        data["daily"]["trades"] = bad
        with pytest.raises(ValidationError):
            _ledger_from_dict(data)


def test_any_attrs_record_goes_through_the_same_rules() -> None:
    fill = LegFill(Side.BUY, Decimal("0.4133"), Decimal(3), Decimal("0.07"), "o-1")
    assert unstructure(fill) == {
        "side": "buy",
        "price": "0.4133",
        "size": "3",
        "fee": "0.07",
        "order_id": "o-1",
    }
    assert structure(unstructure(fill), LegFill) == fill


@attrs.frozen
class _Plain:
    """A record whose fields have no converters: the codec alone must give them their types."""

    side: Side
    status: TradeStatus
    count: int
    label: str
    at: datetime
    amount: Decimal


def test_fields_without_converters_come_back_as_their_declared_types() -> None:
    value = _Plain(Side.SELL, TradeStatus.UNWOUND, 3, "x", datetime(2026, 3, 1, tzinfo=UTC), Decimal("0.10"))
    back = structure(_through_json(unstructure(value)), _Plain)
    assert back == value
    assert back.side is Side.SELL
    assert back.status is TradeStatus.UNWOUND
    with pytest.raises(ValidationError):
        structure({**unstructure(value), "side": "hold"}, _Plain)


def _trade() -> Trade:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    leg = TradeLeg(
        exchange="alpha",
        market_id="M",
        outcome_id="yes",
        outcome_name="Yes",
        side=Side.BUY,
        limit_price=Decimal("0.42"),
        requested_size=Decimal(12),
        client_order_id="c-1",
        filled_size=Decimal(12),
        fills=(LegFill(Side.BUY, Decimal("0.42"), Decimal(12), Decimal("0.17")),),
    )
    summary = OpportunitySummary("T", "d", "binary", "k", 12, "5.04", "0.17", 12, "6.79", "130", at)
    return Trade("t-1", "paper", summary, (leg,), TradeStatus.OPEN, at, at, note="n", flags=("x",))
