"""Kalshi's two number families and the core's ``Decimal`` convention (reference: kalshi.md section 3.0).

* Legacy fields are integers: prices in **cents** (``yes_bid: 45``), counts in whole
  contracts (``count: 10``), money in cents (``balance: 10000``).
* Newer fields are strings: ``*_dollars`` fixed-point dollars (``"0.4500"``) and ``*_fp``
  fixed-point contract counts with two decimals (``"10.00"``, fractional ``"2.50"``).

Readers prefer the new field and fall back to the legacy one; writers emit both. A
malformed number raises :class:`~arbkit.errors.InvalidResponse` (a venue bug), never
``ValueError``.

>>> read_dollars({"yes_bid": 45, "yes_bid_dollars": "0.4500"}, "yes_bid_dollars", "yes_bid")
Decimal('0.4500')
>>> read_dollars({"yes_bid": 45}, "yes_bid_dollars", "yes_bid")
Decimal('0.45')
>>> format_count(Decimal("2.5")), format_dollars(Decimal("0.45"))
('2.50', '0.4500')
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from arbkit.errors import InvalidResponse
from arbkit.models import decimal_from_text

__all__ = [
    "CENT",
    "cents_to_dollars",
    "dollars_to_cents",
    "format_count",
    "format_dollars",
    "is_cent_price",
    "number",
    "read_count",
    "read_dollars",
]

CENT = Decimal("0.01")
#: Magnitudes a venue number may have: below 10^18 and not finer than 10^-18.
MAX_EXPONENT = 18
MIN_EXPONENT = -18
HUNDRED = Decimal(100)


def number(value: Any, field: str) -> Decimal:
    """An exact ``Decimal`` from a JSON int, numeric string or Decimal; ``InvalidResponse`` otherwise.

    Floats only appear if the JSON was decoded without ``parse_float=Decimal``; they are
    converted through ``str`` (the shortest repr), which is exact for the 2-6 decimal values
    Kalshi sends.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidResponse(f"kalshi: {field} is not a number: {value!r}", exchange="kalshi")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = decimal_from_text(value.strip())
        except InvalidOperation:
            raise InvalidResponse(
                f"kalshi: {field} is not a number: {value[:40]!r}", exchange="kalshi"
            ) from None
    else:
        raise InvalidResponse(f"kalshi: {field} is not a number: {type(value).__name__}", exchange="kalshi")
    if not result.is_finite():
        raise InvalidResponse(f"kalshi: {field} is not finite", exchange="kalshi")
    if result and not MIN_EXPONENT <= result.adjusted() < MAX_EXPONENT:
        # 1e999999 is "finite" but overflows the first sum; no Kalshi number is near these bounds.
        raise InvalidResponse(f"kalshi: {field} is out of range", exchange="kalshi")
    return result


def _present(obj: Mapping[str, Any], key: str | None) -> bool:
    return key is not None and obj.get(key) not in (None, "")


def read_dollars(
    obj: Mapping[str, Any], dollars_key: str | None, cents_key: str | None = None
) -> Decimal | None:
    """Dollars from ``dollars_key`` (string) or else ``cents_key`` (int cents); ``None`` if neither."""
    if _present(obj, dollars_key):
        assert dollars_key is not None
        return number(obj[dollars_key], dollars_key)
    if _present(obj, cents_key):
        assert cents_key is not None
        return cents_to_dollars(number(obj[cents_key], cents_key))
    return None


def read_count(obj: Mapping[str, Any], fp_key: str | None, int_key: str | None = None) -> Decimal | None:
    """Contracts from ``fp_key`` (``"10.00"``) or else ``int_key`` (``10``); ``None`` if neither."""
    for key in (fp_key, int_key):
        if _present(obj, key):
            assert key is not None
            return number(obj[key], key)
    return None


def cents_to_dollars(cents: Decimal | int) -> Decimal:
    """``45`` -> ``Decimal('0.45')``, exactly."""
    return Decimal(cents) / HUNDRED


def dollars_to_cents(dollars: Decimal, *, round_up: bool = False) -> int:
    """Dollars to integer cents (exact for cent amounts; ``round_up`` for a cost cap)."""
    rounding = ROUND_CEILING if round_up else ROUND_HALF_EVEN
    return int((dollars * HUNDRED).quantize(Decimal(1), rounding=rounding))


def is_cent_price(price: Decimal) -> bool:
    """Whether ``price`` lies on the 1-cent grid (so a legacy integer field can carry it)."""
    return (price * HUNDRED) == (price * HUNDRED).to_integral_value()


def format_dollars(value: Decimal, places: int = 4) -> str:
    """A ``FixedPointDollars`` string: ``Decimal('0.45')`` -> ``'0.4500'``."""
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


def format_count(value: Decimal) -> str:
    """A ``FixedPointCount`` string with two decimals: ``Decimal('10')`` -> ``'10.00'``."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_EVEN))
