"""Per-market price grids (``price_ranges``) and the one YES-book mapping of V2 orders (kalshi.md 3.8, 4.5).

A Kalshi market quotes on its own grid: ``price_ranges`` = ``[{start, end, step}]`` (dollar
strings) is the source of truth, ``price_level_structure`` only a label (``linear_cent``,
``deci_cent``, ``tapered_deci_cent``...). A price is valid iff some band has
``start <= p <= end`` with ``p - start`` a whole multiple of ``step``; ``0`` and ``1`` never are.
Prices are kept exact as ``Decimal`` (they are multiples of $0.0001) and sent with 4 decimals.

Every V2 order is a bid or an ask on the **YES** book at a **YES** price:

>>> yes_book("yes", Side.BUY, Decimal("0.40"))
('bid', Decimal('0.40'))
>>> yes_book("no", Side.BUY, Decimal("0.40"))
('ask', Decimal('0.60'))
>>> LINEAR_CENT.snap(Decimal("0.4550"), "bid"), LINEAR_CENT.snap(Decimal("0.4550"), "ask")
(Decimal('0.45'), Decimal('0.46'))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import attrs

from arbkit.errors import InvalidResponse, ValidationError
from arbkit.models import Side
from arbkit_kalshi.units import number

__all__ = [
    "LINEAR_CENT",
    "STRUCTURES",
    "PriceBand",
    "PriceGrid",
    "grid_of",
    "outcome_terms",
    "yes_book",
]

ZERO = Decimal(0)
ONE = Decimal(1)
UNIT = Decimal("0.0001")  # every documented step is a multiple of $0.0001


@attrs.frozen
class PriceBand:
    """One ``price_ranges`` entry: prices ``start, start + step, ... <= end``."""

    start: Decimal
    end: Decimal
    step: Decimal

    def contains(self, price: Decimal) -> bool:
        """Whether ``price`` is one of this band's prices."""
        return self.start <= price <= self.end and (price - self.start) % self.step == 0


@attrs.frozen
class PriceGrid:
    """A market's valid YES prices: the union of its bands (adjacent bands share endpoints)."""

    bands: tuple[PriceBand, ...]
    structure: str = ""

    @property
    def finest_step(self) -> Decimal:
        """The smallest step of any band (the core's ``Market.tick_size``)."""
        return min(b.step for b in self.bands)

    def is_valid(self, price: Decimal) -> bool:
        """Whether Kalshi accepts ``price`` on this market (never ``0`` or ``1``)."""
        return ZERO < price < ONE and any(b.contains(price) for b in self.bands)

    def snap(self, price: Decimal, book_side: str) -> Decimal:
        """The nearest valid YES price not past ``price``: down for a ``bid``, up for an ``ask``.

        Raises :class:`~arbkit.errors.ValidationError` when no valid price lies on that side
        (a bid below the lowest price, an ask above the highest).
        """
        if book_side not in ("bid", "ask"):
            raise ValidationError(f"book side must be 'bid' or 'ask', got {book_side!r}")
        best: Decimal | None = None
        for band in self.bands:
            if book_side == "bid":
                top = min(price, band.end)
                if top < band.start:
                    continue
                candidate = (
                    band.start + ((top - band.start) / band.step).to_integral_value(ROUND_FLOOR) * band.step
                )
                if ZERO < candidate < ONE and (best is None or candidate > best):
                    best = candidate
            else:
                bottom = max(price, band.start)
                if bottom > band.end:
                    continue
                candidate = (
                    band.start
                    + ((bottom - band.start) / band.step).to_integral_value(ROUND_CEILING) * band.step
                )
                if candidate <= band.end and ZERO < candidate < ONE and (best is None or candidate < best):
                    best = candidate
        if best is None:
            raise ValidationError(f"no valid {book_side} price at or beyond {price} on this market's grid")
        return best

    @classmethod
    def from_payload(cls, ranges: Any, structure: Any = "") -> PriceGrid:
        """``Market.price_ranges`` -> grid; :class:`InvalidResponse` if the list is malformed."""
        if not isinstance(ranges, Sequence) or isinstance(ranges, str) or not ranges:
            raise InvalidResponse("kalshi: price_ranges is not a non-empty list", exchange="kalshi")
        bands = []
        for item in ranges:
            if not isinstance(item, Mapping):
                raise InvalidResponse("kalshi: price_ranges has a non-object entry", exchange="kalshi")
            start = number(item.get("start"), "price_ranges.start")
            end = number(item.get("end"), "price_ranges.end")
            step = number(item.get("step"), "price_ranges.step")
            if step <= 0 or not ZERO <= start <= end <= ONE:
                raise InvalidResponse(f"kalshi: bad price range {start}-{end} step {step}", exchange="kalshi")
            bands.append(PriceBand(start, end, step))
        grid = cls(tuple(bands), structure if isinstance(structure, str) else "")
        # Thousands of markets share a handful of grids: keep one object per distinct grid
        # (bounded, so a feed of ever-new grids cannot grow it without end).
        shared = _SHARED.get(grid)
        if shared is None and len(_SHARED) < 1024:
            shared = _SHARED[grid] = grid
        return shared or grid


