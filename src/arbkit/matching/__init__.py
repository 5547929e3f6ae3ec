"""Market matching: which markets on different venues settle on the same event."""

from arbkit.matching.model import METHODS, MarketMatch, OutcomeGroup, OutcomeRef

__all__ = ["METHODS", "MarketMatch", "OutcomeGroup", "OutcomeRef"]
