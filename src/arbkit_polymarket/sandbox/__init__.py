"""A local Polymarket (CLOB V2 + Gamma + Data API) speaking the real wire protocol.

Run it standalone::

    python -m arbkit_polymarket.sandbox --port 8765 --scenario scenarios/example.json

or from Python (tests start it on a free loopback port)::

    from arbkit.sandbox import SandboxServer
    from arbkit_polymarket.sandbox import PolymarketSandbox

    app = PolymarketSandbox()
    app.load_scenario(scenario_dict)
    app.add_account("0x...", 1000)            # pUSD
    with SandboxServer(app) as server:
        client = PolymarketClient(base_url=server.url, gamma_url=server.url + "/gamma",
                                  data_url=server.url + "/data-api", private_key=...)

CLOB paths are served at the root, Gamma under ``/gamma`` and the Data API under
``/data-api`` (the real hosts both have a ``/markets`` route). API keys are made the
real way (``POST /auth/api-key`` with L1 headers); every account request is HMAC-checked.

Scenario format (JSON; numbers may be strings)::

    {
      "accounts": [{"address": "0x…", "balance": "1000", "tokens": {"<token id>": "10"}}],
      "events": [{
        "id": "1", "slug": "nba-nyk-hou-2026-03-31", "title": "Knicks vs. Rockets",
        "tags": [{"slug": "nba"}],
        "markets": [{
          "condition_id": "0x…", "question": "Knicks vs. Rockets", "slug": "nba-nyk-hou-2026-03-31",
          "outcomes": ["Knicks", "Rockets"], "token_ids": ["<decimal>", "<decimal>"],
          "tick_size": "0.01", "min_order_size": "5", "neg_risk": false,
          "fees": {"rate": "0.03", "exponent": 1},          # or null: no fees
          "book": {"bids": [["0.45", "100"]], "asks": [["0.47", "100"]]},
          "gameStartTime": "2026-03-31 23:30:00+00", "sportsMarketType": "moneyline"
        }]
      }]
    }

Book levels are prices of the market's **first** token; the second token's book is the
mirror (a bid for the first at p is an ask for the second at 1-p). Any other market key
(``gameStartTime``, ``sportsMarketType``, ``secondsDelay``, ``description``, ``endDate``)
is copied into the Gamma market as is. The control API (``/_sandbox/...``, see
:mod:`arbkit.sandbox.server`) loads scenarios, moves books (``{"condition_id", "bids",
"asks"}``), resolves (``{"condition_id", "winner": token}`` or ``"result": "50-50"|"void"``)
and injects faults.

Streaming (needs the ``stream`` extra): :func:`arbkit_polymarket.sandbox.stream.serve_stream`
serves ``/ws/market`` and ``/ws/user`` from these books on its own port (point
``PolymarketStream(url=ws.url + "/ws")`` at it); every change is published, stream faults
are on ``/_sandbox/stream/faults`` and ``POST /_sandbox/tick-size`` moves a tick.

Sports taker delay: a market with ``"secondsDelay": 3`` answers a marketable order with
``status: "delayed"`` and matches it when the delay has passed (``PolymarketSandbox(
taker_delay=0.05)`` shortens every such delay; ``settle_delayed()`` matches what is due).
Every request is checked by the sandbox's own code (:mod:`.verify`: eth-account EIP-712,
hmac, the published fee formula), never by the code arbkit's client signs with.
Sandbox simplification: resolution redeems tokens into pUSD immediately.
"""

from arbkit_polymarket.sandbox.app import PolymarketSandbox
from arbkit_polymarket.sandbox.engine import HOUSE

__all__ = ["HOUSE", "PolymarketSandbox"]
