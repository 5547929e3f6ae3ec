"""Build matching Kalshi and Polymarket sandbox scenarios from one list of sports games.

Each :class:`Game` is priced once (fair probabilities per outcome) and rendered in each
venue's own scenario format, with tickers, slugs and titles written as the venues write
them (reference sports.md), so arbkit's real sports matcher pairs them:

* Kalshi: event ``{SERIES}-{YY}{MON}{DD}[HHMM]{TEAM1}{TEAM2}``, one market per team
  (``-{CODE}``) plus ``-TIE`` for soccer; US leagues write away then home, soccer home
  then away; MLB carries the first pitch in US Eastern (``HHMM``).
* Polymarket: 2-way US games are one moneyline market whose slug is the event slug
  ``{prefix}-{away}-{home}-{YYYY-MM-DD}`` with the two nicknames as outcomes; a soccer
  match is an event of three Yes/No markets ``{event}-{home}``, ``{event}-draw``,
  ``{event}-{away}``.

A game with ``edge > 0`` is priced apart on the two venues so that buying the complete
set across them costs less than $1 after fees; ``edge == 0`` prices both venues around
the same fair value (the spread makes the set cost more than $1: no arbitrage).

>>> games = generated_games(500)                 # 500 matched pairs, for benchmarks
>>> kalshi, polymarket = kalshi_scenario(games), polymarket_scenario(games)
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from arbkit.sports import LEAGUES

__all__ = [
    "TEAMS",
    "Game",
    "book_updates",
    "demo_games",
    "generated_games",
    "kalshi_scenario",
    "polymarket_scenario",
    "resolutions",
]

CENT = Decimal("0.01")
LOW, HIGH = Decimal("0.02"), Decimal("0.98")
#: Half the bid/ask spread each venue quotes around its own fair price.
SPREAD = Decimal("0.01")
#: Contracts at the best level and at the level behind it (two cents worse).
DEPTH = (Decimal(150), Decimal(400))
EASTERN = ZoneInfo("America/New_York")

#: ``(code, Kalshi city name, Polymarket nickname / club name)`` per league. Only teams whose
#: code is the same on both venues (reference sports.md section 2), so no alias is needed.
TEAMS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "nba": (
        ("ATL", "Atlanta", "Hawks"),
        ("BOS", "Boston", "Celtics"),
        ("CHI", "Chicago", "Bulls"),
        ("CLE", "Cleveland", "Cavaliers"),
        ("DAL", "Dallas", "Mavericks"),
        ("DEN", "Denver", "Nuggets"),
        ("HOU", "Houston", "Rockets"),
        ("MIA", "Miami", "Heat"),
        ("MIL", "Milwaukee", "Bucks"),
        ("NYK", "New York", "Knicks"),
        ("OKC", "Oklahoma City", "Thunder"),
        ("PHI", "Philadelphia", "76ers"),
        ("PHX", "Phoenix", "Suns"),
        ("SAS", "San Antonio", "Spurs"),
        ("TOR", "Toronto", "Raptors"),
        ("UTA", "Utah", "Jazz"),
    ),
    "nfl": (
        ("BAL", "Baltimore", "Ravens"),
        ("BUF", "Buffalo", "Bills"),
        ("CHI", "Chicago", "Bears"),
        ("CIN", "Cincinnati", "Bengals"),
        ("DAL", "Dallas", "Cowboys"),
        ("DEN", "Denver", "Broncos"),
        ("DET", "Detroit", "Lions"),
        ("MIA", "Miami", "Dolphins"),
        ("PHI", "Philadelphia", "Eagles"),
        ("PIT", "Pittsburgh", "Steelers"),
        ("SEA", "Seattle", "Seahawks"),
        ("NYG", "New York G", "Giants"),
    ),
    "mlb": (
        ("BOS", "Boston", "Red Sox"),
        ("NYY", "New York Y", "Yankees"),
        ("TEX", "Texas", "Rangers"),
        ("HOU", "Houston", "Astros"),
        ("SEA", "Seattle", "Mariners"),
        ("LAD", "Los Angeles D", "Dodgers"),
        ("ATL", "Atlanta", "Braves"),
        ("CHC", "Chicago C", "Cubs"),
        ("PHI", "Philadelphia", "Phillies"),
        ("TOR", "Toronto", "Blue Jays"),
        ("MIL", "Milwaukee", "Brewers"),
        ("DET", "Detroit", "Tigers"),
    ),
    "nhl": (
        ("BOS", "Boston", "Bruins"),
        ("TOR", "Toronto", "Maple Leafs"),
        ("EDM", "Edmonton", "Oilers"),
        ("DAL", "Dallas", "Stars"),
        ("COL", "Colorado", "Avalanche"),
        ("NYR", "New York R", "Rangers"),
        ("CAR", "Carolina", "Hurricanes"),
        ("VAN", "Vancouver", "Canucks"),
        ("MIN", "Minnesota", "Wild"),
        ("PIT", "Pittsburgh", "Penguins"),
        ("SEA", "Seattle", "Kraken"),
        ("DET", "Detroit", "Red Wings"),
    ),
    "epl": (
        ("ARS", "Arsenal", "Arsenal FC"),
        ("EVE", "Everton", "Everton FC"),
        ("FUL", "Fulham", "Fulham FC"),
        ("MUN", "Manchester United", "Manchester United FC"),
        ("NEW", "Newcastle", "Newcastle United FC"),
        ("TOT", "Tottenham", "Tottenham Hotspur FC"),
        ("BRE", "Brentford", "Brentford FC"),
        ("CRY", "Crystal Palace", "Crystal Palace FC"),
    ),
}

_SERIES_TITLES = {
    "nba": "Professional Basketball Game",
    "nfl": "Professional Football Game",
    "mlb": "Professional Baseball Game",
    "nhl": "Professional Hockey Game",
    "epl": "English Premier League Game",
}
_POLY_TAGS = {"nba": "745", "nfl": "450", "mlb": "100381", "nhl": "899", "epl": "306"}


def _team(league: str, code: str) -> tuple[str, str, str]:
    for team in TEAMS[league]:
        if team[0] == code:
            return team
    raise KeyError(f"no {league} team {code}")


def _probabilities(value: Iterable[Any]) -> tuple[Decimal, ...]:
    return tuple(Decimal(str(v)) for v in value)


@attrs.frozen
class Game:
    """One game listed on both venues.

    ``probabilities`` are the fair chances of (away, home) for US leagues and of
    (home, draw, away) for soccer; ``edge`` is how far apart (in dollars per contract)
    the venues price it, applied from ``edge_from`` seconds after the scenario starts;
    ``winner`` indexes ``outcomes``; ``resolve_after`` is when (seconds after the start)
    the driver resolves it on both venues, ``None`` for never.
    """

    league: str = attrs.field(validator=attrs.validators.in_(tuple(TEAMS)))
    away: str
    home: str
    start: datetime
    probabilities: tuple[Decimal, ...] = attrs.field(converter=_probabilities)
    edge: Decimal = attrs.field(default=Decimal(0), converter=Decimal)
    edge_from: float = 0.0
    resolve_after: float | None = None
    winner: int = 0

    @property
    def three_way(self) -> bool:
        """Soccer: home, draw and away are three outcomes."""
        return LEAGUES[self.league].three_way

    @property
    def codes(self) -> tuple[str, ...]:
        """Outcome codes in price order: (away, home), or (home, ``TIE``, away) for soccer."""
        return (self.home, "TIE", self.away) if self.three_way else (self.away, self.home)

    @property
    def first_second(self) -> tuple[str, str]:
        """The two teams in the order both venues write them (soccer home first, else away first)."""
        return (self.home, self.away) if self.three_way else (self.away, self.home)

    @property
    def event_ticker(self) -> str:
        """Kalshi's event ticker; the date is the game's date in US Eastern (sports.md section 3)."""
        local = self.start.astimezone(EASTERN)
        clock = f"{local:%H%M}" if self.league == "mlb" else ""
        first, second = self.first_second
        return f"{LEAGUES[self.league].kalshi_series}-{local:%y%b%d}{clock}{first}{second}".upper()

    @property
    def slug(self) -> str:
        """Polymarket's event slug (the UTC date; sports.md section 3 says it is not reliably so)."""
        first, second = self.first_second
        day = self.start.astimezone(UTC).date().isoformat()
        return f"{LEAGUES[self.league].poly_prefix}-{first.lower()}-{second.lower()}-{day}"

    @property
    def title(self) -> str:
        """How Polymarket titles the game ("Hawks vs. Celtics")."""
        first, second = self.first_second
        return f"{_team(self.league, first)[2]} vs. {_team(self.league, second)[2]}"

    def prices(self, venue: str, elapsed: float = 0.0, drift: Sequence[Decimal] = ()) -> tuple[Decimal, ...]:
        """The venue's fair price of each outcome at ``elapsed`` seconds (sums to 1).

        Kalshi is priced ``edge/2`` under fair on the first outcome, Polymarket ``edge/2``
        over, so the first outcome bought on Kalshi and the rest on Polymarket cost
        ``1 - edge`` plus the spreads. ``drift`` moves the fair prices (both venues alike).
        """
        base = [p + (drift[i] if i < len(drift) else Decimal(0)) for i, p in enumerate(self.probabilities)]
        edge = self.edge if elapsed >= self.edge_from else Decimal(0)
        sign = -1 if venue == "kalshi" else 1
        rest = len(base) - 1
        shifted = [base[0] + sign * edge / 2] + [p - sign * edge / 2 / rest for p in base[1:]]
        clipped = [min(max(p, LOW + SPREAD), HIGH - SPREAD) for p in shifted]
        return tuple(p.quantize(CENT, rounding=ROUND_HALF_EVEN) for p in clipped)


