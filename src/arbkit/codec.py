"""One codec for records: frozen attrs values to JSON-ready data and back (cattrs).

Trades, the ledger, error records and journal records are attrs classes; :data:`converter`
turns any of them into plain JSON values (``unstructure``) and back (``structure``) by the
same rules everywhere, so no class writes its own ``to_dict``:

* money and sizes (``Decimal``) are strings, digit for digit (``"4.1333333333"``), and come
  back through :func:`arbkit.models.to_decimal`, which refuses floats and booleans;
* times are ISO 8601 strings with their offset; enums are their values; tuples are lists;
* integers must be integers (never a float, a string or a boolean);
* ``None`` stays ``null``; keys a class does not know (derived values written for readers,
  fields of a newer version) are ignored when reading, and missing keys take the field's
  default, so older files load.

A class whose stored names differ from its fields (PolyMix's file names) registers its
override beside its definition with :func:`configure`.

Malformed data raises :class:`~arbkit.errors.ValidationError` naming where it went wrong
(``legs[1].filled_size: ...``), never a bare ``KeyError``.

>>> from decimal import Decimal
>>> from arbkit.codec import structure, unstructure
>>> from arbkit.models import Balance
>>> unstructure(Balance(Decimal("12.50")))["available"]
'12.50'
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import cattrs
from cattrs.errors import BaseValidationError

from arbkit.errors import ValidationError
from arbkit.models import to_decimal

__all__ = ["configure", "converter", "structure", "unstructure"]

T = TypeVar("T")


def _structure_iso(value: Any, cls: type[date]) -> date:
    """A ``datetime`` or a ``date`` from its ISO 8601 text (``cls.fromisoformat``)."""
    what = "time" if cls is datetime else "date"
    if not isinstance(value, str):
        raise ValidationError(f"expected an ISO 8601 {what}, got {type(value).__name__}")
    try:
        return cls.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"not an ISO 8601 {what}: {value[:40]!r}") from None


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"expected a string, got {type(value).__name__}")
    return value


def _structure_int(value: Any, _: type) -> int:
    # bool is an int to Python, and int() would truncate 2.7 or parse "3": all refused.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"expected an integer, got {type(value).__name__}")
    return value


def _structure_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"expected true or false, got {type(value).__name__}")
    return value


def _structure_enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        known = ", ".join(str(member.value) for member in cls)
        raise ValidationError(f"{str(value)[:40]!r} is not a {cls.__name__} ({known})") from None


def _build() -> cattrs.Converter:
    built = cattrs.Converter(unstruct_collection_overrides={tuple: list})
    # Class hooks dispatch along the MRO: str's would also take every StrEnum (str comes
    # before Enum in its MRO) and int's every bool, so those get hooks of their own.
    built.register_structure_hook(int, _structure_int)
    built.register_structure_hook(bool, _structure_bool)
    built.register_structure_hook(enum.StrEnum, _structure_enum)
    built.register_structure_hook(enum.IntEnum, _structure_enum)
    built.register_unstructure_hook(date, date.isoformat)
    built.register_structure_hook(date, _structure_iso)
    built.register_unstructure_hook(Decimal, str)
    built.register_structure_hook(Decimal, lambda value, _: to_decimal(value))
    built.register_unstructure_hook(datetime, datetime.isoformat)
    built.register_structure_hook(datetime, _structure_iso)
    built.register_structure_hook(str, _structure_str)
    built.register_unstructure_hook_func(
        lambda cls: isinstance(cls, type) and issubclass(cls, enum.Enum), lambda member: member.value
    )
    return built


#: The converter every record goes through (add hooks here, never a per-class ``to_dict``).
converter = _build()


def configure(
    cls: type,
    *,
    rename: Mapping[str, str] | None = None,
    omit: Iterable[str] = (),
    derived: Mapping[str, Callable[[Any], Any]] | None = None,
) -> None:
    """Store ``cls``'s fields under other keys (``rename={"day": "date"}``), or not at all
    (``omit=("market",)``: a field that is a reference for this process, read back as its
    default); ``derived`` adds values computed from the record for its readers
    (``{"total_cost": lambda trade: trade.total_cost}``), written by the same rules and
    ignored when reading."""
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

    overrides: dict[str, Any] = {field: override(rename=key) for field, key in (rename or {}).items()}
    overrides.update({field: override(omit=True) for field in omit})
    fields: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(cls, converter, **overrides)
    extra = dict(derived or {})

    def unstructure_record(value: Any) -> dict[str, Any]:
        data: dict[str, Any] = fields(value)
        for key, compute in extra.items():
            data[key] = converter.unstructure(compute(value))
        return data

    converter.register_unstructure_hook(cls, unstructure_record if extra else fields)
    converter.register_structure_hook(cls, make_dict_structure_fn(cls, converter, **overrides))


def unstructure(value: Any) -> Any:
    """``value`` (an attrs record, or a collection of them) as JSON-ready data."""
    return converter.unstructure(value)


def structure(data: Any, cls: type[T]) -> T:
    """Rebuild a ``cls`` from :func:`unstructure` output; :class:`ValidationError` if malformed."""
    try:
        return converter.structure(data, cls)
    except BaseValidationError as exc:
        raise ValidationError(
            f"not a valid {cls.__name__}: " + "; ".join(cattrs.transform_error(exc))
        ) from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(f"not a valid {cls.__name__}: {type(exc).__name__}: {exc}") from None
