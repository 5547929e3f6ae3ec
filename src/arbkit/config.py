"""Settings: every knob PolyMix read from the environment, with the same names and defaults.

``Settings.from_env()`` reads the process environment over an optional ``.env`` file
(python-dotenv; the environment wins, as ``load_dotenv`` does) without changing
``os.environ``. Every value is checked at start-up: a bad one raises
:class:`~arbkit.errors.ConfigError` naming the variable and what is wrong, so a
mistake is found before the first trade, not during it.

Secrets are held in :class:`Secret`, whose ``repr`` and ``str`` never show the value.

>>> s = Settings.from_env(env_file=None, environ={"LIVE_TRADING": "false"})
>>> s.mode, s.limits.bet_amount
('paper', Decimal('100'))
"""

from __future__ import annotations

import difflib
import hmac
import logging
import os
import sys
import zoneinfo
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
from dotenv import dotenv_values

from arbkit.errors import ArbkitError, ConfigError
from arbkit.models import to_decimal

__all__ = ["KNOWN_VARIABLES", "Secret", "Settings", "TradingLimits", "default_data_dir", "unknown_variables"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@attrs.frozen(repr=False)
class Secret:
    """A credential. Shows as ``'***'`` everywhere; ``reveal()`` is the only way in."""

    _value: str = attrs.field(alias="value")

    def reveal(self) -> str:
        """The secret itself: pass it straight to the signer, never to a log."""
        return self._value

    def matches(self, candidate: str) -> bool:
        """Constant-time comparison (for confirmation keys and API tokens)."""
        return hmac.compare_digest(self._value.encode(), candidate.encode())

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@attrs.frozen
class TradingLimits:
    """The money settings of one mode (paper or live). ``None`` means "no limit"."""

    initial_balance: Decimal
    bet_amount: Decimal
    min_roi_percent: Decimal
    max_position_size: Decimal | None
    max_daily_trades: int | None
    daily_loss_limit: Decimal | None


_TRUE = {"1", "true", "yes", "on"}
#: No dollar setting is sane above a trillion; larger values are typos (or 1e999999).
MAX_AMOUNT = Decimal(10**12)
_FALSE = {"0", "false", "no", "off"}

#: Every variable Settings reads, with its meaning (``.env.example`` documents each).
KNOWN_VARIABLES: dict[str, str] = {
    "LIVE_TRADING": "true to trade real money; false (default) paper-trades",
    "PAPER_TRADING_ENABLED": "paper-trade opportunities when not live (default true)",
    "PAPER_TRADING_INITIAL_BALANCE": "paper starting balance in dollars (10000)",
    "PAPER_TRADING_BET_AMOUNT": "dollars to commit per paper trade (100)",
    "PAPER_TRADING_MIN_ROI": "minimum ROI in percent for a paper trade (1)",
    "PAPER_TRADING_MAX_POSITION_SIZE": "max dollars per paper trade (unset: no limit)",
    "PAPER_TRADING_MAX_DAILY_TRADES": "max paper trades per day (unset: no limit)",
    "PAPER_TRADING_DAILY_LOSS_LIMIT": "paper loss per day that stops trading (unset: no limit)",
    "LIVE_TRADING_INITIAL_BALANCE": "live starting balance for P&L accounting (10000)",
    "LIVE_TRADING_BET_AMOUNT": "dollars to commit per live trade (100)",
    "LIVE_TRADING_MIN_ROI": "minimum ROI in percent for a live trade (1)",
    "LIVE_TRADING_MAX_POSITION_SIZE": "max dollars per live trade (1000)",
    "LIVE_TRADING_MAX_DAILY_TRADES": "max live trades per day (10)",
    "LIVE_TRADING_DAILY_LOSS_LIMIT": "live loss per day that stops trading (500)",
    "POLYMARKET_PRIVATE_KEY": "hex private key of the Polymarket signer (secret)",
    "POLYMARKET_API_KEY": "CLOB API key (derived from the private key if unset)",
    "POLYMARKET_API_SECRET": "CLOB API secret (secret)",
    "POLYMARKET_API_PASSPHRASE": "CLOB API passphrase (secret)",
    "POLYMARKET_FUNDER": "address holding the funds (proxy/Safe wallet) for signature types 1-3",
    "POLYMARKET_SIGNATURE_TYPE": "0 EOA, 1 Poly proxy, 2 Gnosis Safe, 3 deposit wallet (0)",
    "POLYMARKET_CLOB_URL": "CLOB base URL (https://clob.polymarket.com)",
    "POLYMARKET_GAMMA_URL": "Gamma base URL (https://gamma-api.polymarket.com)",
    "POLYMARKET_DATA_URL": "Data API base URL, for positions (https://data-api.polymarket.com)",
    "POLYMARKET_WS_URL": "WebSocket base URL (wss://ws-subscriptions-clob.polymarket.com/ws)",
    "KALSHI_API_KEY": "Kalshi API key id (a UUID)",
    "KALSHI_SECRET": "Kalshi RSA private key, PEM text (secret)",
    "KALSHI_PRIVATE_KEY_PATH": "path to the Kalshi RSA private key PEM file",
    "KALSHI_ENV": "prod or demo (prod)",
    "KALSHI_BASE_URL": "explicit Kalshi REST base URL, overriding KALSHI_ENV",
    "KALSHI_WS_URL": "explicit Kalshi WebSocket URL, overriding KALSHI_ENV",
    "TRADING_RESET_CONFIRM_KEY": "key required by POST /api/trading/reset (secret)",
    "ARBKIT_API_TOKEN": "bearer token required by mutating endpoints when set (secret)",
    "ARBKIT_EXCHANGES": "comma-separated exchanges to scan (polymarket,kalshi)",
    "ARBKIT_DATA_DIR": "where state files are written (a per-user folder: ~/.local/share/arbkit)",
    "ARBKIT_STORE": "json (PolyMix's files), sqlite or postgres (json, or postgres with ARBKIT_STORE_URL)",
    "ARBKIT_STORE_URL": "postgresql://user:password@host:5432/db: one store for several instances (secret)",
    "ARBKIT_PLUGINS": "comma-separated plugin entry points allowed to load (unset: every installed one)",
    "ARBKIT_STREAMING": "auto, on or off: books by WebSocket, detection on every change (auto: on when live)",
    "ARBKIT_TIMEZONE": "IANA zone in which a trading 'day' rolls over (UTC)",
    "ARBKIT_HTTP_TIMEOUT": "seconds before an exchange request times out (10)",
    "ARBKIT_MAX_BOOK_AGE": "seconds after which a book is too stale to trade on (10)",
    "ARBKIT_MAX_MARKET_EXPOSURE": "max dollars held in any one market across open trades (unset: no cap)",
    "ARBKIT_NOTIFY_WEBHOOK_URL": "URL that receives a JSON POST per notification (unset: none)",
    "ARBKIT_TELEGRAM_BOT_TOKEN": "Telegram bot token, with ARBKIT_TELEGRAM_CHAT_ID (secret)",
    "ARBKIT_TELEGRAM_CHAT_ID": "Telegram chat, group or channel id that receives notifications",
    "ARBKIT_SLACK_WEBHOOK_URL": "Slack incoming-webhook URL for notifications (secret)",
    "ARBKIT_DISCORD_WEBHOOK_URL": "Discord webhook URL for notifications (secret)",
    "MONITOR_INTERVAL_SECONDS": "seconds between scans (30)",
    "SETTLEMENT_INTERVAL_SECONDS": "seconds between settlement checks (60)",
}

_SECRETS = {
    "POLYMARKET_PRIVATE_KEY",
    "POLYMARKET_API_SECRET",
    "POLYMARKET_API_PASSPHRASE",
    "KALSHI_SECRET",
    "TRADING_RESET_CONFIRM_KEY",
    "ARBKIT_API_TOKEN",
    "ARBKIT_TELEGRAM_BOT_TOKEN",
    "ARBKIT_SLACK_WEBHOOK_URL",
    "ARBKIT_DISCORD_WEBHOOK_URL",
    "ARBKIT_STORE_URL",
}


def default_data_dir(environ: Mapping[str, str | None] | None = None) -> Path:
    """Where state goes when ``ARBKIT_DATA_DIR`` is unset: a per-user data folder, never the cwd.

    ``$XDG_DATA_HOME/arbkit`` (else ``~/.local/share/arbkit``) on Linux and other POSIX systems,
    ``~/Library/Application Support/arbkit`` on macOS, ``%LOCALAPPDATA%\\arbkit`` on Windows.
    """
    env = os.environ if environ is None else environ
    if sys.platform == "win32":
        base = env.get("LOCALAPPDATA")
        return Path(base) / "arbkit" if base else Path.home() / "AppData" / "Local" / "arbkit"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "arbkit"
    xdg = env.get("XDG_DATA_HOME")
    if xdg and Path(xdg).is_absolute():  # the XDG spec says to ignore a relative value
        return Path(xdg) / "arbkit"
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".local" / "share" / "arbkit"


def unknown_variables(values: Mapping[str, object], known: Mapping[str, str] = KNOWN_VARIABLES) -> list[str]:
    """One message per variable that looks like one of ours but is not (``LIVE_TRADNG``).

    A name counts as "looks like ours" when it starts with the first word of a known
    variable (``LIVE_``, ``KALSHI_``, ``ARBKIT_``...); the message names the closest known
    variable when one is close. Other variables (``PATH``, ``HOME``) are none of our business.

    >>> unknown_variables({"LIVE_TRADNG": "true", "PATH": "/bin"})
    ['LIVE_TRADNG is not a variable arbkit reads; did you mean LIVE_TRADING?']
    """
    prefixes = {name.split("_", 1)[0] + "_" for name in known}
    messages = []
    for name in sorted(values):
        if name in known or not any(name.startswith(prefix) for prefix in prefixes):
            continue
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else " (see .env.example for the variables)"
        messages.append(f"{name} is not a variable arbkit reads{hint}")
    return messages


class _Reader:
    """Typed access to one merged environment, raising ConfigError per variable."""

    def __init__(self, values: Mapping[str, str | None]) -> None:
        self.values = values

    def raw(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def _fail(self, name: str, what: str) -> ConfigError:
        return ConfigError(what, variable=name)

    def _shown(self, name: str, value: str) -> str:
        return "(hidden)" if name in _SECRETS else repr(value[:40])

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise self._fail(name, f"expected true or false, got {self._shown(name, value)}")

    def decimal(
        self, name: str, default: Decimal | None, *, positive: bool = False, maximum: Decimal = MAX_AMOUNT
    ) -> Decimal | None:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = to_decimal(value, field=name)
        except ArbkitError:
            raise self._fail(name, f"expected a number, got {self._shown(name, value)}") from None
        if number < 0 or (positive and number == 0):
            raise self._fail(name, f"must be {'positive' if positive else 'non-negative'}, got {number}")
        if number > maximum:
            raise self._fail(name, f"must be at most {maximum}, got {number}")
        return number

    def required_decimal(self, name: str, default: Decimal, **kw: Any) -> Decimal:
        result = self.decimal(name, default, **kw)
        assert result is not None
        return result

    def integer(
        self, name: str, default: int | None, *, minimum: int = 0, maximum: int = 10**9
    ) -> int | None:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value, 10)
        except ValueError:
            raise self._fail(name, f"expected a whole number, got {self._shown(name, value)}") from None
        if not minimum <= number <= maximum:
            raise self._fail(name, f"must be between {minimum} and {maximum}, got {number}")
        return number

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() not in choices:
            raise self._fail(name, f"must be one of {', '.join(choices)}, got {self._shown(name, value)}")
        return value.lower()

    def text(self, name: str, check: Callable[[str], bool] | None = None, what: str = "") -> str | None:
        value = self.raw(name)
        if value is not None and check is not None and not check(value):
            raise self._fail(name, what or "invalid value")
        return value

    def secret(self, name: str) -> Secret | None:
        value = self.raw(name)
        return None if value is None else Secret(value)

    def url(self, name: str) -> str | None:
        return self.text(name, _is_url, "must be an http:// or https:// URL with a host")

    def ws_url(self, name: str) -> str | None:
        return self.text(name, _is_ws_url, "must be a ws:// or wss:// URL with a host")


def _limits(r: _Reader, prefix: str, *, live: bool) -> TradingLimits:
    max_position = r.decimal(f"{prefix}_MAX_POSITION_SIZE", Decimal(1000) if live else None, positive=True)
    max_trades = r.integer(f"{prefix}_MAX_DAILY_TRADES", 10 if live else None, minimum=0, maximum=1_000_000)
    loss_limit = r.decimal(f"{prefix}_DAILY_LOSS_LIMIT", Decimal(500) if live else None)
    return TradingLimits(
        initial_balance=r.required_decimal(
            f"{prefix}_INITIAL_BALANCE", Decimal(10000), maximum=Decimal(10**12)
        ),
        bet_amount=r.required_decimal(
            f"{prefix}_BET_AMOUNT", Decimal(100), positive=True, maximum=Decimal(10**9)
        ),
        min_roi_percent=r.required_decimal(f"{prefix}_MIN_ROI", Decimal(1), maximum=Decimal(1000)),
        max_position_size=max_position,
        max_daily_trades=max_trades,
        daily_loss_limit=loss_limit,
    )


def _is_ws_url(value: str) -> bool:
    scheme, sep, rest = value.partition("://")
    return bool(sep) and scheme in ("ws", "wss") and _is_url(f"http://{rest}")


def _is_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value and len(value) < 2048
    )


