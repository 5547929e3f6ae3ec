"""The Bot: one scan-and-trade step and one settlement step, as PolyMix's scheduler ran them.

What PolyMix's ``monitor_job`` and ``check_trading_settlements`` did, as a library, so
an embedding user, the Flask example and the scheduler script call the same code::

    import arbkit

    bot = arbkit.Bot.from_settings(arbkit.Settings.from_env())
    report = bot.scan_and_trade()     # one step: scan, then trade what passes the risk chain
    bot.settle()                      # one step: settle resolved markets
    bot.reconcile()                   # live: compare the store with every venue (every 60 s)
    bot.state().balance

Or event-driven, from the venues' streams (books by WebSocket, detection on every change)::

    session = bot.start_streaming()                  # each venue's stream plugin
    session.feed_status(); session.latency()         # what the service shows
    bot.stop_streaming()

Neither step raises on a venue's error: failures go to the trading system's error
history (and the notifiers) and the step goes on with the other venues.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from arbkit.config import Settings
from arbkit.engine.opportunity import Opportunity
from arbkit.errors import ConfigError
from arbkit.exchange import Exchange
from arbkit.models import utcnow
from arbkit.scanner import Scanner, ScanResult
from arbkit.trading.chat import chat_notifiers
from arbkit.trading.controls import Controls, ControlState
from arbkit.trading.notify import Event, LogNotifier, Notifier
from arbkit.trading.paper import PaperTradingSystem
from arbkit.trading.reconcile import ReconcileReport
from arbkit.trading.records import Trade
from arbkit.trading.risk import RiskChain
from arbkit.trading.settlement import Settlement
from arbkit.trading.store import TradeStore
from arbkit.trading.system import BaseTradingSystem, TradeResult, TradingState, TradingSystem

if TYPE_CHECKING:
    from arbkit.streams import FeedStatus, MarketStream
    from arbkit.streams.session import StreamingSession

__all__ = ["Bot", "CycleReport"]

logger = logging.getLogger(__name__)


@attrs.frozen
class CycleReport:
    """What one ``scan_and_trade`` step did.

    ``skipped`` holds opportunities not sent to the trading system: already held in an
    open trade, or trading disabled (``PAPER_TRADING_ENABLED=false``).
    """

    scan: ScanResult | None
    results: tuple[TradeResult, ...]
    skipped: tuple[Opportunity, ...] = ()
    error: str | None = None

    @property
    def opportunities(self) -> tuple[Opportunity, ...]:
        """What the scan found, best first."""
        return () if self.scan is None else self.scan.opportunities

    @property
    def executed(self) -> tuple[TradeResult, ...]:
        """Results in which contracts were bought."""
        return tuple(r for r in self.results if r.executed)


class Bot:
    """A :class:`Scanner` and a :class:`TradingSystem`, stepped together.

    ``trade_enabled`` false only scans (PolyMix's ``PAPER_TRADING_ENABLED=false``).
    ``allow_repeat`` false (the default) does not trade an opportunity whose contracts an
    open trade already holds: a paper book is not consumed by paper fills, so the same
    arbitrage would otherwise be bought again on every scan.
    """

    def __init__(
        self,
        scanner: Scanner,
        trading: TradingSystem,
        *,
        trade_enabled: bool = True,
        allow_repeat: bool = False,
        max_trades_per_cycle: int | None = None,
        controls: Controls | None = None,
    ) -> None:
        self.scanner = scanner
        self.trading = trading
        self.trade_enabled = trade_enabled
        self.allow_repeat = allow_repeat
        self.max_trades_per_cycle = max_trades_per_cycle
        self.controls = controls
        self._controls_seen: ControlState | None = None
        self._last_cancel: dict[str, str] = {}
        self.streaming: StreamingSession | None = None
        #: The settings it was built from (``from_settings``), for the venues' streams.
        self.settings: Settings | None = None
        if scanner.on_error is None:
            scanner.on_error = self._record
        self.sync_controls()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        exchanges: Mapping[str, Exchange] | None = None,
        store: TradeStore | None = None,
        risk: RiskChain | None = None,
        notifiers: Iterable[Notifier | Callable[[Event], object]] = (),
        clock: Callable[[], datetime] = utcnow,
        scanner_options: Mapping[str, Any] | None = None,
        **bot_options: Any,
    ) -> Bot:
        """Everything from :class:`Settings`: the exchanges in ``ARBKIT_EXCHANGES``, the mode's
        trading system and store, the risk chain, a log notifier and the webhook if set.

        An exchange that cannot be built is recorded in the error history and left out.
        """
        built: dict[str, Exchange] = {}
        failures: list[tuple[BaseException, str]] = []
        if exchanges is None:
            from arbkit.plugins import exchange

            for name in settings.exchanges:
                try:
                    built[name] = exchange(name, settings)
                except Exception as exc:
                    failures.append((exc, name))
        else:
            built = dict(exchanges)
        system_class: type[BaseTradingSystem] = PaperTradingSystem
        if settings.live_trading:
            from arbkit.trading.live import RealTradingSystem

            system_class = RealTradingSystem
        default_notifiers: list[Notifier] = [LogNotifier(), *chat_notifiers(settings)]
        system = system_class.from_settings(
            settings, store=store, risk=risk, exchanges=built, notifiers=default_notifiers, clock=clock
        )
        for notifier in notifiers:
            system.add_notifier(notifier)
        for failure, name in failures:
            system.record_error(failure, venue=name, operation="connect")
        scanner = Scanner.from_settings(
            settings, exchanges=built, on_error=cls._sink(system), clock=clock, **dict(scanner_options or {})
        )
        bot_options.setdefault("trade_enabled", settings.live_trading or settings.paper_trading_enabled)
        bot_options.setdefault("controls", Controls(settings.data_dir / f"{settings.mode}_controls.json"))
        bot = cls(scanner, system, **bot_options)
        bot.settings = settings
        return bot

    @staticmethod
    def _sink(system: TradingSystem) -> Callable[[BaseException, str, str], object]:
        def record(exc: BaseException, venue: str, operation: str) -> object:
            return system.record_error(exc, venue=venue, operation=operation)

        return record

    def _record(self, exc: BaseException, venue: str, operation: str) -> None:
        try:
            self.trading.record_error(exc, venue=venue, operation=operation)
        except Exception:
            logger.exception("could not record an error")

    def _held_keys(self) -> set[str]:
        return {t.opportunity.key for t in self.trading.state().open_positions}

    # -- operator controls (arbkit.trading.controls) ------------------------------------------------------

    def control_state(self) -> ControlState:
        """Running, paused or killed (always ``running`` without a controls file)."""
        return self.controls.read() if self.controls is not None else ControlState()

    def sync_controls(self) -> ControlState:
        """Apply the controls file (another process may have changed it): halt, resume, cancel."""
        state = self.control_state()
        seen, self._controls_seen = self._controls_seen, state
        if seen == state:
            return state
        was_allowed = seen is None or seen.trading_allowed
        if not state.trading_allowed:
            halt = getattr(self.trading, "halt", None)
            if callable(halt):
                halt(f"{state.state}: {state.reason}")
            if state.state == "killed" and (seen is None or seen.state != "killed"):
                self.cancel_resting()
        elif not was_allowed:
            resume = getattr(self.trading, "resume_trading", None)
            if callable(resume):
                resume()
        return state

    def pause(self, reason: str = "paused by the operator") -> ControlState:
        """No new trades until :meth:`resume`, across restarts; scans and settlement go on."""
        self._require_controls().pause(reason)
        return self.sync_controls()

    def kill(self, reason: str = "killed by the operator") -> dict[str, str]:
        """Pause, and cancel every order resting on every venue (live only). Returns per venue
        ``"cancelled"`` or what went wrong; :meth:`resume` is the only way back."""
        self._require_controls().kill(reason)
        self._controls_seen = None  # so that sync_controls cancels even if already paused
        self.sync_controls()
        return dict(self._last_cancel)

    def resume(self) -> ControlState:
        """Trade again after :meth:`pause` or :meth:`kill`."""
        self._require_controls().resume()
        return self.sync_controls()

    def flatten(self, trade_id: str, *, max_loss: Decimal | None = None) -> Trade:
        """Sell back what trade ``trade_id`` holds at the best bids, losing at most ``max_loss``
        dollars (:meth:`arbkit.trading.system.BaseTradingSystem.flatten`); works while paused or killed."""
        return self.trading.flatten(trade_id, max_loss=max_loss)

    def _require_controls(self) -> Controls:
        if self.controls is None:
            raise ConfigError("this Bot has no controls file (build it with Bot.from_settings or controls=)")
        return self.controls

    def cancel_resting(self) -> dict[str, str]:
        """Cancel what rests on each venue, on every account the trading system trades from
        (``"kalshi"``, ``"kalshi:hedge"``; live mode only: paper orders never rest on a venue)."""
        outcome: dict[str, str] = {}
        if self.trading.mode == "live":
            clients: dict[str, Exchange] = dict(self.scanner.exchanges)
            accounts = getattr(self.trading, "account_ids", ())
            client_of = getattr(self.trading, "client", None)
            if accounts and callable(client_of):
                for account in accounts:  # a venue's default account replaces the scanner's client
                    clients[str(account)] = client_of(account)
            for venue, client in clients.items():
                outcome[venue] = _cancel_everything(client)
                if outcome[venue] != "cancelled":
                    logger.error("kill: %s: %s", venue, outcome[venue])
        self._last_cancel = outcome
        return outcome

    def scan_and_trade(self) -> CycleReport:
        """Scan once and send each opportunity (best first) to the trading system. Never raises."""
        try:
            self.sync_controls()
        except Exception as exc:  # a bug: record it and trade on what the system itself allows
            logger.exception("controls failed")
            self._record(exc, "controls", "read controls")
        try:
            balances_of = getattr(self.trading, "balances", None)
            balances = balances_of() if callable(balances_of) else None
            scan = self.scanner.scan(balances=balances)
        except Exception as exc:
            logger.exception("scan failed")
            self._record(exc, "scanner", "scan")
            return CycleReport(scan=None, results=(), error=f"scan failed: {type(exc).__name__}")
        results: list[TradeResult] = []
        skipped: list[Opportunity] = []
        held = set() if self.allow_repeat else self._held_keys()
        for opportunity in scan.opportunities:
            if not self.trade_enabled or opportunity.key in held:
                skipped.append(opportunity)
                continue
            if (
                self.max_trades_per_cycle is not None
                and sum(r.executed for r in results) >= self.max_trades_per_cycle
            ):
                skipped.append(opportunity)
                continue
            try:
                result = self.trading.execute(opportunity, books=scan.books)
            except Exception as exc:  # a bug, not a venue error: record it and go on
                logger.exception("execute failed")
                self._record(exc, "trading", "execute")
                result = TradeResult(opportunity, error=f"{type(exc).__name__}: {str(exc)[:200]}")
            results.append(result)
            if result.executed:
                held.add(opportunity.key)
        return CycleReport(scan=scan, results=tuple(results), skipped=tuple(skipped))

    # -- streaming (arbkit.streams) ---------------------------------------------------------------

    def start_streaming(
        self, streams: Mapping[str, MarketStream] | None = None, **options: Any
    ) -> StreamingSession:
        """Trade event-driven: books from ``streams`` (by venue), detection on every change.

        ``streams`` defaults to each venue's stream plugin built from :attr:`settings`. Markets
        are still listed and matched by the scanner; :meth:`scan_and_trade` keeps working
        alongside. Options go to :class:`~arbkit.streams.session.StreamingSession` (``cadence``:
        silence limits per venue; ``record``: a file). Call :meth:`stop_streaming` to end it.
        """
        from arbkit.streams.session import StreamingSession, streams_for

        if streams is None:
            streams = streams_for(self.settings, self.scanner.exchanges)
        self.stop_streaming()
        self.streaming = StreamingSession(self, streams, **options).start()
        return self.streaming

    def stop_streaming(self) -> None:
        """Stop the streaming session, if any, and close its streams."""
        session, self.streaming = self.streaming, None
        if session is not None:
            session.close()

    def feed_status(self) -> list[FeedStatus]:
        """Each streamed venue's feed state (empty when not streaming)."""
        return [] if self.streaming is None else self.streaming.feed_status()

    def settle(self) -> list[Settlement]:
        """Settle resolved trades once. Never raises."""
        try:
            return self.trading.check_settlements()
        except Exception as exc:
            logger.exception("settlement failed")
            self._record(exc, "settlement", "check settlements")
            return []

    def reconcile(self) -> ReconcileReport | None:
        """One run of the reconciliation job (live only; ``None`` in paper mode). Never raises.

        Resolves unknown legs, settles, and compares stored positions, cash and open orders
        with every venue (:mod:`arbkit.trading.reconcile`); mismatches are recorded and alerted.
        """
        reconcile = getattr(self.trading, "reconcile", None)
        if not callable(reconcile):
            return None
        try:
            report = reconcile()
        except Exception as exc:
            logger.exception("reconciliation failed")
            self._record(exc, "reconciliation", "reconcile")
            return None
        return report if isinstance(report, ReconcileReport) else None

    def state(self) -> TradingState:
        """The trading system's state."""
        return self.trading.state()

    def close(self) -> None:
        """Stop streaming, close the exchange clients and the store."""
        self.stop_streaming()
        for client in self.scanner.exchanges.values():
            try:
                client.close()
            except Exception:
                logger.exception("closing %r failed", client)
        store = getattr(self.trading, "store", None)
        if store is not None:
            store.close()


def _cancel_everything(client: Exchange) -> str:
    """Cancel every resting order of one client: its ``cancel_all`` if it has one, else one by one."""
    try:
        cancel_all = getattr(client, "cancel_all", None)
        if callable(cancel_all):
            cancel_all()
            return "cancelled"
        lister = getattr(client, "orders", None)
        if not callable(lister):
            return "cannot list or cancel orders on this venue: check it by hand"
        for order in lister():
            if not order.status.is_final:
                market = client.market(order.market_id)
                client.cancel_order(order.id, market=market)
        return "cancelled"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:200]}"
