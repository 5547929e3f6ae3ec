"""What a match is: equivalent contracts across venues, how they were found, and how sure we are.

A :class:`MarketMatch` groups contracts by the real-world outcome that makes them pay.
Each :class:`OutcomeGroup` lists every contract (market + outcome id, on any venue)
that pays $1 exactly when that outcome happens; the groups of a match are mutually
exclusive and exhaustive, so buying one contract from every group pays $1 whatever
happens. A binary pair has two groups ("yes" and "no"); a soccer game has three
(home, draw, away).

Example: a Polymarket moneyline market ``[Lakers, Celtics]`` and Kalshi's per-team
markets ``…-LAL`` and ``…-BOS`` give two groups::

    LAL wins: polymarket <Lakers token>, kalshi …-LAL yes, kalshi …-BOS no
    BOS wins: polymarket <Celtics token>, kalshi …-BOS yes, kalshi …-LAL no
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from arbkit.errors import ValidationError
from arbkit.models import BookKey, Market, OutcomeKey, to_decimal
from arbkit.values import one_of

__all__ = ["METHODS", "MarketMatch", "OutcomeGroup", "OutcomeRef"]

#: How a match was made. Explicit pairs always win over heuristics.
METHODS = ("explicit", "sports", "generic")


@attrs.frozen
class OutcomeRef:
    """One contract: ``outcome_id`` of ``market`` (a Polymarket token, or Kalshi ``yes``/``no``)."""

    market: Market
    outcome_id: str

    def __attrs_post_init__(self) -> None:
        self.market.outcome(self.outcome_id)  # raises on an outcome the market does not have

    @property
    def exchange(self) -> str:
        """The venue of the contract."""
        return self.market.exchange

    @property
    def book_key(self) -> BookKey:
        """``(exchange, market_id, outcome_id)``: where its order book is found."""
        return OutcomeKey(self.market.exchange, self.market.id, self.outcome_id)

    def __str__(self) -> str:
        return f"{self.market.exchange}:{self.market.id}:{self.outcome_id}"


def _refs(value: Iterable[OutcomeRef]) -> tuple[OutcomeRef, ...]:
    return tuple(value)


def _groups(value: Iterable[OutcomeGroup]) -> tuple[OutcomeGroup, ...]:
    return tuple(value)


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class OutcomeGroup:
    """One real-world outcome (``name``: a team, ``"draw"``, ``"yes"``) and the contracts paying on it."""

    name: str
    refs: tuple[OutcomeRef, ...] = attrs.field(converter=_refs)

    @refs.validator
    def _check_refs(self, attribute: attrs.Attribute[Any], value: tuple[OutcomeRef, ...]) -> None:
        if not value:
            raise ValidationError(f"outcome group {self.name!r} has no contracts")
        if len({ref.book_key for ref in value}) != len(value):
            raise ValidationError(f"outcome group {self.name!r} lists a contract twice")


def _confidence(value: object) -> Decimal:
    result = to_decimal(value, field="confidence")
    if not Decimal(0) <= result <= Decimal(1):
        raise ValidationError(f"confidence must be in [0, 1], got {result}")
    return result


@attrs.frozen
class MarketMatch:
    """Markets on two or more venues that settle on the same event, with how we know.

    * ``groups``: mutually exclusive, exhaustive outcomes, each with its equivalent contracts.
    * ``method``: ``"explicit"`` (a user's pairs file), ``"sports"`` or ``"generic"``.
    * ``confidence``: 0..1; explicit pairs are 1.
    * ``differences``: human-readable resolution differences found (close times apart,
      one side counts overtime, ...); ``refusals`` the subset the resolution policy
      treats as disqualifying, and ``allowed`` is true when there are none.
    * ``confirmed``: false for generic proposals until a user confirms them (:meth:`confirm`).

    Only a :attr:`tradable` match (allowed and confirmed) is ever traded.
    """

    method: str = attrs.field(validator=one_of(METHODS, what="match method"))
    groups: tuple[OutcomeGroup, ...] = attrs.field(converter=_groups)
    confidence: Decimal = attrs.field(converter=_confidence)
    title: str = ""
    differences: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    refusals: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    confirmed: bool = True
    #: Per group, ``(book key, contract)`` of the contracts that can be traded at all (market
    #: open, fee schedule known): what detection reads for every match of every scan.
    tradable_contracts: tuple[tuple[tuple[BookKey, OutcomeRef], ...], ...] = attrs.field(
        init=False, eq=False, repr=False
    )

    @groups.validator
    def _check_groups(self, attribute: attrs.Attribute[Any], value: tuple[OutcomeGroup, ...]) -> None:
        if len(value) < 2:
            raise ValidationError("a match needs at least two outcome groups")
        seen: set[BookKey] = set()
        for group in value:
            for ref in group.refs:
                if ref.book_key in seen:
                    raise ValidationError(f"contract {ref} is in two outcome groups")
                seen.add(ref.book_key)

    def __attrs_post_init__(self) -> None:
        contracts = tuple(
            tuple((ref.book_key, ref) for ref in group.refs if ref.market.tradable) for group in self.groups
        )
        object.__setattr__(self, "tradable_contracts", contracts)

    @property
    def allowed(self) -> bool:
        """True when the resolution policy found no disqualifying difference."""
        return not self.refusals

    @property
    def tradable(self) -> bool:
        """Allowed by the resolution policy and confirmed (generic proposals start unconfirmed)."""
        return self.allowed and self.confirmed

    @property
    def markets(self) -> tuple[Market, ...]:
        """Every market in the match, each once, in group order."""
        seen: dict[tuple[str, str], Market] = {}
        for group in self.groups:
            for ref in group.refs:
                seen.setdefault((ref.market.exchange, ref.market.id), ref.market)
        return tuple(seen.values())

    @property
    def exchanges(self) -> tuple[str, ...]:
        """The venues involved, sorted."""
        return tuple(sorted({market.exchange for market in self.markets}))

    @property
    def close_times(self) -> Mapping[str, datetime | None]:
        """``"exchange:market_id"`` -> the market's close time, as the venue gives it."""
        return {f"{m.exchange}:{m.id}": m.close_time for m in self.markets}

    @property
    def resolution_times(self) -> Mapping[str, datetime | None]:
        """``"exchange:market_id"`` -> expected resolution time (``meta["resolution_time"]``, else close)."""
        result: dict[str, datetime | None] = {}
        for m in self.markets:
            value = m.meta.get("resolution_time")
            result[f"{m.exchange}:{m.id}"] = value if isinstance(value, datetime) else m.close_time
        return result

    @property
    def rules(self) -> Mapping[str, str]:
        """``"exchange:market_id"`` -> the venue's rules text ("" when it gives none)."""
        return {f"{m.exchange}:{m.id}": m.rules for m in self.markets}

    @property
    def key(self) -> str:
        """A stable id of the match (its contracts), the same across scans."""
        text = "|".join(sorted(str(ref) for group in self.groups for ref in group.refs))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def description(self) -> str:
        """One line for records and people: how it was matched and which contract is which outcome,
        e.g. ``sports match, confidence 0.95: BUF = kalshi KX...-BUF yes + polymarket 0xab... 123...``."""
        groups = "; ".join(
            f"{group.name} = "
            + " + ".join(f"{r.market.exchange} {r.market.id} {r.outcome_id}" for r in group.refs)
            for group in self.groups
        )
        return f"{self.method} match, confidence {self.confidence}: {groups}"

    def confirm(self) -> MarketMatch:
        """This match, confirmed by a user (generic proposals are not traded until confirmed)."""
        return attrs.evolve(self, confirmed=True)
