"""Order-preparation benchmark: the local cost between deciding to trade and sending the request.

* Polymarket: :meth:`PolymarketClient.prepare_order` (amounts on the tick grid, the V2 struct
  hash over a precomputed EIP-712 domain separator, a libsecp256k1 signature through
  coincurve) against ``py-clob-client-v2``'s ``OrderBuilder.build_order`` for the same
  token, price, size and tick (eth-account's ``encode_typed_data`` + ``sign_message``).
* Kalshi: :class:`KalshiSigner` headers for one request against ``kalshi-python-sync`` 3.34's
  ``KalshiAuth.create_auth_headers`` (both one RSA-PSS-2048 signature through ``cryptography``),
  timed inside the SDK's own Python 3.13 virtualenv (:mod:`benchmarks.kalshi_sdk`).

Without the SDKs (``pip install '.[bench]'``) the rows have no baseline. The digest and
signature parity of the two Polymarket paths is checked by :func:`sdk_parity` here and by
``tests/hardening/test_sdk_parity.py``.

Run with ``python -m benchmarks.bench_orderprep``. Target (issue 10): <= 0.25 ms per Polymarket order.
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

from arbkit.models import Market, OrderRequest, Outcome, Side, TimeInForce
from arbkit_kalshi.auth import KalshiSigner
from arbkit_polymarket.client import PolymarketClient
from benchmarks import kalshi_sdk

#: A well-known test key (Hardhat account #1); never holds anything.
PRIVATE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
TOKEN_ID = "71321045679252212594626385532706912750332728571942532289631379312455583992563"  # noqa: S105
CONDITION_ID = "0x5f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
PRICE = Decimal("0.47")
SIZE = Decimal("25")
KALSHI_PATH = "/trade-api/v2/portfolio/events/orders"


def _per_call(fn: Callable[[], object], calls: int, rounds: int = 5) -> float:
    """Median over ``rounds`` of the mean seconds per call across ``calls`` calls."""
    fn()  # warm caches and imports
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def poly_market() -> Market:
    """A plain (not neg-risk) two-token market on the 0.01 grid."""
    return Market(
        exchange="polymarket",
        id=CONDITION_ID,
        title="Knicks vs. Rockets",
        outcomes=(Outcome(TOKEN_ID, "Knicks"), Outcome("5" + TOKEN_ID[1:], "Rockets")),
        status="open",
        tick_size=Decimal("0.01"),
        min_order_size=Decimal(5),
        size_increment=Decimal("0.01"),
    )


def poly_client() -> PolymarketClient:
    """A client with a wallet and given API credentials, so preparing an order needs no request."""
    return PolymarketClient(
        base_url="http://127.0.0.1:9",  # never contacted
        private_key=PRIVATE_KEY,
        api_key="00000000-0000-0000-0000-000000000000",
        api_secret="c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",  # noqa: S106 (a dummy)
        api_passphrase="passphrase",  # noqa: S106
    )


def sdk_builder() -> Any | None:
    """``py-clob-client-v2``'s order builder for the same key, or ``None`` if it is not installed."""
    try:
        from py_clob_client_v2.order_builder.builder import OrderBuilder  # type: ignore[import-untyped,unused-ignore]
        from py_clob_client_v2.signer import Signer  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    return OrderBuilder(Signer(PRIVATE_KEY, 137))


