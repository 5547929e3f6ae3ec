"""Fee models: what a venue charges for a fill, exactly, in dollars.

A :class:`FeeSchedule` answers ``fee(price, size, taker=True) -> Decimal`` for one
order filling at one price, and :meth:`FeeSchedule.order_fee` for one order that
fills across several price levels (venues differ in where they round). The
formulas are generic; each adapter picks one and its parameters per market.

Example (Kalshi's general taker fee, 7% x C x P x (1-P), rounded up to the cent)::

    >>> from decimal import Decimal
    >>> QuadraticFee(rate=Decimal("0.07")).fee(Decimal("0.50"), Decimal("10"))
    Decimal('0.18')
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Protocol, runtime_checkable

import attrs

from arbkit.errors import ValidationError
from arbkit.values import as_decimal, non_negative

__all__ = ["FeeSchedule", "NoFees", "PowerFee", "QuadraticFee"]

ZERO = Decimal(0)
ONE = Decimal(1)


def _check_fill(price: Decimal, size: Decimal) -> None:
    if not ZERO < price < ONE:
        raise ValidationError(f"fee price must be inside (0, 1), got {price}")
    if size < ZERO:
        raise ValidationError(f"fee size must not be negative, got {size}")


@runtime_checkable
class FeeSchedule(Protocol):
    """A venue's fee model for one market."""

    def fee(self, price: Decimal, size: Decimal, *, taker: bool = True) -> Decimal:
        """Dollars charged for one order of ``size`` contracts filled at ``price``."""
        ...

    def order_fee(self, fills: Iterable[tuple[Decimal, Decimal]], *, taker: bool = True) -> Decimal:
        """Dollars charged for one order whose fills are ``(price, size)`` pairs."""
        ...


@attrs.frozen
class NoFees:
    """A market the venue is known to charge nothing on (not "unknown")."""

    def fee(self, price: Decimal, size: Decimal, *, taker: bool = True) -> Decimal:
        _check_fill(price, size)
        return ZERO

    def order_fee(self, fills: Iterable[tuple[Decimal, Decimal]], *, taker: bool = True) -> Decimal:
        for price, size in fills:
            _check_fill(price, size)
        return ZERO


@attrs.frozen
class QuadraticFee:
    """``rate x multiplier x C x P x (1 - P)``, rounded up to ``quantum`` once per order.

    This is Kalshi's trading fee (reference: kalshi.md section 5): taker rate 0.07,
    maker rate 0.0175 only on series with maker fees, a per-series multiplier, and
    the order's fee rounded up to the cent. The venue accumulates per order, so an
    order filling across levels is charged on the sum, rounded once.
    """

    rate: Decimal = attrs.field(converter=as_decimal, validator=non_negative)
    maker_rate: Decimal = attrs.field(default=ZERO, converter=as_decimal, validator=non_negative)
    multiplier: Decimal = attrs.field(default=ONE, converter=as_decimal, validator=non_negative)
    quantum: Decimal = attrs.field(default=Decimal("0.01"), converter=as_decimal)

    def _raw(self, price: Decimal, size: Decimal, taker: bool) -> Decimal:
        _check_fill(price, size)
        rate = self.rate if taker else self.maker_rate
        return rate * self.multiplier * size * price * (ONE - price)

    def fee(self, price: Decimal, size: Decimal, *, taker: bool = True) -> Decimal:
        return self.order_fee([(price, size)], taker=taker)

    def order_fee(self, fills: Iterable[tuple[Decimal, Decimal]], *, taker: bool = True) -> Decimal:
        raw = sum((self._raw(p, s, taker) for p, s in fills), ZERO)
        return raw.quantize(self.quantum, rounding=ROUND_CEILING)


@attrs.frozen
class PowerFee:
    """``C x rate x (P x (1 - P)) ** exponent`` per fill, taker only unless told otherwise.

    This is Polymarket's CLOB V2 fee (reference: polymarket.md section 7):
    ``fd {r, e, to}`` from ``/clob-markets``. Fees are charged per fill, each rounded
    to ``quantum`` (0.00001 pUSD per a third-party model: UNCERTAIN).
    """

    rate: Decimal = attrs.field(converter=as_decimal, validator=non_negative)
    exponent: int = attrs.field(default=1)
    taker_only: bool = True
    quantum: Decimal = attrs.field(default=Decimal("0.00001"), converter=as_decimal)

    @exponent.validator
    def _check_exponent(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 8:
            raise ValidationError(f"fee exponent must be an integer in [0, 8], got {value!r}")

    def fee(self, price: Decimal, size: Decimal, *, taker: bool = True) -> Decimal:
        _check_fill(price, size)
        if not taker and self.taker_only:
            return ZERO
        raw = size * self.rate * (price * (ONE - price)) ** self.exponent
        return raw.quantize(self.quantum, rounding=ROUND_HALF_EVEN)

    def order_fee(self, fills: Iterable[tuple[Decimal, Decimal]], *, taker: bool = True) -> Decimal:
        return sum((self.fee(p, s, taker=taker) for p, s in fills), ZERO)
