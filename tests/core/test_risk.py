"""Risk policies and the chain: every failing reason reported, custom and plugin policies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

import arbkit
from arbkit.config import Settings
from arbkit.engine.opportunity import Opportunity
from arbkit.trading.risk import (
    BalanceCheck,
    DailyLossLimit,
    MarketExposureCap,
    MaxDailyTrades,
    MaxPositionSize,
    MinRoi,
    RiskChain,
    RiskContext,
    RiskDecision,
    RiskPolicy,
    StaleBook,
    default_chain,
)
from tests.core.test_trading_fakes import T0, arb, binary_market

D = Decimal


@pytest.fixture
def opportunity() -> Opportunity:
    # 10 contracts: cost $9.00, payout $10, ROI 11.11%
    return arb(binary_market("alpha", "A"), binary_market("beta", "B"))


def context(**kw: Any) -> RiskContext:
    return RiskContext(**{"mode": "paper", "now": T0, "balance": D(1000), **kw})


@pytest.mark.parametrize(
    ("policy", "ctx", "reason", "allowing"),
    [
        (MinRoi(D(12)), {}, "ROI 11.11% is below the minimum 12%", (MinRoi(D("11.11")), {})),
        (
            MaxPositionSize(D("8.99")),
            {},
            "trade costs $9.00, above the per-trade maximum $8.99",
            (MaxPositionSize(D(9)), {}),
        ),
        (
            MaxDailyTrades(3),
            {"daily_trades": 3},
            "daily trade limit reached (3/3)",
            (MaxDailyTrades(3), {"daily_trades": 2}),
        ),
        (
            DailyLossLimit(D(50)),
            {"daily_loss": D(50)},
            "daily loss limit reached ($50.00 lost today, limit $50.00)",
            (DailyLossLimit(D(50)), {"daily_loss": D("49.99")}),
        ),
        (
            BalanceCheck(),
            {"balance": D("8.99")},
            "needs $9.00, balance is $8.99",
            (BalanceCheck(), {"balance": D(9)}),
        ),
        (
            StaleBook(D(10)),
            {"now": T0 + timedelta(seconds=10.5)},
            "order book is 10.5s old, older than 10s",
            (StaleBook(D(10)), {"now": T0 + timedelta(seconds=10)}),
        ),
        (
            MarketExposureCap(D(100)),
            {"market_exposure": {("alpha", "A"): D(97)}},
            "market exposure above $100.00: alpha:A would hold $101.00",
            (MarketExposureCap(D(100)), {"market_exposure": {("alpha", "A"): D(96)}}),
        ),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, RiskPolicy) else "",
)
def test_each_policy_rejects_with_a_human_reason_and_allows_just_inside(
    opportunity: Opportunity,
    policy: RiskPolicy,
    ctx: dict[str, Any],
    reason: str,
    allowing: tuple[RiskPolicy, dict[str, Any]],
) -> None:
    decision = policy.check(opportunity, context(**ctx))
    assert not decision.allowed
    assert decision.reason == reason
    inside_policy, inside_ctx = allowing
    assert inside_policy.check(opportunity, context(**inside_ctx)).allowed


def test_balance_check_per_venue_names_each_short_venue(opportunity: Opportunity) -> None:
    decision = BalanceCheck().check(opportunity, context(venue_balances={"alpha": D(3)}))
    assert decision.reason == "insufficient balance: alpha needs $4.00, has $3.00; beta balance unknown"
    ok = BalanceCheck().check(
        opportunity, context(venue_balances={"alpha": D(4), "beta": D(5)}, balance=D(0))
    )
    assert ok.allowed


def test_chain_reports_every_failing_reason_in_order(opportunity: Opportunity) -> None:
    chain = RiskChain([MinRoi(D(50)), MaxPositionSize(D(1)), MaxDailyTrades(5), MaxDailyTrades(0)])
    verdict = chain.evaluate(opportunity, context())
    assert not verdict.allowed
    assert verdict.reasons == (
        "ROI 11.11% is below the minimum 50%",
        "trade costs $9.00, above the per-trade maximum $1.00",
        "daily trade limit reached (0/0)",
    )
    assert verdict.tripped_limits == ("daily_trades",)


def test_a_policy_that_crashes_rejects_instead_of_letting_the_trade_through(opportunity: Opportunity) -> None:
    class Broken(RiskPolicy):
        name = "broken"

        def check(self, opportunity: Opportunity, context: RiskContext) -> RiskDecision:
            raise ZeroDivisionError

    verdict = RiskChain([Broken()]).evaluate(opportunity, context())
    assert verdict.reasons == ("broken failed: ZeroDivisionError",)


def test_custom_policy_by_subclassing(opportunity: Opportunity) -> None:
    class NoLakers(RiskPolicy):
        name = "no_lakers"

        def check(self, opportunity: Opportunity, context: RiskContext) -> RiskDecision:
            return self.reject("Lakers are not traded") if "Lakers" in opportunity.title else self.allow()

    chain = RiskChain().add(NoLakers())
    assert chain.evaluate(opportunity, context()).reasons == ("Lakers are not traded",)


class MaxLegsPolicy(RiskPolicy):
    name = "max_legs"

    def __init__(self, settings: Settings) -> None:
        self.max_legs = 1

    def check(self, opportunity: Opportunity, context: RiskContext) -> RiskDecision:
        if len(opportunity.legs) > self.max_legs:
            return self.reject(f"{len(opportunity.legs)} legs, at most {self.max_legs}")
        return self.allow()


class PolicyPlugin:
    @arbkit.hookimpl
    def arbkit_register_risk_policies(self, register: Any) -> None:
        register("max_legs", MaxLegsPolicy)


@pytest.fixture
def policy_plugin() -> Iterator[None]:
    plugin = PolicyPlugin()
    arbkit.get_plugin_manager().register(plugin)
    yield
    arbkit.get_plugin_manager().unregister(plugin)


def test_default_chain_follows_settings_and_adds_plugin_policies(
    opportunity: Opportunity, policy_plugin: None
) -> None:
    settings = Settings.from_mapping(
        {"PAPER_TRADING_MIN_ROI": "20", "PAPER_TRADING_MAX_DAILY_TRADES": "4", "ARBKIT_MAX_BOOK_AGE": "5"}
    )
    chain = default_chain(settings, market_exposure_cap=D(500))
    names = [p.name for p in chain]
    assert names == [
        "min_roi",
        "max_daily_trades",
        "balance",
        "stale_book",
        "market_exposure_cap",
        "max_legs",
    ]
    verdict = chain.evaluate(opportunity, context(now=T0 + timedelta(seconds=6)))
    assert verdict.reasons == (
        "ROI 11.11% is below the minimum 20%",
        "order book is 6.0s old, older than 5s",
        "2 legs, at most 1",
    )


def test_live_defaults_include_polymix_limits() -> None:
    chain = default_chain(Settings.from_mapping({"LIVE_TRADING": "true"}), plugins=False)
    by_name = {p.name: p for p in chain}
    assert by_name["max_position_size"].max_dollars == D(1000)  # type: ignore[attr-defined]
    assert by_name["max_daily_trades"].max_trades == 10  # type: ignore[attr-defined]
    assert by_name["daily_loss_limit"].limit_dollars == D(500)  # type: ignore[attr-defined]


def test_market_exposure_cap_comes_from_the_environment() -> None:
    assert "market_exposure_cap" not in [
        p.name for p in default_chain(Settings.from_mapping({}), plugins=False)
    ]
    chain = default_chain(Settings.from_mapping({"ARBKIT_MAX_MARKET_EXPOSURE": "250"}), plugins=False)
    by_name = {p.name: p for p in chain}
    assert by_name["market_exposure_cap"].max_dollars == D(250)  # type: ignore[attr-defined]
