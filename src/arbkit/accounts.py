"""Accounts: several per venue in one instance, each leg routed to one that has the cash.

An :class:`AccountId` names one account at one venue: ``AccountId("kalshi")`` is the venue's
default account (what a plain ``exchanges={"kalshi": client}`` mapping means, and what every
record written before accounts existed belongs to), ``AccountId("kalshi", "hedge")`` a named
one. Its text form is ``"kalshi"`` for the default account and ``"kalshi:hedge"`` otherwise,
and :meth:`AccountId.parse` reads it back::

    >>> AccountId.parse("kalshi:hedge")
    AccountId(venue='kalshi', name='hedge')
    >>> str(AccountId("kalshi")), str(AccountId("kalshi", "hedge"))
    ('kalshi', 'kalshi:hedge')

A trade leg records the name of the account it was sent from (``TradeLeg.account``); the
money and contracts each account holds by the records are derived from the legs here, in one
place (:func:`account_cash_flow`, :func:`account_positions`).

**Routing** (:func:`route_legs`): each leg of an opportunity goes to an account of its venue.
When the venue has one account, that account (the balance check then says whether it has the
cash, as before). When it has several, the account with the most free cash that covers what
the leg reserves (``Leg.reserve``: limit x size plus the fee, less what earlier legs of the
same trade already reserved on it); equal cash goes to the account listed first (the default
account, then the others by name). When no account has the cash, the leg is not routed and the
trade is refused with a reason naming every account and its cash, before any order is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import attrs

from arbkit.errors import ConfigError, ValidationError
from arbkit.values import DEFAULT_ACCOUNT

if TYPE_CHECKING:
    from arbkit.engine.opportunity import Leg
    from arbkit.trading.records import Trade, TradeLeg

__all__ = [
    "DEFAULT_ACCOUNT",
    "AccountId",
    "AccountPosition",
    "AccountState",
    "Route",
    "account_cash_flow",
    "account_positions",
    "accounts_of",
    "leg_cash_flow",
    "route_legs",
]

ZERO = Decimal(0)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_VENUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

T = TypeVar("T")


def _check_venue(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not _VENUE.match(value):
        raise ValidationError(f"an account's venue must be a plain name, got {str(value)[:70]!r}")


def check_account_name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: a valid account name (letters, digits, ``_``, ``.``, ``-``; up to 64)."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValidationError(
            f"an account name is letters, digits, '_', '.' or '-' (up to 64), got {str(value)[:70]!r}"
        )


@attrs.frozen(order=True)
class AccountId:
    """One account at one venue (module docstring). Sorts by venue, then name."""

    venue: str = attrs.field(validator=_check_venue)
    name: str = attrs.field(default=DEFAULT_ACCOUNT, validator=check_account_name)

    @property
    def is_default(self) -> bool:
        """True for the venue's default account."""
        return self.name == DEFAULT_ACCOUNT

    def __str__(self) -> str:
        return self.venue if self.is_default else f"{self.venue}:{self.name}"

    @classmethod
    def parse(cls, text: str | AccountId) -> AccountId:
        """``"kalshi"`` -> the default account, ``"kalshi:hedge"`` -> account ``hedge``.

        Raises :class:`~arbkit.errors.ValidationError` on anything else.
        """
        if isinstance(text, AccountId):
            return text
        if not isinstance(text, str):
            raise ValidationError(f"an account is written 'venue' or 'venue:name', got {type(text).__name__}")
        venue, sep, name = text.partition(":")
        if sep and not name:
            raise ValidationError(f"account {text[:70]!r} has an empty name after ':'")
        return cls(venue, name if sep else DEFAULT_ACCOUNT)


def _order(account: AccountId) -> tuple[str, bool, str]:
    return (account.venue, not account.is_default, account.name)


def accounts_of(clients: Mapping[Any, T] | None) -> dict[AccountId, T]:
    """``clients`` keyed by :class:`AccountId`, whatever their keys were: an ``AccountId``,
    ``"kalshi"`` (the default account) or ``"kalshi:hedge"``. Ordered per venue with the
    default account first, then by name. Two keys naming one account raise
    :class:`~arbkit.errors.ConfigError`."""
    found: dict[AccountId, T] = {}
    for key, value in (clients or {}).items():
        account = AccountId.parse(key)
        if account in found:
            raise ConfigError(f"account {account} is given twice")
        found[account] = value
    return {a: found[a] for a in sorted(found, key=_order)}


class AccountPosition(NamedTuple):
    """Contracts an account holds of one outcome, as its records say."""

    market_id: str
    outcome_id: str
    contracts: Decimal


def _positions(rows: Iterable[Sequence[Any]]) -> tuple[AccountPosition, ...]:
    return tuple(row if isinstance(row, AccountPosition) else AccountPosition(*row) for row in rows)