def _book(price: Decimal) -> tuple[list[list[str]], list[list[str]]]:
    """(bids, asks) around ``price``: ``SPREAD`` each side, a deeper level two cents behind."""
    bids = [[str(price - SPREAD), str(DEPTH[0])], [str(price - SPREAD - 2 * CENT), str(DEPTH[1])]]
    asks = [[str(price + SPREAD), str(DEPTH[0])], [str(price + SPREAD + 2 * CENT), str(DEPTH[1])]]
    return [b for b in bids if Decimal(b[0]) >= CENT], [a for a in asks if Decimal(a[0]) <= 1 - CENT]


def _kalshi_book(price: Decimal) -> dict[str, Any]:
    """Kalshi quotes bids only: a NO bid at q is a YES ask at 1 - q (kalshi.md)."""
    bids, asks = _book(price)
    return {"yes_bids": bids, "no_bids": [[str(1 - Decimal(p)), s] for p, s in asks]}


def _token(*parts: str) -> str:
    """A deterministic decimal token id, shaped like Polymarket's (77 digits)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return str(int.from_bytes(digest, "big"))[:77]


def _condition(*parts: str) -> str:
    return "0x" + hashlib.sha256("/".join(("condition", *parts)).encode()).hexdigest()


def kalshi_scenario(games: Sequence[Game], *, elapsed: float = 0.0) -> dict[str, Any]:
    """The Kalshi sandbox scenario (format: :mod:`arbkit_kalshi.sandbox`) of ``games``."""
    leagues = sorted({g.league for g in games})
    series = [
        {
            "ticker": LEAGUES[lg].kalshi_series,
            "title": _SERIES_TITLES[lg],
            "fee_type": "quadratic_with_maker_fees" if lg == "nba" else "quadratic",
            "fee_multiplier": 1,
        }
        for lg in leagues
    ]
    events = []
    for game in games:
        first, second = (_team(game.league, c)[1] for c in game.first_second)
        joiner = "vs" if game.three_way else "at"
        close = (game.start + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
        markets = []
        for code, price in zip(game.codes, game.prices("kalshi", elapsed), strict=True):
            name = "Tie" if code == "TIE" else _team(game.league, code)[1]
            markets.append(
                {
                    "ticker": f"{game.event_ticker}-{code}",
                    "title": f"{first} {joiner} {second} Winner?",
                    "yes_sub_title": name,
                    "no_sub_title": name,
                    "close_time": close,
                    "rules_primary": f"If {name} {'is the result' if code == 'TIE' else 'wins'}, Yes.",
                    **_kalshi_book(price),
                }
            )
        events.append(
            {
                "event_ticker": game.event_ticker,
                "series_ticker": LEAGUES[game.league].kalshi_series,
                "title": f"{first} {joiner} {second}",
                "sub_title": f"{game.start.astimezone(EASTERN):%b %d}",
                "mutually_exclusive": True,
                "markets": markets,
            }
        )
    return {"series": series, "events": events}


def _poly_markets(game: Game, elapsed: float) -> list[dict[str, Any]]:
    prices = game.prices("polymarket", elapsed)
    common = {
        "tick_size": "0.01",
        "min_order_size": "5",
        "fees": {"rate": "0.03", "exponent": 1},
        "sportsMarketType": "moneyline",
        "gameStartTime": game.start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00"),
        "endDate": (game.start + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if not game.three_way:
        bids, asks = _book(prices[0])
        names = [_team(game.league, c)[2] for c in game.codes]
        return [
            {
                "condition_id": _condition(game.slug),
                "question": game.title,
                "slug": game.slug,
                "outcomes": names,
                "token_ids": [_token(game.slug, c) for c in game.codes],
                "neg_risk": False,
                "book": {"bids": bids, "asks": asks},
                **common,
            }
        ]
    markets = []
    home, away = (_team(game.league, c)[2] for c in game.first_second)
    for code, price in zip(game.codes, prices, strict=True):
        suffix = "draw" if code == "TIE" else code.lower()
        slug = f"{game.slug}-{suffix}"
        question = (
            f"Will {home} vs. {away} end in a draw?"
            if code == "TIE"
            else f"Will {_team(game.league, code)[2]} win on {game.start.astimezone(UTC):%Y-%m-%d}?"
        )
        bids, asks = _book(price)
        markets.append(
            {
                "condition_id": _condition(slug),
                "question": question,
                "slug": slug,
                "outcomes": ["Yes", "No"],
                "token_ids": [_token(slug, "yes"), _token(slug, "no")],
                # Soccer events are likely a negRisk group (sports.md 1.3: UNCERTAIN).
                "neg_risk": True,
                "book": {"bids": bids, "asks": asks},
                **common,
            }
        )
    return markets


def polymarket_scenario(games: Sequence[Game], *, elapsed: float = 0.0) -> dict[str, Any]:
    """The Polymarket sandbox scenario (format: :mod:`arbkit_polymarket.sandbox`) of ``games``."""
    events = []
    for index, game in enumerate(games):
        events.append(
            {
                "id": str(90000 + index),
                "slug": game.slug,
                "title": game.title,
                "tags": [{"id": _POLY_TAGS[game.league], "slug": LEAGUES[game.league].poly_prefix}],
                "negRisk": game.three_way,
                "markets": _poly_markets(game, elapsed),
            }
        )
    return {"events": events}


def book_updates(
    games: Sequence[Game], elapsed: float, drifts: Sequence[Sequence[Decimal]] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Control-API bodies that move every game's books to their prices at ``elapsed``.

    Returns ``(kalshi, polymarket)`` lists of ``POST /_sandbox/book`` bodies.
    """
    kalshi: list[dict[str, Any]] = []
    polymarket: list[dict[str, Any]] = []
    for i, game in enumerate(games):
        drift = drifts[i] if drifts is not None else ()
        for code, price in zip(game.codes, game.prices("kalshi", elapsed, drift), strict=True):
            kalshi.append({"ticker": f"{game.event_ticker}-{code}", **_kalshi_book(price)})
        for market, price in zip(
            _poly_markets(game, elapsed), _poly_prices(game, elapsed, drift), strict=False
        ):
            bids, asks = _book(price)
            polymarket.append({"condition_id": market["condition_id"], "bids": bids, "asks": asks})
    return kalshi, polymarket


