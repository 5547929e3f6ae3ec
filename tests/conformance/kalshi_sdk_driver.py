"""Drive the Kalshi sandbox with the UNMODIFIED official SDK (``kalshi-python-sync``, pinned).

Runs under the SDK's own interpreter (Python >= 3.13, ``.venv-kalshi-sdk``), never under
arbkit's: it imports only the SDK and the standard library. Usage::

    python kalshi_sdk_driver.py lifecycle HOST_URL KEY_ID KEY_FILE PLAN_JSON
    python kalshi_sdk_driver.py balance HOST_URL KEY_ID KEY_FILE
    python kalshi_sdk_driver.py bodies BODIES_JSON
    python kalshi_sdk_driver.py payloads PAYLOADS_JSON

``lifecycle`` walks a whole order lifecycle through the SDK's typed API (every response is
parsed by the SDK's strict pydantic models, so any missing or mistyped field raises) and
prints one JSON report on stdout. ``bodies`` validates request bodies captured from arbkit's
client against the SDK's request models. Any failure exits non-zero with the step named.
"""

from __future__ import annotations

import json
import sys
import traceback
import urllib.request
from typing import Any

import kalshi_python_sync
from kalshi_python_sync import KalshiClient
from kalshi_python_sync.configuration import Configuration
from kalshi_python_sync.exceptions import ApiException
from kalshi_python_sync.models.amend_order_v2_request import AmendOrderV2Request
from kalshi_python_sync.models.batch_cancel_orders_v2_request import BatchCancelOrdersV2Request
from kalshi_python_sync.models.batch_cancel_orders_v2_request_orders_inner import (
    BatchCancelOrdersV2RequestOrdersInner,
)
from kalshi_python_sync.models.batch_create_orders_v2_request import BatchCreateOrdersV2Request
from kalshi_python_sync.models.create_order_v2_request import CreateOrderV2Request
from kalshi_python_sync.models.decrease_order_v2_request import DecreaseOrderV2Request

REQUEST_MODELS: dict[str, Any] = {
    "CreateOrderV2Request": CreateOrderV2Request,
    "AmendOrderV2Request": AmendOrderV2Request,
    "DecreaseOrderV2Request": DecreaseOrderV2Request,
    "BatchCreateOrdersV2Request": BatchCreateOrdersV2Request,
    "BatchCancelOrdersV2Request": BatchCancelOrdersV2Request,
}

report: dict[str, Any] = {"sdk_version": kalshi_python_sync.__version__, "steps": []}


def step(name: str, value: Any = None) -> Any:
    report["steps"].append(name)
    return value


def control(host: str, path: str, payload: dict[str, Any]) -> Any:
    """The sandbox's control surface (``/_sandbox/...``), outside the venue API."""
    root = host.split("/trade-api/")[0]
    if not root.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) host: {root!r}")
    request = urllib.request.Request(  # noqa: S310 - an http(s) URL, checked above
        root + path, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read() or b"null")


