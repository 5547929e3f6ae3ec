"""arbkit's Polymarket adapter, registered as the ``polymarket`` exchange plugin.

The public names are importable from here (``from arbkit_polymarket import PolymarketClient``)
and loaded on first use, so that discovering the plugin (``arbkit.exchanges()``) does not
import the adapter's signing and HTTP code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arbkit.plugins import lazy_exports

if TYPE_CHECKING:
    from arbkit_polymarket.auth import ApiCredentials, L2Signer
    from arbkit_polymarket.client import PolymarketClient
    from arbkit_polymarket.sandbox import PolymarketSandbox
    from arbkit_polymarket.stream import PolymarketStream

__all__ = ["ApiCredentials", "L2Signer", "PolymarketClient", "PolymarketSandbox", "PolymarketStream"]

#: Where each public name lives (the adapter's modules by role, as in arbkit_kalshi).
_HOMES = {
    "ApiCredentials": "arbkit_polymarket.auth",
    "L2Signer": "arbkit_polymarket.auth",
    "PolymarketClient": "arbkit_polymarket.client",
    "PolymarketSandbox": "arbkit_polymarket.sandbox",
    "PolymarketStream": "arbkit_polymarket.stream",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
