"""The sports matcher: the same game on two venues, outcomes mapped by team, never by position.

Adapters describe each game market with a :class:`~arbkit.sports.GameInfo` in
``market.meta[GAME_META_KEY]``; this module never parses a ticker or slug. It

1. groups each venue's markets into games (Kalshi lists one yes/no market per team,
   plus ``TIE`` in soccer; Polymarket one two-token market per US game, or three
   Yes/No markets per soccer game), resolving every team code to a canonical team
   through the alias table (:mod:`arbkit.matching.teams`);
2. indexes one venue's games by ``(league, {team, team})`` and looks the other's up,
   keeping candidates on the same date within a day (venues date games in different
   time zones, sports reference section 3) and, when both give a start time, within
   the policy's start window (stale slug dates of postponed games are ignored then);
3. refuses what cannot be paired safely: two candidates for one game (a doubleheader
   without start times), a 2-way game against a 3-way one (cup games), differing
   doubleheader numbers;
4. maps outcomes by canonical team: a Polymarket token for the Lakers pairs with
   Kalshi's ``…-LAL`` YES and, in a game without draws, with ``…-BOS`` NO.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

import attrs

from arbkit.matching.model import MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.matching.resolution import DEFAULT_POLICY, Difference, ResolutionPolicy, compare
from arbkit.matching.teams import TeamTable, default_teams
from arbkit.models import Market
from arbkit.sports import DRAW, GAME_META_KEY, LEAGUES, GameInfo

__all__ = ["Game", "games", "match_games"]

DATE_ONLY = Decimal("0.95")


@attrs.define
class Game:
    """One game on one venue: its canonical teams and, per outcome, the contracts paying on it."""

    exchange: str
    league: str
    key: str
    teams: frozenset[str]
    home: str | None = None
    away: str | None = None
    day: date | None = None
    start_time: datetime | None = None
    game_number: int | None = None
    confidence: Decimal = Decimal(1)
    markets: list[Market] = attrs.Factory(list)
    refs: dict[str, list[OutcomeRef]] = attrs.Factory(dict)
    names: dict[str, str] = attrs.Factory(dict)
    broken: str | None = None

    @property
    def three_way(self) -> bool:
        """True when the venue lists a draw outcome for the game."""
        return DRAW in self.refs


def _info(market: Market) -> GameInfo | None:
    info = market.meta.get(GAME_META_KEY)
    return info if isinstance(info, GameInfo) and info.market_type == "moneyline" else None


def games(markets: Iterable[Market], table: TeamTable | None = None) -> list[Game]:
    """One venue's moneyline markets grouped into games, with outcomes mapped to canonical teams."""
    table = table or default_teams()
    found: dict[tuple[str, str], Game] = {}
    seen: set[str] = set()
    for market in markets:
        info = _info(market)
        if info is None or market.id in seen:  # a market listed twice (overlapping pages) counts once
            continue
        seen.add(market.id)
        canonical: dict[str, str] = {}
        confidence = Decimal(1)
        for code in info.teams:
            resolved = table.resolve(info.league, code, market.exchange)
            team, sure = resolved.team, resolved.confidence
            name = info.team_names.get(code)
            by_name = table.resolve_name(info.league, name) if name else None
            if by_name is not None and by_name != team:
                if resolved.how == "table":  # the code and the venue's name disagree: trust neither
                    team, sure = "", Decimal(0)
                else:
                    team, sure = by_name, Decimal("0.95")
            canonical[code] = team
            confidence = min(confidence, sure)
        key = (info.league, info.game_key)
        game = found.get(key)
        if game is None:
            game = found[key] = Game(
                exchange=market.exchange,
                league=info.league,
                key=info.game_key,
                teams=frozenset(canonical.values()),
                home=canonical.get(info.home or ""),
                away=canonical.get(info.away or ""),
                day=info.date or (info.start_time.date() if info.start_time else None),
                start_time=info.start_time,
                game_number=info.game_number,
            )
        _add_market(game, market, info, canonical, confidence)
    return [game for game in found.values() if _complete(game)]


