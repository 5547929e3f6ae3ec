"""Polymarket's number formats and the core's ``Decimal`` convention (reference: polymarket.md 2.1, 5.5, 5.7).

* prices, sizes and amounts arrive as decimal strings (``".48"``, ``"0.920"``; Gamma mixes
  JSON numbers and strings), read by :func:`number` exactly;
* pUSD and shares on the chain (order ``makerAmount``/``takerAmount``, ``/balance-allowance``)
  are integers of 10^6 base units (:func:`to_base_units`, :func:`from_base_units`);
* shares trade in hundredths (:data:`SHARE_STEP`); a marketable buy spends whole cents
  (:data:`MARKETABLE_COST_STEP`).

A malformed number raises :class:`~arbkit.errors.InvalidResponse` (a venue bug), never ``ValueError``.

>>> number(".48", "price"), from_base_units(1_960_000)
(Decimal('0.48'), Decimal('1.96'))
>>> to_base_units(Decimal("1.96"))
1960000
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from arbkit.errors import InvalidResponse, ValidationError
from arbkit.models import decimal_from_text

__all__ = [
    "MARKETABLE_COST_STEP",
    "MIN_MARKETABLE_NOTIONAL",
    "SHARE_STEP",
    "UNITS",
    "from_base_units",
    "number",
    "opt_number",
    "to_base_units",
]

_EXCHANGE = "polymarket"  # arbkit_polymarket.parse.EXCHANGE (parse imports this module)
#: pUSD and outcome tokens have 6 decimals on the chain.
UNITS = Decimal(10**6)
#: Shares are traded in hundredths (reference 5.5).
SHARE_STEP = Decimal("0.01")
#: A marketable (FOK/FAK) buy is the pUSD it spends, to 2 decimals, and buys that amount
#: divided by its price, rounded down to 4 decimals (reference 5.5): so it buys exactly the
#: shares asked only when shares x price is a whole cent (``Market.cost_increment``).
MARKETABLE_COST_STEP = Decimal("0.01")
#: The least a marketable order may spend or receive (``Market.min_order_cost``)
#: [UNCERTAIN: observed in several reports, not documented; reference 5.5].
MIN_MARKETABLE_NOTIONAL = Decimal(1)


def number(value: Any, what: str) -> Decimal:
    """A JSON number or numeric string as an exact ``Decimal``.

    Floats (from a decoder without ``parse_float=Decimal``) are read through their
    shortest repr, which is the JSON text they came from.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidResponse(f"{what} is not a number: {value!r}", exchange=_EXCHANGE)
    if isinstance(value, float):
        value = repr(value)
    if not isinstance(value, str | int | Decimal):
        # Decimal() would also take a list or tuple of digits (and overflow on a huge exponent).
        raise InvalidResponse(f"{what} is not a number: {type(value).__name__}", exchange=_EXCHANGE)
    try:
        result = decimal_from_text(value.strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidResponse(f"{what} is not a number: {str(value)[:40]!r}", exchange=_EXCHANGE) from None
    if not result.is_finite():
        raise InvalidResponse(f"{what} is not finite", exchange=_EXCHANGE)
    if result and not -18 <= result.adjusted() < 18:
        # 1e999999 is "finite" but overflows the first sum; pUSD base units of any real balance
        # and every price or size stay far inside 10^-18..10^18.
        raise InvalidResponse(f"{what} is out of range", exchange=_EXCHANGE)
    return result


def opt_number(value: Any, what: str) -> Decimal | None:
    """``None`` for a missing/empty value, else :func:`number`."""
    if value is None or value == "":
        return None
    return number(value, what)


def from_base_units(units: Decimal | int) -> Decimal:
    """10^6 base units -> pUSD or shares, exactly."""
    return Decimal(units) / UNITS


def to_base_units(value: Decimal) -> int:
    """pUSD or shares -> 10^6 base units; :class:`ValidationError` past 6 decimals."""
    scaled = value * UNITS
    if scaled != scaled.to_integral_value():
        raise ValidationError(f"{value} has more than 6 decimals")
    return int(scaled)
