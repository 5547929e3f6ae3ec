"""Settings: the core's knobs from the environment, and each venue's, read by its adapter.

``Settings.from_env()`` reads the process environment over an optional ``.env`` file
(python-dotenv; the environment wins, as ``load_dotenv`` does) without changing
``os.environ``. Every value is checked at start-up: a bad one raises
:class:`~arbkit.errors.ConfigError` naming the variable and what is wrong, so a
mistake is found before the first trade, not during it.

The core reads only its own variables (:data:`KNOWN_VARIABLES`). Each venue's credentials and
hosts are read by its adapter: a plugin's ``arbkit_register_settings`` hook registers a
:class:`SettingsSpec` (its variables, which are secrets, which are hosts, and a function that
reads them through an :class:`EnvReader`), and the object it builds is held by the settings,
``settings.venue(name)``. Extra accounts per venue (``ARBKIT_ACCOUNTS``) are read by the same
function from the account's own variables (the venue's names with ``__ACCOUNT`` appended).

Secrets are held in :class:`Secret`, whose ``repr`` and ``str`` never show the value.

>>> s = Settings.from_mapping({"LIVE_TRADING": "false"})
>>> s.mode, s.limits.bet_amount
('paper', Decimal('100'))
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import sys
import zoneinfo
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
from dotenv import dotenv_values

from arbkit.envreader import DEFAULT_ACCOUNT, EnvReader, Secret, SettingsSpec, account_suffix
from arbkit.errors import ConfigError

__all__ = [
    "DEFAULT_ACCOUNT",
    "KNOWN_VARIABLES",
    "EnvReader",
    "Secret",
    "Settings",
    "SettingsSpec",
    "TradingLimits",
    "account_suffix",
    "default_data_dir",
    "known_variables",
    "secret_variables",
    "unknown_variables",
]

logger = logging.getLogger(__name__)


@attrs.frozen
class TradingLimits:
    """The money settings of one mode (paper or live). ``None`` means "no limit"."""

    initial_balance: Decimal
    bet_amount: Decimal
    min_roi_percent: Decimal
    max_position_size: Decimal | None
    max_daily_trades: int | None
    daily_loss_limit: Decimal | None


#: Every variable the core reads, with its meaning (``.env.example`` documents each). The
#: venues' variables come from their adapters: :func:`known_variables` lists them all.
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
    "TRADING_RESET_CONFIRM_KEY": "key required by POST /api/trading/reset (secret)",
    "ARBKIT_API_TOKEN": "bearer token required by mutating endpoints when set (secret)",
    "ARBKIT_EXCHANGES": "comma-separated exchanges to scan (unset: every installed one)",
    "ARBKIT_ACCOUNTS": "extra accounts, venue:name comma-separated (each venue has its default account)",
    "ARBKIT_INSTANCE": "this process's name in a shared PostgreSQL store (unset: host, pid, random)",
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

_SECRETS = frozenset(
    {
        "TRADING_RESET_CONFIRM_KEY",
        "ARBKIT_API_TOKEN",
        "ARBKIT_TELEGRAM_BOT_TOKEN",
        "ARBKIT_SLACK_WEBHOOK_URL",
        "ARBKIT_DISCORD_WEBHOOK_URL",
        "ARBKIT_STORE_URL",
    }
)

_ACCOUNT_NAME = re.compile(r"[a-z][a-z0-9_]{0,30}")
_EXCHANGE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_INSTANCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,59}")


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
    variable (``LIVE_``, ``ARBKIT_``, a venue's prefix...); the message names the closest known
    variable when one is close, or says that an account's variable (``NAME__ACCOUNT``) needs its
    account declared. Other variables (``PATH``, ``HOME``) are none of our business.

    >>> unknown_variables({"LIVE_TRADNG": "true", "PATH": "/bin"})
    ['LIVE_TRADNG is not a variable arbkit reads; did you mean LIVE_TRADING?']
    """
    prefixes = {name.split("_", 1)[0] + "_" for name in known}
    messages = []
    for name in sorted(values):
        if name in known or not any(name.startswith(prefix) for prefix in prefixes):
            continue
        base, sep, _ = name.rpartition("__")
        if sep and base in known:
            accounts = [k for k in known if "__" in k]
            close = difflib.get_close_matches(name, accounts, n=1, cutoff=0.75)
            if close:
                messages.append(f"{name} is not a variable arbkit reads; did you mean {close[0]}?")
                continue
            messages.append(
                f"{name} is not a variable arbkit reads: an account's variable needs its account"
                " in ARBKIT_ACCOUNTS"
            )
            continue
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else " (see .env.example for the variables)"
        messages.append(f"{name} is not a variable arbkit reads{hint}")
    return messages


