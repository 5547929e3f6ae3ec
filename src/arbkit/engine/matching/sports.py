"""The sports matcher: the same game on two venues, outcomes mapped by team, each confirmed twice.

Adapters describe each game market with a :class:`~arbkit.games.GameInfo` in
``market.game``; this module never parses a ticker or slug. It

1. groups each venue's markets into games (Kalshi lists one yes/no market per team,
   plus ``TIE`` in soccer; Polymarket one two-token market per US game, or three
   Yes/No markets per soccer game), resolving every team code and name to a canonical
   team through the alias table (:mod:`arbkit.engine.matching.teams`);
2. pairs games by ``(league, {team, team})`` and the **game time** each venue means:
   Kalshi's ticker date (US Eastern), MLB ``HHMM``, ``expected_expiration_time`` (3-6 h
   after the start) against Polymarket's ``gameStartTime``. Close times are never
   compared: Kalshi closes game markets two weeks after the game (room for a postponed
   game), Polymarket's ``endDate`` is the start itself;
3. confirms which contract pays on which team with **at least two independent signals**
   per contract: the venue's structure (a ticker or slug suffix), a label or question that
   spells the team's code, names in the alias table, the same name on both venues, the
   outcome order; a weak signal (order, elimination) never outweighs a strong one, and a
   strong contradiction (a label naming the other team) refuses the match;
4. refuses (returns with ``refusals``) what cannot be paired safely, and drops what is
   ambiguous: two candidates for one game, a 2-way game against a 3-way one (cup games);
5. in a game that cannot end level, a team market's NO pays exactly when the other team
   wins; where the sport can tie (soccer, NFL) a NO is never counted as the other team;
6. pairs spreads and totals of matched games where both venues list the same line: the
   same team, the same number, half-point lines (no push) on both.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs

from arbkit.engine.matching.model import MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.engine.matching.resolution import DEFAULT_POLICY, Difference, ResolutionPolicy, compare
from arbkit.engine.matching.teams import TeamTable, default_teams, normalize_name
from arbkit.games import DRAW, LEAGUES, OVER, UNDER, GameInfo, PairMap
from arbkit.models import Market

__all__ = ["Game", "games", "match_games"]

DATE_ONLY = Decimal("0.95")
#: Confidence of a team known by one signal only (a code neither in the table nor named alike).
ONE_SIGNAL = Decimal("0.9")
#: Signals that read the venue's own words or structure; order and elimination are weak.
STRONG = frozenset({"suffix", "code", "name", "same name"})
_EASTERN = ZoneInfo("America/New_York")
#: Kalshi's expected_expiration_time is about 3 h (MLB, soccer) to 6 h (NFL) after the start
#: (sports.md section 3): the start lies between these two offsets before it (UNCERTAIN).
EXPECTED_END_AFTER_START = (timedelta(hours=1), timedelta(hours=8))
#: A start window this narrow (a start time, or Kalshi's expected expiration) counts as a time.
NARROW_WINDOW = timedelta(hours=12)
_DRAW_WORDS = frozenset({"draw", "tie", "the draw"})
_NONE: frozenset[str] = frozenset()
#: One shared frozenset per set of signal words (and of how a team is known): a scan holds one
#: per contract and per team of every game, from a vocabulary of a few words.
_WORD_SETS: dict[frozenset[str], frozenset[str]] = {}


def _word_set(words: Iterable[str]) -> frozenset[str]:
    key = frozenset(words)
    found = _WORD_SETS.get(key)
    if found is None:
        if len(_WORD_SETS) > 4096:  # only signal and provenance words come here: never reached
            _WORD_SETS.clear()
        found = _WORD_SETS[key] = key
    return found


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
    expected_end: datetime | None = None
    scheduled_date: date | None = None
    game_number: int | None = None
    confidence: Decimal = Decimal(1)
    markets: list[Market] = attrs.Factory(list)
    refs: dict[str, list[OutcomeRef]] = attrs.Factory(dict)
    names: dict[str, str] = attrs.Factory(dict)
    #: book key -> (team, signals): who each primary contract pays on and what says so.
    claims: dict[tuple[str, str], tuple[str, frozenset[str]]] = attrs.Factory(dict)
    #: book key -> the venue's normalised words for what the contract pays on.
    words: dict[tuple[str, str], str] = attrs.Factory(dict)
    problems: list[str] = attrs.Factory(list)
    #: canonical team -> how this venue's codes and names tie it to the alias table.
    identity: dict[str, frozenset[str]] = attrs.Factory(dict)
    lines: list[tuple[Market, GameInfo]] = attrs.Factory(list)
    broken: str | None = None

    @property
    def three_way(self) -> bool:
        """True when the venue lists a draw outcome for the game."""
        return DRAW in self.refs

    def window(self) -> tuple[datetime, datetime] | None:
        """The interval the game's start lies in, from every time signal the venue gives."""
        if self.start_time is not None:
            return self.start_time, self.start_time
        low = high = None
        if self.day is not None:  # a venue date: any start on that day, US Eastern to UTC+14
            low = datetime.combine(self.day, time(0), tzinfo=UTC) - timedelta(hours=14)
            high = datetime.combine(self.day, time(0), tzinfo=_EASTERN) + timedelta(hours=24)
        if self.expected_end is not None:
            early, late = (
                self.expected_end - EXPECTED_END_AFTER_START[1],
                self.expected_end - EXPECTED_END_AFTER_START[0],
            )
            if low is None or high is None:
                low, high = early, late
            elif early <= high and late >= low:
                low, high = max(low, early), min(high, late)
        return (low, high) if low is not None and high is not None else None


