"""A loopback Kalshi Trade API v2 for tests, demos and benchmarks: :class:`KalshiSandbox`.

It speaks today's protocol (reference: kalshi.md, 2026-12): the same paths under
``/trade-api/v2``; order writes only through V2 ``/portfolio/events/orders`` (create,
cancel, amend, decrease, batched create and cancel, cancel all) while the six V1 writes
answer ``410 deprecated_v1_order_endpoint``; order reads under ``/portfolio/orders`` (plus
queue positions); bodies with every field the official SDK (3.34) requires and none Kalshi
removed in 2026; opaque cursors; wrapped error bodies; RSA-PSS or Ed25519 signatures verified
from the public key with ``cryptography`` on every signed request (missing or wrong signature,
unknown key, stale timestamp, or a signature over the path *with* its query string ->
``401 authentication_error``). Behind it, one YES-price :class:`arbkit.sandbox.BinaryBook`
per market with its own price grid (``price_level_structure``; off-grid -> ``invalid_price``),
Kalshi's netted positions, ``reduce_only`` (IOC only), self-trade prevention, fees by the
published formula (:mod:`arbkit_kalshi.sandbox.verify`), ``client_order_id`` uniqueness,
public trades and settlement.

Run it standalone::

    python -m arbkit_kalshi.sandbox --port 8765 --scenario my.json

or in-process::

    from arbkit.sandbox import SandboxServer
    from arbkit_kalshi.sandbox import KalshiSandbox, example_scenario

    app = KalshiSandbox()
    app.load_scenario(example_scenario())
    app.add_account("my-key-id", public_key_pem, balance="1000")
    with SandboxServer(app) as server:
        client = KalshiClient(base_url=server.url, api_key_id="my-key-id", private_key=pem, rate_limit=None)

Scenario JSON (every key optional except the tickers; prices in dollars, sizes in contracts)::

    {
      "series": [{"ticker": "KXNBAGAME", "title": "NBA games",
                  "fee_type": "quadratic_with_maker_fees", "fee_multiplier": 1}],
      "events": [{
        "event_ticker": "KXNBAGAME-26MAR31NYKHOU", "series_ticker": "KXNBAGAME",
        "title": "New York at Houston", "sub_title": "Mar 31", "mutually_exclusive": true,
        "fee_type_override": null, "fee_multiplier_override": null,
        "markets": [{
          "ticker": "KXNBAGAME-26MAR31NYKHOU-NYK", "title": "New York at Houston Winner?",
          "yes_sub_title": "New York", "no_sub_title": "New York", "status": "active",
          "close_time": "2026-04-14T00:00:00Z", "rules_primary": "...",
          "price_level_structure": "linear_cent",
          "yes_bids": [["0.45", "100"], ["0.44", "250"]],
          "no_bids":  [["0.52", "80"]]
        }]
      }],
      "accounts": [{"key_id": "...", "public_key_pem": "-----BEGIN PUBLIC KEY-----...", "balance": "1000"}]
    }

``yes_bids`` / ``no_bids`` are the house liquidity: a NO bid at q is a YES ask at 1-q.
``price_level_structure`` names one of the venue's grids (``linear_cent`` by default,
``tapered_deci_cent``, ``deci_cent``, ``center_deci_edge_centi_cent``...; kalshi.md 4.5) or
``price_ranges`` gives the bands. Other market keys (``occurrence_datetime``,
``can_close_early``, ...) are passed through to the market JSON, except fields Kalshi removed.

Control surface, shared with the Polymarket sandbox (:class:`arbkit.sandbox.SandboxApp`):
``POST /_sandbox/scenario`` (the JSON above), ``POST /_sandbox/book``
(``{"ticker", "yes_bids", "no_bids"}``), ``POST /_sandbox/resolve``
(``{"ticker", "result": "yes"|"no"|"scalar"|"void", "settlement_value"?}``; a void is reported
as a ``scalar`` result, the only form the SDK's enums allow),
``GET /_sandbox/state``, ``/_sandbox/faults`` and ``/_sandbox/requests``; Kalshi adds
``POST /_sandbox/accounts`` (``{"key_id", "public_key_pem", "balance"}``) and
``POST /_sandbox/market_status`` (``{"ticker", "status"}``). The Python methods
:meth:`KalshiSandbox.load_scenario`, :meth:`~KalshiSandbox.set_book`,
:meth:`~KalshiSandbox.resolve`, :meth:`~KalshiSandbox.add_account` and
:meth:`~KalshiSandbox.set_status` do the same in-process.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from arbkit_kalshi.sandbox.app import PREFIX, KalshiSandbox

__all__ = ["PREFIX", "KalshiSandbox", "example_scenario"]


def example_scenario(name: str = "example.json") -> dict[str, Any]:
    """A scenario shipped with the package (``arbkit_kalshi/sandbox/scenarios/``)."""
    text = resources.files("arbkit_kalshi.sandbox").joinpath("scenarios", name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
