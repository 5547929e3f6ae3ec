"""Scan-cycle benchmark: 500 games listed on both venues, served by the two sandboxes on loopback.

What is timed is one steady-state :meth:`arbkit.Scanner.scan` (market lists cached, as
between two refreshes): match, fetch every book of every matched market, detect. Market
discovery (the cold ``markets()`` call) is reported on its own row. Requests are counted
by the sandboxes themselves (``GET /_sandbox/requests``), not by the client.

Baselines, measured in the same run against the same servers:

* PolyMix's polling way: one ``GET /markets/{ticker}/orderbook`` per Kalshi market and one
  ``GET /book?token_id=`` per Polymarket token, sequentially on one keep-alive session,
  parsed with arbkit's parsers and fed to the same detector (so only the fetching differs);
* the official SDKs, when installed (``pip install '.[bench]'``, ``make kalshi-sdk``):
  ``kalshi-python-sync`` 3.34's ``MarketApi.get_market_orderbook`` per market (it has no batch
  call; run in its own Python 3.13 virtualenv, see :func:`_sdk_kalshi`) and
  ``py-clob-client-v2``'s ``ClobClient.get_order_books`` in chunks of 100 tokens, the same
  chunk arbkit uses (the CLOB's cap is undocumented). They only fetch: no matching and no
  detection is charged to them.

Run with ``python -m benchmarks.bench_scan``; :func:`run` returns the rows for the combined
``make bench`` table. Target (issue 10): a full cycle < 1 s with fewer requests than any baseline.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from arbkit.engine.detect import find_opportunities
from arbkit.engine.matching import match_markets
from arbkit.engine.matching.teams import default_teams
from arbkit.models import BookKey, Market, OrderBook
from arbkit.sandbox import SandboxServer
from arbkit.scanner import Scanner
from arbkit_kalshi.client import KalshiClient
from arbkit_kalshi.parse import parse_orderbook
from arbkit_kalshi.sandbox import KalshiSandbox
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.parse import parse_book
from arbkit_polymarket.sandbox import PolymarketSandbox
from benchmarks import kalshi_sdk

SEED = 20260410
GAMES = 500
BET = Decimal(100)
#: Kalshi codes per league (the Polymarket code comes from the shipped alias table).
LEAGUE_TEAMS = {
    "nba": "ATL BKN BOS CHA CHI CLE DAL DEN DET GSW HOU IND LAC LAL MEM MIA MIL MIN NOP NYK OKC ORL PHI PHX "
    "POR SAC SAS TOR UTA WAS",
    "nhl": "ANA BOS BUF CGY CAR CHI COL CBJ DAL DET EDM FLA LA MIN MTL NSH NJ NYI NYR OTT PHI PIT SJ SEA STL "
    "TB TOR UTA VAN VGK WSH WPG",
}
SERIES = {"nba": "KXNBAGAME", "nhl": "KXNHLGAME"}
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def _poly_code(league: str, code: str) -> str:
    team = default_teams().team(league, code)
    codes = team.codes_on("polymarket") if team else ()
    return (codes[-1] if codes else code).lower()


def _cents(n: int) -> str:
    return f"{Decimal(n) / 100:.2f}"


def _ladder(best: int, step: int, rng: random.Random, levels: int = 5) -> list[list[str]]:
    """``levels`` price levels from ``best`` cents moving ``step`` cents each, within (0, 100)."""
    prices = [best + i * step for i in range(levels)]
    return [[_cents(p), str(rng.randrange(20, 400))] for p in prices if 0 < p < 100]


def scenarios(games: int = GAMES, arb_share: float = 0.1) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(kalshi_scenario, polymarket_scenario)``: ``games`` games on both venues, ``arb_share`` crossing.

    Kalshi lists one YES/NO market per team (``KXNBAGAME-26MAR31NYKHOU-NYK``); Polymarket one
    two-token moneyline per game (``nba-nyk-hou-2026-03-31``) whose first token is the away team.
    """
    rng = random.Random(SEED)
    seen: set[tuple[str, str, str, date]] = set()
    k_events: list[dict[str, Any]] = []
    p_events: list[dict[str, Any]] = []
    start = date(2026, 4, 1)
    while len(seen) < games:
        league = rng.choice(sorted(LEAGUE_TEAMS))
        away, home = rng.sample(LEAGUE_TEAMS[league].split(), 2)
        day = start + timedelta(days=rng.randrange(180))
        if (league, away, home, day) in seen or (league, home, away, day) in seen:
            continue
        seen.add((league, away, home, day))
        n = len(seen)
        fair = rng.randrange(25, 75)  # away team's win probability, cents
        # A crossing game: Polymarket's away token is offered well under Kalshi's price.
        poly_ask = fair - 7 if rng.random() < arb_share else fair + 1
        event = f"{SERIES[league]}-{day:%y}{MONTHS[day.month - 1]}{day:%d}{away}{home}"
        markets = []
        for code, p in ((away, fair), (home, 100 - fair)):
            markets.append(
                {
                    "ticker": f"{event}-{code}",
                    "title": f"{away} at {home} Winner?",
                    "yes_sub_title": code,
                    "no_sub_title": code,
                    "close_time": f"{day + timedelta(days=14):%Y-%m-%d}T00:00:00Z",
                    "yes_bids": _ladder(p - 2, -1, rng),
                    "no_bids": _ladder(100 - p - 2, -1, rng),
                }
            )
        k_events.append(
            {
                "event_ticker": event,
                "series_ticker": SERIES[league],
                "title": f"{away} at {home}",
                "mutually_exclusive": True,
                "markets": markets,
            }
        )
        pa, ph = _poly_code(league, away), _poly_code(league, home)
        slug = f"{league}-{pa}-{ph}-{day:%Y-%m-%d}"
        p_events.append(
            {
                "id": str(70000 + n),
                "slug": slug,
                "title": f"{pa.upper()} vs. {ph.upper()}",
                "tags": [{"slug": league}],
                "markets": [
                    {
                        "condition_id": "0x" + f"{n:064x}",
                        "question": f"{pa.upper()} vs. {ph.upper()}",
                        "slug": slug,
                        "outcomes": [pa.upper(), ph.upper()],
                        "token_ids": [str(10**40 + 2 * n), str(10**40 + 2 * n + 1)],
                        "tick_size": "0.01",
                        "min_order_size": "5",
                        "neg_risk": False,
                        "fees": {"rate": "0.03", "exponent": 1},
                        "sportsMarketType": "moneyline",
                        "gameStartTime": f"{day:%Y-%m-%d} 23:30:00+00",
                        "book": {
                            # Bids stay under the asks: no game crosses within one venue.
                            "bids": _ladder(min(fair, poly_ask + 1) - 2, -1, rng),
                            "asks": _ladder(poly_ask, 1, rng),
                        },
                    }
                ],
            }
        )
    kalshi = {
        "series": [
            {"ticker": s, "title": s, "fee_type": "quadratic", "fee_multiplier": 1} for s in SERIES.values()
        ],
        "events": k_events,
    }
    return kalshi, {"events": p_events}


