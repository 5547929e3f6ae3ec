"""Risk policies: small checks that each allow a trade or reject it with a human reason.

A :class:`RiskChain` runs *every* policy and reports every failing reason (not just
the first), so a user sees at once that a trade was both too large and too stale.
The trading systems run the chain, the execution and the recording of a trade under
one lock, so concurrent callers can never exceed a limit between check and trade.

Write your own by subclassing :class:`RiskPolicy`::

    class NoSoccer(RiskPolicy):
        name = "no_soccer"

        def check(self, opportunity, context):
            if "soccer" in opportunity.title.lower():
                return self.reject("soccer is not traded")
            return self.allow()

and pass it in (``PaperTradingSystem(..., risk=default_chain(settings, extra=[NoSoccer()]))``)
or ship it in a plugin through ``arbkit_register_risk_policies``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from arbkit.accounts import AccountId, Route
from arbkit.engine.opportunity import Opportunity
from arbkit.errors import ConfigError

if TYPE_CHECKING:
    from arbkit.config import Settings, TradingLimits

__all__ = [
    "AccountExposureCap",
    "BalanceCheck",
    "DailyLossLimit",
    "MarketExposureCap",
    "MaxDailyTrades",
    "MaxPositionSize",
    "MinRoi",
    "RiskChain",
    "RiskContext",
    "RiskDecision",
    "RiskPolicy",
    "RiskVerdict",
    "StaleBook",
    "default_chain",
    "policies_for_limits",
]

logger = logging.getLogger(__name__)
ZERO = Decimal(0)


def _money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01'))}"


@attrs.frozen
class RiskContext:
    """What a policy may look at besides the opportunity: the system's state right now.

    * ``balance``: the ledger's cash (paper balance, or live accounting balance);
    * ``venue_balances``: cash available per venue when known (live: from the
      exchange clients), else ``None`` and ``balance`` is the one pool;
    * ``daily_trades`` / ``daily_loss``: today's counters in the trading timezone;
    * ``market_exposure``: dollars at stake per ``(exchange, market_id)`` in open trades;
    * ``route``: the account each leg would be sent from (:func:`arbkit.accounts.route_legs`),
      with ``account_balances`` the free cash per account it was routed on (``None``: one pool)
      and ``account_exposure`` the dollars at stake per account in open trades. With a route,
      ``venue_balances`` holds, per venue, the cash of the account its legs were routed to.
    """

    mode: str
    now: datetime
    balance: Decimal
    daily_trades: int = 0
    daily_loss: Decimal = ZERO
    venue_balances: Mapping[str, Decimal] | None = None
    market_exposure: Mapping[tuple[str, str], Decimal] = attrs.field(factory=dict)
    route: Route | None = None
    account_balances: Mapping[AccountId, Decimal] | None = None
    account_exposure: Mapping[AccountId, Decimal] = attrs.field(factory=dict)

    def leg_account(self, index: int, venue: str) -> AccountId:
        """The account leg ``index`` goes to (the venue's default account without a route)."""
        return self.route.for_leg(index, venue) if self.route is not None else AccountId(venue)


@attrs.frozen
class RiskDecision:
    """One policy's answer. ``limit`` names a tripped daily limit (``daily_trades``, ``daily_loss``)."""

    allowed: bool
    policy: str
    reason: str = ""
    limit: str | None = None


@attrs.frozen
class RiskVerdict:
    """The chain's answer: allowed only if every policy allowed."""

    decisions: tuple[RiskDecision, ...]

    @property
    def allowed(self) -> bool:
        """True when no policy rejected."""
        return all(d.allowed for d in self.decisions)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every failing policy's reason, in chain order."""
        return tuple(d.reason for d in self.decisions if not d.allowed)

    @property
    def tripped_limits(self) -> tuple[str, ...]:
        """Daily limits that rejected this trade."""
        return tuple(d.limit for d in self.decisions if not d.allowed and d.limit)


class RiskPolicy:
    """Base class of a policy: override :meth:`check` and set ``name``."""

    name: str = "policy"
    #: Set on policies that enforce a daily limit, so trips are notified as such.
    limit: str | None = None

    def check(self, opportunity: Opportunity, context: RiskContext) -> RiskDecision:
        """Allow or reject ``opportunity`` given ``context``."""
        raise NotImplementedError

    def allow(self) -> RiskDecision:
        """An approval from this policy."""
        return RiskDecision(True, self.name)

    def reject(self, reason: str) -> RiskDecision:
        """A rejection from this policy, with a reason a person can act on."""
        return RiskDecision(False, self.name, reason, self.limit)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class MinRoi(RiskPolicy):
    """Reject when the opportunity's ROI (percent, after fees) is below ``min_roi_percent``."""

    name = "min_roi"

    def __init__(self, min_roi_percent: Decimal) -> None:
        self.min_roi_percent = Decimal(min_roi_percent)

    def check(self, opportunity: Opportunity, context: RiskContext) -> RiskDecision:
        roi = opportunity.roi_percent
        if roi < self.min_roi_percent:
            return self.reject(f"ROI {roi:.2f}% is below the minimum {self.min_roi_percent}%")
        return self.allow()


class MaxPositionSize(RiskPolicy):
    """Reject when the money committed (cost + fees) exceeds ``max_dollars`` per trade."""

    name = "max_position_size"

    def __init__(self, max_dollars: Decimal) -> None:
        self.max_dollars = Decimal(max_dollars)

    def check(self, opportunity: Opportunity, context: RiskContext) -> RiskDecision:
        if opportunity.total_cost > self.max_dollars:
            return self.reject(
                f"trade costs {_money(opportunity.total_cost)}, above the per-trade maximum "
                f"{_money(self.max_dollars)}"
            )
        return self.allow()


class MaxDailyTrades(RiskPolicy):
    """Reject once ``max_trades`` trades filled today (in the trading timezone)."""

    name = "max_daily_trades"
    limit = "daily_trades"

    def __init__(self, max_trades: int) -> None:
        self.max_trades = int(max_trades)

    def check(self, opportunity: Opportunity, context: RiskContext) -> RiskDecision:
        if context.daily_trades >= self.max_trades:
            return self.reject(f"daily trade limit reached ({context.daily_trades}/{self.max_trades})")
        return self.allow()


class DailyLossLimit(RiskPolicy):
    """Reject once today's realised losses reach ``limit_dollars``.

    Losses are gross: a winning trade does not offset a losing one for this limit.
    """

    name = "daily_loss_limit"
    limit = "daily_loss"

    def __init__(self, limit_dollars: Decimal) -> None:
        self.limit_dollars = Decimal(limit_dollars)

    def check(self, opportunity: Opportunity, context: RiskContext) -> RiskDecision:
        if context.daily_loss >= self.limit_dollars:
            return self.reject(
                f"daily loss limit reached ({_money(context.daily_loss)} lost today, "
                f"limit {_money(self.limit_dollars)})"
            )
        return self.allow()


class BalanceCheck(RiskPolicy):
    """Reject when a venue (or the one paper pool) cannot cover what its orders reserve.

    A venue checks an order against its balance at the order's limit price (limit x size
    plus the fee: :attr:`arbkit.engine.opportunity.Leg.reserve`), not at the cheaper prices the
    order walks through, so that is what is compared with each venue's cash. Checking
    the walked cost let a second leg be refused for balance after the first had filled.
    """

    name = "balance"

    def check(self, opportunity: Opportunity, context: RiskContext) -> RiskDecision:
        if context.route is not None and context.account_balances is not None:
            return self._check_accounts(opportunity, context.route, context.account_balances)
        if context.venue_balances is None:
            needs = opportunity.reserve
            if needs > context.balance:
                return self.reject(f"needs {_money(needs)}, balance is {_money(context.balance)}")
            return self.allow()
        needed: dict[str, Decimal] = {}
        for leg in opportunity.legs:
            needed[leg.exchange] = needed.get(leg.exchange, ZERO) + leg.reserve
        short = []
        for venue, amount in needed.items():
            available = context.venue_balances.get(venue)
            if available is None:
                short.append(f"{venue} balance unknown")
            elif amount > available:
                short.append(f"{venue} needs {_money(amount)}, has {_money(available)}")
        if short:
            return self.reject("insufficient balance: " + "; ".join(short))
        return self.allow()

    def _check_accounts(
        self, opportunity: Opportunity, route: Route, balances: Mapping[AccountId, Decimal]
    ) -> RiskDecision:
        """Each account a leg was routed to covers what its legs reserve; an unrouted leg refuses."""
        short = list(route.reasons)
        needed: dict[AccountId, Decimal] = {}
        for index, leg in enumerate(opportunity.legs):
            account = route.accounts[index] if index < len(route.accounts) else AccountId(leg.exchange)
            if account is not None:
                needed[account] = needed.get(account, ZERO) + leg.reserve
        for account, amount in needed.items():
            available = balances.get(account)
            if available is None:
                short.append(f"{account} balance unknown")
            elif amount > available:
                short.append(f"{account} needs {_money(amount)}, has {_money(available)}")
        if short:
            return self.reject("insufficient balance: " + "; ".join(short))
        return self.allow()


class AccountExposureCap(RiskPolicy):
    """Reject when open trades plus this one would put more than a cap on one account.

    ``max_dollars`` caps every account; ``per_account`` caps named ones (``"kalshi:hedge"`` or
    an :class:`~arbkit.accounts.AccountId`) instead. Exposure is what open trades' legs on the
    account still have at stake (cost and fees of the contracts held); a leg counts on the
    account it was routed to. The total is capped by the daily limits and
    :class:`MarketExposureCap` as before.
    """

    name = "account_exposure_cap"

    def __init__(
        self,
        max_dollars: Decimal | None = None,
        *,
        per_account: Mapping[AccountId | str, Decimal] | None = None,
    ) -> None:
        self.max_dollars = None if max_dollars is None else Decimal(max_dollars)
        self.per_account = {AccountId.parse(k): Decimal(v) for k, v in (per_account or {}).items()}

    def cap(self, account: AccountId) -> Decimal | None:
        """The cap on ``account`` (``None``: uncapped)."""
        return self.per_account.get(account, self.max_dollars)

    def check(self, opportunity: Opportunity, context: RiskContext) -> RiskDecision:
        adding: dict[AccountId, Decimal] = {}
        for index, leg in enumerate(opportunity.legs):
            account = context.leg_account(index, leg.exchange)
            adding[account] = adding.get(account, ZERO) + leg.cost + leg.fee
        over = []
        for account, amount in adding.items():
            cap = self.cap(account)
            total = context.account_exposure.get(account, ZERO) + amount
            if cap is not None and total > cap:
                over.append(f"{account} would hold {_money(total)}, cap {_money(cap)}")
        if over:
            return self.reject("account exposure above its cap: " + "; ".join(over))
        return self.allow()


class StaleBook(RiskPolicy):
    """Reject when the oldest book an opportunity was priced from is older than ``max_age_seconds``."""

    name = "stale_book"

    def __init__(self, max_age_seconds: Decimal) -> None:
        self.max_age_seconds = Decimal(max_age_seconds)

    def check(self, opportunity: Opportunity, context: RiskContext) -> RiskDecision:
        age = Decimal(str(round((context.now - opportunity.oldest_book).total_seconds(), 3)))
        if age > self.max_age_seconds:
            return self.reject(f"order book is {age}s old, older than {self.max_age_seconds}s")
        return self.allow()


class MarketExposureCap(RiskPolicy):
    """Reject when open trades plus this one would put more than ``max_dollars`` on one market."""

    name = "market_exposure_cap"

    def __init__(self, max_dollars: Decimal) -> None:
        self.max_dollars = Decimal(max_dollars)

    def check(self, opportunity: Opportunity, context: RiskContext) -> RiskDecision:
        over = []
        adding: dict[tuple[str, str], Decimal] = {}
        for leg in opportunity.legs:
            key = (leg.exchange, leg.market.id)
            adding[key] = adding.get(key, ZERO) + leg.cost + leg.fee
        for key, amount in adding.items():
            total = context.market_exposure.get(key, ZERO) + amount
            if total > self.max_dollars:
                over.append(f"{key[0]}:{key[1]} would hold {_money(total)}")
        if over:
            return self.reject(f"market exposure above {_money(self.max_dollars)}: " + "; ".join(over))
        return self.allow()


class RiskChain:
    """Runs every policy. A policy that raises counts as a rejection (the chain fails closed)."""

    def __init__(self, policies: Iterable[RiskPolicy] = ()) -> None:
        self.policies: list[RiskPolicy] = list(policies)

    def add(self, policy: RiskPolicy) -> RiskChain:
        """Append a policy; returns the chain for chaining."""
        self.policies.append(policy)
        return self

    def evaluate(self, opportunity: Opportunity, context: RiskContext) -> RiskVerdict:
        """Every policy's decision."""
        decisions = []
        for policy in self.policies:
            try:
                decision = policy.check(opportunity, context)
            except Exception as exc:
                logger.exception("risk policy %s failed", policy.name)
                decision = RiskDecision(False, policy.name, f"{policy.name} failed: {type(exc).__name__}")
            decisions.append(decision)
        return RiskVerdict(tuple(decisions))

    def __iter__(self) -> Any:
        return iter(self.policies)

    def __len__(self) -> int:
        return len(self.policies)

    def __repr__(self) -> str:
        return f"RiskChain({self.policies!r})"


def policies_for_limits(limits: TradingLimits) -> list[RiskPolicy]:
    """PolyMix's four limits (those that are set) plus the balance check."""
    policies: list[RiskPolicy] = [MinRoi(limits.min_roi_percent)]
    if limits.max_position_size is not None:
        policies.append(MaxPositionSize(limits.max_position_size))
    if limits.max_daily_trades is not None:
        policies.append(MaxDailyTrades(limits.max_daily_trades))
    if limits.daily_loss_limit is not None:
        policies.append(DailyLossLimit(limits.daily_loss_limit))
    policies.append(BalanceCheck())
    return policies


def default_chain(
    settings: Settings,
    *,
    market_exposure_cap: Decimal | None = None,
    extra: Sequence[RiskPolicy] = (),
    plugins: bool = True,
) -> RiskChain:
    """The chain for ``settings``' mode: its limits, the balance check, stale-book refusal
    (``settings.max_book_age_seconds``), a per-market exposure cap (``market_exposure_cap``,
    else ``settings.max_market_exposure``), ``extra`` policies, then every plugin policy
    (``factory(settings)``) unless ``plugins=False``.
    """
    policies = policies_for_limits(settings.limits)
    policies.append(StaleBook(settings.max_book_age_seconds))
    cap = market_exposure_cap if market_exposure_cap is not None else settings.max_market_exposure
    if cap is not None:
        policies.append(MarketExposureCap(cap))
    policies.extend(extra)
    if plugins:
        from arbkit.plugins import risk_policy_factories

        for name, factory in sorted(risk_policy_factories().items()):
            policy = factory(settings)
            if not isinstance(policy, RiskPolicy) and not callable(getattr(policy, "check", None)):
                raise ConfigError(f"risk policy plugin {name!r} did not return a policy")
            policies.append(policy)
    return RiskChain(policies)
