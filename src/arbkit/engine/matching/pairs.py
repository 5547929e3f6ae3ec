"""Explicit pairs: a user's file saying which contracts are the same bet. Always wins over heuristics.

A pairs file is TOML (or JSON with the same shape). A ``pair`` names, per venue, a
binary market and the outcome that pays when the event happens; the other outcome
of each market is the "no" side. A ``set`` lists the contracts of each of N
mutually exclusive, exhaustive outcomes (a soccer game's home/draw/away)::

    [[pair]]
    title = "Fed cuts rates in December"
    polymarket = { market = "0x5f65…", outcome = "Yes" }     # outcome id or name
    kalshi = { market = "KXFEDDECISION-25DEC-C25", side = "yes" }
    accept = ["close_time"]     # differences you checked and accept

    [[set]]
    title = "Chelsea v Man City"
    [[set.outcome]]
    name = "home"
    contracts = [{ exchange = "kalshi", market = "KXEPLGAME-26APR12CFCMCI-CFC", outcome = "yes" },
                 { exchange = "polymarket", market = "0xaa…", outcome = "Yes" }]
    # ... one [[set.outcome]] per outcome

:func:`load_pairs` checks the file's shape (``ConfigError`` naming the entry);
:func:`resolve_pairs` checks the ids against the venues' markets and reports
unknown markets or outcomes instead of guessing.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from arbkit.engine.matching.model import MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.engine.matching.resolution import DEFAULT_POLICY, ResolutionPolicy, compare
from arbkit.errors import ConfigError, ValidationError
from arbkit.models import Market

__all__ = ["ContractSpec", "PairSpec", "SetSpec", "load_pairs", "parse_pairs", "resolve_pairs"]

_RESERVED = frozenset({"title", "accept"})


@attrs.frozen
class ContractSpec:
    """A contract named in a pairs file: ``outcome`` is an outcome id or name of ``market``."""

    exchange: str
    market: str
    outcome: str

    def __str__(self) -> str:
        return f"{self.exchange}:{self.market}:{self.outcome}"


def _specs(value: Iterable[ContractSpec]) -> tuple[ContractSpec, ...]:
    return tuple(value)


def _kinds(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen
class PairSpec:
    """Binary markets on two or more venues; ``contracts`` are the outcomes paying when the event happens."""

    title: str
    contracts: tuple[ContractSpec, ...] = attrs.field(converter=_specs)
    accept: frozenset[str] = attrs.field(default=frozenset(), converter=_kinds)


@attrs.frozen
class SetSpec:
    """N mutually exclusive, exhaustive outcomes: ``(name, contracts)`` per outcome."""

    title: str
    outcomes: tuple[tuple[str, tuple[ContractSpec, ...]], ...]
    accept: frozenset[str] = attrs.field(default=frozenset(), converter=_kinds)


Spec = PairSpec | SetSpec


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key!r} must be a non-empty string")
    return value


def _accept(entry: Mapping[str, Any], where: str) -> frozenset[str]:
    value = entry.get("accept", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: 'accept' must be a list of difference kinds")
    return frozenset(value)


def _contract(entry: Any, where: str, exchange: str | None = None) -> ContractSpec:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: a contract must be a table with 'market' and 'outcome'")
    outcome = entry.get("outcome", entry.get("side"))
    if not isinstance(outcome, str) or not outcome:
        raise ConfigError(f"{where}: 'outcome' (or 'side') must be a non-empty string")
    return ContractSpec(exchange or _text(entry, "exchange", where), _text(entry, "market", where), outcome)


def parse_pairs(document: Mapping[str, Any]) -> list[Spec]:
    """Specs from a decoded pairs document (``{"pair": [...], "set": [...]}``)."""
    specs: list[Spec] = []
    unknown = set(document) - {"pair", "set"}
    if unknown:
        raise ConfigError(f"unknown top-level keys in pairs file: {sorted(unknown)}")
    for n, entry in enumerate(document.get("pair", []), 1):
        where = f"pair {n}"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: must be a table")
        contracts = [_contract(v, f"{where}.{k}", k) for k, v in entry.items() if k not in _RESERVED]
        if len(contracts) < 2:
            raise ConfigError(f"{where}: name a market on at least two venues")
        specs.append(PairSpec(entry.get("title", ""), contracts, _accept(entry, where)))
    for n, entry in enumerate(document.get("set", []), 1):
        where = f"set {n}"
        outcomes = entry.get("outcome") if isinstance(entry, Mapping) else None
        if not isinstance(outcomes, list) or len(outcomes) < 2:
            raise ConfigError(f"{where}: list at least two [[set.outcome]] entries")
        parsed = []
        for m, outcome in enumerate(outcomes, 1):
            listed = outcome.get("contracts") if isinstance(outcome, Mapping) else None
            if not isinstance(listed, list) or not listed:
                raise ConfigError(f"{where} outcome {m}: 'contracts' must be a non-empty list")
            name = _text(outcome, "name", f"{where} outcome {m}")
            parsed.append((name, tuple(_contract(c, f"{where} outcome {m}") for c in listed)))
        specs.append(SetSpec(entry.get("title", ""), tuple(parsed), _accept(entry, where)))
    return specs


def load_pairs(path: str | os.PathLike[str]) -> list[Spec]:
    """Read a pairs file (``.toml``, or ``.json`` with the same shape)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        document = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read pairs file {path.name}: {exc}") from None
    return parse_pairs(document)


