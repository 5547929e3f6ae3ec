"""Sports games as the matcher sees them: a venue-neutral :class:`GameInfo` per market.

Each venue names the same game differently (Kalshi ``KXNBAGAME-26MAR31NYKHOU-NYK``,
Polymarket ``nba-nyk-hou-2026-03-31``). Adapters know their own naming, so each
adapter reads its markets into a :class:`GameInfo` and sets it as ``Market.game``; the
matcher (:mod:`arbkit.engine.matching`) only ever reads ``GameInfo`` and never parses a
venue's ticker or slug. The core's :data:`LEAGUES` carry no venue's codes: each adapter
registers its :class:`VenueNaming` (league codes, team codes) through a hook.

Team codes stay as the venue writes them (``"NYK"`` on Kalshi, ``"nyk"`` on
Polymarket, ``"LA"`` vs ``"lar"`` for the Rams); the matcher's alias table maps them
per league to one canonical team.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from arbkit.errors import ValidationError
from arbkit.values import shared_text

__all__ = [
    "DRAW",
    "LEAGUES",
    "OVER",
    "UNDER",
    "GameInfo",
    "League",
    "VenueNaming",
]

#: ``outcome_teams`` value of a draw (tie) outcome.
DRAW = "draw"
#: ``outcome_teams`` values of a total's two sides.
OVER, UNDER = "over", "under"

MARKET_TYPES = frozenset({"moneyline", "spread", "total", "other"})


@attrs.frozen
class League:
    """One league, in venue-neutral terms (each adapter names it its own way, see :class:`VenueNaming`).

    ``home_first`` tells in which order venues write the two teams of a game:
    US leagues write away then home, soccer writes home then away.
    ``three_way`` is true when a game can end in a draw that is its own outcome.
    ``can_tie`` marks a 2-way league whose games can still end level (NFL regular season):
    there a team's NO is not "the other team wins".
    """

    key: str
    name: str
    sport: str
    home_first: bool = False
    three_way: bool = False
    regulation_only: bool = False
    can_tie: bool = False

    @property
    def ties(self) -> bool:
        """True when a game can end level (a draw outcome, or a 2-way league with ties)."""
        return self.three_way or self.can_tie


def _soccer(key: str, name: str) -> League:
    # Soccer is decided in regulation (90 minutes plus stoppage) and writes the home team first.
    return League(key, name, "soccer", home_first=True, three_way=True, regulation_only=True)


# From the league table in the sports reference (TER config plus community sources).
# US sports include overtime.
LEAGUES: Mapping[str, League] = MappingProxyType(
    {
        league.key: league
        for league in (
            League("nba", "NBA", "basketball"),
            League("wnba", "WNBA", "basketball"),
            League("nfl", "NFL", "football", can_tie=True),
            League("mlb", "MLB", "baseball"),
            League("nhl", "NHL", "hockey"),
            League("ncaaf", "NCAA Football", "football"),
            League("ncaab", "NCAA Men's Basketball", "basketball"),
            _soccer("mls", "MLS"),
            _soccer("epl", "English Premier League"),
            _soccer("laliga", "La Liga"),
            _soccer("bundesliga", "Bundesliga"),
            _soccer("seriea", "Serie A"),
            _soccer("ligue1", "Ligue 1"),
            _soccer("ucl", "UEFA Champions League"),
            _soccer("uel", "UEFA Europa League"),
            _soccer("efl", "EFL Championship"),
        )
    }
)


def _codes(value: Mapping[str, Iterable[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({str(k): tuple(str(c) for c in v) for k, v in value.items()})


def _team_codes(
    value: Mapping[str, Mapping[str, Iterable[str]]],
) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    return MappingProxyType({str(league): _codes(teams) for league, teams in value.items()})


def _known_leagues(instance: Any, attribute: attrs.Attribute[Any], value: Mapping[str, Any]) -> None:
    unknown = sorted(set(value) - set(LEAGUES))
    if unknown:
        raise ValidationError(f"{attribute.name}: unknown leagues {', '.join(unknown)}")


@attrs.frozen(eq=False)
class VenueNaming:
    """How one venue names the core's leagues and teams; each adapter registers its own.

    * ``leagues``: core league key -> the venue's codes for it (Kalshi's game, spread and
      total series ``("KXNBAGAME", "KXNBASPREAD", "KXNBATOTAL")``, Polymarket's slug prefix
      ``("cfb",)``), the main code first;
    * ``teams``: core league key -> canonical team (:attr:`arbkit.engine.matching.teams.Team.key`)
      -> every code the venue has been seen to use for it, the current one first.

    Registered through the ``arbkit_register_leagues`` hook (:mod:`arbkit.hookspecs`) and
    read with :func:`arbkit.plugins.venue_namings`; the matcher's alias table
    (:func:`arbkit.engine.matching.default_teams`) joins every venue's team codes to the
    core's venue-neutral team names.
    """

    exchange: str = attrs.field(validator=attrs.validators.min_len(1))
    leagues: Mapping[str, tuple[str, ...]] = attrs.field(converter=_codes, validator=_known_leagues)
    teams: Mapping[str, Mapping[str, tuple[str, ...]]] = attrs.field(
        factory=dict, converter=_team_codes, validator=_known_leagues
    )

    def league_of(self, code: str) -> League | None:
        """The core league the venue's ``code`` names (any of its codes, case-insensitive)."""
        wanted = code.lower()
        for key, codes in self.leagues.items():
            if any(c.lower() == wanted for c in codes):
                return LEAGUES[key]
        return None


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(shared_text(v) for v in value)