def expect_error(call: Any, status: int) -> dict[str, Any]:
    """Run ``call``; it must raise the SDK's ``ApiException`` with ``status``. Returns the body."""
    try:
        call()
    except ApiException as exc:
        if exc.status != status:
            raise AssertionError(f"expected HTTP {status}, got {exc.status}: {exc.body}") from None
        return json.loads(exc.body)
    raise AssertionError(f"expected HTTP {status}, the call succeeded")


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def lifecycle(host: str, key_id: str, key_file: str, plan: dict[str, Any]) -> None:
    config = Configuration(host=host)
    config.api_key_id = key_id  # type: ignore[attr-defined]
    with open(key_file, encoding="utf-8") as fh:
        config.private_key_pem = fh.read()  # type: ignore[attr-defined]
    client = KalshiClient(config)
    taker, grid_market, series = plan["taker_market"], plan["grid_market"], plan["series"]

    status = step("exchange_status", client.get_exchange_status())
    check(status.exchange_active and status.trading_active, "exchange not active")
    step("series_list", client.get_series_list())
    one = step("series", client.get_series(series_ticker=series))
    check(one.series.ticker == series, "wrong series")

    events, cursor = [], None
    while True:
        page = client.get_events(limit=1, cursor=cursor, with_nested_markets=True)
        events.extend(page.events)
        cursor = page.cursor
        if not cursor:
            break
    step("events_paged")
    check(len(events) == plan["events"], f"expected {plan['events']} events, got {len(events)}")
    event = step("event", client.get_event(event_ticker=events[0].event_ticker))
    check(event.event.event_ticker == events[0].event_ticker, "wrong event")

    markets, cursor, pages = [], None, 0
    while True:
        page = client.get_markets(limit=2, cursor=cursor)
        markets.extend(page.markets)
        pages += 1
        cursor = page.cursor
        if not cursor:
            break
    step("markets_paged")
    check(len(markets) == plan["markets"] and pages > 1, f"paging: {len(markets)} markets in {pages} pages")
    structures = {m.ticker: m.price_level_structure for m in markets}
    check(len(set(structures.values())) > 1, f"only one price structure: {structures}")
    market = step("market", client.get_market(ticker=grid_market)).market
    check(len(market.price_ranges) >= 2, "the grid market has one band only")

    book = step("orderbook", client.get_market_orderbook(ticker=taker)).orderbook_fp
    check(bool(book.no_dollars), "no NO bids to take")
    step("orderbooks", client.get_market_orderbooks(tickers=[taker, grid_market]))
    balance = step("balance", client.get_balance())
    check(balance.balance_dollars == plan["balance_dollars"], f"balance {balance.balance_dollars}")

    # A bid at the best YES ask (1 - best NO bid) takes the ask and rests the rest.
    best_no = max(book.no_dollars, key=lambda level: float(level[0]))
    ask_price = f"{1 - float(best_no[0]):.4f}"
    available = float(best_no[1])
    created = step(
        "create_order_v2",
        client.create_order_v2(
            ticker=taker,
            side="bid",
            count=f"{available + 20:.2f}",
            price=ask_price,
            time_in_force="good_till_canceled",
            self_trade_prevention_type="taker_at_cross",
            client_order_id="sdk-conformance-1",
        ),
    )
    check(float(created.fill_count) == available, f"filled {created.fill_count}, wanted {available}")
    check(float(created.remaining_count) == 20, f"remaining {created.remaining_count}")
    order = step("get_order", client.get_order(order_id=created.order_id)).order
    check(order.status == "resting" and order.book_side == "bid" and order.outcome_side == "yes", str(order))
    listed = step("get_orders", client.get_orders(ticker=taker))
    check(any(o.order_id == created.order_id for o in listed.orders), "order not listed")
    fills = step("get_fills", client.get_fills(ticker=taker))
    check(any(f.order_id == created.order_id for f in fills.fills), "no fill for the order")
    positions = step("get_positions", client.get_positions())
    check(
        any(p.ticker == taker and float(p.position_fp) == available for p in positions.market_positions),
        "position",
    )
    trades = step("get_trades", client.get_trades(ticker=taker))
    check(bool(trades.trades), "no public trade")

    queue = step("queue_position", client.get_order_queue_position(order_id=created.order_id))
    check(float(queue.queue_position_fp) == 0, f"queue position {queue.queue_position_fp}")
    queues = step("queue_positions", client.get_order_queue_positions(market_tickers=taker))
    check(any(q.order_id == created.order_id for q in queues.queue_positions), "queue positions")

    lower = f"{float(ask_price) - 0.02:.4f}"
    amended = step(
        "amend_order_v2",
        client.amend_order_v2(
            order_id=created.order_id,
            ticker=taker,
            side="bid",
            price=lower,
            count=f"{available + 15:.2f}",
            client_order_id="sdk-conformance-1",
            updated_client_order_id="sdk-conformance-1b",
        ),
    )
    check(float(amended.remaining_count or 0) == 15, f"amended remaining {amended.remaining_count}")
    decreased = step(
        "decrease_order_v2",
        client.decrease_order_v2(order_id=created.order_id, reduce_by="5", market_ticker=taker),
    )
    check(float(decreased.remaining_count) == 10, f"decreased remaining {decreased.remaining_count}")
    cancelled = step(
        "cancel_order_v2", client.cancel_order_v2(order_id=created.order_id, market_ticker=taker)
    )
    check(float(cancelled.reduced_by) == 10, f"reduced_by {cancelled.reduced_by}")
    final = client.get_order(order_id=created.order_id).order
    check(final.status == "canceled", f"status after cancel {final.status}")

    # Sub-cent prices on a non-1-cent grid, batched; one entry off the grid is refused alone.
    batch = step(
        "batch_create_orders_v2",
        client.batch_create_orders_v2(
            orders=[
                CreateOrderV2Request(
                    ticker=grid_market,
                    side="bid",
                    count="2.50",
                    price=plan["grid_valid_bid"],
                    time_in_force="good_till_canceled",
                    self_trade_prevention_type="maker",
                    client_order_id="sdk-batch-1",
                ),
                CreateOrderV2Request(
                    ticker=grid_market,
                    side="ask",
                    count="1",
                    price=plan["grid_valid_ask"],
                    time_in_force="good_till_canceled",
                    self_trade_prevention_type="maker",
                    client_order_id="sdk-batch-2",
                ),
                CreateOrderV2Request(
                    ticker=grid_market,
                    side="bid",
                    count="1",
                    price=plan["grid_off_price"],
                    time_in_force="good_till_canceled",
                    self_trade_prevention_type="maker",
                    client_order_id="sdk-batch-3",
                ),
            ]
        ),
    )
    ok = [o for o in batch.orders if o.order_id]
    bad = [o for o in batch.orders if o.error is not None]
    check(len(ok) == 2 and len(bad) == 1, f"batch results {batch.orders}")
    step(
        "batch_cancel_orders_v2",
        client.batch_cancel_orders_v2(
            orders=[
                BatchCancelOrdersV2RequestOrdersInner(order_id=o.order_id, market_ticker=grid_market)
                for o in ok
            ]
        ),
    )
    body = expect_error(
        lambda: client.create_order_v2(
            ticker=grid_market,
            side="bid",
            count="1",
            price=plan["grid_off_price"],
            time_in_force="good_till_canceled",
            self_trade_prevention_type="taker_at_cross",
        ),
        400,
    )
    check(body["error"]["code"] == "invalid_price", f"off-grid answer {body}")
    step("off_grid_refused")

    for n in range(2):
        client.create_order_v2(
            ticker=grid_market,
            side="bid",
            count="1",
            price=plan["grid_valid_bid"],
            time_in_force="good_till_canceled",
            self_trade_prevention_type="taker_at_cross",
            client_order_id=f"sdk-rest-{n}",
        )
    step("cancel_all_orders", client.cancel_all_orders())
    check(not client.get_orders(status="resting").orders, "cancel all left resting orders")

    # IOC + reduce_only exit of part of the position (the rest is settled below).
    exit_order = step(
        "reduce_only_ioc",
        client.create_order_v2(
            ticker=taker,
            side="ask",
            count="10",
            price="0.0100",
            time_in_force="immediate_or_cancel",
            self_trade_prevention_type="taker_at_cross",
            reduce_only=True,
        ),
    )
    check(float(exit_order.fill_count) == 10 and float(exit_order.remaining_count) == 0, str(exit_order))

    control(host, "/_sandbox/resolve", {"ticker": taker, "result": "yes"})
    settled = step("get_settlements", client.get_settlements())
    check(any(s.ticker == taker and s.market_result == "yes" for s in settled.settlements), "no settlement")
    after = client.get_market(ticker=taker).market
    check(after.status == "finalized" and after.result == "yes", f"market after resolve {after.status}")
    step("balance_after", client.get_balance())

    # A V1-style write through the SDK's own signed request path: the venue answers 410.
    for method, path, payload in (
        (
            "POST",
            "/portfolio/orders",
            {"ticker": taker, "side": "yes", "action": "buy", "count": 1, "yes_price": 40},
        ),
        ("DELETE", f"/portfolio/orders/{created.order_id}", None),
    ):
        response = client.call_api(
            *client.param_serialize(
                method=method,
                resource_path=path,
                body=payload,
                header_params={"Content-Type": "application/json"} if payload else None,
            )
        )
        response.read()
        gone = json.loads(response.data)
        check(response.status == 410, f"{method} {path} answered {response.status}")
        check(
            gone
            == {
                "error": {
                    "code": "deprecated_v1_order_endpoint",
                    "message": "Please switch to the V2 endpoints",
                    "details": "https://docs.kalshi.com/api-reference/orders/create-order-v2",
                }
            },
            f"V1 body {gone}",
        )
    step("v1_write_410")
    print(json.dumps(report))


