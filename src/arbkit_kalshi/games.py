"""Kalshi sports tickers -> :class:`arbkit.sports.GameInfo` (reference: sports.md sections 0, 1.2, 1.3, 3).

A game series (``KXNBAGAME``, ``KXEPLGAME``, ...) has one event per game and one binary
market per outcome::

    event   {SERIES}-{YY}{MON}{DD}[{HHMM}]{TEAMS}[G1|G2]     KXMLBGAME-26JUL292210SEALAD
    market  {event}-{CODE}                                  KXMLBGAME-26JUL292210SEALAD-SEA

The glued team string is ambiguous (codes are 2-5 letters), so the codes are taken from
the market-ticker suffixes of the event's markets and located in the team string to get
their order. US leagues write away then home; soccer writes home then away
(:attr:`arbkit.sports.League.home_first`). A ``TIE`` suffix is the draw outcome.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from arbkit.sports import DRAW, GameInfo, league_by_kalshi_series

__all__ = ["TIE_SUFFIX", "game_info", "parse_event_ticker", "split_teams"]

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


def game_info(
    series_ticker: str | None,
    event_ticker: str,
    market_ticker: str,
    team_names: Mapping[str, str],
) -> GameInfo | None:
    """The :class:`GameInfo` of one market of a game series, or ``None`` for anything else.

    ``team_names`` maps the suffix code of every market of the event to its
    ``yes_sub_title`` (including ``TIE`` for soccer draws).
    """
    if not series_ticker:
        series_ticker = event_ticker.partition("-")[0]
    league = league_by_kalshi_series(series_ticker)
    if league is None or not market_ticker.startswith(event_ticker + "-"):
        return None
    parsed = parse_event_ticker(event_ticker)
    if parsed is None:
        return None
    day, clock, team_string, game_number = parsed
    suffix = market_ticker[len(event_ticker) + 1 :].upper()
    teams = split_teams(team_string, [suffix, *team_names])
    if teams is None or len(teams) != 2:
        return None
    if suffix != TIE_SUFFIX and suffix not in teams:
        return None
    first, second = teams
    home, away = (first, second) if league.home_first else (second, first)
    start_time = None
    if clock is not None:
        # MLB HHMM is the scheduled first pitch in US Eastern (sports.md 1.2: inferred, UNCERTAIN).
        start_time = datetime.combine(day, clock, tzinfo=_EASTERN).astimezone(UTC)
    # Kalshi has no kickoff field: occurrence_datetime / expected_expiration_time are about
    # start + 3-6 h (sports.md section 3), so without HHMM the start stays unknown.
    return GameInfo(
        league=league.key,
        game_key=event_ticker,
        teams=teams,
        outcome_teams={"yes": DRAW if suffix == TIE_SUFFIX else suffix},
        market_type="moneyline",
        home=home,
        away=away,
        team_names={code: name for code, name in team_names.items() if code in teams and name},
        date=day,
        start_time=start_time,
        game_number=game_number,
    )
