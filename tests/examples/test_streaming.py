"""The PolyMix service trading from both venues' streams: feeds, latency, health, and trades on changes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from .conftest import Venues
from .test_live_mode import AUTH, live_credentials


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_live_service_trades_from_the_streams_and_health_tells_when_a_feed_is_down(
    make_app: Callable[..., Flask], venues: Venues, streams: dict[str, Any]
) -> None:
    app = make_app({**live_credentials(venues), **streams["env"]})
    service = app.extensions["polymix"]
    assert service.start_streaming()  # live: ARBKIT_STREAMING=auto streams
    client = app.test_client()

    def feeds() -> dict[str, str]:
        health = client.get("/api/health").get_json()
        return {f["venue"]: f["state"] for f in (health["streaming"] or {}).get("feeds", [])}

    wait_for(lambda: feeds() == {"kalshi": "live", "polymarket": "live"}, "both feeds live")
    # The monitor step lists, matches and subscribes; trades then come from the books streamed.
    scan = client.post("/api/scan", headers=AUTH).get_json()
    assert scan["executed"] == 0
    trades = wait_for(lambda: client.get("/api/trading/state").get_json()["trades"], "a streamed trade")
    assert {leg["exchange"] for leg in trades[0]["legs"]} == {"kalshi", "polymarket"}
    health = client.get("/api/health").get_json()
    latency = health["streaming"]["detection_latency_ms"]
    assert latency["count"] > 0
    assert 0 <= latency["p50"] <= latency["p99"]
    opportunities = client.get("/api/opportunities").get_json()
    assert opportunities["source"] == "stream"
    # The reconciliation agrees with both venues about what the stream traded.
    recon = client.post("/api/reconcile", headers=AUTH).get_json()
    assert recon["mismatches"] == [], recon

    # The Kalshi stream goes away: its feed is not live and health says so, naming the venue.
    streams["kalshi"].stop()
    wait_for(lambda: feeds().get("kalshi") not in (None, "live"), "the kalshi feed to go down")
    health = wait_for(
        lambda: (
            (h := client.get("/api/health").get_json())["status"] == "degraded"
            and any(r["code"] == "feed_stale" for r in h["reasons"])
            and h
        ),
        "feed_stale in health",
    )
    reason = next(r for r in health["reasons"] if r["code"] == "feed_stale")
    assert reason["venue"] == "kalshi"
    assert "kalshi feed is" in reason["message"]
