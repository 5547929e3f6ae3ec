"""Polymarket sports markets -> :class:`arbkit.games.GameInfo` (reference sports.md §1.1, §1.3, §3).

Slugs read ``{prefix}-{team1}-{team2}-{YYYY-MM-DD}[-suffix]``:

* US leagues write away then home, soccer home then away (:attr:`League.home_first`);
* a 2-way moneyline market (slug = event slug) has the two team names as outcomes: a token
  is mapped to a team code only when its **label** spells that slug code (``Rutgers`` ->
  ``rutg``), never by position or title order (sports.md §4.2, issue 14); every label is
  passed on in ``outcome_names`` for the matcher to check against team names;
* a soccer per-outcome market ``{event}-{code}`` / ``{event}-draw`` maps its Yes token by
  the slug suffix, and the team its question names ("Will Chelsea FC win on ...?") goes
  to ``outcome_names`` as a second, independent signal;
* spreads (``-spread-home-1pt5``: the line is on the home team, listed first) and totals
  (``-total-2pt5``: ``Over`` / ``Under``) carry ``line`` from the market's ``line`` field.

The slug date is the venue's (not reliably UTC, sports.md §3); ``start_time`` is
``gameStartTime`` / ``eventStartTime``, else the event's ``startTime``, in UTC;
``endDate`` (the game's start on real sports markets, issue 18) is never read as a game time.
Markets whose slug prefix is no known league get no GameInfo. The slug prefixes
(:data:`PREFIXES`) and team codes (``data/teams.json``) are this adapter's: :func:`naming`
registers them with the core (``arbkit_register_leagues``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

from arbkit.engine.matching import default_teams
from arbkit.errors import ArbkitError
from arbkit.games import DRAW, LEAGUES, OVER, UNDER, GameInfo, League, VenueNaming
from arbkit.models import Market

__all__ = ["PREFIXES", "game_info", "league_of_prefix", "naming"]

EXCHANGE = "polymarket"
#: Per core league: Polymarket's slug prefix (the sports reference's league table).
PREFIXES: Mapping[str, str] = {
    "nba": "nba",
    "wnba": "wnba",
    "nfl": "nfl",
    "mlb": "mlb",
    "nhl": "nhl",
    "ncaaf": "cfb",
    "ncaab": "cbb",
    "mls": "mls",
    "epl": "epl",
    "laliga": "lal",
    "bundesliga": "bun",
    "seriea": "sea",
    "ligue1": "fl1",
    "ucl": "ucl",
    "uel": "uel",
    "efl": "elc",
}
_LEAGUE_OF_PREFIX = {prefix: league for league, prefix in PREFIXES.items()}


def league_of_prefix(prefix: str) -> League | None:
    """The league whose slug prefix is ``prefix`` (``cfb`` -> NCAA Football)."""
    key = _LEAGUE_OF_PREFIX.get(prefix.lower())
    return None if key is None else LEAGUES[key]


@functools.cache
def naming() -> VenueNaming:
    """Polymarket's names for the core's leagues (slug prefixes) and teams (``data/teams.json``)."""
    text = resources.files("arbkit_polymarket").joinpath("data/teams.json").read_text(encoding="utf-8")
    teams = json.loads(text)["leagues"]
    return VenueNaming(EXCHANGE, {league: (prefix,) for league, prefix in PREFIXES.items()}, teams)


_SLUG = re.compile(r"^([a-z0-9]+)-([a-z0-9]+)-([a-z0-9]+)-(\d{4}-\d{2}-\d{2})(?:-(.+))?$")
_WORD = re.compile(r"[a-z0-9]+")
_YES_NO = {"yes", "no"}


def _words(name: str) -> set[str]:
    return set(_WORD.findall(name.lower()))


def _code_score(label: str, code: str) -> int:
    """How strongly an outcome label spells a slug code: 2 exact, 1 a prefix, 0 not at all.

    Only the label and the code count: the title's team order is not a signal (a title
    "Illinois vs. Rutgers" over slug ``cbb-rutg-ill-...`` and outcomes ["Rutgers", "Illinois"]
    is real, issue 14). The matcher cross-checks the result against team names.
    """
    label_l = label.lower().strip()
    compact = re.sub(r"[^a-z0-9]", "", label_l)
    initials = "".join(w[0] for w in _WORD.findall(label_l))
    if compact == code or initials == code or code in _words(label_l):
        return 2
    if len(code) >= 3 and (compact.startswith(code) or any(w.startswith(code) for w in _words(label_l))):
        return 1
    return 0


def _map_labels(labels: list[str], teams: tuple[str, str], league: str) -> dict[int, str] | None:
    """Outcome index -> team code, from each label alone; ``None`` when the labels do not decide.

    A label decides when it spells one slug code (``Rutgers`` -> ``rutg``) or names one
    team of the alias table; the last label may follow by elimination. Labels naming the
    same team, or neither team, give ``None``: never guess which token is which team.
    """
    table = default_teams()
    by_code = {table.resolve(league, code, "polymarket").team: code for code in teams}
    mapping: dict[int, str] = {}
    for index, label in enumerate(labels):
        scores = [_code_score(label, code) for code in teams]
        if scores[0] != scores[1]:
            mapping[index] = teams[0] if scores[0] > scores[1] else teams[1]
            continue
        named = table.resolve_name(league, label)
        if named in by_code:
            mapping[index] = by_code[named]
    if len(mapping) == 1 and len(labels) == 2:
        (index, code), other = next(iter(mapping.items())), 1 - next(iter(mapping))
        mapping[other] = teams[1] if code == teams[0] else teams[0]
    if len(mapping) != len(labels) or len(set(mapping.values())) != len(labels):
        return None
    return mapping


# "Will Chelsea FC win on 2026-04-12?" / "Will Fulham FC vs. Manchester United FC end in a draw?"
_WIN_QUESTION = re.compile(r"^\s*will\s+(.+?)\s+win\b", re.IGNORECASE)
_DRAW_QUESTION = re.compile(r"\bdraw\b|\btie\b", re.IGNORECASE)


def _question_subject(question: str) -> str:
    """Who a per-outcome soccer market's question says it pays on: a team name, ``draw`` or ""."""
    if _DRAW_QUESTION.search(question):
        return DRAW
    found = _WIN_QUESTION.match(question)
    return found.group(1).strip() if found else ""


