"""The scenario toolkit: sandboxes' markets, credentials, clients and opportunities.

One toolkit for the tests (live trading, the money-path model, PostgreSQL, streams,
``crash_worker.py``, the subprocess killed mid-trade) and the benchmarks, so they all trade
the same game the same way. Credentials come from each adapter's sandbox toolkit
(``arbkit_kalshi.sandbox.accounts``, ``arbkit_polymarket.sandbox.accounts``), as the demo's do.

The two scenarios are cut down from the adapters' bundled examples
(``src/arbkit_kalshi/sandbox/scenarios/example.json`` and
``src/arbkit_polymarket/sandbox/scenarios/example.json``) with books that hold an arbitrage:
YES "New York" on Kalshi at 0.40 plus "Rockets" on Polymarket at 0.55 pays $1 for 0.95.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arbkit.engine.opportunity import Leg, Opportunity
from arbkit.models import Side
from arbkit_kalshi.client import KalshiClient
from arbkit_kalshi.sandbox import accounts as kalshi_accounts
from arbkit_kalshi.sandbox.accounts import SandboxAccount as KalshiAccount
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.sandbox import accounts as poly_accounts
from arbkit_polymarket.sandbox.accounts import SandboxAccount as PolyAccount

if TYPE_CHECKING:
    from arbkit_kalshi.sandbox import KalshiSandbox
    from arbkit_polymarket.sandbox import PolymarketSandbox

D = Decimal
KALSHI_TICKER = "KXNBAGAME-26MAR31NYKHOU-NYK"
KALSHI_HOU = "KXNBAGAME-26MAR31NYKHOU-HOU"
POLY_MARKET = "0x5f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
KNICKS = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
ROCKETS = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
KALSHI_ORDERS = "/trade-api/v2/portfolio/orders"
#: Kalshi's order placement path, old (``/portfolio/orders``) or V2 (``/portfolio/events/orders``).
KALSHI_ORDER_PATTERN = "/trade-api/v2/portfolio/*orders"
POLY_ORDERS = "/order"
KALSHI_BALANCE = D(1000)
SIZE = D(10)
KALSHI_ASK = D("0.40")
POLY_ASK = D("0.55")
POLY_BALANCE = D(1000)

KALSHI_SCENARIO: dict[str, Any] = {
    "series": [
        {
            "ticker": "KXNBAGAME",
            "title": "Professional Basketball Game",
            "fee_type": "quadratic_with_maker_fees",
            "fee_multiplier": 1,
        }
    ],
    "events": [
        {
            "event_ticker": "KXNBAGAME-26MAR31NYKHOU",
            "series_ticker": "KXNBAGAME",
            "title": "New York at Houston",
            "sub_title": "Mar 31",
            "mutually_exclusive": True,
            "markets": [
                {
                    "ticker": KALSHI_TICKER,
                    "title": "New York at Houston Winner?",
                    "yes_sub_title": "New York",
                    "no_sub_title": "New York",
                    "close_time": "2026-04-14T00:00:00Z",
                    # YES bids 0.38; NO bids 0.60 = YES asks at 0.40.
                    "yes_bids": [["0.38", "100"]],
                    "no_bids": [["0.60", "100"]],
                },
                {
                    # Only for the N-leg test: YES Houston asks at 0.55, bids at 0.50.
                    "ticker": KALSHI_HOU,
                    "title": "New York at Houston Winner?",
                    "yes_sub_title": "Houston",
                    "no_sub_title": "Houston",
                    "close_time": "2026-04-14T00:00:00Z",
                    "yes_bids": [["0.50", "100"]],
                    "no_bids": [["0.45", "100"]],
                },
            ],
        }
    ],
}

POLY_SCENARIO: dict[str, Any] = {
    "events": [
        {
            "id": "51234",
            "slug": "nba-nyk-hou-2026-03-31",
            "title": "Knicks vs. Rockets",
            "tags": [{"id": "745", "slug": "nba", "label": "NBA"}],
            "markets": [
                {
                    "condition_id": POLY_MARKET,
                    "question": "Knicks vs. Rockets",
                    "slug": "nba-nyk-hou-2026-03-31",
                    "outcomes": ["Knicks", "Rockets"],
                    "token_ids": [KNICKS, ROCKETS],
                    "tick_size": "0.01",
                    "min_order_size": "5",
                    "neg_risk": False,
                    "fees": {"rate": "0.03", "exponent": 1},
                    # Knicks prices: bids 0.45 = Rockets asks 0.55; asks 0.47 = Rockets bids 0.53.
                    "book": {"bids": [["0.45", "100"]], "asks": [["0.47", "100"]]},
                }
            ],
        }
    ]
}


def _deepened(levels: list[list[str]], depth: str | None) -> list[list[str]]:
    return [[price, depth if depth is not None else size] for price, size in levels]


def kalshi_scenario(*, depth: str | None = None) -> dict[str, Any]:
    """A fresh copy of the Kalshi scenario; ``depth`` replaces every level's size (contracts)."""
    scenario = copy.deepcopy(KALSHI_SCENARIO)
    for market in scenario["events"][0]["markets"]:
        for side in ("yes_bids", "no_bids"):
            market[side] = _deepened(market[side], depth)
    return scenario


