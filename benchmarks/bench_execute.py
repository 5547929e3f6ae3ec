"""Two-leg execution latency with 50 ms injected per request: concurrent legs vs PolyMix's sequential legs.

Both sandboxes (Kalshi and Polymarket) run on loopback with a persistent ``latency``
fault of 50 ms on every request, so a leg costs about one round trip to a real venue.
Measured in the same run:

* one leg alone: ``place_order`` of a single IOC order (the slower venue's median);
* the executor placing both legs concurrently (arbkit's default);
* the executor placing them one after the other, as PolyMix did.

Each execution includes the fsynced journal records. Run with
``python -m benchmarks.bench_execute``; :func:`run` returns rows like the other benchmarks.
Target (issue 8): concurrent <= 1.2 x one leg; sequential ~2 x.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from eth_account import Account

from arbkit.engine.opportunity import Leg, Opportunity
from arbkit.exchange import Exchange
from arbkit.models import OrderRequest, Side, TimeInForce
from arbkit.sandbox import Fault, SandboxServer
from arbkit.trading.execution.executor import ExecutionConfig, OrderExecutor
from arbkit.trading.execution.journal import Journal
from arbkit.trading.records import new_trade_id
from arbkit_kalshi.client import KalshiClient
from arbkit_kalshi.sandbox import KalshiSandbox
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.sandbox import PolymarketSandbox

LATENCY_MS = 50
REPEAT = 15
SIZE = Decimal(2)
TICKER = "KXNBAGAME-26MAR31NYKHOU-NYK"
CONDITION = "0x5f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
ROCKETS = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
KNICKS = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
KEY_ID = "0b0e5c1a-0000-4000-8000-0000000be7c4"
# Deep books so every repetition fills: YES New York at 0.40 on Kalshi, Rockets at 0.55 on Polymarket.
KALSHI = {
    "series": [{"ticker": "KXNBAGAME", "fee_type": "quadratic", "fee_multiplier": 1}],
    "events": [
        {
            "event_ticker": "KXNBAGAME-26MAR31NYKHOU",
            "series_ticker": "KXNBAGAME",
            "title": "New York at Houston",
            "markets": [
                {
                    "ticker": TICKER,
                    "yes_sub_title": "New York",
                    "yes_bids": [["0.38", "10000"]],
                    "no_bids": [["0.60", "10000"]],
                }
            ],
        }
    ],
}
POLY = {
    "events": [
        {
            "id": "1",
            "slug": "nba-nyk-hou",
            "title": "Knicks vs. Rockets",
            "markets": [
                {
                    "condition_id": CONDITION,
                    "question": "Knicks vs. Rockets",
                    "slug": "nba-nyk-hou",
                    "outcomes": ["Knicks", "Rockets"],
                    "token_ids": [KNICKS, ROCKETS],
                    "tick_size": "0.01",
                    "min_order_size": "5",
                    "fees": {"rate": "0.03", "exponent": 1},
                    "book": {"bids": [["0.45", "10000"]], "asks": [["0.47", "10000"]]},
                }
            ],
        }
    ]
}


def _median(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _row(name: str, arbkit_s: float, baseline_s: float, target: str, limit: float | None) -> dict[str, Any]:
    ratio = arbkit_s / baseline_s if baseline_s else float("nan")
    return {
        "name": name,
        "arbkit_median_s": arbkit_s,
        "baseline_median_s": baseline_s,
        "ratio": ratio,
        "target": target,
        "met": None if limit is None else ratio <= limit,
    }


def run() -> list[dict[str, Any]]:
    """Measure one leg, two concurrent legs and two sequential legs; one row per comparison."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    wallet = Account.create()
    kalshi_app, poly_app = KalshiSandbox(), PolymarketSandbox()
    kalshi_app.load_scenario(KALSHI)
    kalshi_app.add_account(KEY_ID, public_pem, 100000)
    poly_app.load_scenario(POLY)
    poly_app.add_account(wallet.address, 100000)
    with (
        SandboxServer(kalshi_app) as k_server,
        SandboxServer(poly_app) as p_server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        kalshi = KalshiClient(
            base_url=k_server.url, api_key_id=KEY_ID, private_key=private_pem, rate_limit=None
        )
        poly = PolymarketClient(
            base_url=p_server.url,
            gamma_url=p_server.url + "/gamma",
            private_key="0x" + bytes(wallet.key).hex(),
        )
        for transport in (kalshi.transport, poly.clob, poly.gamma):
            transport.session.trust_env = False
        k_market, p_market = kalshi.market(TICKER), poly.market(CONDITION)
        poly.api_credentials()
        legs = []
        for market, outcome, price in (
            (k_market, "yes", Decimal("0.40")),
            (p_market, ROCKETS, Decimal("0.55")),
        ):
            assert market.fees is not None
            legs.append(
                Leg(market, outcome, Side.BUY, price, SIZE, price * SIZE, market.fees.fee(price, SIZE))
            )
        opportunity = Opportunity(legs=legs, payout=SIZE, title="New York at Houston")
        for app in (kalshi_app, poly_app):
            app.faults.add(Fault("latency", path="*", times=None, delay_ms=LATENCY_MS))
        clients: dict[str, Exchange] = {"kalshi": kalshi, "polymarket": poly}
        journal = Journal(Path(tmp) / "journal.jsonl")
        counter = iter(range(10**6))

        def one_leg(leg: Leg) -> Callable[[], object]:
            client = clients[leg.exchange]
            return lambda: client.place_order(
                OrderRequest(
                    leg.market,
                    leg.outcome_id,
                    Side.BUY,
                    leg.limit_price,
                    SIZE,
                    TimeInForce.IOC,
                    client_order_id=f"bench-{leg.exchange}-{next(counter)}",
                )
            )

        def both(executor: OrderExecutor) -> Callable[[], object]:
            def go() -> None:
                trade = executor.execute(
                    opportunity, trade_id=new_trade_id(), now=opportunity.detected_at, clients=clients
                ).trade
                assert trade.status.value == "open", trade.note

            return go

        concurrent = OrderExecutor(journal, ExecutionConfig())
        sequential = OrderExecutor(journal, ExecutionConfig(concurrent=False))
        one = max(_median(one_leg(leg)) for leg in legs)
        together = _median(both(concurrent))
        in_turn = _median(both(sequential))
        concurrent.close()
        sequential.close()
        journal.close()
        kalshi.close()
        poly.close()
    return [
        _row(
            f"two legs placed concurrently, {LATENCY_MS} ms per request (baseline: one leg alone)",
            together,
            one,
            "<= 1.2",
            1.2,
        ),
        _row(
            "two legs placed one after the other as PolyMix did (baseline: one leg alone)",
            in_turn,
            one,
            "~2 (reference)",
            None,
        ),
        _row("two legs concurrently (baseline: PolyMix's sequential legs)", together, in_turn, "<= 0.6", 0.6),
    ]


def main() -> None:
    """Print the rows as a table."""
    for row in run():
        print(
            f"{row['name']}\n    arbkit {row['arbkit_median_s'] * 1000:.1f} ms   baseline "
            f"{row['baseline_median_s'] * 1000:.1f} ms   ratio {row['ratio']:.3f}   target {row['target']}"
        )


if __name__ == "__main__":
    main()