def _info(market: Market) -> GameInfo | None:
    return market.game


def _code_spells(words: str, code: str) -> bool:
    """A label spells a venue code: exactly, as initials, as a word, or as a 3+ letter prefix."""
    compact = words.replace(" ", "")
    code = code.lower()
    parts = words.split()
    if compact == code or "".join(w[0] for w in parts if w) == code or code in parts:
        return True
    return len(code) >= 3 and any(w.startswith(code) for w in parts)


def _resolve_teams(
    info: GameInfo, exchange: str, table: TeamTable
) -> tuple[dict[str, str], Decimal, list[str], dict[str, set[str]]]:
    """Venue code -> canonical team, the weakest resolution's confidence, contradictions found,
    and per team how it is known: ``table`` (a listed code), ``name`` (a listed name),
    ``named`` (the venue gave a name the table does not know)."""
    canonical: dict[str, str] = {}
    confidence = Decimal(1)
    problems: list[str] = []
    known: dict[str, set[str]] = {}
    for code in info.teams:
        resolved = table.resolve(info.league, code, exchange)
        team, sure = resolved.team, resolved.confidence
        name = info.team_names.get(code)
        by_name = table.resolve_name(info.league, name) if name else None
        how = {"table"} if resolved.how == "table" else set()
        how |= {"name"} if by_name is not None else {"named"} if name else set()
        if by_name is not None and by_name != team:
            if resolved.how == "table":  # the code and the venue's name disagree: trust neither
                problems.append(f"{exchange} code {code!r} is {team} but its name {name!r} is {by_name}")
                team, sure = "", Decimal(0)
            else:
                team, sure = by_name, Decimal(1)
        elif by_name is not None:
            sure = Decimal(1)  # code and name agree: two signals
        canonical[code] = team
        known[team] = how
        confidence = min(confidence, sure)
    for side, side_name in (("home", info.home_name), ("away", info.away_name)):
        named = table.resolve_name(info.league, side_name) if side_name else None
        side_code = info.home if side == "home" else info.away
        if named is not None and side_code is not None and canonical.get(side_code) not in (named, ""):
            problems.append(
                f"{exchange} names {side_name!r} the {side} team, its codes say {canonical.get(side_code)}"
            )
    return canonical, confidence, problems, known


