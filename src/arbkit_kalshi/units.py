"""Kalshi's number formats and the core's ``Decimal`` convention (reference: kalshi.md section 3.0).

* ``*_dollars`` fields are ``FixedPointDollars`` strings (``"0.4500"``; money up to 6 decimals);
* ``*_fp`` fields are ``FixedPointCount`` strings with two decimals (``"10.00"``, ``"2.50"``);
* the few integers Kalshi kept are cents (``balance``, ``portfolio_value``, ``revenue``, ``value``).

The integer-cent and integer-count twins (``yes_bid: 45``, ``count: 10``) were removed in 2026
and are never read. A malformed number raises :class:`~arbkit.errors.InvalidResponse` (a venue
bug), never ``ValueError``.

>>> read_dollars({"yes_bid_dollars": "0.4500"}, "yes_bid_dollars")
Decimal('0.4500')
>>> read_dollars({"yes_bid": 45}, "yes_bid_dollars") is None
True
>>> format_count(Decimal("2.5")), format_dollars(Decimal("0.45"))
('2.50', '0.4500')
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from arbkit.errors import InvalidResponse
from arbkit.models import decimal_from_text

__all__ = [
    "CENT",
    "cents_to_dollars",
    "format_count",
    "format_dollars",
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


def _present(obj: Mapping[str, Any], key: str) -> bool:
    return obj.get(key) not in (None, "")


def read_dollars(obj: Mapping[str, Any], key: str) -> Decimal | None:
    """Dollars from the ``*_dollars`` string ``key``; ``None`` if absent or empty."""
    return number(obj[key], key) if _present(obj, key) else None


def read_count(obj: Mapping[str, Any], key: str) -> Decimal | None:
    """Contracts from the ``*_fp`` string ``key`` (``"10.00"``); ``None`` if absent or empty."""
    return number(obj[key], key) if _present(obj, key) else None


def cents_to_dollars(cents: Decimal | int) -> Decimal:
    """``45`` -> ``Decimal('0.45')``, exactly (for the integer-cent fields Kalshi kept)."""
    return Decimal(cents) / HUNDRED


def format_dollars(value: Decimal, places: int = 4) -> str:
    """A ``FixedPointDollars`` string: ``Decimal('0.45')`` -> ``'0.4500'``."""
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


def format_count(value: Decimal) -> str:
    """A ``FixedPointCount`` string with two decimals: ``Decimal('10')`` -> ``'10.00'``."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_EVEN))
