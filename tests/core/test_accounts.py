"""Accounts: their names, routing legs to the account with the cash, per-account limits and state,
and records older than accounts loading as the default accounts."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

import arbkit
from arbkit.accounts import AccountId, Route, account_cash_flow, accounts_of, route_legs
from arbkit.errors import ConfigError, ValidationError
from arbkit.trading.paper import PaperTradingSystem
from arbkit.trading.records import TradeLeg, TradeStatus, trade_from_dict, trade_to_dict
from arbkit.trading.risk import AccountExposureCap, BalanceCheck, RiskChain, RiskContext
from arbkit.trading.store import JsonFileStore, SqliteStore
from tests.core.test_trading_fakes import T0, Clock, FakeExchange, arb, binary_market

D = Decimal
ALPHA, HEDGE = AccountId("alpha"), AccountId("alpha", "hedge")
BETA = AccountId("beta")


def test_an_account_is_written_as_its_venue_or_venue_colon_name_and_read_back() -> None:
    assert arbkit.AccountId is AccountId
    assert str(AccountId("kalshi")) == "kalshi"
    assert str(AccountId("kalshi", "hedge")) == "kalshi:hedge"
    assert AccountId.parse("kalshi") == AccountId("kalshi", "default")
    assert AccountId.parse("kalshi:hedge") == AccountId("kalshi", "hedge")
    assert AccountId.parse(AccountId("kalshi", "x")) == AccountId("kalshi", "x")
    for bad in ("", "kalshi:", ":hedge", "kalshi:a:b", "kal shi", "kalshi:he dge"):
        with pytest.raises(ValidationError):
            AccountId.parse(bad)


def test_clients_keyed_by_venue_name_or_account_mean_the_same_accounts() -> None:
    a, b, c = object(), object(), object()
    found = accounts_of({"alpha:hedge": b, "beta": c, ALPHA: a})
    assert list(found) == [ALPHA, HEDGE, BETA]  # per venue, the default account first
    with pytest.raises(ConfigError, match="alpha is given twice"):
        accounts_of({"alpha": a, ALPHA: b})


def legs(alpha: FakeExchange, beta: FakeExchange) -> arbkit.Opportunity:
    a = alpha.add_market(binary_market("alpha", "A"))
    b = beta.add_market(binary_market("beta", "B"))
    alpha.set_book(a, "yes", [("0.40", "100")])
    beta.set_book(b, "no", [("0.50", "100")])
    return arb(a, b)  # reserves $4.00 on alpha, $5.00 on beta


def test_a_leg_goes_to_the_account_of_its_venue_with_the_most_free_cash() -> None:
    opportunity = legs(FakeExchange("alpha"), FakeExchange("beta"))
    accounts = [ALPHA, HEDGE, BETA]
    route = route_legs(opportunity.legs, accounts, {ALPHA: D(10), HEDGE: D(20), BETA: D(5)})
    assert route == Route((HEDGE, BETA), (None, None))
    # Equal cash: the account listed first (the default one).
    assert (
        route_legs(opportunity.legs, accounts, {ALPHA: D(20), HEDGE: D(20), BETA: D(5)}).accounts[0] == ALPHA
    )
    # An account that cannot pay is never chosen, however it compares otherwise.
    assert route_legs(opportunity.legs, accounts, {ALPHA: D(3), HEDGE: D(4), BETA: D(0)}).accounts[0] == HEDGE
    # An account whose balance is unknown is never chosen while another can pay.
    assert route_legs(opportunity.legs, accounts, {ALPHA: D(4), BETA: D(5)}).accounts[0] == ALPHA


def test_no_account_with_the_cash_leaves_the_leg_unrouted_with_a_reason_naming_each() -> None:
    opportunity = legs(FakeExchange("alpha"), FakeExchange("beta"))
    route = route_legs(opportunity.legs, [ALPHA, HEDGE, BETA], {ALPHA: D("3.99"), BETA: D(100)})
    assert route.accounts == (None, BETA)
    assert not route.complete
    assert route.reasons == (
        "no alpha account has the $4.00 leg 1 reserves (alpha $3.99, alpha:hedge balance unknown)",
    )
    verdict = RiskChain([BalanceCheck()]).evaluate(
        opportunity,
        RiskContext("live", T0, D(0), route=route, account_balances={ALPHA: D("3.99"), BETA: D(100)}),
    )
    assert verdict.reasons == ("insufficient balance: " + route.reasons[0],)


def test_legs_of_one_trade_on_one_venue_share_an_accounts_cash() -> None:
    alpha = FakeExchange("alpha")
    a = alpha.add_market(binary_market("alpha", "A"))
    b = alpha.add_market(binary_market("alpha", "B"))
    opportunity = arb(a, b)  # both legs on alpha: $4 and $5
    route = route_legs(opportunity.legs, [ALPHA, HEDGE], {ALPHA: D(6), HEDGE: D(7)})
    assert route.accounts == (HEDGE, ALPHA)  # $7 - $4 left on the hedge: the $5 leg goes to alpha


def paper(tmp_path: Path, exchanges: dict[object, FakeExchange], **kw: object) -> PaperTradingSystem:
    return PaperTradingSystem(
        initial_balance=D(1000),
        store=JsonFileStore(tmp_path / "paper_trading_data.json"),
        exchanges=exchanges,  # type: ignore[arg-type]
        clock=Clock(),
        **kw,  # type: ignore[arg-type]
    )


def test_paper_with_funds_per_account_routes_each_trade_to_the_account_that_has_the_cash(
    tmp_path: Path,
) -> None:
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    opportunity = legs(alpha, beta)
    system = paper(
        tmp_path,
        {"alpha": alpha, "alpha:hedge": alpha, "beta": beta},
        account_funds={"alpha": D(5), "alpha:hedge": D(6), "beta": D(100)},
    )
    first = system.execute(opportunity).trade
    second = system.execute(opportunity).trade
    refused = system.execute(opportunity)
    assert first is not None
    assert second is not None
    assert [first.legs[0].account, second.legs[0].account] == ["hedge", "default"]
    assert refused.reasons == (
        "insufficient balance: no alpha account has the $4.00 leg 1 reserves "
        "(alpha $1.00, alpha:hedge $2.00)",
    )
    state = {str(a.account): a for a in system.state().accounts}
    assert {k: v.balance for k, v in state.items()} == {"alpha": D(1), "alpha:hedge": D(2), "beta": D(90)}
    assert state["alpha:hedge"].positions == (("A", "yes", D(10)),)
    assert state["alpha:hedge"].exposure == D(4)
    assert system.state().to_dict()["accounts"][1] == {
        "account": "alpha:hedge",
        "venue": "alpha",
        "name": "hedge",
        "balance": "2.00",
        "cash_flow": "-4.00",
        "exposure": "4.00",
        "positions": [{"market_id": "A", "outcome_id": "yes", "contracts": "10"}],
    }
    # The store holds each leg's account, and a restart routes on the recorded cash flows.
    restarted = paper(
        tmp_path,
        {"alpha": alpha, "alpha:hedge": alpha, "beta": beta},
        account_funds={"alpha": D(5), "alpha:hedge": D(6), "beta": D(100)},
    )
    assert [t.legs[0].account for t in restarted.state().trade_history] == ["hedge", "default"]
    assert restarted.execute(opportunity).rejected


def test_paper_without_funds_per_account_keeps_one_pool_and_the_first_account(tmp_path: Path) -> None:
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    opportunity = legs(alpha, beta)
    system = paper(tmp_path, {"alpha:hedge": alpha, "alpha:other": alpha, "beta": beta})
    trade = system.execute(opportunity).trade
    assert trade is not None
    assert [str(leg.account_id) for leg in trade.legs] == ["alpha:hedge", "beta"]
    assert system.state().balance == D(991)


def test_an_account_exposure_cap_refuses_what_would_put_too_much_on_one_account(tmp_path: Path) -> None:
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    opportunity = legs(alpha, beta)
    cap = AccountExposureCap(D(100), per_account={"alpha:hedge": D(6)})
    system = paper(
        tmp_path,
        {"alpha": alpha, "alpha:hedge": alpha, "beta": beta},
        account_funds={"alpha": D(0), "alpha:hedge": D(100), "beta": D(100)},
        risk=RiskChain([BalanceCheck(), cap]),
    )
    assert system.execute(opportunity).executed  # $4 on the hedge: under its $6 cap
    refused = system.execute(opportunity)
    assert refused.reasons == ("account exposure above its cap: alpha:hedge would hold $8.00, cap $6.00",)
    assert cap.cap(BETA) == D(100)


def test_a_named_account_without_a_client_is_a_clear_configuration_error(tmp_path: Path) -> None:
    system = paper(tmp_path, {"alpha": FakeExchange("alpha")})
    with pytest.raises(ConfigError, match="no exchange client for account alpha:hedge"):
        system.client("alpha:hedge")


def test_a_leg_record_round_trips_its_account_and_an_older_record_is_the_default_account(
    tmp_path: Path,
) -> None:
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    system = paper(tmp_path, {"alpha:hedge": alpha, "beta": beta})
    trade = system.execute(legs(alpha, beta)).trade
    assert trade is not None
    assert trade_from_dict(json.loads(json.dumps(trade_to_dict(trade)))) == trade
    old = trade_to_dict(trade)
    for leg in old["legs"]:
        del leg["account"]
    assert {leg.account_id for leg in trade_from_dict(old).legs} == {ALPHA, BETA}
    bad = trade_to_dict(trade)
    bad["legs"][0]["account"] = "no spaces allowed"
    with pytest.raises(ValidationError):
        trade_from_dict(bad)
    # SQLite holds it too.
    sqlite = SqliteStore(tmp_path / "paper.sqlite3")
    on_sqlite = PaperTradingSystem(
        initial_balance=D(1000), store=sqlite, exchanges={"alpha:hedge": alpha, "beta": beta}, clock=Clock()
    )
    recorded = on_sqlite.execute(legs(alpha, beta)).trade
    assert recorded is not None
    loaded = SqliteStore(tmp_path / "paper.sqlite3").load()
    assert loaded is not None
    assert loaded.trades == (recorded,)
    assert recorded.legs[0].account_id == HEDGE


def test_a_json_file_written_before_accounts_loads_unchanged_as_the_default_accounts(tmp_path: Path) -> None:
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    path = tmp_path / "paper_trading_data.json"
    first = paper(tmp_path, {"alpha": alpha, "beta": beta})
    trade = first.execute(legs(alpha, beta)).trade
    assert trade is not None
    data = json.loads(path.read_text())
    for stored in data["trades"]:
        for leg in stored["legs"]:
            del leg["account"]  # as an older arbkit wrote it
    path.write_text(json.dumps(data))

    reopened = paper(tmp_path, {"alpha": alpha, "beta": beta})
    (loaded,) = reopened.state().trade_history
    assert loaded == trade
    assert loaded.status is TradeStatus.OPEN
    assert account_cash_flow([loaded]) == {ALPHA: D(-4), BETA: D(-5)}
    assert [str(a.account) for a in reopened.state().accounts] == ["alpha", "beta"]


def test_planning_a_leg_from_another_venues_account_is_refused() -> None:
    alpha, beta = FakeExchange("alpha"), FakeExchange("beta")
    opportunity = legs(alpha, beta)
    with pytest.raises(ValidationError, match="not from account beta"):
        TradeLeg.planned(opportunity.legs[0], trade_id="T", index=0, size=D(1), account=BETA)


def test_an_account_is_a_frozen_value() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ALPHA.name = "x"  # type: ignore[misc]