def sdk_parity(salt: int = 123456789, timestamp_ms: int = 1_777_000_000_000) -> tuple[str, str, bool]:
    """``(our order id, the SDK's order hash, signatures equal)`` for the same order fields.

    Raises ``ImportError`` without the SDK. Both sides sign deterministically (RFC 6979), so
    equal digests under the same key give byte-identical signatures.
    """
    from py_clob_client_v2.config import get_contract_config  # type: ignore[import-untyped,unused-ignore]
    from py_clob_client_v2.order_utils import ExchangeOrderBuilderV2  # type: ignore[import-untyped,unused-ignore]
    from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2  # type: ignore[import-untyped,unused-ignore]
    from py_clob_client_v2.order_utils.model.side import Side as SdkSide  # type: ignore[import-untyped,unused-ignore]
    from py_clob_client_v2.signer import Signer  # type: ignore[import-untyped,unused-ignore]

    from arbkit_polymarket.crypto import SigningKey
    from arbkit_polymarket.orders import OrderSigner, order_amounts

    amounts = order_amounts(Side.BUY, PRICE, SIZE, Decimal("0.01"))
    ours = OrderSigner(SigningKey(PRIVATE_KEY)).sign(
        token_id=TOKEN_ID, amounts=amounts, neg_risk=False, salt=salt, timestamp_ms=timestamp_ms
    )
    signer = Signer(PRIVATE_KEY, 137)
    builder = ExchangeOrderBuilderV2(
        get_contract_config(137).exchange_v2, 137, signer, generate_salt=lambda: str(salt)
    )
    data = OrderDataV2(
        maker=signer.address(),
        tokenId=TOKEN_ID,
        makerAmount=str(amounts.maker_amount),
        takerAmount=str(amounts.taker_amount),
        side=SdkSide.BUY,
        signer=signer.address(),
        timestamp=str(timestamp_ms),
    )
    theirs = builder.build_signed_order(data)
    their_hash = builder.build_order_hash(builder.build_order_typed_data(builder.build_order(data)))
    return ours.order_id, their_hash, ours.signature == theirs.signature


def _rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _row(
    name: str, arbkit_s: float, baseline_s: float | None, target: str, met: bool | None
) -> dict[str, Any]:
    return {
        "name": name,
        "arbkit_median_s": arbkit_s,
        "baseline_median_s": baseline_s,
        "ratio": arbkit_s / baseline_s if baseline_s else None,
        "target": target,
        "met": met,
    }


def run(calls: int = 200) -> list[dict[str, Any]]:
    """Time both venues' order preparation next to the official SDKs; one row per venue."""
    rows: list[dict[str, Any]] = []
    client = poly_client()
    market = poly_market()

    def ours() -> object:
        # No client_order_id: a fresh random salt each time, so nothing is served from the cache.
        return client.prepare_order(OrderRequest(market, TOKEN_ID, Side.BUY, PRICE, SIZE, TimeInForce.FOK))

    arbkit_s = _per_call(ours, calls)
    builder = sdk_builder()
    baseline_s = None
    note = "official SDK not installed"
    if builder is not None:
        from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2  # type: ignore[import-untyped,unused-ignore]

        args = OrderArgsV2(token_id=TOKEN_ID, price=float(PRICE), size=float(SIZE), side="BUY")
        options = CreateOrderOptions(tick_size="0.01", neg_risk=False)
        baseline_s = _per_call(lambda: builder.build_order(args, options), max(calls // 10, 10))
        ours_id, their_hash, same_signature = sdk_parity()
        parity = "same digest and signature" if ours_id == their_hash and same_signature else "MISMATCH"
        note = f"py-clob-client-v2 OrderBuilder.build_order; {parity}"
    rows.append(
        _row(
            f"Polymarket V2 order: amounts + EIP-712 hash + secp256k1 signature (baseline: {note})",
            arbkit_s,
            baseline_s,
            "<= 0.25 ms",
            arbkit_s <= 0.25e-3 and "MISMATCH" not in note,
        )
    )
    client.close()

    pem = _rsa_pem()
    signer = KalshiSigner("key-id", pem)
    arbkit_s = _per_call(lambda: signer.headers("POST", KALSHI_PATH), calls)
    baseline_s = None
    note = "official SDK not built (make kalshi-sdk)"
    if kalshi_sdk.sdk_python() is not None:
        with tempfile.TemporaryDirectory() as folder:
            key_file = Path(folder) / "key.pem"
            key_file.write_text(pem)
            baseline_s = float(kalshi_sdk.run("sign", str(key_file), str(calls))["seconds"])
        note = "kalshi-python-sync 3.34 KalshiAuth.create_auth_headers, in its Python 3.13 venv"
    rows.append(
        _row(
            f"Kalshi request signature, RSA-PSS-2048 (baseline: {note})",
            arbkit_s,
            baseline_s,
            "<= SDK x 1.1",
            None if baseline_s is None else arbkit_s <= baseline_s * 1.1,
        )
    )
    return rows


def main() -> None:
    """Print the rows."""
    for row in run():
        print(row)


if __name__ == "__main__":
    main()
