"""ARBKIT_INSTANCE names this process in the shared store, so a restart is the same instance."""

from __future__ import annotations

from pathlib import Path

import psycopg

from arbkit import Exchange, Settings
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.postgres import PostgresStore
from tests.live.conftest import Venues


def _instances(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM arbkit_instances ORDER BY id")]


def test_a_restart_with_the_same_instance_name_is_the_same_instance(
    venues: Venues, pg_url: str, tmp_path: Path
) -> None:
    def clients() -> dict[str, Exchange]:
        return {"kalshi": venues.kalshi(), "polymarket": venues.poly()}

    settings = Settings.from_mapping(
        {
            "LIVE_TRADING": "true",
            "ARBKIT_STORE_URL": pg_url,
            "ARBKIT_INSTANCE": "bot-east-1",
            "ARBKIT_DATA_DIR": str(tmp_path),
        }
    )
    for _ in range(2):  # start, stop, start again
        system = RealTradingSystem.from_settings(settings, exchanges=clients())
        assert isinstance(system.store, PostgresStore)
        assert system.store.instance == "bot-east-1"
        system.close()
    assert _instances(pg_url) == ["bot-east-1"]
    unnamed = RealTradingSystem.from_settings(
        Settings.from_mapping(
            {"LIVE_TRADING": "true", "ARBKIT_STORE_URL": pg_url, "ARBKIT_DATA_DIR": str(tmp_path)}
        ),
        exchanges=clients(),
    )
    unnamed.close()
    assert len(_instances(pg_url)) == 2  # a process without a name is a new instance