def _webhook(r: _Reader, name: str) -> Secret | None:
    """A webhook URL: a secret (its path is the credential), checked like any URL."""
    secret = r.secret(name)
    if secret is None:
        return None
    if not _is_url(secret.reveal()):
        raise ConfigError("must be a web URL (scheme http or https) with a host", variable=name)
    return secret


def _is_hex_key(value: str) -> bool:
    body = value[2:] if value.lower().startswith("0x") else value
    return len(body) == 64 and all(c in "0123456789abcdefABCDEF" for c in body)


def _is_address(value: str) -> bool:
    return (
        len(value) == 42
        and value.lower().startswith("0x")
        and all(c in "0123456789abcdefABCDEF" for c in value[2:])
    )


@attrs.frozen
class Settings:
    """Validated configuration for the library, the example service and the scheduler."""

    live_trading: bool = False
    paper_trading_enabled: bool = True
    paper: TradingLimits = attrs.field(factory=lambda: _limits(_Reader({}), "PAPER_TRADING", live=False))
    live: TradingLimits = attrs.field(factory=lambda: _limits(_Reader({}), "LIVE_TRADING", live=True))
    polymarket_private_key: Secret | None = None
    polymarket_api_key: str | None = None
    polymarket_api_secret: Secret | None = None
    polymarket_api_passphrase: Secret | None = None
    polymarket_funder: str | None = None
    polymarket_signature_type: int = 0
    polymarket_clob_url: str | None = None
    polymarket_gamma_url: str | None = None
    polymarket_data_url: str | None = None
    polymarket_ws_url: str | None = None
    #: Not a secret by itself, but an account identifier: kept out of reprs and logs all the same.
    kalshi_api_key: str | None = attrs.field(default=None, repr=lambda v: "None" if v is None else "'***'")
    kalshi_secret: Secret | None = None
    kalshi_private_key_path: Path | None = None
    kalshi_env: str = "prod"
    kalshi_base_url: str | None = None
    kalshi_ws_url: str | None = None
    reset_confirm_key: Secret | None = None
    api_token: Secret | None = None
    exchanges: tuple[str, ...] = ("polymarket", "kalshi")
    data_dir: Path = attrs.field(factory=lambda: default_data_dir())
    store: str = "json"
    #: ``auto`` (stream when trading live), ``on`` or ``off``: see :attr:`streams`.
    streaming: str = "auto"
    #: The PostgreSQL store's URL (``store == "postgres"``); it holds the database password.
    store_url: Secret | None = None
    timezone: str = "UTC"
    http_timeout: Decimal = Decimal(10)
    max_book_age_seconds: Decimal = Decimal(10)
    max_market_exposure: Decimal | None = None
    notify_webhook_url: str | None = None
    telegram_bot_token: Secret | None = None
    telegram_chat_id: str | None = None
    slack_webhook_url: Secret | None = None
    discord_webhook_url: Secret | None = None
    monitor_interval_seconds: int = 30
    settlement_interval_seconds: int = 60
    #: What looked wrong but was not an error, e.g. a misspelt variable (:func:`unknown_variables`).
    notices: tuple[str, ...] = attrs.field(default=(), eq=False)

    @property
    def mode(self) -> str:
        """``"live"`` or ``"paper"``."""
        return "live" if self.live_trading else "paper"

    @property
    def streams(self) -> bool:
        """Whether to run event-driven on the venues' streams (``ARBKIT_STREAMING``).

        ``auto`` streams when trading live, unless a venue's REST host is pointed elsewhere
        (a sandbox, a proxy) while its stream is not: its default stream is the real venue's,
        which must never feed books for another host's orders. ``on`` streams regardless.
        """
        if self.streaming != "auto":
            return self.streaming == "on"
        return self.live_trading and not self.unmatched_streams

    @property
    def unmatched_streams(self) -> tuple[str, ...]:
        """Venues whose REST URL is overridden but whose WebSocket URL is not."""
        pairs = {
            "kalshi": (self.kalshi_base_url, self.kalshi_ws_url),
            "polymarket": (self.polymarket_clob_url, self.polymarket_ws_url),
        }
        return tuple(v for v in self.exchanges if v in pairs and pairs[v][0] and not pairs[v][1])

    @property
    def limits(self) -> TradingLimits:
        """The limits of the current mode."""
        return self.live if self.live_trading else self.paper

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The timezone in which a trading day rolls over."""
        return zoneinfo.ZoneInfo(self.timezone)

    @classmethod
    def from_env(
        cls, env_file: str | os.PathLike[str] | None = ".env", environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Read and validate every variable; the environment overrides the ``.env`` file.

        A missing ``env_file`` is fine (it is optional); an unreadable one is a
        :class:`ConfigError`. ``environ`` defaults to ``os.environ``.
        """
        values: dict[str, str | None] = {}
        if env_file is not None and Path(env_file).exists():
            try:
                values.update(dotenv_values(env_file))
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"cannot read env file {os.fspath(env_file)!r}: {type(exc).__name__}"
                ) from None
        values.update(os.environ if environ is None else environ)
        settings = cls.from_mapping(values)
        for notice in settings.notices:
            logger.warning("configuration: %s", notice)
        return settings

    @classmethod
    def from_mapping(cls, values: Mapping[str, str | None]) -> Settings:
        """Build settings from a plain mapping of variable names to strings."""
        r = _Reader(values)
        key_path = r.raw("KALSHI_PRIVATE_KEY_PATH")
        try:
            key_file_missing = key_path is not None and not Path(key_path).expanduser().is_file()
        except (OSError, ValueError, RuntimeError):  # name too long, NUL byte, "~nosuchuser"
            key_file_missing = True
        if key_file_missing:
            raise ConfigError("file does not exist", variable="KALSHI_PRIVATE_KEY_PATH")
        timezone = r.raw("ARBKIT_TIMEZONE") or "UTC"
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
            raise ConfigError(f"unknown timezone {timezone[:40]!r}", variable="ARBKIT_TIMEZONE") from None
        exchanges_raw = r.raw("ARBKIT_EXCHANGES") or "polymarket,kalshi"
        exchanges = tuple(dict.fromkeys(x.strip().lower() for x in exchanges_raw.split(",") if x.strip()))
        if not exchanges or not all(x.replace("_", "").replace("-", "").isalnum() for x in exchanges):
            raise ConfigError(
                "expected a comma-separated list of exchange names", variable="ARBKIT_EXCHANGES"
            )
        raw_dir = r.raw("ARBKIT_DATA_DIR")
        try:
            data_dir = Path(raw_dir) if raw_dir else default_data_dir({**os.environ, **values})
        except RuntimeError:  # no home directory to be found
            raise ConfigError("no home directory: set a folder", variable="ARBKIT_DATA_DIR") from None
        try:
            if data_dir.exists() and not data_dir.is_dir():
                raise ConfigError("exists and is not a directory", variable="ARBKIT_DATA_DIR")
        except (OSError, ValueError) as exc:  # name too long, NUL byte: the store would fail later
            raise ConfigError(f"unusable path ({type(exc).__name__})", variable="ARBKIT_DATA_DIR") from None
        private_key = r.secret("POLYMARKET_PRIVATE_KEY")
        if private_key is not None and not _is_hex_key(private_key.reveal()):
            raise ConfigError(
                "expected 32 bytes of hex (64 hex digits, optional 0x)", variable="POLYMARKET_PRIVATE_KEY"
            )
        kalshi_secret = r.secret("KALSHI_SECRET")
        if kalshi_secret is not None and "PRIVATE KEY" not in kalshi_secret.reveal():
            raise ConfigError(
                "expected a PEM private key (-----BEGIN ... PRIVATE KEY-----)", variable="KALSHI_SECRET"
            )
        store_url = r.secret("ARBKIT_STORE_URL")
        store = r.choice("ARBKIT_STORE", "postgres" if store_url else "json", ("json", "sqlite", "postgres"))
        if store_url is not None:
            from arbkit.trading.postgres.url import check_url_text

            check_url_text(store_url.reveal(), variable="ARBKIT_STORE_URL")
            if store != "postgres":
                raise ConfigError(
                    f"is set, but ARBKIT_STORE={store} (unset it or set it to postgres)",
                    variable="ARBKIT_STORE_URL",
                )
        elif store == "postgres":
            raise ConfigError("postgres needs ARBKIT_STORE_URL (postgresql://...)", variable="ARBKIT_STORE")
        telegram_token = r.secret("ARBKIT_TELEGRAM_BOT_TOKEN")
        telegram_chat = r.text("ARBKIT_TELEGRAM_CHAT_ID")
        if (telegram_token is None) != (telegram_chat is None):
            missing = "ARBKIT_TELEGRAM_CHAT_ID" if telegram_chat is None else "ARBKIT_TELEGRAM_BOT_TOKEN"
            raise ConfigError(
                "Telegram notifications need both the bot token and the chat id", variable=missing
            )
        if telegram_token is not None and (
            ":" not in telegram_token.reveal() or any(c in telegram_token.reveal() for c in "/ \t")
        ):
            raise ConfigError(
                "expected a bot token like 123456:ABC-DEF...", variable="ARBKIT_TELEGRAM_BOT_TOKEN"
            )
        return cls(
            live_trading=r.boolean("LIVE_TRADING", False),
            paper_trading_enabled=r.boolean("PAPER_TRADING_ENABLED", True),
            paper=_limits(r, "PAPER_TRADING", live=False),
            live=_limits(r, "LIVE_TRADING", live=True),
            polymarket_private_key=private_key,
            polymarket_api_key=r.text("POLYMARKET_API_KEY"),
            polymarket_api_secret=r.secret("POLYMARKET_API_SECRET"),
            polymarket_api_passphrase=r.secret("POLYMARKET_API_PASSPHRASE"),
            polymarket_funder=r.text(
                "POLYMARKET_FUNDER", _is_address, "expected a 0x-prefixed 20-byte address"
            ),
            polymarket_signature_type=r.integer("POLYMARKET_SIGNATURE_TYPE", 0, minimum=0, maximum=3) or 0,
            polymarket_clob_url=r.url("POLYMARKET_CLOB_URL"),
            polymarket_gamma_url=r.url("POLYMARKET_GAMMA_URL"),
            polymarket_data_url=r.url("POLYMARKET_DATA_URL"),
            polymarket_ws_url=r.ws_url("POLYMARKET_WS_URL"),
            kalshi_api_key=r.text("KALSHI_API_KEY"),
            kalshi_secret=kalshi_secret,
            kalshi_private_key_path=Path(key_path).expanduser() if key_path else None,
            kalshi_env=r.choice("KALSHI_ENV", "prod", ("prod", "demo")),
            kalshi_base_url=r.url("KALSHI_BASE_URL"),
            kalshi_ws_url=r.ws_url("KALSHI_WS_URL"),
            reset_confirm_key=r.secret("TRADING_RESET_CONFIRM_KEY"),
            api_token=r.secret("ARBKIT_API_TOKEN"),
            exchanges=exchanges,
            data_dir=data_dir,
            store=store,
            streaming=r.choice("ARBKIT_STREAMING", "auto", ("auto", "on", "off")),
            store_url=store_url,
            timezone=timezone,
            http_timeout=r.required_decimal(
                "ARBKIT_HTTP_TIMEOUT", Decimal(10), positive=True, maximum=Decimal(300)
            ),
            max_book_age_seconds=r.required_decimal(
                "ARBKIT_MAX_BOOK_AGE", Decimal(10), positive=True, maximum=Decimal(86400)
            ),
            max_market_exposure=r.decimal("ARBKIT_MAX_MARKET_EXPOSURE", None, positive=True),
            notify_webhook_url=r.url("ARBKIT_NOTIFY_WEBHOOK_URL"),
            telegram_bot_token=telegram_token,
            telegram_chat_id=telegram_chat,
            slack_webhook_url=_webhook(r, "ARBKIT_SLACK_WEBHOOK_URL"),
            discord_webhook_url=_webhook(r, "ARBKIT_DISCORD_WEBHOOK_URL"),
            monitor_interval_seconds=r.integer("MONITOR_INTERVAL_SECONDS", 30, minimum=1, maximum=86400)
            or 30,
            settlement_interval_seconds=r.integer("SETTLEMENT_INTERVAL_SECONDS", 60, minimum=1, maximum=86400)
            or 60,
            notices=tuple(unknown_variables(values)),
        )