def poly_scenario(*, depth: str | None = None) -> dict[str, Any]:
    """A fresh copy of the Polymarket scenario; ``depth`` replaces every level's size (contracts)."""
    scenario = copy.deepcopy(POLY_SCENARIO)
    book = scenario["events"][0]["markets"][0]["book"]
    for side in ("bids", "asks"):
        book[side] = _deepened(book[side], depth)
    return scenario


def kalshi_account(app: KalshiSandbox | None = None, *, balance: Decimal = KALSHI_BALANCE) -> KalshiAccount:
    """Fresh Kalshi credentials, funded on ``app`` when given."""
    return (
        kalshi_accounts.open_account(app, balance=balance)
        if app is not None
        else kalshi_accounts.new_account()
    )


def poly_account(app: PolymarketSandbox | None = None, *, balance: Decimal = POLY_BALANCE) -> PolyAccount:
    """A fresh Polymarket wallet, funded on ``app`` when given."""
    return (
        poly_accounts.open_account(app, balance=balance) if app is not None else poly_accounts.new_account()
    )


def kalshi_client(url: str, key_id: str, private_pem: str, *, timeout: float = 0.5) -> KalshiClient:
    """A signed Kalshi client for the sandbox: no throttle, no automatic retries, short timeout."""
    client = KalshiClient(
        base_url=url,
        api_key_id=key_id,
        private_key=private_pem,
        rate_limit=None,
        timeout=timeout,
        max_retries=0,
    )
    client.transport.session.trust_env = False
    return client


def poly_client(url: str, private_key: str, *, timeout: float = 0.5, **kw: Any) -> PolymarketClient:
    """A Polymarket client for the sandbox (CLOB at the root, Gamma and Data API under prefixes)."""
    client = PolymarketClient(
        base_url=url,
        gamma_url=url + "/gamma",
        data_url=url + "/data-api",
        private_key=private_key,
        timeout=timeout,
        max_retries=0,
        **kw,
    )
    for transport in (client.clob, client.gamma, client.data):
        transport.session.trust_env = False
    return client


def opportunity(
    kalshi: KalshiClient,
    poly: PolymarketClient,
    *,
    size: Decimal = SIZE,
    kalshi_first: bool = True,
    kalshi_price: Decimal = KALSHI_ASK,
    poly_price: Decimal = POLY_ASK,
) -> Opportunity:
    """Buy YES New York on Kalshi and Rockets on Polymarket, ``size`` contracts each."""
    k_market = kalshi.market(KALSHI_TICKER)
    p_market = poly.market(POLY_MARKET)
    legs = []
    for market, outcome, price in ((k_market, "yes", kalshi_price), (p_market, ROCKETS, poly_price)):
        assert market.fees is not None
        legs.append(Leg(market, outcome, Side.BUY, price, size, price * size, market.fees.fee(price, size)))
    if not kalshi_first:
        legs.reverse()
    return Opportunity(legs=legs, payout=size, title="New York at Houston")