@contextmanager
def sandboxes(games: int = GAMES, arb_share: float = 0.1) -> Iterator[tuple[SandboxServer, SandboxServer]]:
    """Both sandboxes loaded with :func:`scenarios`, serving on free loopback ports."""
    k_scenario, p_scenario = scenarios(games, arb_share)
    kalshi_app = KalshiSandbox()
    kalshi_app.load_scenario(k_scenario)
    poly_app = PolymarketSandbox()
    poly_app.load_scenario(p_scenario)
    with SandboxServer(kalshi_app) as k_server, SandboxServer(poly_app) as p_server:
        yield k_server, p_server


def clients(k_server: SandboxServer, p_server: SandboxServer) -> dict[str, Any]:
    """arbkit's two clients pointed at the sandboxes (no rate limiter: it is loopback)."""
    return {
        "kalshi": KalshiClient(base_url=k_server.url, rate_limit=None),
        "polymarket": PolymarketClient(
            base_url=p_server.url, gamma_url=p_server.url + "/gamma", data_url=p_server.url + "/data-api"
        ),
    }


class RequestCounter:
    """Counts the wire requests both sandboxes served, through their control API."""

    def __init__(self, *servers: SandboxServer) -> None:
        self.urls = [s.url for s in servers]
        self.session = requests.Session()

    def reset(self) -> None:
        """Forget what was counted so far."""
        for url in self.urls:
            self.session.delete(f"{url}/_sandbox/requests", timeout=10).raise_for_status()

    def total(self) -> int:
        """Requests served since the last :meth:`reset`."""
        return sum(
            int(self.session.get(f"{url}/_sandbox/requests", timeout=10).json()["total"]) for url in self.urls
        )


