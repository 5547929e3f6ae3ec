"""Polymarket sports markets -> :class:`arbkit.sports.GameInfo` (reference sports.md §1.1, §1.3, §3).

Slugs read ``{prefix}-{team1}-{team2}-{YYYY-MM-DD}[-suffix]``:

* US leagues write away then home, soccer home then away (:attr:`League.home_first`);
* a 2-way moneyline market (slug = event slug) has the two team names as outcomes: both
  tokens are mapped to team codes by matching each outcome **label** to the title side
  or team code it names, never by position alone (sports.md §4.2: inverted YES/NO);
* a soccer per-outcome market ``{event}-{code}`` / ``{event}-draw`` maps only its Yes token;
* spreads (``-spread-home-1pt5``) and totals (``-total-2pt5``) carry ``line``.

The slug date is the venue's (not reliably UTC, sports.md §3); ``start_time`` is
``gameStartTime`` in UTC. Markets whose slug prefix is no known league get no GameInfo.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from arbkit.errors import ArbkitError
from arbkit.models import Market
from arbkit.sports import DRAW, GameInfo, league_by_poly_prefix

__all__ = ["game_info"]

_SLUG = re.compile(r"^([a-z0-9]+)-([a-z0-9]+)-([a-z0-9]+)-(\d{4}-\d{2}-\d{2})(?:-(.+))?$")
_WORD = re.compile(r"[a-z0-9]+")
_YES_NO = {"yes", "no"}


def _words(name: str) -> set[str]:
    return set(_WORD.findall(name.lower()))


def _score(label: str, side_name: str | None, code: str) -> int:
    """How strongly an outcome label names one team (title side name and slug code)."""
    label_l = label.lower().strip()
    score = 0
    if side_name is not None:
        side_l = side_name.lower().strip()
        if label_l == side_l:
            score += 100
        score += 10 * len(_words(label_l) & _words(side_l) - {"fc", "afc", "the", "cf", "sc"})
    compact = re.sub(r"[^a-z0-9]", "", label_l)
    initials = "".join(w[0] for w in _WORD.findall(label_l))
    if compact == code or initials == code or code in _words(label_l):
        score += 50
    elif compact.startswith(code):
        score += 5
    return score


def _map_labels(labels: list[str], teams: tuple[str, str], title: str) -> dict[int, str] | None:
    """Outcome index -> team code, or ``None`` when the labels do not name the teams unambiguously."""
    sides: list[str | None] = [None, None]
    parts = re.split(r"\s+vs\.?\s+|\s+@\s+|\s+at\s+", title.split(":")[-1].strip(), maxsplit=1)
    if len(parts) == 2:
        sides = [parts[0].strip(), parts[1].strip()]
    mapping: dict[int, str] = {}
    for index, label in enumerate(labels):
        scores = [_score(label, sides[i], teams[i]) for i in (0, 1)]
        if scores[0] == scores[1]:
            return None
        mapping[index] = teams[0] if scores[0] > scores[1] else teams[1]
    if len(set(mapping.values())) != len(labels):
        return None
    return mapping


def _line(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None


def game_info(market: Market, event: Mapping[str, Any] | None = None) -> GameInfo | None:
    """The game a Polymarket market is on, or ``None`` for a non-sports or unreadable market."""
    slug = str(market.meta.get("slug") or "")
    match = _SLUG.match(slug)
    if match is None:
        return None
    prefix, team1, team2, day, suffix = match.groups()
    league = league_by_poly_prefix(prefix)
    if league is None:
        return None
    try:
        game_date = date.fromisoformat(day)
    except ValueError:
        return None
    teams = (team1, team2)
    home, away = (team1, team2) if league.home_first else (team2, team1)
    labels = [o.name for o in market.outcomes]
    yes_no = {label.lower() for label in labels} <= _YES_NO
    title = str((event or {}).get("title") or market.title)
    outcome_teams: dict[str, str] = {}
    market_type = "other"
    team_names: dict[str, str] = {}
    if suffix is None and not yes_no and len(labels) == 2:
        market_type = "moneyline"
        mapping = _map_labels(labels, teams, title)
        if mapping is None:
            return None  # never guess which token is which team
        outcome_teams = {market.outcomes[i].id: code for i, code in mapping.items()}
        team_names = {code: labels[i] for i, code in mapping.items()}
    elif suffix is not None and yes_no and suffix in (team1, team2, "draw"):
        market_type = "moneyline"
        yes = next(o for o in market.outcomes if o.name.lower() == "yes")
        outcome_teams = {yes.id: DRAW if suffix == "draw" else suffix}
    elif suffix is not None and suffix.startswith("spread-"):
        market_type = "spread"
        mapping = _map_labels(labels, teams, title) if not yes_no and len(labels) == 2 else None
        outcome_teams = {market.outcomes[i].id: code for i, code in (mapping or {}).items()}
    elif suffix is not None and suffix.startswith("total-"):
        market_type = "total"
    start = market.start_time
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
            start_time=start,
            line=_line(market.meta.get("line")),
        )
    except ArbkitError:
        return None
