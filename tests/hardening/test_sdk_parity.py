"""Our Polymarket V2 order hashes and signs exactly as the official SDK (py-clob-client-v2) does.

Same order fields -> same EIP-712 digest (the CLOB's order id) and, both signers being
deterministic (RFC 6979), the same signature bytes; and the SDK's own verification path
(eth-account recovering the signer from the typed data) accepts our signature.
"""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from benchmarks.bench_orderprep import PRIVATE_KEY, TOKEN_ID, sdk_parity

from arbkit.models import Side
from arbkit_polymarket.crypto import SigningKey
from arbkit_polymarket.orders import EXCHANGE, NEG_RISK_EXCHANGE, OrderSigner, order_amounts

try:
    import py_clob_client_v2  # noqa: F401  (the parity helpers below import from it)
except ImportError:  # the dev extra installs it; CI must never skip this check
    if os.environ.get("CI"):
        raise
    pytest.skip("py-clob-client-v2 is not installed: pip install -e '.[dev]'", allow_module_level=True)


@pytest.mark.parametrize("salt", [1, 123456789, 2**53 - 1])
def test_same_fields_give_the_sdk_digest_and_signature(salt: int) -> None:
    ours, theirs, same_signature = sdk_parity(salt=salt)
    assert ours == theirs
    assert same_signature


@pytest.mark.parametrize(("side", "neg_risk"), [(Side.BUY, False), (Side.SELL, True)])
def test_the_sdk_verification_path_recovers_our_signer(side: Side, neg_risk: bool) -> None:
    from eth_account import Account
    from eth_account.messages import encode_typed_data
    from py_clob_client_v2.config import get_contract_config
    from py_clob_client_v2.order_utils import ExchangeOrderBuilderV2
    from py_clob_client_v2.order_utils.model.order_data_v2 import OrderV2
    from py_clob_client_v2.order_utils.model.side import Side as SdkSide
    from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2
    from py_clob_client_v2.signer import Signer

    key = SigningKey(PRIVATE_KEY)
    amounts = order_amounts(side, Decimal("0.37"), Decimal("12.5"), Decimal("0.01"))
    signed = OrderSigner(key).sign(
        token_id=TOKEN_ID, amounts=amounts, neg_risk=neg_risk, salt=42, timestamp_ms=1_777_000_000_123
    )
    contract = (
        get_contract_config(137).neg_risk_exchange_v2 if neg_risk else get_contract_config(137).exchange_v2
    )
    assert contract.lower() == (NEG_RISK_EXCHANGE if neg_risk else EXCHANGE).lower()  # same contracts
    builder = ExchangeOrderBuilderV2(contract, 137, Signer(PRIVATE_KEY, 137))
    order = OrderV2(
        salt=str(signed.salt),
        maker=signed.maker,
        signer=signed.signer,
        tokenId=signed.token_id,
        makerAmount=str(signed.maker_amount),
        takerAmount=str(signed.taker_amount),
        side=SdkSide.BUY if side is Side.BUY else SdkSide.SELL,
        signatureType=SignatureTypeV2.EOA,
        timestamp=str(signed.timestamp_ms),
        metadata=signed.metadata,
        builder=signed.builder,
    )
    typed = builder.build_order_typed_data(order)
    assert builder.build_order_hash(typed) == signed.order_id
    recovered = Account.recover_message(encode_typed_data(full_message=typed), signature=signed.signature)
    assert recovered == key.address
