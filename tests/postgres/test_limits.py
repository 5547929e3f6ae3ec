"""The limits the database holds for every instance: what a check sees and what it reserves."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs
import psycopg

from arbkit.trading.ledger import DailyCounters, Ledger
from arbkit.trading.postgres import PostgresStore, SharedLimits
from arbkit.trading.risk import DailyLossLimit, MarketExposureCap, MaxDailyTrades, MinRoi, RiskChain
from tests import scenarios as sc
from tests.core import test_store as contract
from tests.live.conftest import Venues

D = Decimal
DAY = date(2026, 3, 1)


def test_shared_limits_are_read_from_the_chain() -> None:
    chain = RiskChain([MinRoi(D(1)), MaxDailyTrades(5), DailyLossLimit(D(50)), MarketExposureCap(D(300))])
    assert SharedLimits.from_chain(chain) == SharedLimits(5, D(50), D(300))


def test_a_loss_recorded_by_one_instance_stops_the_others(venues: Venues, pg_url: str) -> None:
    opportunity = sc.opportunity(venues.kalshi(), venues.poly())
    recorder, other = PostgresStore(pg_url), PostgresStore(pg_url)
    recorder.load()
    losing = Ledger("paper", D(10000), D(9990), DailyCounters(DAY, 1, D("12.50")))
    recorder.append_trade(attrs.evolve(contract.make_trade(), status=contract.TradeStatus.UNWOUND), losing)

    verdict = other.reserve(opportunity, day=DAY, limits=SharedLimits(daily_loss_limit=D(12)))

    assert not verdict.allowed
    assert verdict.tripped_limits == ("daily_loss",)
    assert "$12.50 lost today" in verdict.reasons[0]
    assert other.pending is None
    recorder.close()
    other.close()


def test_a_reservation_counts_until_the_trade_is_recorded_then_the_trade_counts(
    venues: Venues, pg_url: str
) -> None:
    opportunity = sc.opportunity(venues.kalshi(), venues.poly())
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    a.load()
    limits = SharedLimits(max_daily_trades=1)
    assert a.reserve(opportunity, day=DAY, limits=limits).allowed
    refused = b.reserve(opportunity, day=DAY, limits=limits)
    assert refused.reasons == ("daily trade limit reached across instances (0 made, 1 in flight, limit 1)",)
    a.append_trade(contract.make_trade(), Ledger("paper", D(10000), D(9990), DailyCounters(DAY, 1)))
    assert b.reserve(opportunity, day=DAY, limits=limits).reasons == (
        "daily trade limit reached across instances (1 made, 0 in flight, limit 1)",
    )
    # A trade not made gives its reservation back at once.
    assert a.reserve(opportunity, day=DAY, limits=SharedLimits(max_daily_trades=2)).allowed
    a.release()
    assert b.reserve(opportunity, day=DAY, limits=SharedLimits(max_daily_trades=2)).allowed
    a.close()
    b.close()


def test_a_dead_instances_reservation_without_a_trade_is_released_when_its_lease_expires(
    venues: Venues, pg_url: str
) -> None:
    opportunity = sc.opportunity(venues.kalshi(), venues.poly())
    dead, alive = PostgresStore(pg_url), PostgresStore(pg_url)
    journal = dead.journal(lease_seconds=60)
    limits = SharedLimits(max_daily_trades=1)
    assert dead.reserve(opportunity, day=DAY, limits=limits).allowed
    assert not alive.reserve(opportunity, day=DAY, limits=limits).allowed  # its lease still runs
    with psycopg.connect(pg_url) as conn:  # the instance dies: its lease runs out
        conn.execute("UPDATE arbkit_instances SET lease_until = now() - interval '1 second'")
    assert alive.reserve(opportunity, day=DAY, limits=limits).allowed
    journal.close()
    dead.close()
    alive.close()


def test_a_reservation_no_trade_ever_claimed_is_released_after_ten_minutes(
    venues: Venues, pg_url: str
) -> None:
    """An instance with no PostgreSQL journal holds no lease: its forgotten reservation still ends."""
    opportunity = sc.opportunity(venues.kalshi(), venues.poly())
    gone, alive = PostgresStore(pg_url), PostgresStore(pg_url)
    limits = SharedLimits(max_daily_trades=1)
    assert gone.reserve(opportunity, day=DAY, limits=limits).allowed
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE arbkit_reservations SET created_at = now() - interval '9 minutes'")
    assert not alive.reserve(opportunity, day=DAY, limits=limits).allowed
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE arbkit_reservations SET created_at = now() - interval '11 minutes'")
    assert alive.reserve(opportunity, day=DAY, limits=limits).allowed
    gone.close()
    alive.close()
