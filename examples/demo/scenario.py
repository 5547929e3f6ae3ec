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

Times and rules are shaped like the real venues' (issue 18): a Kalshi game market closes
two weeks after the game (``close_time``, room for a postponed game), expects to expire
three hours after the start (``expected_expiration_time``) and its rules name the date
"originally scheduled for"; a Polymarket game's ``endDate`` is its start (``gameStartTime``,
the event's ``startTime`` / ``eventDate``). :func:`league_games` lists one game of every
league the matcher supports, including a title in the other order than the slug (seen on
real NCAA games) and a league without aliases whose orientation cannot be confirmed.

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
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from arbkit.games import LEAGUES
from arbkit_kalshi.games import SERIES
from arbkit_polymarket.games import PREFIXES

__all__ = [
    "TEAMS",
    "Game",
    "book_updates",
    "demo_games",
    "generated_games",
    "kalshi_scenario",
    "league_games",
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
#: code is the same on both venues (reference sports.md section 2), so no code alias is needed;
#: the names are the second signal the matcher confirms each team with.
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
    "ncaab": (
        ("RUTG", "Rutgers", "Rutgers"),
        ("ILL", "Illinois", "Illinois"),
        ("WIS", "Wisconsin", "Wisconsin"),
        ("MICH", "Michigan", "Michigan"),
    ),
    "laliga": (
        ("RMA", "Real Madrid", "Real Madrid CF"),
        ("BAR", "Barcelona", "FC Barcelona"),
        ("SEV", "Sevilla", "Sevilla FC"),
        ("GIR", "Girona", "Girona FC"),
    ),
    "seriea": (
        ("JUV", "Juventus", "Juventus FC"),
        ("NAP", "Napoli", "SSC Napoli"),
        ("ROM", "Roma", "AS Roma"),
        ("LAZ", "Lazio", "SS Lazio"),
    ),
    "ligue1": (
        ("PSG", "Paris Saint-Germain", "Paris Saint-Germain FC"),
        ("LIL", "Lille", "LOSC Lille"),
        ("ASM", "Monaco", "AS Monaco"),
        ("RCL", "Lens", "RC Lens"),
    ),
    # No alias table for the WNBA: Polymarket's labels spell its codes, but nothing confirms
    # Kalshi's city labels, so the matcher refuses these games (orientation unconfirmed).
    "wnba": (
        ("NY", "New York", "NY Liberty"),
        ("LV", "Las Vegas", "LV Aces"),
    ),
}

#: The leagues :func:`generated_games` draws from (the benchmark's mix).
GENERATED_LEAGUES = ("nba", "nfl", "mlb", "nhl", "epl")

