"""The team alias table: each venue's team codes and names, per league, mapped to one canonical team.

The core ships the venue-neutral part as data (``arbkit/data/teams.json``, transcribed from
the project's sports reference, section 2): per league, the teams keyed by a canonical code
(Kalshi's current one), with the full name, nickname and other aliases. Each adapter brings
its venue's codes for those teams (Kalshi ``LA`` / ``LAR`` for the Rams, Polymarket ``la`` /
``lar``) as a :class:`~arbkit.games.VenueNaming` through the ``arbkit_register_leagues``
hook; :func:`default_teams` joins them. Lookups are per league because codes collide across
leagues (``LA`` is the Rams in the NFL and the Kings in the NHL).

Example::

    >>> table = default_teams()
    >>> table.resolve("nfl", "lar", "polymarket").team
    'LA'
    >>> table.resolve_name("nba", "LA Lakers")
    'LAL'
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from importlib import resources
from typing import TYPE_CHECKING, Any

import attrs

from arbkit.errors import ValidationError
from arbkit.plugins import plugins_version, venue_namings

if TYPE_CHECKING:
    from arbkit.games import VenueNaming

__all__ = ["Resolved", "Team", "TeamTable", "default_teams", "normalize_name"]

_DIGIT_SUFFIX = re.compile(r"^([a-z]{2,})\d+$")
_NOT_ALNUM = re.compile(r"[^a-z0-9 ]+")
_NOISE = frozenset({"fc", "afc", "cf", "the", "sc"})

#: Confidence of a team resolution, by how it was made.
TABLE, DIGIT_STRIPPED, BY_NAME, IDENTICAL_CODE = Decimal(1), Decimal("0.95"), Decimal("0.95"), Decimal("0.9")


def normalize_name(text: str) -> str:
    """Lower-case ASCII words without punctuation or club noise ("FC", "AFC")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = _NOT_ALNUM.sub(" ", ascii_text.lower().replace("&", " and ").replace("'", "")).split()
    return " ".join(word for word in words if word not in _NOISE)


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _venue_codes(value: Mapping[str, Iterable[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((venue, tuple(codes)) for venue, codes in dict(value).items())


@attrs.frozen
class Team:
    """One team of one league; ``key`` is its canonical code (Kalshi's current code).

    ``codes`` maps a venue (exchange name) to every code it has used for the team, the
    current one first: ``Team("nfl", "LA", "Los Angeles Rams", codes={"polymarket": ("la", "lar")})``.
    """

    league: str
    key: str
    name: str
    nickname: str = ""
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    codes: tuple[tuple[str, tuple[str, ...]], ...] = attrs.field(factory=dict, converter=_venue_codes)

    def codes_on(self, venue: str) -> tuple[str, ...]:
        """The codes ``venue`` has used for this team (``()`` if it registered none)."""
        for name, codes in self.codes:
            if name == venue:
                return codes
        return ()

    def names(self) -> set[str]:
        """Every normalised name this team goes by."""
        return {normalize_name(n) for n in (self.name, self.nickname, *self.aliases) if n}


@attrs.frozen
class Resolved:
    """A venue code resolved to a canonical team, and how sure the resolution is."""

    team: str
    confidence: Decimal
    how: str


class TeamTable:
    """Per league: venue code -> canonical team, and normalised name -> canonical team.

    Refuses (``ValidationError``) a table in which one code or name names two teams
    of the same league: an ambiguous alias would pair the wrong teams.
    """

    def __init__(self, teams: Iterable[Team]) -> None:
        self._teams: dict[tuple[str, str], Team] = {}
        # Codes are compared case-insensitively (Kalshi writes "NYK", Polymarket "nyk").
        self._codes: dict[tuple[str, str, str], str] = {}
        self._names: dict[tuple[str, str], str] = {}
        self._venues: set[str] = set()
        # Answers already given (the table never changes): a scan asks about the same few
        # hundred codes and names tens of thousands of times.
        self._resolved: dict[tuple[str, str, str | None], Resolved] = {}
        self._named: dict[tuple[str, str], str | None] = {}
        for team in teams:
            self._teams[team.league, team.key] = team
            entries = [(venue, c.lower()) for venue, codes in team.codes for c in codes]
            entries += [
                ("any", c.lower()) for c in (team.key, *(c for _, codes in team.codes for c in codes))
            ]
            self._venues.update(venue for venue, _ in team.codes)
            for venue, code in entries:
                self._add(self._codes, (team.league, venue, code), team.key, f"code {code!r}")
            for name in team.names():
                self._add(self._names, (team.league, name), team.key, f"name {name!r}")
        # Kalshi names US teams by city ("Houston"): the full name without the nickname is an
        # alias when no other team of the league shares the city ("Los Angeles" is two teams).
        cities: dict[tuple[str, str], set[str]] = defaultdict(set)
        for team in self._teams.values():
            nick = normalize_name(team.nickname)
            for full in team.names():
                if nick and full.endswith(" " + nick):
                    cities[team.league, full[: -len(nick) - 1]].add(team.key)
        for (league, city), keys in cities.items():
            if len(keys) == 1 and (league, city) not in self._names:
                self._names[league, city] = next(iter(keys))

    @staticmethod
    def _add(index: dict[Any, str], key: tuple[str, ...], team: str, what: str) -> None:
        if index.setdefault(key, team) != team:
            raise ValidationError(f"{key[0]}: {what} names both {index[key]} and {team}")

    @classmethod
    def from_json(cls, data: Mapping[str, Any], namings: Iterable[VenueNaming] = ()) -> TeamTable:
        """Build from the ``teams.json`` shape ``{"leagues": {league: [{"team", "name", ...}]}}`` and
        each venue's codes for those teams (a code for a team the file does not list is refused)."""
        codes: dict[tuple[str, str], dict[str, tuple[str, ...]]] = defaultdict(dict)
        for naming in namings:
            for league, named in naming.teams.items():
                for key, venue_codes in named.items():
                    codes[league, key][naming.exchange] = venue_codes
        teams = []
        for league, rows in data["leagues"].items():
            for row in rows:
                teams.append(
                    Team(
                        league=league,
                        key=row["team"],
                        name=row["name"],
                        nickname=row.get("nickname", ""),
                        aliases=row.get("aliases", ()),
                        codes=codes.pop((league, row["team"]), {}),
                    )
                )
        if codes:
            unknown = ", ".join(f"{league} {key}" for league, key in sorted(codes))
            raise ValidationError(f"venue codes for teams the table does not list: {unknown}")
        return cls(teams)

    def team(self, league: str, key: str) -> Team | None:
        """The table's entry for a canonical team, if it has one."""
        return self._teams.get((league, key))

    def resolve(self, league: str, code: str, exchange: str | None = None) -> Resolved:
        """The canonical team for a venue's code.

        Tries the venue's own codes, then any venue's, then (Polymarket's
        disambiguation suffix, ``rma1``) the code without trailing digits; a code the
        table does not know stays itself, upper-cased, at lower confidence (both
        venues use the same code for most teams).
        """
        asked = (league, code, exchange)
        known = self._resolved.get(asked)
        if known is None:
            if len(self._resolved) > 10_000:
                self._resolved.clear()
            known = self._resolved[asked] = self._resolve(league, code, exchange)
        return known

    def _resolve(self, league: str, code: str, exchange: str | None) -> Resolved:
        venue = exchange if exchange in self._venues else "any"
        wanted = code.lower()
        for key, how in (((league, venue, wanted), "table"), ((league, "any", wanted), "table")):
            found = self._codes.get(key)
            if found is not None:
                return Resolved(found, TABLE, how)
        stripped = _DIGIT_SUFFIX.match(code.lower())
        if stripped:
            found = self._codes.get((league, "any", stripped.group(1)))
            return Resolved(found or stripped.group(1).upper(), DIGIT_STRIPPED, "digit suffix")
        return Resolved(code.upper(), IDENTICAL_CODE, "identical code")

    def resolve_name(self, league: str, name: str) -> str | None:
        """The canonical team a display name ("LA Lakers", "Chelsea FC") means, if unambiguous."""
        asked = (league, name)
        if asked in self._named:
            return self._named[asked]
        if len(self._named) > 10_000:
            self._named.clear()
        found = self._named[asked] = self._names.get((league, normalize_name(name)))
        return found


_last: tuple[int, TeamTable] | None = None


def default_teams() -> TeamTable:
    """The alias table: the core's team names and every installed venue's codes for them.

    Built once per set of registered venue namings (:func:`arbkit.plugins.venue_namings`),
    and looked up again only after a plugin changed (adapters call this per market).
    """
    global _last
    version = plugins_version()
    last = _last
    if last is not None and last[0] == version:
        return last[1]
    table = _table(tuple(venue_namings().values()))
    _last = (version, table)
    return table


@functools.cache
def _core_teams() -> Mapping[str, Any]:
    text = resources.files("arbkit.data").joinpath("teams.json").read_text(encoding="utf-8")
    data: Mapping[str, Any] = json.loads(text)
    return data


@functools.lru_cache(maxsize=8)
def _table(namings: tuple[VenueNaming, ...]) -> TeamTable:
    return TeamTable.from_json(_core_teams(), namings)