def _line(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None


def _start(market: Market, event: Mapping[str, Any]) -> datetime | None:
    """The scheduled start: ``gameStartTime`` / ``eventStartTime``, else the event's ``startTime``."""
    if market.start_time is not None:
        return market.start_time
    raw = event.get("startTime")
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


#: One ``date`` per ISO day text: the markets of a scan fall on a few hundred days.
_DAYS: dict[str, date] = {}


def _iso_day(text: str) -> date:
    """``date.fromisoformat(text)``, one shared object per text (``ValueError`` as it raises)."""
    found = _DAYS.get(text)
    if found is None:
        if len(_DAYS) > 10_000:
            _DAYS.clear()
        found = _DAYS[text] = date.fromisoformat(text)
    return found


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return _iso_day(value[:10])
    except ValueError:
        return None


def _side_name(event: Mapping[str, Any], market: Market, key: str) -> str | None:
    # Field names of Gamma's home/away team fields are not in the reference (UNCERTAIN):
    # read them when present, as an extra signal only.
    value = event.get(key) or market.meta.get(key)
    return str(value) if isinstance(value, str) and value else None


def game_info(market: Market, event: Mapping[str, Any] | None = None) -> GameInfo | None:
    """The game a Polymarket market is on, or ``None`` for a non-sports or unreadable market."""
    slug = str(market.meta.get("slug") or "")
    match = _SLUG.match(slug)
    if match is None:
        return None
    prefix, team1, team2, day, suffix = match.groups()
    league = league_of_prefix(prefix)
    if league is None:
        return None
    try:
        game_date = _iso_day(day)
    except ValueError:
        return None
    event = event or {}
    teams = (team1, team2)
    home, away = (team1, team2) if league.home_first else (team2, team1)
    labels = [o.name for o in market.outcomes]
    yes_no = {label.lower() for label in labels} <= _YES_NO
    outcome_teams: dict[str, str] = {}
    outcome_names: dict[str, str] = {}
    market_type = "other"
    team_names: dict[str, str] = {}
    line_team: str | None = None
    line = _line(market.meta.get("line"))
    if suffix is None and not yes_no and len(labels) == 2:
        market_type = "moneyline"
        mapping = _map_labels(labels, teams, league.key)
        if mapping is None:
            return None  # never guess which token is which team
        outcome_teams = {market.outcomes[i].id: code for i, code in mapping.items()}
        team_names = {code: labels[i] for i, code in mapping.items()}
        outcome_names = {o.id: o.name for o in market.outcomes}
    elif suffix is not None and yes_no and suffix in (team1, team2, "draw"):
        market_type = "moneyline"
        yes = next(o for o in market.outcomes if o.name.lower() == "yes")
        outcome_teams = {yes.id: DRAW if suffix == "draw" else suffix}
        subject = _question_subject(market.title)
        if subject:
            outcome_names = {yes.id: subject}
    elif suffix is not None and suffix.startswith("spread-") and not yes_no and len(labels) == 2:
        market_type = "spread"
        mapping = _map_labels(labels, teams, league.key) or {}
        outcome_teams = {market.outcomes[i].id: code for i, code in mapping.items()}
        outcome_names = {o.id: o.name for o in market.outcomes}
        # {event}-spread-home-{N}pt5 / -spread-away-: the line is on that team, listed first (sports.md 1.1).
        side = suffix.split("-")[1] if suffix.count("-") >= 2 else ""
        line_team = home if side == "home" else away if side == "away" else mapping.get(0)
    elif suffix is not None and suffix.startswith("total-") and len(labels) == 2:
        market_type = "total"
        sides = {label.lower(): o.id for label, o in zip(labels, market.outcomes, strict=True)}
        if set(sides) == {"over", "under"}:
            outcome_teams = {sides["over"]: OVER, sides["under"]: UNDER}
            outcome_names = {o.id: o.name for o in market.outcomes}
    try:
        return GameInfo(
            league=league.key,
            game_key=f"{prefix}-{team1}-{team2}-{day}",
            teams=teams,
            outcome_teams=outcome_teams,
            market_type=market_type,
            home=home,
            away=away,
            team_names=team_names,
            date=game_date,
            start_time=_start(market, event),
            line=line,
            line_team=line_team,
            outcome_names=outcome_names,
            scheduled_date=_day(event.get("eventDate") or market.meta.get("eventDate")),
            home_name=_side_name(event, market, "homeTeamName"),
            away_name=_side_name(event, market, "awayTeamName"),
        )
    except ArbkitError:
        return None