_SERIES_TITLES = {
    "nba": "Professional Basketball Game",
    "nfl": "Professional Football Game",
    "mlb": "Professional Baseball Game",
    "nhl": "Professional Hockey Game",
    "epl": "English Premier League Game",
    "ncaab": "College Basketball Game",
    "laliga": "La Liga Game",
    "seriea": "Serie A Game",
    "ligue1": "Ligue 1 Game",
    "wnba": "WNBA Game",
}
# Gamma tag ids: sports.md 1.0 lists NBA/NFL/MLB/NHL; the others are UNCERTAIN placeholders.
_POLY_TAGS = {
    "nba": "745",
    "nfl": "450",
    "mlb": "100381",
    "nhl": "899",
    "epl": "306",
    "ncaab": "100149",
    "laliga": "780",
    "seriea": "101962",
    "ligue1": "102070",
    "wnba": "100254",
}
#: Kalshi keeps a game market open two weeks after the game (a postponed game is played
#: within them) and expects it over about three hours after the start (sports.md section 3).
KALSHI_CLOSE_AFTER = timedelta(days=14)
KALSHI_EXPECTED_AFTER = timedelta(hours=3)
# Rules wording is modelled on the venues' game rules; the exact texts are UNCERTAIN.
_KALSHI_RULES = (
    "If {subject} in the {league} game originally scheduled for {day:%b} {day.day}, {day.year}, "
    "the market resolves to Yes.{overtime} If the game is postponed, the market resolves on the "
    "rescheduled game if it is played within two weeks of the originally scheduled date."
)
_POLY_RULES = (
    "This market resolves to the team that wins the game{overtime}. If the game is postponed, this "
    "market will remain open until the game has been completed. If it is canceled entirely, with no "
    "make-up game, this market resolves 50-50."
)
_POLY_SOCCER_RULES = (
    "This market resolves on the result after 90 minutes plus stoppage time (regulation time "
    "only). If the game is postponed, this market will remain open until the game has been "
    "completed. If it is canceled entirely, this market resolves No."
)


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
    #: Polymarket titles the game in the other order than its slug (seen on NCAA games).
    reversed_title: bool = False

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
        return f"{SERIES[self.league][0]}-{local:%y%b%d}{clock}{first}{second}".upper()

    @property
    def slug(self) -> str:
        """Polymarket's event slug (the UTC date; sports.md section 3 says it is not reliably so)."""
        first, second = self.first_second
        day = self.start.astimezone(UTC).date().isoformat()
        return f"{PREFIXES[self.league]}-{first.lower()}-{second.lower()}-{day}"

    @property
    def title(self) -> str:
        """How Polymarket titles the game ("Hawks vs. Celtics"; soccer home first)."""
        first, second = self.first_second
        if self.reversed_title:
            first, second = second, first
        return f"{_team(self.league, first)[2]} vs. {_team(self.league, second)[2]}"

    @property
    def kalshi_day(self) -> date:
        """The game's date as Kalshi names it (US Eastern)."""
        return self.start.astimezone(EASTERN).date()

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


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
            "ticker": SERIES[lg][0],
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
        close = _iso(game.start + KALSHI_CLOSE_AFTER)
        expected = _iso(game.start + KALSHI_EXPECTED_AFTER)
        overtime = (
            " Only the result at the end of regulation time (90 minutes plus stoppage) counts."
            if LEAGUES[game.league].regulation_only
            else " Overtime counts."
        )
        markets = []
        for code, price in zip(game.codes, game.prices("kalshi", elapsed), strict=True):
            name = "Tie" if code == "TIE" else _team(game.league, code)[1]
            subject = "the match ends in a tie" if code == "TIE" else f"{name} wins"
            markets.append(
                {
                    "ticker": f"{game.event_ticker}-{code}",
                    "title": f"{first} {joiner} {second} Winner?",
                    "yes_sub_title": name,
                    "no_sub_title": name,
                    "close_time": close,
                    "latest_expiration_time": close,
                    "expected_expiration_time": expected,
                    "can_close_early": True,
                    "rules_primary": _KALSHI_RULES.format(
                        subject=subject,
                        league=LEAGUES[game.league].name,
                        day=game.kalshi_day,
                        overtime=overtime,
                    ),
                    **_kalshi_book(price),
                }
            )
        events.append(
            {
                "event_ticker": game.event_ticker,
                "series_ticker": SERIES[game.league][0],
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
        # Real sports markets end at the start; trading goes on live until resolution (issue 18).
        "endDate": _iso(game.start),
        "description": _POLY_SOCCER_RULES
        if game.three_way
        else _POLY_RULES.format(overtime=", including any overtime"),
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
                "groupItemTitle": f"Draw ({home} vs. {away})"
                if code == "TIE"
                else _team(game.league, code)[2],
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
                "startTime": _iso(game.start),
                "eventDate": game.start.astimezone(UTC).date().isoformat(),
                "endDate": _iso(game.start),
                "tags": [{"id": _POLY_TAGS[game.league], "slug": PREFIXES[game.league]}],
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
    """``count`` distinct games across :data:`GENERATED_LEAGUES`, ``arbitrage_share`` of them priced apart.

    Deterministic for a ``seed``. Games of the same league are spread over days three
    apart, so the same two teams never meet within the matcher's one-day tolerance.
    """
    rng = random.Random(seed)  # noqa: S311 -- demo prices, not secrets
    base = (start or datetime(2026, 4, 1, 23, 0, tzinfo=UTC)).astimezone(UTC)
    per_day = {league: len(TEAMS[league]) // 2 for league in GENERATED_LEAGUES}
    leagues = list(GENERATED_LEAGUES)
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


def league_games(now: datetime | None = None) -> list[Game]:
    """One game of every league in :data:`TEAMS`, all priced fair, spread over tomorrow.

    The NCAA game's Polymarket title lists the teams in the other order than its slug (as
    "Illinois vs. Rutgers" over ``cbb-rutg-ill-...`` did); the WNBA game is in a league
    without an alias table, which the matcher must refuse rather than guess.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    day = (now + timedelta(days=1)).replace(hour=17, minute=0, second=0, microsecond=0)
    fair_us, fair_soccer = ("0.45", "0.55"), ("0.45", "0.27", "0.28")
    games = []
    for n, league in enumerate(TEAMS):
        first, second = TEAMS[league][0][0], TEAMS[league][1][0]
        soccer = LEAGUES[league].three_way
        away, home = (second, first) if soccer else (first, second)
        start = day + timedelta(minutes=30 * n)
        games.append(
            Game(
                league,
                away,
                home,
                start,
                fair_soccer if soccer else fair_us,
                reversed_title=league == "ncaab",
            )
        )
    return games
