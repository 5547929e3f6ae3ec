"""Hypothesis strategies for hostile venue payloads: random JSON, and mutations of real samples.

The samples are the adapters' own parser-test payloads (``tests/kalshi/payloads``,
``tests/polymarket/samples``), which were copied from the venue references there.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

TESTS = Path(__file__).resolve().parent.parent
KALSHI_SAMPLES = TESTS / "kalshi" / "payloads"
POLY_SAMPLES = TESTS / "polymarket" / "samples"

#: Field names the parsers read, so random objects hit real code paths and not only "missing key".
FIELDS = [
    # Kalshi
    "ticker", "event_ticker", "series_ticker", "market_ticker", "title", "sub_title", "status", "result",
    "yes_sub_title", "no_sub_title", "close_time", "created_time", "settled_time", "settlement_ts", "ts",
    "markets", "market", "event", "series", "events", "orderbooks", "orderbook", "orderbook_fp", "cursor",
    "yes", "no", "yes_dollars", "no_dollars", "yes_bid", "yes_bid_dollars", "yes_ask_dollars",
    "yes_bid_size_fp", "yes_ask_size_fp", "yes_price", "no_price", "yes_price_dollars", "no_price_dollars",
    "count", "count_fp", "fill_count_fp", "initial_count_fp", "remaining_count_fp", "position",
    "position_fp", "market_exposure_dollars", "balance", "balance_dollars", "side", "action", "order_id",
    "client_order_id", "fee_cost", "fee_type", "fee_multiplier", "fee_multiplier_override",
    "price_ranges", "step", "tick_size", "settlement_value", "settlement_value_dollars", "revenue",
    "value", "is_taker", "outcome_side", "book_side", "mutually_exclusive", "fractional_trading_enabled",
    # Polymarket
    "c", "t", "o", "mts", "mos", "nr", "fd", "r", "e", "to", "ao", "sd", "conditionId", "outcomes",
    "clobTokenIds", "positionIds", "outcomePrices", "question", "slug", "closed", "active",
    "umaResolutionStatus", "gameStartTime", "endDate", "orderPriceMinTickSize", "orderMinSize",
    "feeSchedule", "rate", "exponent", "version", "asset_id", "bids", "asks", "price", "size",
    "timestamp", "tokens", "token_id", "winner", "is_50_50_outcome", "success", "errorMsg",
    "makingAmount", "takingAmount", "orderID", "original_size", "size_matched", "id", "created_at",
    "next_cursor", "data", "match_time", "trader_side", "maker_orders", "owner", "maker_address",
    "matched_amount", "taker_order_id", "canceled", "not_canceled", "asset", "avgPrice",
    "initialValue", "negRisk", "events",
]  # fmt: skip

#: Numbers that break naive code: NaN/inf, huge, tiny, negative, zero, out of (0, 1).
NASTY_VALUES: list[Any] = [
    Decimal("NaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    Decimal("1e999999"),
    Decimal("-1e999999"),
    Decimal("1e-999999"),
    Decimal("-5"),
    Decimal(0),
    Decimal("1.5"),
    10**400,
    -(10**400),
    2**64,
    -1,
    0,
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    "1e999999999",
    "-0.5",
    "0",
    "1",
    "",
    " ",
    "0x10",
    "1_000",
    "١٢",  # Arabic-Indic digits: int() and Decimal() accept them
    float("nan"),
    float("inf"),
    1e308,
    -1e-308,
    True,
    False,
    None,
    [],
    {},
    [[]],
    "x" * 300,
    "2026-02-30T00:00:00Z",
    "99999-01-01",
]
NASTY_NUMBERS = st.sampled_from(NASTY_VALUES)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["yes", "no", "BUY", "SELL", "true", "active", "settled", "2026-03-31T00:00:00Z"]),
    NASTY_NUMBERS,
)
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12))


def json_values(max_leaves: int = 40) -> st.SearchStrategy[Any]:
    """Arbitrary JSON-ish values (with Decimals, NaN and huge ints) whose objects use real field names."""
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(keys, children, max_size=8),
        ),
        max_leaves=max_leaves,
    )


def load_sample(path: Path) -> Any:
    """A sample payload decoded as the transport decodes it (fractions as Decimal)."""
    return json.loads(path.read_text(), parse_float=Decimal)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(paths(v, (*prefix, i)))
    return out


def sweep(sample: Any) -> list[Any]:
    """Every single-field edit of ``sample``: each value (any depth) set to each nasty value, or deleted."""
    out = []
    for path in paths(sample)[1:]:
        for replacement in [*NASTY_VALUES, _DELETE]:
            value = copy.deepcopy(sample)
            parent = value
            for step in path[:-1]:
                parent = parent[step]
            if replacement is _DELETE:
                if isinstance(parent, dict):
                    del parent[path[-1]]
                else:
                    parent.pop(path[-1])
            else:
                parent[path[-1]] = copy.deepcopy(replacement)
            out.append(value)
    return out


_DELETE = object()


@st.composite
def mutated(draw: st.DrawFn, sample: Any, max_edits: int = 4) -> Any:
    """``sample`` with 1..max_edits random edits: a value replaced, a key deleted, a list emptied or grown."""
    value = copy.deepcopy(sample)
    for _ in range(draw(st.integers(1, max_edits))):
        path = draw(st.sampled_from(paths(value)))
        if not path:
            value = copy.deepcopy(draw(st.one_of(json_values(10), st.just(value))))
            continue
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "nasty", "delete", "duplicate"]))
        if action == "replace":
            # Copies: sampled constants are shared objects, and a later edit must not
            # change what the strategy draws next time (hypothesis replays draws).
            parent[last] = copy.deepcopy(draw(json_values(10)))
        elif action == "nasty":
            parent[last] = copy.deepcopy(draw(NASTY_NUMBERS))
        elif action == "delete":
            if isinstance(parent, dict):
                del parent[last]
            else:
                parent.pop(last)
        else:
            item = parent[last]
            if isinstance(parent, list):
                parent.append(copy.deepcopy(item))
            else:
                parent[draw(keys)] = copy.deepcopy(item)
    return value