class PairMap(Mapping[str, str]):
    """A small read-only mapping stored as a tuple of pairs.

    Every market of a sports scan carries two of these (outcome -> team, code -> name),
    each of two or three entries: a tuple costs a fraction of a dict plus its read-only
    proxy, which over 10,000 markets is several megabytes of the service's memory.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: tuple[tuple[str, str], ...] = tuple(
            (shared_text(k), shared_text(v)) for k, v in dict(pairs).items()
        )

    def __getitem__(self, key: str) -> str:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self._items)

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, else ``default`` (one scan, no exception on a miss)."""
        for k, v in self._items:
            if k == key:
                return v
        return default

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The ``(key, value)`` pairs in order, without a view object (hot loops use this)."""
        return self._items

    def __repr__(self) -> str:
        return f"PairMap({dict(self._items)!r})"


def _frozen(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return value if isinstance(value, PairMap) else PairMap(value or {})


@attrs.frozen
class GameInfo:
    """What one venue says about the game a market is on.

    * ``teams``: the venue's team codes in the venue's order; ``home`` / ``away``
      when the order is known (see :attr:`League.home_first`).
    * ``team_names``: code -> the venue's display name ("New York", "Knicks").
    * ``date``: the date in the venue's naming (Kalshi: US Eastern; Polymarket slugs
      are not reliably UTC or local), ``start_time``: scheduled start in UTC when the
      venue gives it.
    * ``outcome_teams``: outcome id -> team code, or :data:`DRAW`. A Kalshi per-team
      market maps only ``"yes"``; a Polymarket moneyline maps both tokens.
    * ``game_number``: 1 or 2 for a doubleheader game, else ``None``.
    * ``outcome_names``: outcome id -> the venue's own words for what it pays on (a
      Polymarket outcome label "Rutgers", a soccer market's question "Will Chelsea FC
      win on 2026-04-12?", Kalshi's ``yes_sub_title``). The matcher checks them against
      the alias table and the other venue's names: a second signal beside the codes.
    * ``expected_end``: when the venue expects the game to be over (Kalshi's
      ``expected_expiration_time``, about 3-6 h after the start); ``scheduled_date``:
      the date the venue's rules say the game was originally scheduled for.
    * ``home_name`` / ``away_name``: the venue's own home / away team fields, when it
      gives them (a signal for :attr:`home` / :attr:`away` independent of the slug order).
    * ``line`` and ``line_team``: for a spread, the handicap applied to ``line_team``
      (``-6.5``: that team must win by 7 or more); for a total, the points line, with
      ``outcome_teams`` mapping to :data:`OVER` / :data:`UNDER`.
    """

    league: str = attrs.field(converter=shared_text)
    game_key: str = attrs.field(converter=shared_text)
    teams: tuple[str, ...] = attrs.field(converter=_str_tuple)
    outcome_teams: Mapping[str, str] = attrs.field(converter=_frozen, eq=False, hash=False)
    market_type: str = attrs.field(default="moneyline", converter=shared_text)
    home: str | None = attrs.field(default=None, converter=shared_text)
    away: str | None = attrs.field(default=None, converter=shared_text)
    team_names: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen, eq=False, hash=False)
    date: date | None = None
    start_time: datetime | None = None
    game_number: int | None = None
    line: Decimal | None = None
    outcome_names: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen, eq=False, hash=False)
    expected_end: datetime | None = None
    scheduled_date: dt.date | None = None
    home_name: str | None = None
    away_name: str | None = None
    line_team: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.league not in LEAGUES:
            raise ValidationError(f"unknown league {self.league!r}")
        if self.market_type not in MARKET_TYPES:
            raise ValidationError(f"unknown market type {self.market_type!r}")
        for name in ("start_time", "expected_end"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValidationError(f"{name} must be timezone-aware")
        for team in (self.home, self.away, self.line_team):
            if team is not None and team not in self.teams:
                raise ValidationError(f"{team!r} is not one of the game's teams {self.teams}")

    @property
    def league_info(self) -> League:
        """The :class:`League` entry."""
        return LEAGUES[self.league]