def _timed(fn: Callable[[], object], counter: RequestCounter, repeat: int) -> tuple[float, int, object]:
    """Median seconds of ``repeat`` runs, requests of the last run, and its result."""
    times = []
    result: object = None
    count = 0
    for _ in range(repeat):
        counter.reset()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        count = counter.total()
    return statistics.median(times), count, result


def sequential_cycle(
    markets: dict[str, tuple[Market, ...]], k_url: str, p_url: str, session: requests.Session
) -> list[Any]:
    """PolyMix's way: match, then one GET per Kalshi market and per Polymarket token, then detect."""
    matches = [m for m in match_markets(markets) if m.tradable]
    wanted = {(m.exchange, m.id): m for match in matches for m in match.markets}
    books: dict[BookKey, OrderBook] = {}
    for (venue, market_id), market in wanted.items():
        if venue == "kalshi":
            body = session.get(
                f"{k_url}/trade-api/v2/markets/{quote(market_id, safe='')}/orderbook", timeout=10
            ).json()
            for book in parse_orderbook(body, market_id):
                books[book.key] = book
        else:
            for outcome in market.outcomes:
                body = session.get(f"{p_url}/book", params={"token_id": outcome.id}, timeout=10).json()
                book = parse_book(body)
                books[book.key] = book
    return list(find_opportunities(matches, books, bet_amount=BET))


def _sdk_kalshi(
    k_url: str, tickers: list[str], counter: RequestCounter, repeat: int
) -> tuple[float, int] | None:
    """``(median seconds, requests)`` of the Kalshi SDK fetching every book, or ``None`` without it.

    kalshi-python-sync 3.34 runs in its own Python 3.13 virtualenv and times itself there
    (:mod:`benchmarks.kalshi_sdk`); its typed ``get_market_orderbook`` parses every book with the
    SDK's strict models (the sandbox serves the shapes it requires). It has no batch call.
    """
    if kalshi_sdk.sdk_python() is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tickers.json"
        path.write_text(json.dumps(tickers))
        counter.reset()
        seconds = kalshi_sdk.run("fetch", k_url, str(path), str(repeat))["seconds"]
        requests_made = counter.total() // repeat
    return statistics.median(seconds), requests_made


def _sdk_polymarket(p_url: str, tokens: list[str]) -> Callable[[], int] | None:
    try:
        from py_clob_client_v2.client import ClobClient  # type: ignore[import-untyped,unused-ignore]
        from py_clob_client_v2.clob_types import BookParams  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    client = ClobClient(host=p_url, chain_id=137)

    def fetch() -> int:
        got = 0
        for start in range(0, len(tokens), 100):
            got += len(client.get_order_books([BookParams(token_id=t) for t in tokens[start : start + 100]]))
        return got

    return fetch


