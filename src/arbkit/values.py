"""Values' building blocks: the one number parser and the converters and validators every
attrs class uses (models, opportunities, fees, records, the ledger).

:func:`to_decimal` is the only way a number enters arbkit: ``Decimal``, ``int`` or a numeric
string, never a float (inexact), a boolean, NaN or an infinity. The validators raise
:class:`~arbkit.errors.ValidationError` (a ``ValueError``), so bad input is a typed error
wherever it is caught; bounds attrs already expresses (``attrs.validators.in_``,
``instance_of``, ``ge``) are used as they are.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from arbkit.errors import ValidationError

__all__ = [
    "DEFAULT_ACCOUNT",
    "MAX_QUANTITY",
    "ONE",
    "ZERO",
    "as_decimal",
    "aware",
    "common_multiple",
    "decimal_from_text",
    "maybe_decimal",
    "non_empty",
    "non_negative",
    "one_of",
    "positive",
    "probability",
    "shared_text",
    "to_decimal",
    "utcnow",
]

#: The name of a venue's account when none is given: the account every venue has (and the
#: account of every record older than accounts). ``ARBKIT_ACCOUNTS`` declares others.
DEFAULT_ACCOUNT = "default"

ZERO = Decimal(0)
ONE = Decimal(1)
#: Upper bound on any size, fee or amount a model accepts (10^15).
MAX_QUANTITY = Decimal(10**15)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def decimal_from_text(text: str) -> Decimal:
    """``Decimal(text)``, shared: the same short text gives the same (immutable) object.

    A full scan parses ~10^5 prices and sizes whose texts repeat ("0.47", "150"); sharing
    them took a third off the memory of a scan's books. Long texts (a hostile payload's
    10^5-digit "number") are never kept. Raises ``InvalidOperation`` like ``Decimal``.
    """
    return _shared_decimal(text) if len(text) <= 32 else Decimal(text)


@functools.lru_cache(maxsize=8192)
def _shared_decimal(text: str) -> Decimal:
    return Decimal(text)


def to_decimal(value: object, *, field: str = "value") -> Decimal:
    """Convert an exchange or user value to a finite ``Decimal``.

    Accepts ``Decimal``, ``int`` and numeric strings (``".48"``, ``"0.920"``, ``"10"``).
    Refuses floats (inexact), booleans, NaN and infinities with :class:`ValidationError`.
    """
    if isinstance(value, bool):
        raise ValidationError(f"{field} must be a number, got a boolean")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = decimal_from_text(value.strip())
        except InvalidOperation:
            raise ValidationError(f"{field} is not a number: {value[:40]!r}") from None
    elif isinstance(value, float):
        raise ValidationError(f"{field} must be exact (Decimal, int or str), not float {value!r}")
    else:
        raise ValidationError(f"{field} must be a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValidationError(f"{field} must be finite, got {result}")
    return result


def as_decimal(value: object) -> Decimal:
    """attrs converter: :func:`to_decimal` for a required number field."""
    return to_decimal(value, field="number")


def maybe_decimal(value: object) -> Decimal | None:
    """attrs converter: ``None`` or :func:`to_decimal`."""
    return None if value is None else to_decimal(value, field="number")


def probability(instance: object, attribute: attrs.Attribute[Any], value: Decimal) -> None:
    """attrs validator: strictly inside (0, 1), as every price is."""
    if not ZERO < value < ONE:
        raise ValidationError(f"{attribute.name} must be inside (0, 1), got {value}")


def _plausible(attribute: attrs.Attribute[Any], value: Decimal) -> None:
    # Far beyond any real book or account; refusing it here keeps later sums from
    # overflowing the decimal context (a 1e999999 size from a broken feed).
    if value > MAX_QUANTITY:
        raise ValidationError(f"{attribute.name} is implausibly large: {value:.3e}")


def positive(instance: object, attribute: attrs.Attribute[Any], value: Decimal) -> None:
    """attrs validator: above zero, and plausible."""
    if value <= ZERO:
        raise ValidationError(f"{attribute.name} must be positive, got {value}")
    _plausible(attribute, value)


def non_negative(instance: object, attribute: attrs.Attribute[Any], value: Decimal | None) -> None:
    """attrs validator: ``None``, zero or above, and plausible."""
    if value is not None and value < ZERO:
        raise ValidationError(f"{attribute.name} must not be negative, got {value}")
    if value is not None:
        _plausible(attribute, value)


def aware(instance: object, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    """attrs validator: ``None`` or a timezone-aware datetime."""
    if value is not None and value.tzinfo is None:
        raise ValidationError(f"{attribute.name} must be timezone-aware, got naive {value}")


def non_empty(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    """attrs validator: a non-empty string."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{attribute.name} must be a non-empty string")


def shared_text(value: Any) -> Any:
    """One shared object for a short string (``sys.intern``); anything else unchanged.

    A scan holds thousands of markets whose venue fields repeat ("active", "KXNBAGAME",
    team names, game times): sharing them instead of one copy per market keeps a
    10,000-market service within its memory budget. Interned strings are freed when no
    longer used.
    """
    if isinstance(value, str) and len(value) <= 128:
        return sys.intern(value)
    return value


def one_of(choices: Iterable[str], *, what: str) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    """attrs validator: the value is one of ``choices`` (:class:`ValidationError` naming them).

    attrs' own ``in_`` raises a plain ``ValueError``; this one is the typed error arbkit's
    callers catch, with the known values spelt out.
    """
    known = frozenset(choices)
    shown = ", ".join(sorted(known))

    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in known:
            raise ValidationError(f"unknown {what} {value!r}; known: {shown}")

    return check


def common_multiple(steps: Iterable[Decimal]) -> Decimal:
    """The smallest positive amount that is a whole number of every step (their least common
    multiple), exactly.

    >>> common_multiple([Decimal("0.04"), Decimal("0.06")])
    Decimal('0.12')
    >>> common_multiple([Decimal("0.01"), Decimal("0.50")])
    Decimal('0.50')
    """
    values = list(steps)
    exponent = max([-int(step.as_tuple().exponent) for step in values] + [0])
    lcm = 1
    for step in values:
        lcm = math.lcm(lcm, int(step.scaleb(exponent)))
    return Decimal(lcm).scaleb(-exponent)  # at the steps' own precision: 0.50, not 0.5