def _plain(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value.pairs()) if isinstance(value, PairMap) else dict(value)


def _claims(
    market: Market, info: GameInfo, canonical: Mapping[str, str], table: TeamTable
) -> tuple[dict[str, tuple[str, frozenset[str]]], dict[str, str], list[str]]:
    """Outcome id -> (team, signals) for the outcomes the venue says who they pay on."""
    outcome_names, outcome_teams = _plain(info.outcome_names), _plain(info.outcome_teams)
    teams = list(dict.fromkeys(canonical[c] for c in info.teams))
    codes = {canonical[c]: c for c in info.teams}
    votes: dict[str, dict[str, set[str]]] = {}

    def vote(outcome_id: str, team: str, signal: str) -> None:
        votes.setdefault(outcome_id, {}).setdefault(team, set()).add(signal)

    words: dict[str, str] = {}
    yes_no = {o.name.strip().casefold() for o in market.outcomes} <= {"yes", "no"} or {
        o.id.casefold() for o in market.outcomes
    } <= {"yes", "no"}
    labelled = [o for o in market.outcomes if o.id in outcome_names]
    for outcome_id, code in outcome_teams.items():
        team = code if code in (DRAW, OVER, UNDER) else canonical.get(code)
        if team is None:
            return {}, {}, [f"{market.id}: outcome {outcome_id!r} names {code!r}, not a team of the game"]
        # A Yes/No market's suffix is the venue's structure; a two-team market's mapping comes
        # from its labels, which are counted below, so it is not a signal of its own there.
        if yes_no or not labelled:
            vote(outcome_id, team, "suffix")
    for outcome in labelled:
        text = sys.intern(normalize_name(outcome_names[outcome.id]))  # a game's words: team names
        if not text:
            continue
        words[outcome.id] = text
        if text in _DRAW_WORDS:
            vote(outcome.id, DRAW, "name")
            continue
        if text in (OVER, UNDER):
            vote(outcome.id, text, "name")
            continue
        spelled = [t for t in teams if _code_spells(text, codes[t])]
        if len(spelled) == 1:
            vote(outcome.id, spelled[0], "code")
        by_name = table.resolve_name(info.league, text)
        if by_name is not None:
            vote(outcome.id, by_name, "name")
    if not yes_no and len(market.outcomes) == len(info.teams) == 2 and info.market_type == "moneyline":
        for outcome, code in zip(
            market.outcomes, info.teams, strict=True
        ):  # outcomes in the venue's team order
            vote(outcome.id, canonical[code], "order")
    claims: dict[str, tuple[str, frozenset[str]]] = {}
    problems: list[str] = []
    if not yes_no and labelled:  # the adapter read the labels too: it must agree with what they say
        for outcome_id, code in outcome_teams.items():
            said = {t for t, sig in votes.get(outcome_id, {}).items() if sig & STRONG}
            mapped = canonical.get(code, code)
            if said and mapped not in said:
                label = outcome_names.get(outcome_id, outcome_id)
                problems.append(
                    f"{market.exchange} maps outcome {label!r} of {market.id} to {mapped}, "
                    f"its label says {sorted(said)}"
                )
    for outcome_id, by_team in votes.items():
        strong = {t: s & STRONG for t, s in by_team.items() if s & STRONG}
        if len(strong) > 1:
            label = outcome_names.get(outcome_id, outcome_id)
            votes_text = "; ".join(f"{sorted(s)} say {t}" for t, s in sorted(strong.items()))
            problems.append(f"{market.exchange} outcome {label!r} of {market.id}: {votes_text}")
            # Kept where its own words put it, so the game stays whole and the match is returned
            # refused, with the reason (a dropped contract would hide the game without one).
            team = next((t for t, sig in sorted(strong.items()) if "suffix" not in sig), min(strong))
            claims[outcome_id] = (team, _word_set(by_team[team]))
            continue
        team = next(iter(strong)) if strong else max(by_team, key=lambda t: len(by_team[t]))
        claims[outcome_id] = (team, _word_set(by_team[team]))
    if len(market.outcomes) == 2 and not yes_no and len(claims) == 2:
        (a, (team_a, sig_a)), (b, (team_b, sig_b)) = claims.items()
        if team_a == team_b:
            problems.append(f"{market.exchange} {market.id}: both outcomes say {team_a}")
        else:  # the other outcome, by elimination, is a weak extra signal
            if sig_b & STRONG:
                claims[a] = (team_a, _word_set(sig_a | {"elimination"}))
            if sig_a & STRONG:
                claims[b] = (team_b, _word_set(sig_b | {"elimination"}))
    return claims, words, problems


