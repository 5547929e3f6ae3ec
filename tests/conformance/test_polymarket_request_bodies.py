"""Conformance: every request body arbkit's Polymarket client sends is what the official SDKs send.

arbkit trades on the sandbox (books, resting and marketable orders on a standard and a
neg-risk market, cancels, reads); every request is recorded as it arrived. Each body is
then rebuilt by the SDKs' own request builders from its fields and must come out equal:

- ``POST /order``: py-clob-client-v2's ``order_to_json_v2`` (it always sends ``postOnly`` and
  ``deferExec``, as arbkit does) and polymarket-client's ``build_post_order_request`` (which
  leaves out a false ``postOnly``). V2's own EIP-712 builder signs the same order struct with
  the same key: the signature and the order hash must be arbkit's.
- ``DELETE /order`` and ``POST /books``: polymarket-client's ``build_cancel_order_request`` and
  ``build_order_books_request``.

polymarket-client has no pydantic *request* models for these bodies (its requests are plain
dataclasses turned into dicts by the builders above; pydantic is for responses), so the
builders are the strictest judge the SDKs offer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from polymarket._internal.actions.clob import build_order_books_request
from polymarket._internal.actions.orders.cancel import build_cancel_order_request
from polymarket._internal.actions.orders.post import build_post_order_request
from polymarket.models.clob.orders import SignedOrder
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderV2, SignedOrderV2, order_to_json_v2
from py_clob_client_v2.order_utils.model.side import Side as V2Side
from py_clob_client_v2.signer import Signer

from arbkit.models import OrderRequest, OrderStatus, Side
from arbkit.sandbox import Request, Response, SandboxServer
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.sandbox import PolymarketSandbox

SCENARIO = Path(__file__).resolve().parent / "polymarket_scenario.json"
BILL = "0x1111111111111111111111111111111111111111111111111111111111111111"
BILL_YES = "11111111111111111111111111111111111111111111111111111111111111111111111111111"
BILL_NO = "22222222222222222222222222222222222222222222222222222222222222222222222222222"
ALICE = "0x3333333333333333333333333333333333333333333333333333333333333333"
ALICE_YES = "33333333333333333333333333333333333333333333333333333333333333333333333333333"


class RecordingSandbox(PolymarketSandbox):
    """The sandbox, keeping every (method, path, body bytes) it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str, bytes]] = []

    def dispatch(self, request: Request) -> Response:
        if not request.path.startswith("/_sandbox/"):
            self.seen.append((request.method, request.path, request.body))
        return super().dispatch(request)


@pytest.fixture
def sandbox() -> RecordingSandbox:
    app = RecordingSandbox()
    app.load_scenario(json.loads(SCENARIO.read_text()))
    return app


@pytest.fixture
def key(sandbox: RecordingSandbox) -> str:
    account = Account.create()
    sandbox.add_account(account.address, 1000)
    sandbox.give_tokens(account.address, BILL_NO, 20)
    return "0x" + bytes(account.key).hex()


@pytest.fixture
def traded(sandbox: RecordingSandbox, key: str) -> Iterator[RecordingSandbox]:
    """arbkit's client through a lifecycle on the sandbox."""
    with SandboxServer(sandbox) as server:
        client = PolymarketClient(
            base_url=server.url,
            gamma_url=server.url + "/gamma",
            data_url=server.url + "/data-api",
            private_key=key,
            max_retries=0,
        )
        bill, alice = client.market(BILL), client.market(ALICE)
        client.order_books([bill, alice])
        resting = client.place_order(OrderRequest(bill, BILL_YES, Side.BUY, Decimal("0.40"), Decimal("10")))
        assert resting.status is OrderStatus.OPEN
        assert client.cancel_order(resting.id).status is OrderStatus.CANCELED
        taken = client.place_order(
            OrderRequest(bill, BILL_YES, Side.BUY, Decimal("0.47"), Decimal("16.9"), time_in_force="FOK")
        )
        assert taken.status is OrderStatus.FILLED
        sold = client.place_order(
            OrderRequest(bill, BILL_NO, Side.SELL, Decimal("0.52"), Decimal("7.5"), time_in_force="IOC")
        )
        assert sold.filled_size == Decimal("7.5")
        neg_risk = client.place_order(
            OrderRequest(alice, ALICE_YES, Side.BUY, Decimal("0.325"), Decimal("6"), time_in_force="FOK")
        )
        assert neg_risk.status is OrderStatus.FILLED
        client.orders()
        client.fills()
        client.balance()
        client.close()
        yield sandbox


def bodies(app: RecordingSandbox, method: str, path: str) -> list[Any]:
    return [json.loads(body) for m, p, body in app.seen if (m, p) == (method, path)]


def test_order_bodies_are_what_both_sdks_build_and_sign(traded: RecordingSandbox, key: str) -> None:
    posted = bodies(traded, "POST", "/order")
    assert len(posted) == 4
    contracts = get_contract_config(137)
    for body in posted:
        wire = body["order"]
        neg_risk = wire["tokenId"] == ALICE_YES
        v2_order = OrderV2(
            salt=str(wire["salt"]),
            maker=wire["maker"],
            signer=wire["signer"],
            tokenId=wire["tokenId"],
            makerAmount=wire["makerAmount"],
            takerAmount=wire["takerAmount"],
            side=V2Side.BUY if wire["side"] == "BUY" else V2Side.SELL,
            signatureType=wire["signatureType"],
            timestamp=wire["timestamp"],
            metadata=wire["metadata"],
            builder=wire["builder"],
            expiration=wire["expiration"],
        )
        builder = ExchangeOrderBuilderV2(
            contracts.neg_risk_exchange_v2 if neg_risk else contracts.exchange_v2, 137, Signer(key, 137)
        )
        typed = builder.build_order_typed_data(v2_order)
        assert builder.build_order_signature(typed) == wire["signature"]
        # The order id V2 computes is the one the sandbox recovered with eth-account.
        assert builder.build_order_hash(typed) in traded.engine.orders
        signed = SignedOrderV2(**{**v2_order.__dict__, "signature": wire["signature"]})
        assert order_to_json_v2(signed, body["owner"], body["orderType"], False, False) == body

        py_sdk_order = SignedOrder(
            builder=wire["builder"],
            expiration=int(wire["expiration"]),
            maker=wire["maker"],
            maker_amount=int(wire["makerAmount"]),
            metadata=wire["metadata"],
            order_type=body["orderType"],
            salt=wire["salt"],
            side=wire["side"],
            signature=wire["signature"],
            signature_type=wire["signatureType"],
            signer=wire["signer"],
            taker_amount=int(wire["takerAmount"]),
            timestamp=int(wire["timestamp"]),
            token_id=wire["tokenId"],
        )
        path, expected = build_post_order_request(py_sdk_order, owner_api_key=body["owner"])
        assert path == "/order"
        assert body.pop("postOnly") is False  # the py-sdk sends postOnly only when true
        assert expected == body


def test_cancel_and_book_bodies_are_what_the_py_sdk_builds(traded: RecordingSandbox) -> None:
    [cancel] = bodies(traded, "DELETE", "/order")
    assert build_cancel_order_request(order_id=cancel["orderID"]) == ("/order", cancel)
    [books] = bodies(traded, "POST", "/books")
    assert build_order_books_request(token_ids=[item["token_id"] for item in books]) == ("/books", books)
    # Every other request arbkit sent has no body, as the SDKs send them.
    with_body = {(m, p) for m, p, body in traded.seen if body}
    assert with_body == {("POST", "/order"), ("DELETE", "/order"), ("POST", "/books")}