@attrs.frozen
class AccountState:
    """One account in a trading system's state: its cash, and what the records say it holds.

    ``balance`` is the account's free cash as last read (live: the venue's answer to the last
    balance request, ``None`` before one; paper: its funds plus its recorded cash flow);
    ``cash_flow`` what the records say moved on it (costs and fees out, sell-backs and payouts
    in); ``exposure`` the dollars open trades still have at stake on it; ``positions`` the
    contracts held per outcome (:class:`AccountPosition`). ``arbkit.codec.unstructure`` gives
    its JSON (the account as ``"venue:name"`` with its venue and name beside it).
    """

    account: AccountId
    balance: Decimal | None
    cash_flow: Decimal
    exposure: Decimal
    positions: tuple[AccountPosition, ...] = attrs.field(default=(), converter=_positions)


@attrs.frozen
class Route:
    """Where each leg of one opportunity goes: ``accounts[i]`` for leg ``i`` (``None``: no account
    of its venue has the cash, and ``refusals[i]`` says why)."""

    accounts: tuple[AccountId | None, ...]
    refusals: tuple[str | None, ...] = ()

    @property
    def complete(self) -> bool:
        """True when every leg has an account."""
        return all(a is not None for a in self.accounts)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why legs could not be routed (empty when every leg was)."""
        return tuple(r for r in self.refusals if r)

    def for_leg(self, index: int, venue: str) -> AccountId:
        """Leg ``index``'s account; the venue's default account when it was not routed."""
        account = self.accounts[index] if index < len(self.accounts) else None
        return account if account is not None else AccountId(venue)


def _money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01'))}"


def route_legs(
    legs: Sequence[Leg],
    accounts: Iterable[AccountId],
    balances: Mapping[AccountId, Decimal] | None,
) -> Route:
    """Route each leg to an account of its venue (the rule is in the module docstring).

    ``accounts`` are the configured accounts (a venue without any gets its default account);
    ``balances`` the free cash per account (an account missing from it is unknown and never
    chosen when its venue has several), or ``None`` when cash is one pool (paper trading
    without per-account funds): every leg then goes to its venue's first account.
    """
    by_venue: dict[str, list[AccountId]] = {}
    for account in sorted(set(accounts), key=_order):
        by_venue.setdefault(account.venue, []).append(account)
    reserved: dict[AccountId, Decimal] = {}
    chosen: list[AccountId | None] = []
    refusals: list[str | None] = []
    for index, leg in enumerate(legs):
        candidates = by_venue.get(leg.exchange) or [AccountId(leg.exchange)]
        if len(candidates) == 1 or balances is None:
            pick = candidates[0]
        else:
            free = {a: balances[a] - reserved.get(a, ZERO) for a in candidates if balances.get(a) is not None}
            able = [a for a in candidates if a in free and free[a] >= leg.reserve]
            # The most free cash; equal cash goes to the account listed first (stable max).
            if not able:
                seen = ", ".join(
                    f"{a} {_money(free[a])}" if a in free else f"{a} balance unknown" for a in candidates
                )
                refusals.append(
                    f"no {leg.exchange} account has the {_money(leg.reserve)} leg {index + 1} "
                    f"reserves ({seen})"
                )
                chosen.append(None)
                continue
            pick = max(able, key=lambda a: free[a])
        refusals.append(None)
        chosen.append(pick)
        reserved[pick] = reserved.get(pick, ZERO) + leg.reserve
    return Route(tuple(chosen), tuple(refusals))


def leg_cash_flow(leg: TradeLeg) -> Decimal:
    """Dollars the record says moved on the leg's account: sell-backs and payouts in, costs and
    fees out (the one place this arithmetic is written)."""
    return leg.unwind_proceeds + (leg.payout or ZERO) - leg.cost - leg.fees


def account_cash_flow(trades: Iterable[Trade]) -> dict[AccountId, Decimal]:
    """Dollars the records say moved on each account, over every trade's legs."""
    flow: dict[AccountId, Decimal] = {}
    for trade in trades:
        for leg in trade.legs:
            account = leg.account_id
            flow[account] = flow.get(account, ZERO) + leg_cash_flow(leg)
    return flow


def account_positions(trades: Iterable[Trade]) -> dict[tuple[AccountId, str, str], Decimal]:
    """Contracts held per (account, market, outcome) by trades that still hold a position."""
    held: dict[tuple[AccountId, str, str], Decimal] = {}
    for trade in trades:
        if not trade.status.holds_position:
            continue
        for leg in trade.legs:
            if leg.held_size != ZERO:
                key = (leg.account_id, leg.market_id, leg.outcome_id)
                held[key] = held.get(key, ZERO) + leg.held_size
    return held