def _add_market(
    game: Game, market: Market, info: GameInfo, canonical: Mapping[str, str], sure: Decimal
) -> None:
    teams = frozenset(canonical.values())
    if len(teams) != 2 or "" in teams or (game.teams and teams != game.teams):
        game.broken = f"{market.id}: teams {sorted(teams)} do not identify one game"
        return
    game.confidence = min(game.confidence, sure)
    game.start_time = game.start_time or info.start_time
    game.markets.append(market)
    for code in info.teams:
        game.names.setdefault(canonical[code], info.team_names.get(code, canonical[code]))
    mapped = set()
    for outcome_id, code in info.outcome_teams.items():
        outcome = DRAW if code == DRAW else canonical.get(code)
        if outcome is None:
            game.broken = f"{market.id}: outcome {outcome_id!r} names {code!r}, not a team of the game"
            return
        game.refs.setdefault(outcome, []).append(OutcomeRef(market, outcome_id))
        mapped.add(outcome_id)
    # In a game that cannot be drawn, a per-team market's NO pays exactly when the other team wins.
    rest = [o.id for o in market.outcomes if o.id not in mapped]
    named = [canonical[c] for c in info.outcome_teams.values() if c != DRAW]
    if (
        not LEAGUES[info.league].three_way
        and len(market.outcomes) == 2
        and len(rest) == 1
        and len(named) == 1
    ):
        (other,) = teams - {named[0]}
        game.refs.setdefault(other, []).append(OutcomeRef(market, rest[0]))


def _complete(game: Game) -> bool:
    if game.broken is not None:
        return False
    wanted = set(game.teams) | ({DRAW} if LEAGUES[game.league].three_way else set())
    return set(game.refs) == wanted or (set(game.refs) == set(game.teams) | {DRAW})


def _same_game(a: Game, b: Game, policy: ResolutionPolicy) -> Decimal | None:
    """The timing confidence that ``a`` and ``b`` are one game, or ``None`` if they are not."""
    if a.three_way != b.three_way:
        return None  # a 2-way cup game never pairs with a 3-way one
    if a.game_number is not None and b.game_number is not None and a.game_number != b.game_number:
        return None
    if a.start_time is not None and b.start_time is not None:
        return Decimal(1) if abs(a.start_time - b.start_time) <= policy.max_start_gap else None
    if a.day is None or b.day is None or abs((a.day - b.day).days) > 1:
        return None
    return DATE_ONLY


def match_games(
    markets_by_exchange: Mapping[str, Sequence[Market]],
    *,
    policy: ResolutionPolicy = DEFAULT_POLICY,
    table: TeamTable | None = None,
    exclude: frozenset[tuple[str, str]] = frozenset(),
) -> list[MarketMatch]:
    """Sports matches between every pair of venues, ambiguous candidates dropped.

    ``exclude`` holds ``(exchange, market_id)`` of markets already matched (explicit pairs).
    """
    table = table or default_teams()
    by_venue = {
        exchange: games((m for m in markets if (m.exchange, m.id) not in exclude), table)
        for exchange, markets in sorted(markets_by_exchange.items())
    }
    venues = list(by_venue)
    matches = []
    for i, venue_a in enumerate(venues):
        for venue_b in venues[i + 1 :]:
            matches.extend(_match_venues(by_venue[venue_a], by_venue[venue_b], policy))
    return matches


def _match_venues(
    games_a: Sequence[Game], games_b: Sequence[Game], policy: ResolutionPolicy
) -> list[MarketMatch]:
    index: dict[tuple[str, frozenset[str]], list[Game]] = defaultdict(list)
    for game in games_b:
        index[game.league, game.teams].append(game)
    candidates: list[tuple[Game, Game, Decimal]] = []
    for game in games_a:
        for other in index.get((game.league, game.teams), ()):
            timing = _same_game(game, other, policy)
            if timing is not None:
                candidates.append((game, other, timing))
    count_a: dict[int, int] = defaultdict(int)
    count_b: dict[int, int] = defaultdict(int)
    for a, b, _ in candidates:
        count_a[id(a)] += 1
        count_b[id(b)] += 1
    return [
        _build(a, b, timing, policy)
        for a, b, timing in candidates
        if count_a[id(a)] == 1 and count_b[id(b)] == 1  # two candidates: a doubleheader we cannot tell apart
    ]


def _build(a: Game, b: Game, timing: Decimal, policy: ResolutionPolicy) -> MarketMatch:
    order = [t for t in (a.away or b.away, a.home or b.home) if t] or sorted(a.teams)
    order += sorted(a.teams - set(order))
    if a.three_way:
        order.append(DRAW)
    groups = [OutcomeGroup(name, [*a.refs[name], *b.refs[name]]) for name in order]
    differences = compare([(a.exchange, a.markets), (b.exchange, b.markets)], policy=policy, sports=True)
    if a.home and b.home and a.home != b.home:
        differences.append(
            Difference("home_away", f"{a.exchange} has {a.home} at home, {b.exchange} has {b.home}")
        )
    names = [a.names.get(t, t) for t in order if t != DRAW]
    title = f"{LEAGUES[a.league].name}: {' vs '.join(names)}" + (f" ({a.day:%Y-%m-%d})" if a.day else "")
    return MarketMatch(
        method="sports",
        groups=groups,
        confidence=min(a.confidence, b.confidence) * timing,
        title=title,
        differences=[str(d) for d in differences],
        refusals=policy.refusals(differences),
    )
