"""Kalshi sports tickers -> :class:`arbkit.games.GameInfo` (reference: sports.md 0, 1.2, 1.3, 3).

A game series (``KXNBAGAME``, ``KXEPLGAME``, ...) has one event per game and one binary
market per outcome::

    event   {SERIES}-{YY}{MON}{DD}[{HHMM}]{TEAMS}[G1|G2]     KXMLBGAME-26JUL292210SEALAD
    market  {event}-{CODE}                                  KXMLBGAME-26JUL292210SEALAD-SEA

The glued team string is ambiguous (codes are 2-5 letters), so the codes are taken from
the market-ticker suffixes of the event's markets and located in the team string to get
their order. US leagues write away then home; soccer writes home then away
(:attr:`arbkit.games.League.home_first`). A ``TIE`` suffix is the draw outcome.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from arbkit.games import DRAW, LEAGUES, OVER, GameInfo, League, PairMap, VenueNaming

__all__ = [
    "SERIES",
    "TIE_SUFFIX",
    "game_info",
    "naming",
    "parse_event_ticker",
    "scheduled_date",
    "series_kind",
    "split_teams",
]

EXCHANGE = "kalshi"


def _series(game: str, *, lines: bool = True) -> tuple[str, str, str]:
    # sports.md 1.0: a league's spread and total series are {STEM}SPREAD / {STEM}TOTAL.
    stem = game.removesuffix("GAME")
    return (game, f"{stem}SPREAD", f"{stem}TOTAL") if lines else (game, "", "")


#: Per core league: Kalshi's game (moneyline) series, then its spread and total series ("" when
#: the reference lists none), from the league table of the sports reference.
SERIES: Mapping[str, tuple[str, str, str]] = {
    "nba": _series("KXNBAGAME"),
    "wnba": _series("KXWNBAGAME", lines=False),
    "nfl": _series("KXNFLGAME"),
    "mlb": _series("KXMLBGAME"),
    "nhl": _series("KXNHLGAME"),
    "ncaaf": _series("KXNCAAFGAME"),
    "ncaab": _series("KXNCAAMBGAME", lines=False),
    "mls": _series("KXMLSGAME", lines=False),
    "epl": _series("KXEPLGAME"),
    "laliga": _series("KXLALIGAGAME"),
    "bundesliga": _series("KXBUNDESLIGAGAME"),
    "seriea": _series("KXSERIEAGAME"),
    "ligue1": _series("KXLIGUE1GAME"),
    "ucl": _series("KXUCLGAME"),
    "uel": _series("KXUELGAME", lines=False),
    "efl": _series("KXEFLCHAMPIONSHIPGAME", lines=False),
}
_KINDS = ("moneyline", "spread", "total")
_SERIES_KIND: Mapping[str, tuple[str, str]] = {
    name: (league, kind)
    for league, names in SERIES.items()
    for name, kind in zip(names, _KINDS, strict=True)
    if name
}


def series_kind(series: str) -> tuple[League, str] | None:
    """``(league, market type)`` of a Kalshi game, spread or total series (``KXNBASPREAD`` -> NBA spread)."""
    found = _SERIES_KIND.get(series.upper())
    return None if found is None else (LEAGUES[found[0]], found[1])


@functools.cache
def naming() -> VenueNaming:
    """Kalshi's names for the core's leagues (its series) and teams (``data/teams.json``)."""
    text = resources.files("arbkit_kalshi").joinpath("data/teams.json").read_text(encoding="utf-8")
    teams = json.loads(text)["leagues"]
    leagues = {league: tuple(name for name in names if name) for league, names in SERIES.items()}
    return VenueNaming(EXCHANGE, leagues, teams)


TIE_SUFFIX = "TIE"
_EASTERN = ZoneInfo("America/New_York")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
# sports.md section 1.2: (\d{2})([A-Z]{3})(\d{2})(\d{4})?([A-Z]+)(G\d)?; the team part may
# contain a dash (KXNCAAFGAME-25DEC27M-OHFRES), which is kept and skipped when locating codes.
_TAIL = re.compile(r"^(\d{2})([A-Z]{3})(\d{2})(\d{4})?([A-Z0-9-]+?)(G[12])?$")
_LINE_SUFFIX = re.compile(r"^([A-Z]*?)(\d+)$")
# Rules text of game markets: "... the game originally scheduled for Jan 23, 2026 ..." (issue 18).
_SCHEDULED = re.compile(r"originally\s+scheduled\s+for\s+([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})")


def scheduled_date(rules: str) -> date | None:
    """The date in the rules' "originally scheduled for Jan 23, 2026", if they say it."""
    found = _SCHEDULED.search(rules or "")
    if found is None:
        return None
    month = _MONTHS.get(found.group(1)[:3].upper())
    try:
        return date(int(found.group(3)), month, int(found.group(2))) if month else None
    except ValueError:
        return None


def parse_event_ticker(event_ticker: str) -> tuple[date, time | None, str, int | None] | None:
    """``(date, HHMM or None, team string, game number or None)`` from a game event ticker.

    ``None`` when the ticker does not have the game shape.
    """
    _, _, tail = event_ticker.partition("-")
    match = _TAIL.match(tail.upper())
    if match is None:
        return None
    yy, mon, dd, hhmm, teams, game = match.groups()
    month = _MONTHS.get(mon)
    if month is None:
        return None
    try:
        day = date(2000 + int(yy), month, int(dd))
        clock = time(int(hhmm[:2]), int(hhmm[2:])) if hhmm else None
    except ValueError:
        return None
    return day, clock, teams, int(game[1]) if game else None


