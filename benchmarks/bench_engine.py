"""Engine benchmarks: matching 5,000 x 5,000 markets, and detection per pair on 20-level books.

Each arbkit figure is printed next to a baseline measured in the same run:

* matching: a naive all-pairs loop comparing every Kalshi market with every Polymarket
  market (already resolved to canonical teams, so it only pays for the loop). It is
  measured on a slice of the Kalshi side and scaled up linearly, which the row says.
* generic proposals: all-pairs word-set Jaccard on a slice, scaled the same way.
* detection: the same depth walk in binary floats without the best-ask pre-check,
  the "obvious" way to write it (and inexact: it is the speed reference, not an
  alternative).

Run with ``python -m benchmarks.bench_engine``; :func:`run` returns the rows for a
combined ``make bench`` table. Targets (issue 6): matching < 1 s, detection < 20 us/pair.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from arbkit.engine.detect import find_opportunities
from arbkit.engine.fees import PowerFee, QuadraticFee
from arbkit.engine.matching import MarketMatch, OutcomeGroup, OutcomeRef, match_markets, proposals
from arbkit.engine.matching.generic import title_words
from arbkit.engine.matching.teams import default_teams
from arbkit.games import GameInfo
from arbkit.models import BookKey, Market, OrderBook, Outcome

SEED = 20260401
LEAGUE_TEAMS = {
    "nba": "ATL BKN BOS CHA CHI CLE DAL DEN DET GSW HOU IND LAC LAL MEM MIA MIL MIN NOP NYK OKC ORL PHI PHX "
    "POR SAC SAS TOR UTA WAS",
    "nhl": "ANA BOS BUF CGY CAR CHI COL CBJ DAL DET EDM FLA LA MIN MTL NSH NJ NYI NYR OTT PHI PIT SJ SEA STL "
    "TB TOR UTA VAN VGK WSH WPG",
    "mlb": "AZ ATH ATL BAL BOS CHC CIN CLE COL CWS DET HOU KC LAA LAD MIA MIL MIN NYM NYY PHI PIT SD SEA SF "
    "STL TB TEX TOR WSH",
}
KALSHI_FEE = QuadraticFee(rate=Decimal("0.07"))
POLY_FEE = PowerFee(rate=Decimal("0.03"), exponent=1)


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# -- matching -----------------------------------------------------------------------------------------


def _poly_code(league: str, code: str) -> str:
    team = default_teams().team(league, code)
    codes = team.codes_on("polymarket") if team else ()
    return (codes[-1] if codes else code).lower()


def sports_markets(games: int = 2500, rng: random.Random | None = None) -> tuple[list[Market], list[Market]]:
    """``2 * games`` Kalshi per-team markets and as many Polymarket moneylines, half on the same games."""
    rng = rng or random.Random(SEED)
    kalshi: list[Market] = []
    poly: list[Market] = []
    seen: set[tuple[str, str, str, date]] = set()
    slugs: set[str] = set()
    start = date(2026, 1, 1)
    while len(seen) < games * 2:
        league = rng.choice(list(LEAGUE_TEAMS))
        away, home = rng.sample(LEAGUE_TEAMS[league].split(), 2)
        day = start + timedelta(days=rng.randrange(365))
        if (league, away, home, day) in seen or (league, home, away, day) in seen:
            continue
        seen.add((league, away, home, day))
        n = len(seen)
        if n <= games:  # on both venues
            event = f"KX{league.upper()}GAME-{day:%y%b%d}{away}{home}".upper()
            for code in (away, home):
                info = GameInfo(
                    league=league,
                    game_key=event,
                    teams=(away, home),
                    away=away,
                    home=home,
                    outcome_teams={"yes": code},
                    date=day,
                )
                kalshi.append(
                    Market(
                        exchange="kalshi",
                        id=f"{event}-{code}",
                        title=f"{away} at {home}",
                        outcomes=[Outcome("yes", code), Outcome("no", code)],
                        status="open",
                        fees=KALSHI_FEE,
                        game=info,
                    )
                )
        pa, ph = _poly_code(league, away), _poly_code(league, home)
        slug = f"{league}-{pa}-{ph}-{day + timedelta(days=rng.choice((0, 0, 1))):%Y-%m-%d}"
        if slug in slugs:
            slug = f"{slug}-{n}"
        slugs.add(slug)
        info = GameInfo(
            league=league,
            game_key=slug,
            teams=(pa, ph),
            away=pa,
            home=ph,
            outcome_teams={f"{slug}-a": pa, f"{slug}-h": ph},
            date=day,
        )
        poly.append(
            Market(
                exchange="polymarket",
                id=slug,
                title=slug,
                outcomes=[Outcome(f"{slug}-a", pa), Outcome(f"{slug}-h", ph)],
                status="open",
                fees=POLY_FEE,
                game=info,
            )
        )
    return kalshi, poly[: games * 2]


def _naive_sports(kalshi: list[Market], poly: list[Market]) -> int:
    """All pairs: resolve once per market, then compare every Kalshi market with every Polymarket one."""
    table = default_teams()

    def key(m: Market) -> tuple[str, frozenset[str], date]:
        info = m.game
        assert info is not None
        teams = frozenset(table.resolve(info.league, c, m.exchange).team for c in info.teams)
        assert info.date is not None
        return info.league, teams, info.date

    keys_k = [key(m) for m in kalshi]
    keys_p = [key(m) for m in poly]
    found = 0
    for lk, tk, dk in keys_k:
        for lp, tp, dp in keys_p:
            if lk == lp and tk == tp and abs((dk - dp).days) <= 1:
                found += 1
    return found


SUBJECTS = [
    "Bitcoin",
    "Ethereum",
    "Solana",
    "Gold",
    "Oil",
    "the S&P 500",
    "Nasdaq",
    "Tesla",
    "Nvidia",
    "Apple",
    "the Fed",
    "CPI",
    "unemployment",
    "GDP",
    "Trump",
    "Newsom",
    "Macron",
    "Starmer",
    "Milei",
    "Modi",
]
VERBS = [
    "close above",
    "reach",
    "trade below",
    "hit",
    "end the year above",
    "announce",
    "exceed",
    "fall under",
]
PLACES = [
    "in January",
    "in February",
    "in March",
    "by June",
    "by July",
    "this week",
    "on Friday",
    "in Q3",
    "before the election",
    "after the summit",
    "in Europe",
    "in Asia",
    "worldwide",
    "in the US",
]


def generic_markets(count: int = 5000, rng: random.Random | None = None) -> tuple[list[Market], list[Market]]:
    """Yes/no questions per venue, half of them worded differently on the other venue."""
    rng = rng or random.Random(SEED + 1)
    close = datetime(2026, 6, 30, tzinfo=UTC)
    kalshi, poly = [], []
    for n in range(count):
        subject, verb, place = rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(PLACES)
        number = f"{rng.randrange(1, 500) * 5}"
        code = f"{n:05d}x{rng.randrange(10**6):06d}"  # a rare token, like a named entity
        question = f"Will {subject} {verb} {number} {place} {code}?"
        kalshi.append(
            Market(
                exchange="kalshi",
                id=f"K{n}",
                title=question,
                outcomes=[Outcome("yes", "Yes"), Outcome("no", "No")],
                status="open",
                close_time=close,
            )
        )
        other = question if n % 2 else f"{subject} to {verb} {number} {place} {code}"
        if n % 4 == 3:
            other = (
                f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.randrange(1, 500) * 5} {rng.choice(PLACES)}"
            )
        poly.append(
            Market(
                exchange="polymarket",
                id=f"P{n}",
                title=other,
                outcomes=[Outcome(f"P{n}y", "Yes"), Outcome(f"P{n}n", "No")],
                status="open",
                close_time=close,
            )
        )
    return kalshi, poly


def _naive_generic(kalshi: list[Market], poly: list[Market]) -> int:
    words_k = [title_words(m.title) for m in kalshi]
    words_p = [title_words(m.title) for m in poly]
    found = 0
    for wk in words_k:
        for wp in words_p:
            if len(wk & wp) / (len(wk | wp) or 1) >= 0.6:
                found += 1
    return found


# -- detection ----------------------------------------------------------------------------------------


def _ladder(rng: random.Random, best_cents: int, levels: int) -> list[tuple[Decimal, Decimal]]:
    prices = [best_cents + i for i in range(levels) if best_cents + i < 100]
    return [(Decimal(p) / 100, Decimal(rng.randrange(5, 500))) for p in prices]


def detection_set(
    pairs: int = 10_000, arb_share: float = 0.1, levels: int = 20
) -> tuple[list[MarketMatch], dict[BookKey, OrderBook]]:
    """Binary pairs with ``levels``-deep ask ladders on all four books; ``arb_share`` of them cross."""
    rng = random.Random(SEED + 2)
    now = datetime(2026, 4, 1, tzinfo=UTC)
    matches, books = [], {}
    for n in range(pairs):
        poly = Market(
            exchange="polymarket",
            id=f"P{n}",
            title="q",
            status="open",
            fees=POLY_FEE,
            outcomes=[Outcome(f"P{n}y", "Yes"), Outcome(f"P{n}n", "No")],
            size_increment=Decimal("0.01"),
        )
        kalshi = Market(
            exchange="kalshi",
            id=f"K{n}",
            title="q",
            status="open",
            fees=KALSHI_FEE,
            outcomes=[Outcome("yes", "Yes"), Outcome("no", "No")],
        )
        matches.append(
            MarketMatch(
                method="explicit",
                confidence=Decimal(1),
                title=f"pair {n}",
                groups=[
                    OutcomeGroup("yes", [OutcomeRef(poly, f"P{n}y"), OutcomeRef(kalshi, "yes")]),
                    OutcomeGroup("no", [OutcomeRef(poly, f"P{n}n"), OutcomeRef(kalshi, "no")]),
                ],
            )
        )
        fair = rng.randrange(10, 90)
        edge = rng.randrange(2, 6) if rng.random() < arb_share else -rng.randrange(1, 4)
        for market, outcome, best in [
            (poly, f"P{n}y", fair - edge // 2 - edge % 2),
            (kalshi, "no", 100 - fair - edge // 2),
            (poly, f"P{n}n", 100 - fair + 2),
            (kalshi, "yes", fair + 2),
        ]:
            book = OrderBook.build(
                market.exchange, market.id, outcome, asks=_ladder(rng, max(best, 1), levels), timestamp=now
            )
            books[book.key] = book
    return matches, books


def _float_detect(matches: list[MarketMatch], books: dict[BookKey, OrderBook], bet: float) -> int:
    """The obvious float version: every combination, walk the ladders together, no early exit."""
    found = 0
    for match in matches:
        sources = [[books[r.book_key] for r in g.refs] for g in match.groups]
        best = 0.0
        for a in sources[0]:
            for b in sources[1]:
                la = [(float(lv.price), float(lv.size)) for lv in a.asks]
                lb = [(float(lv.price), float(lv.size)) for lv in b.asks]
                i = j = 0
                used_a = used_b = size = cost = 0.0
                while i < len(la) and j < len(lb):
                    pa, pb = la[i][0], lb[j][0]
                    unit = pa + pb + 0.07 * pb * (1 - pb) + 0.03 * pa * (1 - pa)
                    if unit >= 1:
                        break
                    step = min(la[i][1] - used_a, lb[j][1] - used_b, (bet - cost) / unit)
                    size += step
                    cost += step * unit
                    used_a += step
                    used_b += step
                    if used_a >= la[i][1]:
                        i, used_a = i + 1, 0.0
                    if used_b >= lb[j][1]:
                        j, used_b = j + 1, 0.0
                    if cost >= bet - 1e-9:
                        break
                best = max(best, size - cost)
        found += best > 0
    return found


def run() -> list[dict[str, Any]]:
    """Measure everything; one row per benchmark."""
    rows = []
    kalshi, poly = sports_markets()
    by_exchange = {"kalshi": kalshi, "polymarket": poly}
    matches = match_markets(by_exchange)
    assert len(matches) >= 2000, len(matches)
    arbkit_s = _median(lambda: match_markets(by_exchange), 3)
    slice_k = kalshi[:500]
    baseline_s = _median(lambda: _naive_sports(slice_k, poly), 1) * len(kalshi) / len(slice_k)
    rows.append(
        _row(
            f"sports matching {len(kalshi)} x {len(poly)} markets (baseline: all pairs, "
            f"scaled from {len(slice_k)} x {len(poly)})",
            arbkit_s,
            baseline_s,
            "< 1 s",
        )
    )

    gk, gp = generic_markets()
    found = proposals({"kalshi": gk, "polymarket": gp})
    assert len(found) >= 2000, len(found)
    arbkit_s = _median(lambda: proposals({"kalshi": gk, "polymarket": gp}), 3)
    slice_g = gk[:200]
    baseline_s = _median(lambda: _naive_generic(slice_g, gp), 1) * len(gk) / len(slice_g)
    rows.append(
        _row(
            f"generic proposals {len(gk)} x {len(gp)} questions (baseline: all-pairs Jaccard, "
            f"scaled from {len(slice_g)} x {len(gp)})",
            arbkit_s,
            baseline_s,
            "< 1 s",
        )
    )

    for share, label in ((0.1, "10% crossing"), (1.0, "all crossing")):
        pairs, books = detection_set(arb_share=share)
        opportunities = find_opportunities(pairs, books, bet_amount=Decimal(100), min_roi_percent=Decimal(0))
        assert opportunities, "the benchmark books must contain opportunities"
        arbkit_s = _median(
            lambda p=pairs, b=books: find_opportunities(
                p, b, bet_amount=Decimal(100), min_roi_percent=Decimal(0)
            ),
            3,
        ) / len(pairs)
        baseline_s = _median(lambda p=pairs, b=books: _float_detect(p, b, 100.0), 3) / len(pairs)
        target = "< 20 us/pair" if share < 1 else "(worst case)"
        rows.append(
            _row(
                f"detection per pair, {len(pairs)} pairs, 20-level books, {label} "
                f"({len(opportunities)} found; baseline: float walk)",
                arbkit_s,
                baseline_s,
                target,
            )
        )
    return rows


def _row(name: str, arbkit_s: float, baseline_s: float, target: str) -> dict[str, Any]:
    return {
        "name": name,
        "arbkit_median_s": arbkit_s,
        "baseline_median_s": baseline_s,
        "ratio": arbkit_s / baseline_s if baseline_s else float("nan"),
        "target": target,
    }


def _format(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds:.3f} s"


def main() -> None:
    """Print the rows as a table."""
    for row in run():
        print(
            f"{row['name']}\n    arbkit {_format(row['arbkit_median_s'])}   baseline "
            f"{_format(row['baseline_median_s'])}   ratio {row['ratio']:.3f}   target {row['target']}"
        )


if __name__ == "__main__":
    main()
