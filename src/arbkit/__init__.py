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
from arbkit.accounts import AccountId, AccountPosition, AccountState
from arbkit.bot import Bot, CycleReport
from arbkit.config import Secret, Settings, TradingLimits
from arbkit.engine.detect import detect, find_opportunities
from arbkit.engine.fees import FeeSchedule, NoFees, PowerFee, QuadraticFee
from arbkit.engine.matching import MarketMatch, match_markets, proposals
from arbkit.engine.opportunity import Leg, Opportunity
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
from arbkit.hookspecs import hookimpl
from arbkit.http import HttpTransport
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
from arbkit.plugins import exchange, exchanges, get_plugin_manager, reload_plugins
from arbkit.retry import RetryPolicy, is_retryable
from arbkit.scanner import Scanner, ScanResult
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
from arbkit.trading.chat import DiscordNotifier, SlackNotifier, TelegramNotifier
from arbkit.trading.flatten import FlattenPlan, plan_flatten
from arbkit.trading.live import RealTradingSystem
from arbkit.trading.notify import BackgroundNotifier, Event, EventKind, LogNotifier, Notifier, WebhookNotifier
from arbkit.trading.paper import PaperTradingSystem
from arbkit.trading.records import Trade, TradeResult, TradeStatus, TradingState
from arbkit.trading.risk import RiskChain, RiskContext, RiskDecision, RiskPolicy
from arbkit.trading.settlement import Settlement
from arbkit.trading.store import JsonFileStore, SqliteStore, TradeStore
from arbkit.trading.system import TradingSystem

if TYPE_CHECKING:
    import pluggy

    plugin_manager: pluggy.PluginManager

__all__ = [
    "AccountId",
    "AccountPosition",
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