def split_teams(team_string: str, codes: Sequence[str]) -> tuple[str, ...] | None:
    """Order the known team ``codes`` as they appear in ``team_string``.

    With one code known the other is what remains of the string. ``None`` when the
    codes cannot be located unambiguously.
    """
    text = team_string.replace("-", "")
    known = [c for c in dict.fromkeys(codes) if c and c != TIE_SUFFIX]
    if len(known) >= 2:
        a, b = known[0], known[1]
        if text.endswith(a + b):
            return (a, b)
        if text.endswith(b + a):
            return (b, a)
        positions = {c: text.rfind(c) for c in (a, b)}
        if any(p < 0 for p in positions.values()) or positions[a] == positions[b]:
            return None
        return tuple(sorted((a, b), key=lambda c: positions[c]))
    if len(known) == 1:
        code = known[0]
        if text.endswith(code) and len(text) > len(code):
            return (text[: -len(code)], code)
        if text.startswith(code) and len(text) > len(code):
            return (code, text[len(code) :])
    return None


def _strike(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


#: One object per equal game fact: the markets of an event share their teams, names and dates,
#: and every market of a team maps ``yes`` to the same code, so 5,000 markets hold a few hundred
#: distinct ones (a copy each was ~2 MB of a scan's markets). Keyed by type and value (and a
#: datetime's tzinfo too: equal instants in other zones are not the same value).
_SHARED: dict[object, Any] = {}
_T = TypeVar("_T")


def _shared_pairs(pairs: tuple[tuple[str, str], ...]) -> PairMap:
    return _share(("pairs", pairs), lambda: PairMap(pairs))


def _shared(value: _T) -> _T:
    if value is None:
        return value
    return _share((type(value), value, getattr(value, "tzinfo", None)), lambda: value)


def _share(key: object, make: Callable[[], _T]) -> _T:
    found: _T | None = _SHARED.get(key)
    if found is None:
        if len(_SHARED) > 20_000:
            _SHARED.clear()
        found = _SHARED[key] = make()
    return found


def game_info(
    series_ticker: str | None,
    event_ticker: str,
    market_ticker: str,
    team_names: Mapping[str, str],
    *,
    expected_expiration: datetime | None = None,
    rules: str = "",
    floor_strike: object = None,
) -> GameInfo | None:
    """The :class:`GameInfo` of one market of a game, spread or total series, or ``None`` for anything else.

    ``team_names`` maps the suffix code of every market of the event to its
    ``yes_sub_title`` (including ``TIE`` for soccer draws). ``expected_expiration``
    (``expected_expiration_time``), ``rules`` and ``floor_strike`` are optional extras of the market.
    """
    if not series_ticker:
        series_ticker = event_ticker.partition("-")[0]
    kind = series_kind(series_ticker)
    if kind is None or not market_ticker.startswith(event_ticker + "-"):
        return None
    league, market_type = kind
    parsed = parse_event_ticker(event_ticker)
    if parsed is None:
        return None
    day, clock, team_string, game_number = parsed
    suffix = market_ticker[len(event_ticker) + 1 :].upper()
    line = line_team = None
    outcome: str = DRAW if suffix == TIE_SUFFIX else suffix
    codes = [suffix, *team_names]
    if market_type != "moneyline":
        found = _LINE_SUFFIX.match(suffix)
        if found is None or (market_type == "spread") != bool(found.group(1)):
            return None
        # {TEAM}{N}: wins by more than N - 0.5; {N}: more than N - 0.5 points in all (sports.md 1.2;
        # the mapping is UNCERTAIN there, so floor_strike wins when the venue sends it).
        points = _strike(floor_strike) or Decimal(found.group(2)) - Decimal("0.5")
        codes = [m.group(1) for c in codes if (m := _LINE_SUFFIX.match(c.upper())) and m.group(1)]
        if market_type == "spread":
            line_team, line, outcome = found.group(1), -points, found.group(1)
        else:
            line, outcome = points, OVER
    teams = split_teams(team_string, codes) if codes else None
    if market_type == "total" and teams is None:
        teams = ()  # a total names no team: the matcher takes the teams from the game's moneyline
    elif teams is None or len(teams) != 2:
        return None
    if market_type == "moneyline" and suffix != TIE_SUFFIX and suffix not in teams:
        return None
    if line_team is not None and line_team not in teams:
        return None
    first, second = teams if len(teams) == 2 else (None, None)
    home, away = (first, second) if league.home_first else (second, first)
    start_time = None
    if clock is not None:
        # MLB HHMM is the scheduled first pitch in US Eastern (sports.md 1.2: inferred, UNCERTAIN).
        start_time = datetime.combine(day, clock, tzinfo=_EASTERN).astimezone(UTC)
    names = {code: name for code, name in team_names.items() if code in teams and name}
    own_name = team_names.get(suffix, "")
    return GameInfo(
        league=league.key,
        # Line series share the moneyline event's date+teams tail: one key for the whole game.
        game_key=f"{SERIES[league.key][0]}-{event_ticker.partition('-')[2]}",
        teams=teams,
        outcome_teams=_shared_pairs((("yes", outcome),)),
        market_type=market_type,
        home=home,
        away=away,
        team_names=_shared_pairs(tuple(names.items())),
        date=_shared(day),
        start_time=_shared(start_time),
        game_number=game_number,
        line=line,
        line_team=line_team,
        outcome_names=_shared_pairs((("yes", own_name),) if own_name and market_type == "moneyline" else ()),
        expected_end=_shared(expected_expiration),
        scheduled_date=_shared(scheduled_date(rules)),
    )