def _exchange_names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(names)


def _held(venues: Mapping[tuple[str, str], Any]) -> dict[tuple[str, str], Any]:
    return dict(venues)


def _spec_map(specs: Mapping[str, SettingsSpec]) -> dict[str, SettingsSpec]:
    return dict(specs)


def _installed_specs() -> dict[str, SettingsSpec]:
    from arbkit.plugins import settings_specs

    return settings_specs(reserved=KNOWN_VARIABLES)


def _installed_exchanges() -> tuple[str, ...]:
    from arbkit.plugins import exchanges

    return tuple(exchanges())


def known_variables() -> dict[str, str]:
    """Every variable read: the core's (:data:`KNOWN_VARIABLES`) and each installed venue's."""
    known = dict(KNOWN_VARIABLES)
    for spec in _installed_specs().values():
        known.update(spec.variables)
    return known


def secret_variables() -> frozenset[str]:
    """The variables whose values are secrets, the core's and each installed venue's."""
    return _SECRETS.union(*(spec.secrets for spec in _installed_specs().values()))


def _limits(r: EnvReader, prefix: str, *, live: bool) -> TradingLimits:
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


def _webhook(r: EnvReader, name: str) -> Secret | None:
    """A webhook URL: a secret (its path is the credential), checked like any URL."""
    # The message never quotes a scheme: a value like "http://" must not show in the error.
    url = r.url(name, "must be a web URL (scheme http or https) with a host")
    return None if url is None else Secret(url)


def _declared_accounts(r: EnvReader, specs: Mapping[str, SettingsSpec]) -> tuple[tuple[str, str], ...]:
    """``ARBKIT_ACCOUNTS`` (``venue:name,...``): the extra accounts, in order, once each."""
    raw = r.raw("ARBKIT_ACCOUNTS")
    found: list[tuple[str, str]] = []
    for item in (raw or "").split(","):
        venue, sep, account = (part.strip().lower() for part in item.strip().partition(":"))
        if not (venue or sep or account):
            continue
        if not sep or not _ACCOUNT_NAME.fullmatch(account) or account == DEFAULT_ACCOUNT:
            raise r.fail(
                "ARBKIT_ACCOUNTS",
                "expected venue:name items (a name of a-z, 0-9 and _, not 'default'), "
                f"got {item.strip()[:40]!r}",
            )
        if venue not in specs:
            installed = ", ".join(sorted(specs)) or "none"
            raise r.fail(
                "ARBKIT_ACCOUNTS",
                f"no installed plugin reads settings for {venue[:40]!r} (installed: {installed})",
            )
        if (venue, account) not in found:
            found.append((venue, account))
    return tuple(found)


def _read_venues(
    values: Mapping[str, str | None], specs: Mapping[str, SettingsSpec], extra: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Any]:
    """Each venue's settings for its default account and each extra one, read by its adapter."""
    wanted = [(name, DEFAULT_ACCOUNT) for name in specs] + list(extra)
    venues: dict[tuple[str, str], Any] = {}
    for name, account in wanted:
        spec = specs[name]
        env = EnvReader(values, account=account, secrets=spec.secrets, shared=spec.shared)
        try:
            read = spec.read(env)
        except ConfigError:
            raise
        except Exception as exc:  # a plugin's bug; its message may quote a secret, so not shown
            raise ConfigError(
                f"the {name} plugin failed to read its settings ({type(exc).__name__})"
            ) from None
        if not isinstance(read, spec.cls):
            raise ConfigError(f"the {name} plugin read a {type(read).__name__}, not a {spec.cls.__name__}")
        venues[(name, account)] = read
    return venues