def bodies(path: str) -> None:
    """Validate every captured body against its SDK request model: no missing, mistyped or unknown key."""
    with open(path, encoding="utf-8") as fh:
        captured: dict[str, list[dict[str, Any]]] = json.load(fh)
    checked = 0
    for model_name, items in captured.items():
        model = REQUEST_MODELS[model_name]
        for body in items:
            parsed = model.from_dict(body)  # pydantic validation: raises on a bad body
            known = {f.alias or name for name, f in model.model_fields.items()}
            unknown = set(body) - known
            check(not unknown, f"{model_name} body has keys the SDK does not know: {sorted(unknown)}")
            check(
                parsed.to_dict() == {k: v for k, v in body.items()},
                f"{model_name} does not round-trip: {body}",
            )
            if model_name == "BatchCreateOrdersV2Request":
                for inner in body["orders"]:
                    check(not set(inner) - set(CreateOrderV2Request.model_fields), f"batch entry {inner}")
            checked += 1
    print(json.dumps({"sdk_version": kalshi_python_sync.__version__, "validated": checked}))


def payloads(path: str) -> None:
    """Parse ``{file: [model name, body]}`` with the SDK's response models (``from_dict`` validates)."""
    import importlib
    import re

    with open(path, encoding="utf-8") as fh:
        items: dict[str, list[Any]] = json.load(fh)
    for name, (model_name, body) in items.items():
        module = re.sub(r"(?<!^)(?=[A-Z])", "_", model_name).lower()
        model = getattr(importlib.import_module(f"kalshi_python_sync.models.{module}"), model_name)
        try:
            model.from_dict(body)
        except Exception as exc:
            raise AssertionError(f"{name} does not parse as {model_name}: {exc}") from None
    print(json.dumps({"sdk_version": kalshi_python_sync.__version__, "parsed": len(items)}))


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["lifecycle"] and len(argv) == 5:
            with open(argv[4], encoding="utf-8") as fh:
                lifecycle(argv[1], argv[2], argv[3], json.load(fh))
        elif argv[:1] == ["balance"] and len(argv) == 4:
            config = Configuration(host=argv[1])
            config.api_key_id = argv[2]  # type: ignore[attr-defined]
            with open(argv[3], encoding="utf-8") as fh:
                config.private_key_pem = fh.read()  # type: ignore[attr-defined]
            balance = KalshiClient(config).get_balance()
            print(json.dumps({"balance_dollars": balance.balance_dollars}))
        elif argv[:1] == ["bodies"] and len(argv) == 2:
            bodies(argv[1])
        elif argv[:1] == ["payloads"] and len(argv) == 2:
            payloads(argv[1])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Exception:
        print(f"FAILED after steps {report['steps']}", file=sys.stderr)
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
