"""Live mode on the sandboxes: LIVE_TRADING=true makes the service place real signed orders."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric import rsa
from eth_account import Account
from flask import Flask

from arbkit.trading.live import RealTradingSystem
from tests.live.scenarios import pem_pair

from .conftest import Venues

KEY_ID = "0c1d2e3f-0000-4000-8000-00000000beef"
LIVE_TOKEN = "live-token-5a1c"
AUTH = {"Authorization": f"Bearer {LIVE_TOKEN}"}


def live_credentials(venues: Venues) -> dict[str, str | None]:
    """Fresh sandbox accounts on both venues (RSA key for Kalshi, a wallet for Polymarket)."""
    private_pem, public_pem = pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    venues.kalshi.add_account(KEY_ID, public_pem, "5000")
    wallet = Account.create()
    venues.polymarket.add_account(wallet.address, 5000)
    return {
        "LIVE_TRADING": "true",
        "LIVE_TRADING_INITIAL_BALANCE": "10000",
        "KALSHI_API_KEY": KEY_ID,
        "KALSHI_SECRET": private_pem,
        "POLYMARKET_PRIVATE_KEY": "0x" + bytes(wallet.key).hex(),
        # Live mode refuses mutating requests without a token.
        "ARBKIT_API_TOKEN": LIVE_TOKEN,
    }


def test_live_mode_places_signed_orders_on_both_sandboxes_and_settles(
    make_app: Callable[..., Flask], venues: Venues
) -> None:
    app = make_app(live_credentials(venues))
    service = app.extensions["polymix"]
    assert isinstance(service.bot.trading, RealTradingSystem)
    client = app.test_client()
    assert client.get("/api/trading/mode").get_json()["mode"] == "live"
    result = client.post("/api/scan", headers=AUTH).get_json()
    assert result["executed"] == 4
    state = client.get("/api/trading/state").get_json()
    assert state["mode"] == "live"
    opened = [t for t in state["trades"] if t["status"] == "open"]
    assert opened
    # Real orders rest on the venues' books under the ids the trade records.
    kalshi_orders = {o["order_id"] for o in venues.kalshi.control_state()["orders"]}
    poly_orders = {o["id"] for o in venues.polymarket.control_state()["orders"]}
    for trade in opened:
        for leg in trade["legs"]:
            assert leg["order_id"]
            assert not leg["order_id"].startswith("paper-")
            assert leg["order_id"] in (kalshi_orders if leg["exchange"] == "kalshi" else poly_orders)
    assert venues.kalshi.balance_of(KEY_ID) < Decimal(5000)
    knicks = next(g for g in venues.games if g.event_ticker.endswith("NYKHOU"))
    assert any(t["title"].startswith("NBA: New York vs Houston") for t in opened)
    venues.resolve(knicks)
    assert client.post("/api/settle", headers=AUTH).get_json()["settled"] == 1
    after = client.get("/api/trading/state").get_json()
    assert len(after["pnl_history"]) == 1
    assert float(after["realised_pnl"]) > 0


def test_live_trades_on_the_demo_games_end_hedged_even_when_a_residual_is_too_small_to_trade(
    make_app: Callable[..., Flask], venues: Venues
) -> None:
    # The 3-way soccer game: Polymarket FAK buys yield a few hundredths of a share less or more
    # than Kalshi's count; the excess is under Polymarket's $1 marketable minimum, so no venue
    # can trade it. That is a hedged trade with a recorded residual, never open exposure.
    app = make_app(live_credentials(venues))
    client = app.test_client()
    assert client.post("/api/scan", headers=AUTH).get_json()["executed"] == 4
    state = client.get("/api/trading/state").get_json()
    statuses = {t["title"]: t["status"] for t in state["trades"]}
    assert "exposure" not in statuses.values(), statuses
    soccer = next(t for t in state["trades"] if t["kind"] == "3-way")
    assert soccer["status"] == "open"
    assert client.get("/api/health").get_json()["status"] == "ok"
