"""Streaming market data: the stream contract, the local book store, record and replay."""

from arbkit.streams.books import BookStore, ChangeFeed, FeedInterrupted
from arbkit.streams.feed import (
    FeedSink,
    FeedState,
    FeedStatus,
    FrameDecoder,
    MarketEvent,
    MarketStream,
)

__all__ = [
    "BookStore",
    "ChangeFeed",
    "FeedInterrupted",
    "FeedSink",
    "FeedState",
    "FeedStatus",
    "FrameDecoder",
    "MarketEvent",
    "MarketStream",
]
