"""arbkit: find and trade cross-exchange arbitrage on binary prediction markets.

The public API is re-exported here::

    import arbkit

    arbkit.exchanges()                    # ['kalshi', 'polymarket']
    kalshi = arbkit.exchange("kalshi")    # public market data needs no credentials
    markets = kalshi.markets(series="KXNBAGAME")

Plugins are loaded on first use, never at import time; ``arbkit.plugin_manager``
is the pluggy manager (created when first touched).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arbkit.__about__ import __version__
from arbkit.accounts import AccountId, AccountState
from arbkit.arbitrage import detect, find_opportunities
from arbkit.bot import Bot, CycleReport
from arbkit.chat import BackgroundNotifier, DiscordNotifier, SlackNotifier, TelegramNotifier
from arbkit.config import Secret, Settings, TradingLimits
from arbkit.errors import (
    ArbkitError,
    AuthenticationError,
    BadRequest,
    ConfigError,
    ExchangeError,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidResponse,
    MarketClosed,
    NetworkError,
    NotFound,
    OrderNotFound,
    OrderRejected,
    OutcomeUnknown,
    PersistenceError,
    RateLimited,
    RequestTimeout,
    RiskRejected,
    TradeNotFound,
    UnknownExchangeError,
    ValidationError,
)
from arbkit.exchange import Exchange
from arbkit.fees import FeeSchedule, NoFees, PowerFee, QuadraticFee
from arbkit.flatten import FlattenPlan, plan_flatten
from arbkit.hookspecs import hookimpl
from arbkit.http import HttpTransport
from arbkit.live import RealTradingSystem
from arbkit.matching import MarketMatch, match_markets, proposals
from arbkit.models import (
    Balance,
    BookKey,
    BookLevel,
    Fill,
    Market,
    MarketStatus,
    Order,
    OrderBook,
    OrderRequest,
    OrderStatus,
    Outcome,
    OutcomeResult,
    Position,
    Resolution,
    ResolutionState,
    Side,
    TimeInForce,
    to_decimal,
)
from arbkit.notify import Event, EventKind, LogNotifier, Notifier, WebhookNotifier
from arbkit.opportunity import Leg, Opportunity
from arbkit.plugins import exchange, exchanges, get_plugin_manager, reload_plugins
from arbkit.retry import RetryPolicy, is_retryable
from arbkit.risk import RiskChain, RiskContext, RiskDecision, RiskPolicy
from arbkit.scanner import Scanner, ScanResult
from arbkit.settlement import Settlement
from arbkit.store import JsonFileStore, SqliteStore, TradeStore
from arbkit.streams import (
    BookStore,
    FeedInterrupted,
    FeedState,
    FeedStatus,
    MarketStream,
    Recorder,
    ReplayReport,
    StreamingEngine,
    StreamingSession,
    replay,
)
from arbkit.trade import Trade, TradeResult, TradeStatus, TradingState
from arbkit.trading import PaperTradingSystem, TradingSystem

if TYPE_CHECKING:
    import pluggy

    plugin_manager: pluggy.PluginManager

__all__ = [
    "AccountId",
    "AccountState",
    "ArbkitError",
    "AuthenticationError",
    "BackgroundNotifier",
    "BadRequest",
    "Balance",
    "BookKey",
    "BookLevel",
    "BookStore",
    "Bot",
    "ConfigError",
    "CycleReport",
    "DiscordNotifier",
    "Event",
    "EventKind",
    "Exchange",
    "ExchangeError",
    "ExchangeUnavailable",
    "FeeSchedule",
    "FeedInterrupted",
    "FeedState",
    "FeedStatus",
    "Fill",
    "FlattenPlan",
    "HttpTransport",
    "InsufficientFunds",
    "InvalidResponse",
    "JsonFileStore",
    "Leg",
    "LogNotifier",
    "Market",
    "MarketClosed",
    "MarketMatch",
    "MarketStatus",
    "MarketStream",
    "NetworkError",
    "NoFees",
    "NotFound",
    "Notifier",
    "Opportunity",
    "Order",
    "OrderBook",
    "OrderNotFound",
    "OrderRejected",
    "OrderRequest",
    "OrderStatus",
    "Outcome",
    "OutcomeResult",
    "OutcomeUnknown",
    "PaperTradingSystem",
    "PersistenceError",
    "Position",
    "PowerFee",
    "QuadraticFee",
    "RateLimited",
    "RealTradingSystem",
    "Recorder",
    "ReplayReport",
    "RequestTimeout",
    "Resolution",
    "ResolutionState",
    "RetryPolicy",
    "RiskChain",
    "RiskContext",
    "RiskDecision",
    "RiskPolicy",
    "RiskRejected",
    "ScanResult",
    "Scanner",
    "Secret",
    "Settings",
    "Settlement",
    "Side",
    "SlackNotifier",
    "SqliteStore",
    "StreamingEngine",
    "StreamingSession",
    "TelegramNotifier",
    "TimeInForce",
    "Trade",
    "TradeNotFound",
    "TradeResult",
    "TradeStatus",
    "TradeStore",
    "TradingLimits",
    "TradingState",
    "TradingSystem",
    "UnknownExchangeError",
    "ValidationError",
    "WebhookNotifier",
    "__version__",
    "detect",
    "exchange",
    "exchanges",
    "find_opportunities",
    "get_plugin_manager",
    "hookimpl",
    "is_retryable",
    "match_markets",
    "plan_flatten",
    "plugin_manager",
    "proposals",
    "reload_plugins",
    "replay",
    "to_decimal",
]


def __getattr__(name: str) -> Any:
    # ``arbkit.plugin_manager`` is created on first access so that importing arbkit
    # never loads plugins.
    if name == "plugin_manager":
        return get_plugin_manager()
    raise AttributeError(f"module 'arbkit' has no attribute {name!r}")
