"""Four processes racing trades on one database end with exactly the shared limits.

Each process is a whole live instance (``RealTradingSystem`` on a ``PostgresStore``)
trading on both sandboxes; the limits are held by the database (``arbkit.trading.postgres.limits``).
The venues' own books say what was traded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import psycopg
import pytest

from arbkit.trading.live import RealTradingSystem
from arbkit.trading.postgres import PostgresStore
from arbkit.trading.risk import BalanceCheck, RiskChain
from tests.live import scenarios as sc
from tests.live.conftest import FAST, Venues
from tests.postgres import racing

D = Decimal
SIZE = D(5)


@pytest.fixture(scope="module")
def racers() -> Iterator[racing.Pool]:
    """Four racer processes for the module (importing arbkit and the clients costs seconds)."""
    pool = racing.Pool(4)
    yield pool
    pool.close()


def traded(outcomes: list[dict[str, object] | None]) -> int:
    assert all(o is not None for o in outcomes), outcomes
    return sum(len(o["traded"]) for o in outcomes if o is not None)  # type: ignore[arg-type]


def test_four_instances_never_exceed_the_daily_trade_count(
    venues: Venues, pg_url: str, pg_store: Callable[..., PostgresStore], racers: racing.Pool
) -> None:
    configs = [
        racing.config(venues, pg_url, max_daily_trades=6, attempts=4, size=str(SIZE)) for _ in range(4)
    ]
    outcomes = racers.race(configs)
    assert traded(outcomes) == 6, outcomes  # 16 attempts, the limit is 6
    assert venues.kalshi_position() == 6 * SIZE
    assert venues.poly_tokens() == 6 * SIZE
    assert len(venues.kalshi_orders()) == 6
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT sum(trades) FROM arbkit_daily WHERE mode = 'live'").fetchone() == (6,)
        active = conn.execute(
            "SELECT count(*) FROM arbkit_reservations WHERE released_seq IS NULL"
        ).fetchone()
        assert active == (0,)
    refusals = [r for o in outcomes if o is not None for r in o["refused"]]  # type: ignore[attr-defined]
    assert refusals
    assert all("daily trade limit reached across instances" in r[0] for r in refusals), refusals


def test_four_instances_never_exceed_a_markets_exposure_cap(
    venues: Venues, pg_url: str, pg_store: Callable[..., PostgresStore], racers: racing.Pool
) -> None:
    opportunity = sc.opportunity(venues.kalshi(), venues.poly(), size=SIZE)
    poly_leg = next(leg for leg in opportunity.legs if leg.exchange == "polymarket")
    cap = (poly_leg.cost + poly_leg.fee) * D("3.5")  # room for exactly three trades on that market
    configs = [
        racing.config(venues, pg_url, max_market_exposure=str(cap), attempts=3, size=str(SIZE))
        for _ in range(4)
    ]
    outcomes = racers.race(configs)
    assert traded(outcomes) == 3, outcomes
    assert venues.poly_tokens() == 3 * SIZE
    state = pg_store().load()
    assert state is not None
    held = sum(t.exposure_by_market().get(("polymarket", sc.POLY_MARKET), D(0)) for t in state.trades)
    assert held <= cap


def test_four_instances_never_spend_more_cash_than_the_venue_holds(
    venues: Venues, pg_url: str, pg_store: Callable[..., PostgresStore], racers: racing.Pool
) -> None:
    opportunity = sc.opportunity(venues.kalshi(), venues.poly(), size=SIZE)
    kalshi_leg = next(leg for leg in opportunity.legs if leg.exchange == "kalshi")
    # Kalshi holds cash for three trades' orders and a half.
    venues.kalshi_app.add_account(venues.key_id, venues.public_pem, kalshi_leg.reserve * D("3.5"))
    configs = [
        racing.config(venues, pg_url, attempts=5, stop_after_refusals=2, size=str(SIZE)) for _ in range(4)
    ]
    outcomes = racers.race(configs)
    made = traded(outcomes)
    assert made <= 3, outcomes  # never more than the cash allows
    assert venues.kalshi_cash() >= 0
    # No venue refused an order for balance: every trade is fully hedged.
    state = pg_store().load()
    assert state is not None
    assert {t.status.value for t in state.trades} == {"open"}, state.trades
    # A check made while another instance was recording may refuse (it errs on the safe side);
    # once everything is recorded, one more instance fills the cash exactly.
    late = RealTradingSystem(
        initial_balance=D(2000),
        store=pg_store(),
        risk=RiskChain([BalanceCheck()]),
        exchanges={"kalshi": venues.kalshi(), "polymarket": venues.poly()},
        execution=FAST,
        recover_on_start=False,
    )
    while late.execute(opportunity).trade is not None:
        made += 1
    late.close()
    assert made == 3
    assert venues.kalshi_position() == 3 * SIZE