@attrs.frozen
class Settings:
    """Validated configuration for the library, the example service and the scheduler.

    The core's settings are fields; each venue's are its adapter's object, ``venue(name)``.
    Build them from the environment (:meth:`from_env`), from a plain mapping of variables
    (:meth:`from_mapping`, what tests use), or directly, changing a venue's with
    :meth:`with_venue`::

        Settings.from_mapping({"LIVE_TRADING": "true", "MYVENUE_ENV": "demo"})
        Settings(live_trading=True).with_venue("myvenue", env="demo")
    """

    live_trading: bool = False
    paper_trading_enabled: bool = True
    paper: TradingLimits = attrs.field(factory=lambda: _limits(EnvReader({}), "PAPER_TRADING", live=False))
    live: TradingLimits = attrs.field(factory=lambda: _limits(EnvReader({}), "LIVE_TRADING", live=True))
    reset_confirm_key: Secret | None = None
    api_token: Secret | None = None
    #: The venues to scan (``ARBKIT_EXCHANGES``; default: every installed exchange, sorted).
    exchanges: tuple[str, ...] = attrs.field(factory=_installed_exchanges, converter=_exchange_names)
    data_dir: Path = attrs.field(factory=lambda: default_data_dir())
    store: str = "json"
    #: ``auto`` (stream when trading live), ``on`` or ``off``: see :attr:`streams`.
    streaming: str = "auto"
    #: The PostgreSQL store's URL (``store == "postgres"``); it holds the database password.
    store_url: Secret | None = None
    #: This process's name in the PostgreSQL store (``ARBKIT_INSTANCE``); ``None``: a new one per start.
    instance: str | None = None
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
    #: Each venue's settings by ``(venue, account)``: the object its adapter read (``venue()``).
    venues: Mapping[tuple[str, str], Any] = attrs.field(factory=dict, converter=_held, hash=False)
    #: The adapters' specs the venues were read with (hosts for :attr:`unmatched_streams`).
    _specs: Mapping[str, SettingsSpec] = attrs.field(
        factory=dict, converter=_spec_map, eq=False, repr=False, hash=False, alias="specs"
    )
    #: What looked wrong but was not an error, e.g. a misspelt variable (:func:`unknown_variables`).
    notices: tuple[str, ...] = attrs.field(default=(), eq=False)

    @property
    def mode(self) -> str:
        """``"live"`` or ``"paper"``."""
        return "live" if self.live_trading else "paper"

    def venue(self, name: str, account: str = DEFAULT_ACCOUNT) -> Any:
        """The settings venue ``name``'s adapter read for ``account``, or ``None`` if none were read
        (settings built directly, a venue no installed plugin reads settings for)."""
        return self.venues.get((name, account))

    @property
    def accounts(self) -> tuple[tuple[str, str], ...]:
        """``(venue, account)`` for every venue scanned: its default account, then those
        ``ARBKIT_ACCOUNTS`` declares, in order."""
        listed = [(name, DEFAULT_ACCOUNT) for name in self.exchanges]
        listed += [key for key in self.venues if key[1] != DEFAULT_ACCOUNT and key[0] in self.exchanges]
        return tuple(listed)

    def with_venue(self, name: str, *, account: str = DEFAULT_ACCOUNT, **changes: Any) -> Settings:
        """A copy with venue ``name``'s settings (of ``account``) changed, like ``attrs.evolve``.

        Starts from the settings held, else the venue's defaults; a field the venue's settings
        lack is a :class:`ConfigError`::

            settings.with_venue("myvenue", base_url="http://127.0.0.1:8701")
        """
        if account != DEFAULT_ACCOUNT and not _ACCOUNT_NAME.fullmatch(account):
            raise ConfigError(f"an account name is a-z, 0-9 and _, not {account[:40]!r}")
        spec = self._spec(name)
        current = self.venue(name, account)
        if current is None:
            if spec is None:
                raise ConfigError(f"no installed plugin reads settings for {name[:40]!r}")
            current = spec.defaults()
        try:
            changed = attrs.evolve(current, **changes)
        except TypeError as exc:
            raise ConfigError(f"{name} settings: {exc}") from None
        specs = {**self._specs, name: spec} if spec is not None else self._specs
        return attrs.evolve(self, venues={**self.venues, (name, account): changed}, specs=specs)

    def for_account(self, name: str, account: str) -> Settings:
        """These settings with ``account``'s as venue ``name``'s own: what that account's clients are
        built from (``arbkit.exchange(name, settings, account=account)``)."""
        if account == DEFAULT_ACCOUNT:
            return self
        chosen = self.venue(name, account)
        if chosen is None:
            raise ConfigError(
                f"{name[:40]} has no account {account[:40]!r}: declare it as {name[:40]}:{account[:40]}",
                variable="ARBKIT_ACCOUNTS",
            )
        return attrs.evolve(self, venues={**self.venues, (name, DEFAULT_ACCOUNT): chosen})

    def _spec(self, name: str) -> SettingsSpec | None:
        return self._specs.get(name) or _installed_specs().get(name)

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
        """Venues scanned with an account whose REST host is overridden but whose stream host is not
        (which settings are hosts, each adapter's :class:`SettingsSpec` says)."""
        unmatched = []
        for name in self.exchanges:
            held = [held for (venue, _), held in self.venues.items() if venue == name]
            spec = self._spec(name) if held else None
            if spec is not None and any(
                any(getattr(h, a) for a in spec.rest_hosts)
                and not any(getattr(h, a) for a in spec.stream_hosts)
                for h in held
            ):
                unmatched.append(name)
        return tuple(unmatched)

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
        """Build settings from a plain mapping of variable names to strings (no ``.env``, no
        ``os.environ``): the core's variables, and each installed venue's, read by its adapter."""
        specs = _installed_specs()
        r = EnvReader(values, secrets=_SECRETS)
        timezone = r.raw("ARBKIT_TIMEZONE") or "UTC"
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
            raise r.fail("ARBKIT_TIMEZONE", f"unknown timezone {timezone[:40]!r}") from None
        exchanges_raw = r.raw("ARBKIT_EXCHANGES")
        exchanges = (
            tuple(dict.fromkeys(x.strip().lower() for x in exchanges_raw.split(",") if x.strip()))
            if exchanges_raw is not None
            else _installed_exchanges()
        )
        if exchanges_raw is not None and (not exchanges or not all(map(_EXCHANGE_NAME.fullmatch, exchanges))):
            raise r.fail("ARBKIT_EXCHANGES", "expected a comma-separated list of exchange names")
        raw_dir = r.raw("ARBKIT_DATA_DIR")
        try:
            data_dir = Path(raw_dir) if raw_dir else default_data_dir({**os.environ, **values})
        except RuntimeError:  # no home directory to be found
            raise r.fail("ARBKIT_DATA_DIR", "no home directory: set a folder") from None
        try:
            if data_dir.exists() and not data_dir.is_dir():
                raise r.fail("ARBKIT_DATA_DIR", "exists and is not a directory")
        except (OSError, ValueError) as exc:  # name too long, NUL byte: the store would fail later
            raise r.fail("ARBKIT_DATA_DIR", f"unusable path ({type(exc).__name__})") from None
        accounts = _declared_accounts(r, specs)
        venues = _read_venues(values, specs, accounts)
        store_url = r.secret("ARBKIT_STORE_URL")
        store = r.choice("ARBKIT_STORE", "postgres" if store_url else "json", ("json", "sqlite", "postgres"))
        if store_url is not None:
            from arbkit.dsn import check_url_text

            check_url_text(store_url.reveal(), variable="ARBKIT_STORE_URL")
            if store != "postgres":
                raise r.fail(
                    "ARBKIT_STORE_URL", f"is set, but ARBKIT_STORE={store} (unset it or set it to postgres)"
                )
        elif store == "postgres":
            raise r.fail("ARBKIT_STORE", "postgres needs ARBKIT_STORE_URL (postgresql://...)")
        instance = r.text(
            "ARBKIT_INSTANCE", _INSTANCE_NAME.fullmatch, "expected 1-60 letters, digits, '.', '_', ':' or '-'"
        )
        telegram_token = r.secret("ARBKIT_TELEGRAM_BOT_TOKEN")
        telegram_chat = r.text("ARBKIT_TELEGRAM_CHAT_ID")
        if (telegram_token is None) != (telegram_chat is None):
            missing = "ARBKIT_TELEGRAM_CHAT_ID" if telegram_chat is None else "ARBKIT_TELEGRAM_BOT_TOKEN"
            raise r.fail(missing, "Telegram notifications need both the bot token and the chat id")
        if telegram_token is not None and (
            ":" not in telegram_token.reveal() or any(c in telegram_token.reveal() for c in "/ \t")
        ):
            raise r.fail("ARBKIT_TELEGRAM_BOT_TOKEN", "expected a bot token like 123456:ABC-DEF...")
        known = dict(KNOWN_VARIABLES)
        for name, spec in specs.items():
            known.update(spec.variables)
            for venue, account in accounts:
                if venue == name:
                    known.update({v + account_suffix(account): m for v, m in spec.variables.items()})
        notices = unknown_variables(values, known)
        if instance is not None and store != "postgres":
            notices.append(
                f"ARBKIT_INSTANCE is set, but only the postgres store uses it (ARBKIT_STORE={store})"
            )
        return cls(
            live_trading=r.boolean("LIVE_TRADING", False),
            paper_trading_enabled=r.boolean("PAPER_TRADING_ENABLED", True),
            paper=_limits(r, "PAPER_TRADING", live=False),
            live=_limits(r, "LIVE_TRADING", live=True),
            reset_confirm_key=r.secret("TRADING_RESET_CONFIRM_KEY"),
            api_token=r.secret("ARBKIT_API_TOKEN"),
            exchanges=exchanges,
            data_dir=data_dir,
            store=store,
            streaming=r.choice("ARBKIT_STREAMING", "auto", ("auto", "on", "off")),
            store_url=store_url,
            instance=instance,
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
            venues=venues,
            specs=specs,
            notices=tuple(notices),
        )
