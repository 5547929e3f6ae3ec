"""The live tests' sandboxes and accounts, shared with the model-based test."""

from tests.live.conftest import _hedge_keys, _keys, _servers, venues

__all__ = ["_hedge_keys", "_keys", "_servers", "venues"]