def _find(
    index: Mapping[tuple[str, str], Market], spec: ContractSpec
) -> tuple[OutcomeRef | None, str | None]:
    market = index.get((spec.exchange, spec.market))
    if market is None:
        return None, f"{spec}: no {spec.exchange} market {spec.market!r}"
    wanted = spec.outcome.casefold()
    for outcome in market.outcomes:
        if outcome.id == spec.outcome:
            return OutcomeRef(market, outcome.id), None
    named = [o for o in market.outcomes if o.name.casefold() == wanted or o.id.casefold() == wanted]
    if len(named) == 1:
        return OutcomeRef(market, named[0].id), None
    return None, f"{spec}: market {spec.market!r} has no single outcome {spec.outcome!r}"


def _complement(ref: OutcomeRef) -> OutcomeRef | None:
    others = [o.id for o in ref.market.outcomes if o.id != ref.outcome_id]
    return OutcomeRef(ref.market, others[0]) if len(ref.market.outcomes) == 2 else None


def resolve_pairs(
    specs: Sequence[Spec],
    markets_by_exchange: Mapping[str, Sequence[Market]],
    *,
    policy: ResolutionPolicy = DEFAULT_POLICY,
) -> tuple[list[MarketMatch], list[str]]:
    """Matches for the specs whose every contract exists, and one problem line per spec that failed."""
    index = {(m.exchange, m.id): m for markets in markets_by_exchange.values() for m in markets}
    matches: list[MarketMatch] = []
    problems: list[str] = []
    for spec in specs:
        try:
            groups, errors = _groups(spec, index)
            if not errors:
                match = MarketMatch(method="explicit", groups=groups, confidence=Decimal(1), title=spec.title)
        except ValidationError as exc:  # a contract listed twice
            errors = [str(exc)]
        if errors:
            problems.extend(f"{spec.title or 'untitled'}: {e}" for e in errors)
            continue
        by_venue: dict[str, list[Market]] = {}
        for market in match.markets:
            by_venue.setdefault(market.exchange, []).append(market)
        differences = []
        if len(by_venue) >= 2:
            (a, ma), (b, mb) = sorted(by_venue.items())[:2]
            differences = compare(
                [(a, ma), (b, mb)], policy=policy, check_thresholds=isinstance(spec, PairSpec)
            )
        refused = [d for d in differences if d.kind not in spec.accept]
        matches.append(
            attrs.evolve(match, differences=[str(d) for d in differences], refusals=policy.refusals(refused))
        )
    return matches, problems


def _groups(spec: Spec, index: Mapping[tuple[str, str], Market]) -> tuple[list[OutcomeGroup], list[str]]:
    errors: list[str] = []
    if isinstance(spec, PairSpec):
        yes, no = [], []
        for contract in spec.contracts:
            ref, error = _find(index, contract)
            if ref is None:
                errors.append(error or str(contract))
                continue
            other = _complement(ref)
            if other is None:
                errors.append(f"{contract}: market is not binary; use a [[set]] for it")
                continue
            yes.append(ref)
            no.append(other)
        return ([OutcomeGroup("yes", yes), OutcomeGroup("no", no)] if not errors else []), errors
    groups = []
    for name, contracts in spec.outcomes:
        refs = []
        for contract in contracts:
            ref, error = _find(index, contract)
            if ref is None:
                errors.append(error or str(contract))
            else:
                refs.append(ref)
        if refs:
            groups.append(OutcomeGroup(name, refs))
    return (groups if not errors else []), errors