def games(markets: Iterable[Market], table: TeamTable | None = None) -> list[Game]:
    """One venue's game markets grouped into games, with outcomes mapped to canonical teams."""
    table = table or default_teams()
    found: dict[tuple[str, str], Game] = {}
    lines: list[tuple[Market, GameInfo]] = []
    seen: set[str] = set()
    pairs: dict[frozenset[str], frozenset[str]] = {}  # one frozenset per pair of teams
    shared: dict[tuple[str, frozenset[str]], tuple[str, frozenset[str]]] = {}  # and per claim
    for market in markets:
        info = _info(market)
        if info is None or market.id in seen:  # a market listed twice (overlapping pages) counts once
            continue
        seen.add(market.id)
        if info.market_type in ("spread", "total"):
            lines.append((market, info))
            continue
        if info.market_type != "moneyline":
            continue
        canonical, confidence, problems, known = _resolve_teams(info, market.exchange, table)
        key = (info.league, info.game_key)
        game = found.get(key)
        if game is None:
            teams = frozenset(canonical.values())
            game = found[key] = Game(
                exchange=market.exchange,
                league=info.league,
                key=info.game_key,
                teams=pairs.setdefault(teams, teams),
                home=canonical.get(info.home or ""),
                away=canonical.get(info.away or ""),
                day=info.date or (info.start_time.date() if info.start_time else None),
                start_time=info.start_time,
                game_number=info.game_number,
            )
        game.problems.extend(problems)
        for team, how in known.items():
            game.identity[team] = _word_set(game.identity.get(team, _NONE) | how)
        game.expected_end = game.expected_end or info.expected_end
        game.scheduled_date = game.scheduled_date or info.scheduled_date
        _add_market(game, market, info, canonical, confidence, table, shared)
    for market, info in lines:
        game = found.get((info.league, info.game_key))
        if game is not None:
            game.lines.append((market, info))
    return [game for game in found.values() if _complete(game)]


