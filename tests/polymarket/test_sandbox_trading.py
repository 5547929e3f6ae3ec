"""Trading against the sandbox: the order lifecycle, every rejection path, signature checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from eth_account import Account

from arbkit.errors import AuthenticationError, InsufficientFunds, OrderRejected, ValidationError
from arbkit.models import Market, OrderRequest, OrderStatus, Side
from arbkit.sandbox import SandboxServer
from arbkit_polymarket.auth import hmac_signature, l1_headers
from arbkit_polymarket.client import PolymarketClient
from arbkit_polymarket.crypto import SigningKey
from arbkit_polymarket.orders import OrderSigner, order_amounts
from arbkit_polymarket.sandbox import PolymarketSandbox

from .conftest import FED, FED_YES, KNICKS, NBA, ROCKETS, make_client

D = Decimal


def nba(client: PolymarketClient) -> Market:
    return client.market(NBA)


def buy(market: Market, outcome: str, price: str, size: str, tif: str = "GTC", **kw: Any) -> OrderRequest:
    return OrderRequest(market, outcome, Side.BUY, D(price), D(size), time_in_force=tif, **kw)


def test_full_lifecycle_of_a_resting_order(client: PolymarketClient, sandbox: PolymarketSandbox) -> None:
    market = nba(client)
    request = buy(market, KNICKS, "0.40", "10", client_order_id="leg-1")
    expected_id = client.order_id_for(request)
    order = client.place_order(request)
    assert (order.id, order.status, order.filled_size) == (expected_id, OrderStatus.OPEN, 0)
    assert sandbox.balance_of(client.address or "") == 1000  # reserved, not spent
    assert [o.id for o in client.orders(market=market)] == [expected_id]
    found = client.find_order("leg-1")
    assert found is not None
    assert (found.id, found.client_order_id, found.remaining_size) == (expected_id, "leg-1", 10)
    canceled = client.cancel_order(order.id)
    assert canceled.status is OrderStatus.CANCELED
    assert client.orders() == []
    assert client.balance().available == 1000


def test_api_keys_are_derived_first_and_created_only_when_missing(
    client: PolymarketClient, sandbox: PolymarketSandbox, server: SandboxServer, wallet: tuple[str, str]
) -> None:
    first = client.api_credentials()
    assert sandbox.requests["GET /auth/derive-api-key"] == 1
    assert sandbox.requests["POST /auth/api-key"] == 1
    again = make_client(server, wallet[0]).api_credentials()
    assert again.api_key == first.api_key
    assert sandbox.requests["GET /auth/derive-api-key"] == 2
    assert sandbox.requests["POST /auth/api-key"] == 1


def test_fok_buy_fills_pays_price_plus_fee_and_shows_as_a_fill(
    client: PolymarketClient, sandbox: PolymarketSandbox
) -> None:
    market = nba(client)
    order = client.place_order(buy(market, KNICKS, "0.48", "100", "FOK"))
    assert (order.status, order.filled_size) == (OrderStatus.FILLED, 100)
    assert order.average_price == D("0.4720")  # 80 @ 0.47, 20 @ 0.48
    fee = D("0.03") * 80 * D("0.47") * D("0.53") + D("0.03") * 20 * D("0.48") * D("0.52")
    assert sandbox.balance_of(client.address or "") == 1000 - D("47.20") - fee
    fills = client.fills(order_id=order.id, market=market)
    assert sorted((f.price, f.size) for f in fills) == [(D("0.47"), 80), (D("0.48"), 20)]
    assert sum(f.fee for f in fills) == fee
    assert [(p.outcome_id, p.size) for p in client.positions()] == [(KNICKS, 100)]
    after = client.order_books([market])[("polymarket", NBA, KNICKS)]
    assert after.best_ask.price == D("0.48")  # type: ignore[union-attr]
    assert after.best_ask.size == 180  # type: ignore[union-attr]


def test_buying_the_second_token_trades_against_first_token_bids(client: PolymarketClient) -> None:
    market = nba(client)
    order = client.place_order(buy(market, ROCKETS, "0.55", "50", "IOC"))
    assert (order.status, order.filled_size, order.average_price) == (OrderStatus.FILLED, 50, D("0.55"))
    sell = client.place_order(
        OrderRequest(market, ROCKETS, Side.SELL, D("0.40"), D("20"), time_in_force="IOC")
    )
    assert (sell.status, sell.filled_size) == (OrderStatus.FILLED, 20)


def test_fak_partially_fills_and_kills_the_rest(client: PolymarketClient) -> None:
    order = client.place_order(buy(nba(client), KNICKS, "0.47", "100", "IOC"))
    assert (order.status, order.filled_size, order.remaining_size) == (OrderStatus.CANCELED, 80, 0)


def test_two_clients_trade_with_each_other(
    client: PolymarketClient, server: SandboxServer, sandbox: PolymarketSandbox
) -> None:
    other = Account.create()
    sandbox.add_account(other.address, 500)
    maker = make_client(server, "0x" + bytes(other.key).hex())
    resting = maker.place_order(buy(nba(maker), KNICKS, "0.46", "10"))
    taken = client.place_order(
        OrderRequest(nba(client), ROCKETS, Side.BUY, D("0.54"), D("10"), time_in_force="FOK")
    )
    assert taken.status is OrderStatus.FILLED
    assert maker.get_order(resting.id).status is OrderStatus.FILLED
    (maker_fill,) = maker.fills()
    assert (maker_fill.is_taker, maker_fill.size, maker_fill.fee) == (False, 10, 0)


def test_gtd_orders_carry_an_expiration_and_too_short_ones_are_refused(client: PolymarketClient) -> None:
    market = nba(client)
    later = datetime.now(UTC) + timedelta(minutes=10)
    order = client.place_order(buy(market, KNICKS, "0.40", "10", "GTD", expires_at=later))
    assert order.status is OrderStatus.OPEN
    with pytest.raises(ValidationError, match="60 s"):
        client.place_order(buy(market, KNICKS, "0.40", "10", "GTD", expires_at=datetime.now(UTC)))


def test_resending_the_same_request_sends_the_same_order(
    client: PolymarketClient, sandbox: PolymarketSandbox
) -> None:
    request = buy(nba(client), KNICKS, "0.40", "10", client_order_id="leg-7")
    client.place_order(request)
    with pytest.raises(OrderRejected, match="already exists"):
        client.place_order(request)
    with pytest.raises(ValidationError, match="different order"):
        client.place_order(attrs.evolve(request, price=D("0.41")))


def test_size_under_the_minimum_is_refused_before_sending(
    client: PolymarketClient, sandbox: PolymarketSandbox
) -> None:
    market = nba(client)
    client.api_credentials()
    sandbox.requests.clear()
    with pytest.raises(ValidationError, match="lower than the minimum: 5"):
        client.place_order(buy(market, KNICKS, "0.40", "4.99"))
    with pytest.raises(ValidationError, match="tick grid"):
        client.place_order(buy(market, KNICKS, "0.405", "10"))
    assert sandbox.requests["POST /order"] == 0


def test_insufficient_balance_is_insufficient_funds(client: PolymarketClient) -> None:
    with pytest.raises(InsufficientFunds, match="not enough balance"):
        client.place_order(buy(nba(client), KNICKS, "0.47", "5000"))


def test_selling_tokens_you_do_not_hold_is_refused(client: PolymarketClient) -> None:
    with pytest.raises(InsufficientFunds):
        client.place_order(
            OrderRequest(nba(client), KNICKS, Side.SELL, D("0.45"), D("10"), time_in_force="FOK")
        )


def test_fok_that_cannot_fill_and_fak_with_no_match_are_rejections(client: PolymarketClient) -> None:
    market = nba(client)
    with pytest.raises(OrderRejected, match="FOK orders are fully filled or killed"):
        client.place_order(buy(market, KNICKS, "0.48", "1000", "FOK"))
    with pytest.raises(OrderRejected, match="FAK orders are partially filled or killed"):
        client.place_order(buy(market, KNICKS, "0.30", "10", "IOC"))


def test_neg_risk_markets_sign_against_the_neg_risk_exchange(client: PolymarketClient) -> None:
    fed = client.market(FED)
    order = client.place_order(buy(fed, FED_YES, "0.325", "10", "FOK"))
    assert order.status is OrderStatus.FILLED
    # The same order signed for the standard exchange does not verify.
    wrong = attrs.evolve(fed, meta={**fed.meta, "neg_risk": False})
    fresh = make_client_like(client)
    with pytest.raises(OrderRejected, match="invalid signature"):
        fresh.place_order(buy(wrong, FED_YES, "0.325", "10", "FOK"))


def make_client_like(client: PolymarketClient) -> PolymarketClient:
    """A second client object for the same wallet (no cached CLOB market info)."""
    clone = PolymarketClient(
        base_url=client.clob.base_url,
        gamma_url=client.gamma.base_url,
        data_url=client.data.base_url,
        max_retries=0,
    )
    clone._key, clone._signer = client._key, client._signer
    clone._set_credentials(client.api_credentials())
    return clone


def _raw_order(client: PolymarketClient, **changes: Any) -> dict[str, Any]:
    signer = client._signer
    assert signer is not None
    amounts = changes.pop("amounts", order_amounts("buy", D("0.40"), D("10"), D("0.01")))
    signed = signer.sign(token_id=KNICKS, amounts=amounts, neg_risk=False, salt=12345)
    order = {**signed.to_json(), **changes}
    return {"order": order, "owner": client.api_credentials().api_key, "orderType": "GTC", "deferExec": False}


def _post(client: PolymarketClient, body: dict[str, Any]) -> Any:
    return client.clob.post("/order", json_body=body, signed=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"taker": "0x" + "00" * 20, "nonce": "0", "feeRateBps": "0"}, "invalid order version"),
        ({"makerAmount": "4750000"}, "invalid signature"),  # tampered after signing
        ({"signature": "0x" + "11" * 65}, "invalid signature"),
    ],
)
def test_tampered_and_v1_orders_are_refused(
    client: PolymarketClient, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(Exception, match=message):
        _post(client, _raw_order(client, **changes))


@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        (
            attrs.evolve(order_amounts("buy", D("0.40"), D("10"), D("0.01")), maker_amount=4_750_000),
            "invalid price",
        ),
        (
            attrs.evolve(order_amounts("buy", D("0.40"), D("10"), D("0.01")), taker_amount=10_001_000),
            "invalid amounts",
        ),
        (order_amounts("buy", D("0.40"), D("2"), D("0.01")), "lower than the minimum: 5"),
    ],
)
def test_off_grid_precision_and_minimum_errors_come_from_the_server(
    client: PolymarketClient, amounts: Any, message: str
) -> None:
    with pytest.raises(Exception, match=message):
        _post(client, _raw_order(client, amounts=amounts))


def test_an_order_signed_by_another_key_is_refused(
    client: PolymarketClient, sandbox: PolymarketSandbox
) -> None:
    stranger = OrderSigner(SigningKey("0x" + "22" * 32))
    signed = stranger.sign(
        token_id=KNICKS, amounts=order_amounts("buy", D("0.40"), D("10"), D("0.01")), neg_risk=False, salt=9
    )
    body = {"order": signed.to_json(), "owner": client.api_credentials().api_key, "orderType": "GTC"}
    with pytest.raises(Exception, match="the order signer address has to be the address of the API KEY"):
        _post(client, body)


def test_wrong_api_secret_and_skewed_clock_are_authentication_errors(
    client: PolymarketClient, server: SandboxServer, wallet: tuple[str, str]
) -> None:
    creds = client.api_credentials()
    bad = make_client(
        server, wallet[0], api_key=creds.api_key, api_secret="A" * 43 + "=", api_passphrase=creds.passphrase
    )
    with pytest.raises(AuthenticationError):
        bad.balance()
    assert client.balance().available == 1000
    client.clob.signer.offset = 120  # type: ignore[union-attr]
    with pytest.raises(AuthenticationError):
        client.balance()
    assert client.sync_time() == 0
    assert client.balance().available == 1000


def test_l1_headers_with_a_bad_signature_are_refused(
    client: PolymarketClient, wallet: tuple[str, str]
) -> None:
    headers = l1_headers(SigningKey(wallet[0]), chain_id=137)
    headers["POLY_ADDRESS"] = "0x" + "33" * 20
    with pytest.raises(AuthenticationError):
        client.clob.get("/auth/derive-api-key", headers=headers)


def test_hmac_covers_the_body(client: PolymarketClient, sandbox: PolymarketSandbox) -> None:
    creds = client.api_credentials()
    record = sandbox.api_keys[creds.api_key]
    assert hmac_signature(record["secret"], 1, "POST", "/order", b"{}") == hmac_signature(
        creds.secret.reveal(), 1, "POST", "/order", b"{}"
    )


def test_without_a_private_key_trading_is_an_authentication_error(server: SandboxServer) -> None:
    client = make_client(server)
    with pytest.raises(AuthenticationError, match="private key"):
        client.balance()
