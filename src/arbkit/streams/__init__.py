"""Streaming market data: the stream contract, the local book store, record and replay."""

from arbkit.streams.books import BookStore, ChangeFeed, FeedInterrupted
from arbkit.streams.engine import Detection, LatencySummary, OpportunityLife, StreamingEngine
from arbkit.streams.feed import (
    FeedSink,
    FeedState,
    FeedStatus,
    ForwardingSink,
    FrameDecoder,
    MarketEvent,
    MarketStream,
    backoff,
)
from arbkit.streams.recording import Recorder, ReplayReport, read_recording, replay
from arbkit.streams.session import StreamedTrade, StreamingSession, streams_for

__all__ = [
    "BookStore",
    "ChangeFeed",
    "Detection",
    "FeedInterrupted",
    "FeedSink",
    "FeedState",
    "FeedStatus",
    "ForwardingSink",
    "FrameDecoder",
    "LatencySummary",
    "MarketEvent",
    "MarketStream",
    "OpportunityLife",
    "Recorder",
    "ReplayReport",
    "StreamedTrade",
    "StreamingEngine",
    "StreamingSession",
    "backoff",
    "read_recording",
    "replay",
    "streams_for",
]
