"""arbkit's Kalshi adapter, registered as the ``kalshi`` exchange plugin.

The public names are importable from here (``from arbkit_kalshi import KalshiClient``) and
loaded on first use, so that discovering the plugin (``arbkit.exchanges()``) does not import
the adapter's signing and HTTP code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arbkit.plugins import lazy_exports

if TYPE_CHECKING:
    from arbkit_kalshi.auth import KalshiSigner
    from arbkit_kalshi.client import KalshiClient
    from arbkit_kalshi.errors import DeprecatedEndpoint
    from arbkit_kalshi.sandbox import KalshiSandbox
    from arbkit_kalshi.stream import KalshiStream

__all__ = ["DeprecatedEndpoint", "KalshiClient", "KalshiSandbox", "KalshiSigner", "KalshiStream"]

#: Where each public name lives (the adapter's modules by role, as in arbkit_polymarket).
_HOMES = {
    "DeprecatedEndpoint": "arbkit_kalshi.errors",
    "KalshiClient": "arbkit_kalshi.client",
    "KalshiSandbox": "arbkit_kalshi.sandbox",
    "KalshiSigner": "arbkit_kalshi.auth",
    "KalshiStream": "arbkit_kalshi.stream",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