def _add_market(
    game: Game,
    market: Market,
    info: GameInfo,
    canonical: Mapping[str, str],
    sure: Decimal,
    table: TeamTable,
    shared: dict[tuple[str, frozenset[str]], tuple[str, frozenset[str]]],
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
    claims, words, problems = _claims(market, info, canonical, table)
    game.problems.extend(problems)
    keys: dict[str, tuple[str, str]] = {}  # one book key per contract, shared by words and claims
    for outcome_id, text in words.items():
        key = keys[outcome_id] = (market.id, outcome_id)
        game.words[key] = text
    named: list[str] = []
    for outcome_id, claim in claims.items():
        team = claim[0]
        game.refs.setdefault(team, []).append(OutcomeRef(market, outcome_id))
        game.claims[keys.get(outcome_id) or (market.id, outcome_id)] = shared.setdefault(claim, claim)
        named.append(team)
    # In a game that cannot end level, a per-team market's NO pays exactly when the other team wins.
    rest = [o.id for o in market.outcomes if o.id not in claims]
    if (
        not LEAGUES[info.league].ties
        and len(market.outcomes) == 2
        and len(rest) == 1
        and len(named) == 1
        and named[0] in teams
    ):
        (other,) = teams - {named[0]}
        game.refs.setdefault(other, []).append(OutcomeRef(market, rest[0]))


def _complete(game: Game) -> bool:
    if game.broken is not None:
        return False
    wanted = set(game.teams) | ({DRAW} if LEAGUES[game.league].three_way else set())
    return set(game.refs) == wanted or (set(game.refs) == set(game.teams) | {DRAW})


_Window = tuple[datetime, datetime] | None


def _same_game(
    a: Game, b: Game, policy: ResolutionPolicy, windows: dict[int, _Window] | None = None
) -> Decimal | None:
    """The timing confidence that ``a`` and ``b`` are one game, or ``None`` if they are not.

    ``windows`` keeps each game's :meth:`Game.window` (by ``id``) for a caller comparing one
    game with several.
    """
    if a.three_way != b.three_way:
        return None  # a 2-way cup game never pairs with a 3-way one
    if a.game_number is not None and b.game_number is not None and a.game_number != b.game_number:
        return None
    if windows is None:
        window_a, window_b = a.window(), b.window()
    else:
        window_a = windows[id(a)] if id(a) in windows else windows.setdefault(id(a), a.window())
        window_b = windows[id(b)] if id(b) in windows else windows.setdefault(id(b), b.window())
    exact = (
        (a.start_time is not None)
        + (b.start_time is not None)
        + (a.expected_end is not None)
        + (b.expected_end is not None)
    )
    if window_a is not None and window_b is not None and exact:
        gap = max(window_a[0] - window_b[1], window_b[0] - window_a[1], timedelta(0))
        if gap > policy.max_start_gap:
            return None
        # A start inside the other venue's whole-day window is a date match, not a time match.
        narrow = all(w[1] - w[0] <= NARROW_WINDOW for w in (window_a, window_b))
        return Decimal(1) if narrow else DATE_ONLY
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
    """Sports matches (games, then their spreads and totals) between every pair of venues.

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
            matches.extend(_match_venues(by_venue[venue_a], by_venue[venue_b], policy, table))
    return matches


def _match_venues(
    games_a: Sequence[Game], games_b: Sequence[Game], policy: ResolutionPolicy, table: TeamTable
) -> list[MarketMatch]:
    index: dict[tuple[str, frozenset[str]], list[Game]] = defaultdict(list)
    for game in games_b:
        index[game.league, game.teams].append(game)
    candidates: list[tuple[Game, Game, Decimal]] = []
    windows: dict[int, _Window] = {}  # the games are alive, and not changed, until we return
    for game in games_a:
        for other in index.get((game.league, game.teams), ()):
            timing = _same_game(game, other, policy, windows)
            if timing is not None:
                candidates.append((game, other, timing))
    count_a: dict[int, int] = defaultdict(int)
    count_b: dict[int, int] = defaultdict(int)
    for a, b, _ in candidates:
        count_a[id(a)] += 1
        count_b[id(b)] += 1
    found = []
    for a, b, timing in candidates:
        if count_a[id(a)] == 1 and count_b[id(b)] == 1:  # two candidates: a doubleheader we cannot tell apart
            found.append(_build(a, b, timing, policy))
            found.extend(_lines(a, b, timing, policy, table))
    return found


def _order(a: Game, b: Game) -> list[str]:
    """The teams as the venues write the game: home first in soccer, away first in US leagues."""
    home, away = a.home or b.home, a.away or b.away
    pair = [home, away] if LEAGUES[a.league].home_first else [away, home]
    order = [t for t in pair if t]
    return order + sorted(a.teams - set(order))


def _orientation(a: Game, b: Game) -> list[str]:
    """Why the contracts' teams are not confirmed by two signals each ([] when they all are)."""
    problems = [*a.problems, *b.problems]
    for game, other in ((a, b), (b, a)):
        for key, (team, signals) in game.claims.items():
            text = game.words.get(key)
            extra = set(signals)
            if text:
                for other_key, (other_team, _) in other.claims.items():
                    if other.words.get(other_key) != text:
                        continue
                    if other_team == team:
                        extra.add("same name")
                    else:
                        problems.append(
                            f"{game.exchange} {key[1]!r} of {key[0]} is {team}, but {other.exchange} "
                            f"calls {other_team} {text!r}"
                        )
            if len(extra) >= 2 and extra & STRONG:
                continue
            if not text and extra == {"suffix"}:
                continue  # the venue gives no words to check: its structure is all there is
            label = f"{game.exchange} outcome {text or key[1]!r} of {key[0]}"
            problems.append(
                f"{label} -> {team} rests on {sorted(extra) or 'nothing'}: orientation unconfirmed"
            )
    return problems


def _identity(a: Game, b: Game) -> list[str]:
    """Teams both venues name, yet only an identical code ties together ([] when each is confirmed).

    A team is confirmed by the alias table (a listed code or name on either venue), or by the
    same name on both venues. When neither venue gives a name, the identical code is all
    there is and only lowers the confidence.
    """
    problems = []
    for team in sorted(a.teams):
        how = a.identity.get(team, _NONE) | b.identity.get(team, _NONE)
        if how & {"table", "name"} or "named" not in how:
            continue
        words_a = {a.words[k] for k, (t, _) in a.claims.items() if t == team and k in a.words}
        words_b = {b.words[k] for k, (t, _) in b.claims.items() if t == team and k in b.words}
        if words_a & words_b:
            continue
        problems.append(
            f"{team}: the venues name it {sorted(words_a) or '-'} and {sorted(words_b) or '-'}, "
            "no alias or shared name confirms the code: identity unconfirmed"
        )
    return problems


def _times(a: Game, b: Game) -> list[Difference]:
    """How each venue dates the game, as differences to weigh (never close times)."""
    found = []
    days = {game.exchange: game.scheduled_date for game in (a, b) if game.scheduled_date is not None}
    for game in (a, b):
        if game.scheduled_date is not None and game.day is not None and game.scheduled_date != game.day:
            found.append(
                Difference(
                    "schedule",
                    f"{game.exchange} names {game.day} but its rules say originally scheduled for "
                    f"{game.scheduled_date}",
                )
            )
    if len(days) == 2 and abs((a.scheduled_date - b.scheduled_date).days) > 1:  # type: ignore[operator]
        found.append(
            Difference(
                "schedule",
                f"scheduled dates differ: {a.exchange} {a.scheduled_date}, {b.exchange} {b.scheduled_date}",
            )
        )
    return found


def _build(a: Game, b: Game, timing: Decimal, policy: ResolutionPolicy) -> MarketMatch:
    order = _order(a, b)
    if a.three_way:
        order.append(DRAW)
    groups = [OutcomeGroup(name, [*a.refs[name], *b.refs[name]]) for name in order]
    differences = compare([(a.exchange, a.markets), (b.exchange, b.markets)], policy=policy, sports=True)
    differences += _times(a, b)
    if a.home and b.home and a.home != b.home:
        differences.append(
            Difference("home_away", f"{a.exchange} has {a.home} at home, {b.exchange} has {b.home}")
        )
    league = LEAGUES[a.league]
    if league.can_tie:
        differences.append(
            Difference("tie", f"a {league.name} game can end tied: neither team's contracts pay in full then")
        )
    # Orientation is not a policy choice: a contract paired with the wrong team loses both legs.
    refusals = (*policy.refusals(differences), *_orientation(a, b), *_identity(a, b))
    names = [a.names.get(t, t) for t in order if t != DRAW]
    title = f"{league.name}: {' vs '.join(names)}" + (f" ({a.day:%Y-%m-%d})" if a.day else "")
    return MarketMatch(
        method="sports",
        groups=groups,
        confidence=min(a.confidence, b.confidence) * timing,
        title=title,
        differences=[str(d) for d in differences],
        refusals=refusals,
    )


def _line_refs(
    market: Market, info: GameInfo, game: Game, table: TeamTable
) -> tuple[str, Decimal, str | None, dict[str, OutcomeRef], list[str]] | None:
    """(type, line on the named side, canonical line team, side -> contract, problems) of a line market."""
    if info.line is None:
        return None
    canonical = {code: table.resolve(info.league, code, market.exchange).team for code in info.teams}
    claims, _, problems = _claims(market, info, canonical, table) if info.teams else ({}, {}, [])
    if not info.teams:  # a total naming no team: the venue's Over/Under structure only
        claims = {
            oid: (side, frozenset({"suffix"}))
            for oid, side in info.outcome_teams.items()
            if side in (OVER, UNDER)
        }
    sides: dict[str, OutcomeRef] = {}
    if info.market_type == "total":
        sides = {side: OutcomeRef(market, oid) for oid, (side, _) in claims.items() if side in (OVER, UNDER)}
        _complement(sides, market, OVER, UNDER)
        return "total", info.line, None, sides, problems
    team = canonical.get(info.line_team or "")
    if team not in game.teams:
        return None
    (other_team,) = game.teams - {team}
    sides = {t: OutcomeRef(market, oid) for oid, (t, _) in claims.items() if t in game.teams}
    for oid, (t, signals) in claims.items():
        structural = signals == {"suffix"} and oid not in info.outcome_names
        if t in game.teams and len(signals) < 2 and not structural:
            problems.append(
                f"{market.exchange} spread outcome {oid!r} of {market.id} -> {t} rests on {sorted(signals)}"
            )
    _complement(sides, market, team, other_team)
    return "spread", info.line, team, sides, problems


def _complement(sides: dict[str, OutcomeRef], market: Market, first: str, second: str) -> None:
    """A yes/no line market names one side: its other outcome is the other side (lines cannot push)."""
    if len(sides) != 1 or len(market.outcomes) != 2:
        return
    ((side, ref),) = sides.items()
    other = next(o.id for o in market.outcomes if o.id != ref.outcome_id)
    sides[second if side == first else first] = OutcomeRef(market, other)


_Listed = tuple[Market, dict[str, OutcomeRef], list[str]]


def _lines(
    a: Game, b: Game, timing: Decimal, policy: ResolutionPolicy, table: TeamTable
) -> list[MarketMatch]:
    """Spreads and totals listed by both venues with the same team, number and push rule."""
    index: dict[tuple[str, str | None, Decimal], list[_Listed]] = defaultdict(list)
    for market, info in b.lines:
        read = _line_refs(market, info, b, table)
        if read is not None:
            kind, line, team, sides, problems = read
            index[kind, team, line].append((market, sides, problems))
    found = []
    league = LEAGUES[a.league]
    for market, info in a.lines:
        read = _line_refs(market, info, a, table)
        if read is None:
            continue
        kind, line, team, sides, problems = read
        partners = index.get((kind, team, line), [])
        if len(partners) != 1:
            continue  # no partner, or two listings of one line: do not guess
        other, other_sides, other_problems = partners[0]
        if kind == "total":
            names = [OVER, UNDER]
            title = f"{league.name}: {' vs '.join(a.names.get(t, t) for t in _order(a, b))} total {line}"
        else:
            assert team is not None
            (rival,) = a.teams - {team}
            names = [team, rival]
            title = f"{league.name}: {a.names.get(team, team)} {line:+} vs {a.names.get(rival, rival)}"
        if set(sides) != set(names) or set(other_sides) != set(names):
            continue
        groups = [OutcomeGroup(n, [sides[n], other_sides[n]]) for n in names]
        differences = compare([(a.exchange, [market]), (b.exchange, [other])], policy=policy, sports=True)
        refusals = [*policy.refusals(differences), *problems, *other_problems]
        if line == line.to_integral_value():
            refusals.append(f"line {line} is a whole number: a push settles differently on each venue")
        found.append(
            MarketMatch(
                method="sports",
                groups=groups,
                confidence=min(a.confidence, b.confidence) * timing,
                title=title + (f" ({a.day:%Y-%m-%d})" if a.day else ""),
                differences=[str(d) for d in differences],
                refusals=refusals,
            )
        )
    return found