def _row(
    name: str,
    arbkit_s: float,
    baseline_s: float | None,
    target: str,
    met: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "arbkit_median_s": arbkit_s,
        "baseline_median_s": baseline_s,
        "ratio": arbkit_s / baseline_s if baseline_s else None,
        "target": target,
        "met": met,
        **extra,
    }


def run(games: int = GAMES, repeat: int = 5) -> list[dict[str, Any]]:
    """Measure discovery, the scan cycle and the baselines; one row per measurement."""
    rows: list[dict[str, Any]] = []
    with sandboxes(games) as (k_server, p_server):
        counter = RequestCounter(k_server, p_server)
        exchanges = clients(k_server, p_server)
        scanner = Scanner(exchanges, bet_amount=BET)

        discovery_s, discovery_requests, listed = _timed(lambda: scanner.markets(force=True), counter, 3)
        assert isinstance(listed, dict)
        sizes = {venue: len(ms) for venue, ms in listed.items()}

        scan_s, scan_requests, result = _timed(scanner.scan, counter, repeat)
        assert not result.errors, result.errors  # type: ignore[attr-defined]
        books = len(result.books)  # type: ignore[attr-defined]
        found = len(result.opportunities)  # type: ignore[attr-defined]
        assert found > 0, "the benchmark scenario must contain opportunities"

        session = requests.Session()
        seq_s, seq_requests, seq_found = _timed(
            lambda: sequential_cycle(listed, k_server.url, p_server.url, session), counter, repeat
        )
        assert isinstance(seq_found, list)
        assert len(seq_found) == found, (len(seq_found), found)

        rows.append(
            _row(
                f"market discovery, cold ({sizes.get('kalshi', 0)} Kalshi + {sizes.get('polymarket', 0)} "
                f"Polymarket markets, {discovery_requests} requests; cached between refreshes)",
                discovery_s,
                None,
                "(reported)",
            )
        )
        rows.append(
            _row(
                f"scan cycle, {games} games on both venues: match, fetch {books} books, detect "
                f"({found} opportunities; baseline: one GET per book, sequential)",
                scan_s,
                seq_s,
                "< 1 s",
                scan_s < 1.0,
            )
        )

        k_tickers = [m.id for m in listed["kalshi"]]
        p_tokens = [o.id for m in listed["polymarket"] for o in m.outcomes]
        sdk_k, sdk_p = (
            _sdk_kalshi(k_server.url, k_tickers, counter, 3),
            _sdk_polymarket(p_server.url, p_tokens),
        )
        sdk_requests: int | None = None
        sdk_note = "official SDKs not installed (pip install '.[bench]'; make kalshi-sdk)"
        if sdk_k is not None and sdk_p is not None:
            poly_s, poly_requests, _ = _timed(sdk_p, counter, 3)
            sdk_s, sdk_requests = sdk_k[0] + poly_s, sdk_k[1] + poly_requests
            sdk_note = (
                f"official SDKs, fetch only: kalshi-python-sync 3.34, "
                f"{len(k_tickers)} x get_market_orderbook; "
                f"py-clob-client-v2 get_order_books x100"
            )
            rows.append(
                _row(
                    f"scan cycle vs {sdk_note} ({sdk_requests} requests)",
                    scan_s,
                    sdk_s,
                    "< 1 s",
                    scan_s < 1.0,
                )
            )
        fewest_baseline = min(r for r in (seq_requests, sdk_requests) if r is not None)
        rows.append(
            _row(
                f"HTTP requests per scan cycle (arbkit {scan_requests}; PolyMix sequential {seq_requests}; "
                f"SDKs {sdk_requests if sdk_requests is not None else 'n/a'}) [counts, not seconds]",
                float(scan_requests),
                float(fewest_baseline),
                "fewer than any baseline",
                scan_requests < fewest_baseline,
                unit="requests",
            )
        )
        for client in exchanges.values():
            client.close()
    return rows


def main() -> None:
    """Print the rows."""
    for row in run():
        print(row)


if __name__ == "__main__":
    main()