#: One instance per distinct grid read from the wire (a handful: the documented structures).
_SHARED: dict[PriceGrid, PriceGrid] = {}


def _grid(structure: str, *parts: tuple[str, str, str]) -> PriceGrid:
    return PriceGrid(tuple(PriceBand(Decimal(a), Decimal(b), Decimal(c)) for a, b, c in parts), structure)


def _tapered(structure: str, edge: str, center: str) -> PriceGrid:
    return _grid(structure, ("0", "0.1", edge), ("0.1", "0.9", center), ("0.9", "1", edge))


#: The documented structures (kalshi.md 4.5); a market's own ``price_ranges`` always wins.
STRUCTURES: dict[str, PriceGrid] = {
    "linear_cent": _grid("linear_cent", ("0", "1", "0.01")),
    "deci_cent": _grid("deci_cent", ("0", "1", "0.001")),
    "tapered_deci_cent": _tapered("tapered_deci_cent", "0.001", "0.01"),
    "center_whole_edge_half_cent": _tapered("center_whole_edge_half_cent", "0.005", "0.01"),
    "center_whole_edge_quint_cent": _tapered("center_whole_edge_quint_cent", "0.002", "0.01"),
    "center_half_edge_half_cent": _tapered("center_half_edge_half_cent", "0.005", "0.005"),
    "center_half_edge_quint_cent": _tapered("center_half_edge_quint_cent", "0.002", "0.005"),
    "center_half_edge_deci_cent": _tapered("center_half_edge_deci_cent", "0.001", "0.005"),
    "center_quint_edge_quint_cent": _tapered("center_quint_edge_quint_cent", "0.002", "0.002"),
    "center_quint_edge_deci_cent": _tapered("center_quint_edge_deci_cent", "0.001", "0.002"),
    "center_centi_edge_centi_cent": _grid("center_centi_edge_centi_cent", ("0", "1", "0.0001")),
    "center_deci_edge_centi_cent": _grid(
        "center_deci_edge_centi_cent",
        ("0", "0.01", "0.0001"),
        ("0.01", "0.99", "0.001"),
        ("0.99", "1", "0.0001"),
    ),
}
LINEAR_CENT = STRUCTURES["linear_cent"]


def grid_of(market_payload: Mapping[str, Any]) -> PriceGrid:
    """The grid of a ``Market`` payload: its ``price_ranges``, else its named structure, else 1 cent.

    The fallbacks are for payloads without ``price_ranges`` (the SDK requires it, so a live
    market always has it; UNCERTAIN for old recordings).
    """
    ranges = market_payload.get("price_ranges")
    structure = market_payload.get("price_level_structure")
    if ranges:
        return PriceGrid.from_payload(ranges, structure or "")
    if isinstance(structure, str) and structure in STRUCTURES:
        return STRUCTURES[structure]
    return LINEAR_CENT


def yes_book(outcome: str, side: Side, price: Decimal) -> tuple[str, Decimal]:
    """THE mapping of an intent (buy/sell x YES/NO at the outcome's price) to V2 ``(side, YES price)``.

    ========== ======= =========
    intent     side    price
    ========== ======= =========
    buy YES p  bid     p
    sell YES p ask     p
    buy NO q   ask     1 - q
    sell NO q  bid     1 - q
    ========== ======= =========
    """
    if outcome not in ("yes", "no"):
        raise ValidationError(f"Kalshi outcomes are 'yes' and 'no', got {outcome!r}")
    side = Side(side)
    adds_yes = (outcome == "yes") == (side is Side.BUY)
    return ("bid" if adds_yes else "ask"), (price if outcome == "yes" else ONE - price)


def outcome_terms(book_side: str, yes_price: Decimal, outcome: str) -> tuple[Side, Decimal]:
    """The inverse of :func:`yes_book`: ``(side, price)`` of a YES-book order in ``outcome`` terms."""
    if book_side not in ("bid", "ask"):
        raise ValidationError(f"book side must be 'bid' or 'ask', got {book_side!r}")
    if outcome not in ("yes", "no"):
        raise ValidationError(f"Kalshi outcomes are 'yes' and 'no', got {outcome!r}")
    adds_yes = book_side == "bid"
    side = Side.BUY if adds_yes == (outcome == "yes") else Side.SELL
    return side, (yes_price if outcome == "yes" else ONE - yes_price)
