"""Shared building blocks of the exchange sandboxes (local servers speaking a venue's protocol).

Each adapter's ``sandbox`` package builds on these: :class:`SandboxServer` and
:class:`SandboxApp` (threaded loopback HTTP with a control API and fault
injection), :class:`Fault` / :class:`FaultPlan`, and :class:`BinaryBook`, the
matching engine both venues reduce to. The WebSocket toolkit (:class:`WsSandboxServer`,
:class:`WsApp`, :class:`WsConnection`, :class:`WsFault`) is imported on first use, as it
needs the ``stream`` extra and the HTTP sandboxes run from a bare install.
"""

from typing import TYPE_CHECKING, Any

from arbkit.sandbox.book import BinaryBook, BookSide, Match, RestingOrder
from arbkit.sandbox.faults import FAULT_KINDS, Fault, FaultPlan
from arbkit.sandbox.server import HttpError, Request, Response, Router, SandboxApp, SandboxServer

if TYPE_CHECKING:
    from arbkit.sandbox.ws import WS_FAULT_KINDS, WsApp, WsConnection, WsFault, WsFaultPlan, WsSandboxServer

_WS_NAMES = frozenset(
    {"WS_FAULT_KINDS", "WsApp", "WsConnection", "WsFault", "WsFaultPlan", "WsSandboxServer"}
)


def __getattr__(name: str) -> Any:
    if name in _WS_NAMES:
        from arbkit.sandbox import ws

        return getattr(ws, name)
    raise AttributeError(f"module 'arbkit.sandbox' has no attribute {name!r}")


__all__ = [
    "FAULT_KINDS",
    "WS_FAULT_KINDS",
    "BinaryBook",
    "BookSide",
    "Fault",
    "FaultPlan",
    "HttpError",
    "Match",
    "Request",
    "Response",
    "RestingOrder",
    "Router",
    "SandboxApp",
    "SandboxServer",
    "WsApp",
    "WsConnection",
    "WsFault",
    "WsFaultPlan",
    "WsSandboxServer",
]
