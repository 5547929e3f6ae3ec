"""Market matching: which markets on different venues settle on the same event.

Equivalent markets rarely share names or ids, and a wrong match loses money, so
every :class:`MarketMatch` says how it was made (``method``), how sure it is
(``confidence``), what could make the venues settle differently (``differences``)
and whether the resolution policy allows trading it.

* :func:`match_markets` returns what may be traded: explicit pairs from the user's
  file first (they always win), then sports games (moneylines, spreads, totals) matched
  through the team alias table, each contract's team confirmed by two signals; matches
  below ``min_confidence`` are dropped.
* :func:`proposals` returns generic text-similarity candidates, unconfirmed: they
  are never traded until a user confirms them.

Example::

    from arbkit.engine.matching import match_markets, load_pairs
    matches = match_markets({"kalshi": k_markets, "polymarket": p_markets},
                            pairs=load_pairs("pairs.toml"))
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from arbkit.engine.matching.generic import propose
from arbkit.engine.matching.model import METHODS, MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.engine.matching.pairs import (
    ContractSpec,
    PairSpec,
    SetSpec,
    load_pairs,
    parse_pairs,
    resolve_pairs,
)
from arbkit.engine.matching.resolution import DEFAULT_POLICY, KINDS, Difference, ResolutionPolicy, compare
from arbkit.engine.matching.sports import match_games
from arbkit.engine.matching.teams import Team, TeamTable, default_teams
from arbkit.models import Market

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "DEFAULT_POLICY",
    "KINDS",
    "METHODS",
    "ContractSpec",
    "Difference",
    "MarketMatch",
    "OutcomeGroup",
    "OutcomeRef",
    "PairSpec",
    "ResolutionPolicy",
    "SetSpec",
    "Team",
    "TeamTable",
    "compare",
    "default_teams",
    "load_pairs",
    "match_markets",
    "parse_pairs",
    "proposals",
    "resolve_pairs",
]

logger = logging.getLogger(__name__)

#: Matches below this confidence are not returned by :func:`match_markets`. A sports game
#: whose teams are known by the alias table (codes or names) or the same name on both venues,
#: with a start time and Kalshi's expected expiration, scores 1; one whose codes are only
#: identical on both venues, with dates only, scores 0.9 x 0.95 = 0.855 and passes. A contract
#: whose team is not confirmed twice is refused whatever its confidence (see ``sports.py``).
DEFAULT_MIN_CONFIDENCE = Decimal("0.85")


def _markets_in(matches: Iterable[MarketMatch]) -> frozenset[tuple[str, str]]:
    return frozenset((m.exchange, m.id) for match in matches for m in match.markets)


def match_markets(
    markets_by_exchange: Mapping[str, Sequence[Market]],
    *,
    pairs: str | os.PathLike[str] | Sequence[PairSpec | SetSpec] | None = None,
    policy: ResolutionPolicy | None = None,
    min_confidence: Decimal = DEFAULT_MIN_CONFIDENCE,
    teams: TeamTable | None = None,
) -> list[MarketMatch]:
    """Explicit pairs, then sports matches, for markets listed per exchange.

    ``pairs`` is a pairs file path or parsed specs; ids it names that are not among
    the markets are logged (call :func:`resolve_pairs` to get them as a list) and
    skipped. A market in an explicit pair is never matched again by a heuristic.
    Refused matches (``allowed`` false) are returned too, so callers can show why;
    the detector never trades them.
    """
    policy = policy or DEFAULT_POLICY
    explicit: list[MarketMatch] = []
    if pairs is not None:
        specs = load_pairs(pairs) if isinstance(pairs, (str, os.PathLike)) else list(pairs)
        explicit, problems = resolve_pairs(specs, markets_by_exchange, policy=policy)
        for problem in problems:
            logger.warning("pairs file: %s", problem)
    sports = match_games(markets_by_exchange, policy=policy, table=teams, exclude=_markets_in(explicit))
    sports = [m for m in sports if m.confidence >= min_confidence]
    sports.sort(key=lambda m: (m.title, m.key))
    return explicit + sports


def proposals(
    markets_by_exchange: Mapping[str, Sequence[Market]],
    *,
    exclude: Iterable[MarketMatch] = (),
    policy: ResolutionPolicy | None = None,
    min_score: float = 0.6,
    per_market: int = 3,
) -> list[MarketMatch]:
    """Generic yes/no pairs that read alike, best first, *unconfirmed*: review, then ``.confirm()``.

    Markets already in ``exclude`` (for example the result of :func:`match_markets`) are skipped.
    """
    skip = _markets_in(exclude)
    venues = sorted(markets_by_exchange)
    found: list[MarketMatch] = []
    for i, a in enumerate(venues):
        for b in venues[i + 1 :]:
            found.extend(
                propose(
                    markets_by_exchange[a],
                    markets_by_exchange[b],
                    min_score=min_score,
                    per_market=per_market,
                    policy=policy or DEFAULT_POLICY,
                    exclude=skip,
                )
            )
    found.sort(key=lambda m: (-m.confidence, m.key))
    return found