def _poly_prices(game: Game, elapsed: float, drift: Sequence[Decimal]) -> tuple[Decimal, ...]:
    prices = game.prices("polymarket", elapsed, drift)
    return prices if game.three_way else prices[:1]


def resolutions(game: Game) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``POST /_sandbox/resolve`` bodies settling ``game`` with its winner on both venues."""
    kalshi = [
        {"ticker": f"{game.event_ticker}-{code}", "result": "yes" if i == game.winner else "no"}
        for i, code in enumerate(game.codes)
    ]
    polymarket = []
    for i, market in enumerate(_poly_markets(game, 0.0)):
        tokens = market["token_ids"]
        # A soccer market's Yes token wins only in the winner's market; a 2-way market names the team.
        winner = (tokens[0] if i == game.winner else tokens[1]) if game.three_way else tokens[game.winner]
        polymarket.append({"condition_id": market["condition_id"], "winner": winner})
    return kalshi, polymarket


def demo_games(now: datetime | None = None) -> list[Game]:
    """The bundled demo: ten games tonight, five with arbitrage (one a 3-way EPL match).

    Two arbitrage games resolve about two and three minutes in, the soccer match at four;
    one edge opens only after a minute, so new opportunities keep appearing.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    tonight = now.replace(hour=23, minute=30, second=0, microsecond=0)
    if tonight < now + timedelta(hours=1):
        tonight += timedelta(days=1)
    later = tonight + timedelta(minutes=30)
    return [
        Game("nba", "NYK", "HOU", tonight, ("0.45", "0.55"), edge="0.08", resolve_after=100, winner=1),
        Game("nfl", "BUF", "MIA", later, ("0.60", "0.40"), edge="0.07", resolve_after=160, winner=0),
        Game("epl", "EVE", "ARS", tonight, ("0.55", "0.25", "0.20"), edge="0.09", resolve_after=220),
        Game("mlb", "BOS", "NYY", tonight, ("0.48", "0.52"), edge="0.08", edge_from=60, resolve_after=300),
        Game("nhl", "EDM", "DAL", later, ("0.52", "0.48"), edge="0.06"),
        Game("nba", "BOS", "MIL", later, ("0.58", "0.42")),
        Game("nba", "DEN", "PHX", tonight, ("0.63", "0.37"), resolve_after=130, winner=0),
        Game("nfl", "DAL", "PHI", tonight, ("0.41", "0.59")),
        Game("mlb", "SEA", "TEX", later, ("0.50", "0.50")),
        Game("nhl", "TOR", "BOS", tonight, ("0.47", "0.53")),
    ]


