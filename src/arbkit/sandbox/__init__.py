"""Shared building blocks of the exchange sandboxes (local servers speaking a venue's protocol).

Each adapter's ``sandbox`` package builds on these: :class:`SandboxServer` and
:class:`SandboxApp` (threaded loopback HTTP with a control API and fault
injection), :class:`Fault` / :class:`FaultPlan`, and :class:`BinaryBook`, the
matching engine both venues reduce to.
"""

from arbkit.sandbox.book import BinaryBook, BookSide, Match, RestingOrder
from arbkit.sandbox.faults import FAULT_KINDS, Fault, FaultPlan
from arbkit.sandbox.server import HttpError, Request, Response, Router, SandboxApp, SandboxServer

__all__ = [
    "FAULT_KINDS",
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
]
