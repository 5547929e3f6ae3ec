"""Faults a sandbox injects, shared by every venue's sandbox.

A :class:`Fault` matches requests by method and path pattern and fires a number of
times (or until cleared). Transport-level kinds are carried out by the server
itself; order-level kinds are asked for by the venue's order handler:

==================  =================================================================
kind                effect
==================  =================================================================
``latency``         sleep ``delay_ms`` before handling (``times=None``: every request)
``status``          answer ``status`` (with ``retry_after`` for 429) *without* handling
``status_after``    handle the request (an order is accepted), then answer ``status``
``drop``            close the connection without answering, without handling
``drop_after``      handle the request, then close the connection without answering
``reject``          the order handler refuses the next order (venue's own error body)
``partial_fill``    the next order fills only ``fill_ratio`` of what it could
``no_fill``         the next order finds no liquidity (IOC/FOK end unfilled)
``insufficient``    the next order is refused for insufficient balance
==================  =================================================================

Faults are loaded over HTTP (``POST /_sandbox/faults``) or from Python
(``sandbox.faults.add(Fault(...))``).
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

import attrs

from arbkit.errors import ValidationError
from arbkit.models import to_decimal
from arbkit.values import one_of

__all__ = ["FAULT_KINDS", "Fault", "FaultPlan", "PendingFaults"]

TRANSPORT_KINDS = frozenset({"latency", "status", "status_after", "drop", "drop_after"})
ORDER_KINDS = frozenset({"reject", "partial_fill", "no_fill", "insufficient"})
FAULT_KINDS = TRANSPORT_KINDS | ORDER_KINDS


def _upper(value: str | None) -> str | None:
    return value.upper() if value else None


@attrs.define
class Fault:
    """One injected fault. ``times=None`` keeps it until cleared."""

    kind: str = attrs.field(validator=one_of(FAULT_KINDS, what="fault kind"))
    method: str | None = attrs.field(default=None, converter=_upper)
    path: str = "*"
    times: int | None = 1
    status: int = 500
    retry_after: Decimal | None = None
    delay_ms: int = 0
    fill_ratio: Decimal = Decimal("0.5")
    message: str = "injected fault"

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        if self.method is not None and self.method != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from a control-API body; :class:`ValidationError` on bad input."""
        if not isinstance(data, Mapping):
            raise ValidationError("a fault must be a JSON object")
        allowed = {f.name for f in attrs.fields(cls)}
        unknown = set(data) - allowed
        if unknown:
            raise ValidationError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        kwargs = dict(data)
        try:
            for name in ("times", "status", "delay_ms"):
                if kwargs.get(name) is not None:
                    if isinstance(kwargs[name], bool) or not isinstance(kwargs[name], int):
                        raise ValidationError(f"fault {name} must be an integer")
                    if kwargs[name] < 0:
                        raise ValidationError(f"fault {name} must not be negative")
            if kwargs.get("retry_after") is not None:
                kwargs["retry_after"] = to_decimal(kwargs["retry_after"], field="retry_after")
            if "fill_ratio" in kwargs:
                ratio = to_decimal(kwargs["fill_ratio"], field="fill_ratio")
                if not Decimal(0) <= ratio <= Decimal(1):
                    raise ValidationError("fill_ratio must be within [0, 1]")
                kwargs["fill_ratio"] = ratio
            for name in ("path", "message", "kind"):
                if name in kwargs and not isinstance(kwargs[name], str):
                    raise ValidationError(f"fault {name} must be a string")
            return cls(**kwargs)
        except TypeError as exc:
            raise ValidationError(f"bad fault: {exc}") from None

    def to_json(self) -> dict[str, Any]:
        """The fault as the control API shows it."""
        data = attrs.asdict(self)
        data["fill_ratio"] = str(self.fill_ratio)
        data["retry_after"] = None if self.retry_after is None else str(self.retry_after)
        return data


class _Spendable(Protocol):
    times: int | None


F = TypeVar("F", bound=_Spendable)


class PendingFaults(Generic[F]):
    """A thread-safe queue of injected faults, each spent after ``times`` uses (``None``: never).

    :class:`FaultPlan` (HTTP) and the WebSocket toolkit's plan are this with their own matching.
    """

    def __init__(self) -> None:
        self._faults: list[F] = []
        self._lock = threading.Lock()
        #: What fired, oldest first: ``(kind, where, what)`` as each plan words it.
        self.fired: list[tuple[Any, ...]] = []

    def add(self, fault: F) -> F:
        """Queue a fault; returns it."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every pending fault."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[F]:
        """A copy of the pending faults."""
        with self._lock:
            return list(self._faults)

    def _take(self, match: Callable[[F], bool], fired: Callable[[F], tuple[Any, ...]]) -> F | None:
        """The first pending fault ``match`` accepts, spent once and noted as ``fired(fault)``."""
        with self._lock:
            for fault in self._faults:
                if match(fault):
                    self._spend(fault)
                    self.fired.append(fired(fault))
                    return fault
        return None

    def _spend(self, fault: F) -> None:
        """One use of ``fault`` (caller holds the lock)."""
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)


class FaultPlan(PendingFaults[Fault]):
    """The pending faults of a sandbox's HTTP side."""

    def take(self, kinds: frozenset[str] | set[str], method: str, path: str) -> Fault | None:
        """The first pending fault of one of ``kinds`` matching the request, consumed once."""
        return self._take(
            lambda f: f.kind in kinds and f.matches(method, path), lambda f: (f.kind, method, path)
        )

    def latency_ms(self, method: str, path: str) -> int:
        """Total injected delay for this request (every matching latency fault counts)."""
        total = 0
        with self._lock:
            for fault in list(self._faults):
                if fault.kind == "latency" and fault.matches(method, path):
                    total += fault.delay_ms
                    self._spend(fault)
        return total