def generated_games(
    count: int, *, seed: int = 7, start: datetime | None = None, arbitrage_share: float = 0.3
) -> list[Game]:
    """``count`` distinct games across NBA/NFL/MLB/NHL and EPL, ``arbitrage_share`` of them priced apart.

    Deterministic for a ``seed``. Games of the same league are spread over days three
    apart, so the same two teams never meet within the matcher's one-day tolerance.
    """
    rng = random.Random(seed)  # noqa: S311 -- demo prices, not secrets
    base = (start or datetime(2026, 4, 1, 23, 0, tzinfo=UTC)).astimezone(UTC)
    per_day = {league: len(teams) // 2 for league, teams in TEAMS.items()}
    leagues = list(TEAMS)
    games: list[Game] = []
    slot = 0
    while len(games) < count:
        league = leagues[slot % len(leagues)]
        round_no, index = divmod(slot // len(leagues), max(per_day.values()))
        slot += 1
        if index >= per_day[league]:
            continue
        teams = [t[0] for t in TEAMS[league]]
        rotation = round_no % (len(teams) - 1)
        order = [teams[0], *(teams[1:][rotation:] + teams[1:][:rotation])]
        first, second = order[index], order[-1 - index]
        day = base + timedelta(days=3 * round_no, minutes=5 * index)
        arbitrage = rng.random() < arbitrage_share
        if LEAGUES[league].three_way:
            home_p = Decimal(rng.randint(30, 55)) / 100
            draw_p = Decimal(rng.randint(20, 30)) / 100
            probs: tuple[Decimal, ...] = (home_p, draw_p, 1 - home_p - draw_p)
            home, away = first, second
        else:
            away_p = Decimal(rng.randint(30, 70)) / 100
            probs = (away_p, 1 - away_p)
            away, home = first, second
        # A 3-way set crosses three spreads and pays three fees: it needs a wider edge to clear 1% ROI.
        low = 9 if len(probs) == 3 else 6
        edge = Decimal(rng.randint(low, low + 4)) / 100 if arbitrage else Decimal(0)
        games.append(Game(league, away, home, day, probs, edge=edge, winner=rng.randrange(len(probs))))
    return games
