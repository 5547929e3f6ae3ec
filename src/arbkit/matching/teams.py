"""The team alias table: each venue's team codes and names, per league, mapped to one canonical team.

The table ships as data (``arbkit/data/teams.json``, transcribed from the project's
sports reference, section 2). Each league lists teams keyed by their current Kalshi
code, with the codes each venue has used (Kalshi ``LA`` / ``LAR`` for the Rams,
Polymarket ``la`` / ``lar``), the full name, nickname and other aliases. Lookups are
per league because codes collide across leagues (``LA`` is the Rams in the NFL and
the Kings in the NHL).

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
from typing import Any

import attrs

from arbkit.errors import ValidationError

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


@attrs.frozen
class Team:
    """One team of one league; ``key`` is its canonical code (Kalshi's current code)."""

    league: str
    key: str
    name: str
    nickname: str = ""
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    kalshi: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    polymarket: tuple[str, ...] = attrs.field(default=(), converter=_strings)

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
        self._codes: dict[tuple[str, str, str], str] = {}
        self._names: dict[tuple[str, str], str] = {}
        # Answers already given (the table never changes): a scan asks about the same few
        # hundred codes and names tens of thousands of times.
        self._resolved: dict[tuple[str, str, str | None], Resolved] = {}
        self._named: dict[tuple[str, str], str | None] = {}
        for team in teams:
            self._teams[team.league, team.key] = team
            entries = [("kalshi", c.upper()) for c in (team.key, *team.kalshi)]
            entries += [("polymarket", c.lower()) for c in team.polymarket]
            entries += [("any", c.lower()) for c in (team.key, *team.kalshi, *team.polymarket)]
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
    def from_json(cls, data: Mapping[str, Any]) -> TeamTable:
        """Build from the ``teams.json`` shape: ``{"leagues": {league: [{"team", "name", ...}]}}``."""
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
                        kalshi=row.get("kalshi", ()),
                        polymarket=row.get("polymarket", ()),
                    )
                )
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
        venue = exchange if exchange in ("kalshi", "polymarket") else "any"
        wanted = code.upper() if venue == "kalshi" else code.lower()
        for key, how in (((league, venue, wanted), "table"), ((league, "any", code.lower()), "table")):
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


@functools.cache
def default_teams() -> TeamTable:
    """The alias table shipped with arbkit (loaded once)."""
    text = resources.files("arbkit.data").joinpath("teams.json").read_text(encoding="utf-8")
    return TeamTable.from_json(json.loads(text))
