"""The service object the app, the jobs and the scheduler script share: a Bot and what its last steps did.

It holds no trading logic: ``monitor`` is :meth:`arbkit.Bot.scan_and_trade` and ``settle``
is :meth:`arbkit.Bot.settle`; this class only remembers their last results and keeps
per-job counters for ``/api/health``. When streaming (``ARBKIT_STREAMING``, on by default
when trading live) the Bot trades from the venues' WebSocket books on every change
(:meth:`arbkit.Bot.start_streaming`) and ``monitor`` only lists and matches markets again
and subscribes what changed; the feeds' state and the detection latency are in ``health``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import attrs

from arbkit import Bot, CycleReport, Settings
from arbkit.engine.opportunity import Opportunity
from arbkit.models import utcnow
from arbkit.streams import FeedState, FeedStatus
from arbkit.trading.notify import mode_label
from arbkit.trading.reconcile import ReconcileReport
from arbkit.trading.records import TradeStatus

__all__ = ["JobStats", "OpportunityLife", "PolymixService"]

logger = logging.getLogger(__name__)


@attrs.define
class JobStats:
    """How one background job has been doing."""

    name: str
    runs: int = 0
    failures: int = 0
    running: bool = False
    last_started: datetime | None = None
    last_finished: datetime | None = None
    last_seconds: float | None = None
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "runs": self.runs,
            "failures": self.failures,
            "running": self.running,
            "last_started": None if self.last_started is None else self.last_started.isoformat(),
            "last_finished": None if self.last_finished is None else self.last_finished.isoformat(),
            "last_seconds": None if self.last_seconds is None else round(self.last_seconds, 4),
            "last_error": self.last_error,
        }


#: Seconds after streaming starts during which a feed still connecting is not a health problem.
STREAM_START_GRACE_S = 15.0
#: How many past opportunities the service remembers for the dashboard.
RECENT_OPPORTUNITIES = 50


@attrs.frozen
class OpportunityLife:
    """One opportunity's life across scans: when first and last seen, when gone, the best it was."""

    key: str
    title: str
    first_seen: datetime
    last_seen: datetime
    best_profit: Decimal
    best_roi_percent: Decimal
    gone_at: datetime | None = None

    @classmethod
    def start(cls, opportunity: Opportunity, at: datetime) -> OpportunityLife:
        """First seen now."""
        return cls(opportunity.key, opportunity.title, at, at, opportunity.profit, opportunity.roi_percent)

    def seen(self, opportunity: Opportunity, at: datetime) -> OpportunityLife:
        """Seen again in the scan at ``at``."""
        return attrs.evolve(
            self,
            last_seen=at,
            best_profit=max(self.best_profit, opportunity.profit),
            best_roi_percent=max(self.best_roi_percent, opportunity.roi_percent),
        )

    @property
    def lived_seconds(self) -> float:
        """From the first scan that saw it to the first that did not (or the last that did)."""
        return ((self.gone_at or self.last_seen) - self.first_seen).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (amounts as strings)."""
        return {
            "key": self.key,
            "title": self.title,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "gone_at": None if self.gone_at is None else self.gone_at.isoformat(),
            "lived_seconds": round(self.lived_seconds, 3),
            "best_profit": str(self.best_profit),
            "best_roi_percent": str(self.best_roi_percent.quantize(Decimal("0.01"))),
        }


class PolymixService:
    """One :class:`arbkit.Bot` (paper or live, from ``LIVE_TRADING``) and its last results.

    ``monitor()`` and ``settle()`` never raise: a failure (which the Bot itself already
    avoids for venue errors) is logged and counted, and the next tick runs as usual.
    """

    def __init__(self, settings: Settings, bot: Bot, *, allow_live_reset: bool = False) -> None:
        self.settings = settings
        self.bot = bot
        self.allow_live_reset = allow_live_reset
        self.started_at = utcnow()
        self.last_report: CycleReport | None = None
        self.last_settlements = 0
        self.stats = {"monitor": JobStats("monitor"), "settlement": JobStats("settlement")}
        if getattr(bot.trading, "reconcile", None) is not None:
            self.stats["reconciliation"] = JobStats("reconciliation")
        self._lock = threading.Lock()
        #: Opportunities alive in the last scan: key -> their life so far.
        self.alive: dict[str, OpportunityLife] = {}
        #: Opportunities that have gone, newest last.
        self.gone: deque[OpportunityLife] = deque(maxlen=RECENT_OPPORTUNITIES)
        self.streaming_since: datetime | None = None
        self.last_discovery: datetime | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> PolymixService:
        """Build the Bot from settings (the live system when ``LIVE_TRADING=true``)."""
        allow_live_reset = bool(options.pop("allow_live_reset", False))
        return cls(settings, Bot.from_settings(settings, **options), allow_live_reset=allow_live_reset)

    @property
    def mode(self) -> str:
        """``"paper"`` or ``"live"``: the trading system's own mode."""
        return str(self.bot.trading.mode)

    @property
    def label(self) -> str:
        """``"🔴 LIVE"`` or ``"📄 PAPER"``."""
        return mode_label(self.mode)

    def _run(self, name: str, step: Callable[[], Any]) -> Any:
        stats = self.stats[name]
        with self._lock:
            stats.running = True
            stats.last_started = utcnow()
        tick = time.perf_counter()
        error: str | None = None
        result: Any = None
        try:
            result = step()
        except Exception as exc:  # the job must survive to run again next tick
            logger.exception("%s job failed", name)
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        with self._lock:
            stats.running = False
            stats.runs += 1
            stats.last_finished = utcnow()
            stats.last_seconds = time.perf_counter() - tick
            stats.last_error = error
            if error is not None:
                stats.failures += 1
        return result

    # -- streaming -----------------------------------------------------------------------------
    def start_streaming(self) -> bool:
        """Trade from the venues' streams when the settings ask for it; returns whether streaming.

        Venues whose plugin offers no stream are left to the REST scan's view (not traded).
        """
        if self.bot.streaming is not None:
            return True
        if not self.settings.streams:
            unmatched = self.settings.unmatched_streams
            if self.settings.streaming == "auto" and self.settings.live_trading and unmatched:
                logger.warning(
                    "%s polling, not streaming: %s point REST elsewhere but not the stream "
                    "(set the WebSocket URL too, or ARBKIT_STREAMING=off to silence this)",
                    self.label,
                    ", ".join(unmatched),
                )
            return False
        from arbkit.streams.session import streams_for

        streams = streams_for(self.settings, list(self.bot.scanner.exchanges))
        if not streams:
            logger.warning("%s streaming asked for, but no venue offers a stream: polling", self.label)
            return False
        self.bot.start_streaming(streams)
        self.streaming_since = utcnow()
        logger.info("%s streaming %s: detection on every book change", self.label, ", ".join(sorted(streams)))
        return True

    @property
    def streaming(self) -> bool:
        """Whether the Bot trades from the venues' streams."""
        return self.bot.streaming is not None

    def feeds(self) -> list[FeedStatus]:
        """Each streamed venue's feed state (empty when polling)."""
        return self.bot.feed_status()

    def stream_view(self) -> dict[str, Any] | None:
        """The feeds and the detection latency, JSON-ready (``None`` when polling)."""
        session = self.bot.streaming
        if session is None:
            return None
        latency = session.latency()

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 3)

        return {
            "since": self.streaming_since.isoformat() if self.streaming_since else None,
            "watched_matches": len(session.engine.matches),
            "feeds": [_feed_view(f) for f in self.feeds()],
            "detection_latency_ms": {
                "count": latency.count,
                "p50": ms(latency.p50),
                "p99": ms(latency.p99),
                "max": ms(latency.max),
            },
            "trades": len(session.trades()),
        }

    def monitor(self) -> CycleReport | None:
        """PolyMix's ``monitor_job``: one scan-and-trade step in the current mode.

        Streaming, it lists and matches markets again and subscribes what changed (trades
        happen on the stream); the returned report then carries no scan.
        """
        session = self.bot.streaming
        if session is not None:

            def discover() -> CycleReport:
                self.bot.sync_controls()
                watched = session.refresh()
                now = utcnow()
                self._track(session.opportunities(), now)
                self.last_discovery = now
                logger.info(
                    "%s streaming: %d matches watched, %d opportunities now",
                    self.label,
                    watched,
                    len(session.opportunities()),
                )
                return CycleReport(scan=None, results=())

            result = self._run("monitor", discover)
            return result if isinstance(result, CycleReport) else None

        def step() -> CycleReport:
            report = self.bot.scan_and_trade()
            if report.scan is not None:
                # Keep what the API serves, not every book fetched: the books of a full scan are
                # most of its memory, and holding them until the next scan has finished would
                # double the service's peak (measured by benchmarks/bench_memory.py).
                report = attrs.evolve(report, scan=attrs.evolve(report.scan, books=()))
            self.last_report = report
            if report.scan is not None:
                self._track(report.scan.opportunities, report.scan.started_at)
            if report.error:
                raise RuntimeError(report.error)
            executed = len(report.executed)
            logger.info(
                "%s scan: %d opportunities, %d traded",
                self.label,
                len(report.opportunities),
                executed,
            )
            return report

        result = self._run("monitor", step)
        return result if isinstance(result, CycleReport) else self.last_report

    def _track(self, opportunities: Sequence[Opportunity], at: datetime) -> None:
        """Follow each opportunity from the first scan that saw it to the first that did not."""
        with self._lock:
            seen = set()
            for opportunity in opportunities:
                seen.add(opportunity.key)
                life = self.alive.get(opportunity.key)
                if life is None:
                    self.alive[opportunity.key] = OpportunityLife.start(opportunity, at)
                else:
                    self.alive[opportunity.key] = life.seen(opportunity, at)
            for key in [k for k in self.alive if k not in seen]:
                self.gone.append(attrs.evolve(self.alive.pop(key), gone_at=at))

    def first_seen(self, key: str) -> datetime | None:
        """When the scans first saw the opportunity with ``key`` (``None`` if they never did)."""
        with self._lock:
            life = self.alive.get(key)
        return None if life is None else life.first_seen

    def recent_opportunities(self) -> list[OpportunityLife]:
        """Opportunities that have gone, newest first."""
        with self._lock:
            return list(reversed(self.gone))

    def reconcile(self) -> ReconcileReport | None:
        """One run of the reconciliation job (live only: ``None`` in paper mode); remembers its report."""
        if getattr(self.bot.trading, "reconcile", None) is None:
            return None

        def step() -> ReconcileReport | None:
            report = self.bot.reconcile()
            if report is None:
                raise RuntimeError("the reconciliation run failed (see the log)")
            return report

        result = self._run("reconciliation", step)
        return result if isinstance(result, ReconcileReport) else None

    @property
    def last_reconcile(self) -> ReconcileReport | None:
        """The last reconciliation run (the one at start included), ``None`` before it or in paper mode."""
        last = getattr(getattr(self.bot.trading, "reconciler", None), "last", None)
        return last if isinstance(last, ReconcileReport) else None

    def settle(self) -> int:
        """PolyMix's ``check_trading_settlements``: settle what has resolved; returns how many."""

        def step() -> int:
            settled = len(self.bot.settle())
            self.last_settlements = settled
            if settled:
                logger.info("%s settled %d trades", self.label, settled)
            return settled

        result = self._run("settlement", step)
        return int(result or 0)

    def venue_host(self, venue: str) -> str | None:
        """The host a venue's client talks to (for messages that say where a failure was)."""
        client = self.bot.scanner.exchanges.get(venue)
        url = getattr(client, "base_url", None)
        return (urlsplit(url).netloc or None) if isinstance(url, str) and url else None

    def health_reasons(self, jobs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Why the service is not simply ``ok``: one entry per problem, each naming what and where.

        ``code`` is one of ``job_failed``, ``venue_failing`` (the last scan could not reach a
        venue, or got an error from it), ``credentials_unverified`` (live: a venue's account
        could not be checked at start, so trading on it is blocked), ``reconciliation_mismatch``
        (the last reconciliation found the store and a venue apart), ``exposure_open`` (a trade
        holds an unhedged position), ``trading_paused`` /
        ``trading_killed`` (the operator controls), ``trading_halted`` (the system stopped itself,
        e.g. its journal could not be written) and ``scans_stalled`` (no scan has finished for
        three monitor intervals).
        """
        reasons: list[dict[str, Any]] = []
        state = self.bot.state()
        for name, stats in jobs.items():
            if stats["last_error"]:
                reasons.append({"code": "job_failed", "job": name, "message": stats["last_error"]})
        report = self.last_report
        scan = None if report is None else report.scan
        if scan is not None:
            seen: set[str] = set()
            for venue, operation, message in scan.errors:
                if venue in seen or venue not in self.bot.scanner.exchanges:
                    continue
                seen.add(venue)
                host = self.venue_host(venue)
                where = f"{venue} ({host})" if host else venue
                reasons.append(
                    {"code": "venue_failing", "venue": venue, "message": f"{where}: {operation}: {message}"}
                )
        for error in state.recent_errors:
            if error.operation != "connect" or error.venue in self.bot.scanner.exchanges:
                continue
            if self.mode == "live":
                code, what = "credentials_unverified", "credentials could not be verified at start"
            else:
                code, what = "venue_failing", "could not be set up at start"
            reasons.append(
                {
                    "code": code,
                    "venue": error.venue,
                    "message": f"{error.venue}: {what} ({error.message}); trading on it is blocked",
                }
            )
        verified = getattr(self.bot.trading, "verified", None)
        if isinstance(verified, set):
            for venue in getattr(self.bot.trading, "venues", ()):
                if venue not in verified:
                    reasons.append(
                        {
                            "code": "credentials_unverified",
                            "venue": venue,
                            "message": f"{venue} has not answered a balance request since start: its "
                            "credentials are unverified and trading on it is blocked until it answers",
                        }
                    )
        exposed = [t for t in state.open_positions if t.status is TradeStatus.EXPOSURE]
        if exposed:
            reasons.append(
                {
                    "code": "exposure_open",
                    "message": f"{len(exposed)} trade(s) hold an unhedged position: "
                    + "; ".join(f"{t.opportunity.title} ({t.note[:120]})" for t in exposed[:3]),
                }
            )
        last = self.last_reconcile
        if last is not None and not last.ok:
            details = [m.message for m in last.mismatches] + [
                f"unresolved trade {t}" for t in last.unresolved
            ]
            details += list(last.errors)
            reasons.append(
                {
                    "code": "reconciliation_mismatch",
                    "message": f"the store and the venues disagree (reconciled {last.time.isoformat()}): "
                    + "; ".join(details[:5]),
                }
            )
        controls = self.bot.control_state()
        if not controls.trading_allowed:
            reasons.append(
                {
                    "code": f"trading_{controls.state}",
                    "message": f"trading is {controls.state}: {controls.reason}",
                }
            )
        halted = getattr(self.bot.trading, "halted", None)
        if isinstance(halted, str) and controls.trading_allowed:
            reasons.append({"code": "trading_halted", "message": f"trading halted: {halted}"})
        for feed in self.feeds():
            if feed.state is FeedState.LIVE:
                continue
            started = self.streaming_since
            if (
                feed.state is FeedState.CONNECTING
                and started is not None
                and (utcnow() - started).total_seconds() < STREAM_START_GRACE_S
            ):
                continue  # still connecting at start
            host = self.stream_host(feed.exchange)
            reasons.append(
                {
                    "code": "feed_stale",
                    "venue": feed.exchange,
                    "message": f"{feed.exchange} feed is {feed.state.value}"
                    + (f" since {feed.since.isoformat()}" if feed.since else "")
                    + (f": {feed.reason}" if feed.reason else "")
                    + (f" ({host})" if host else "")
                    + "; nothing is traded on its books until it is live again",
                }
            )
        monitor = self.stats["monitor"]
        interval = self.settings.monitor_interval_seconds
        finished = monitor.last_finished
        if finished is not None and (utcnow() - finished).total_seconds() > 3 * interval:
            reasons.append(
                {
                    "code": "scans_stalled",
                    "message": f"no scan has finished since {finished.isoformat()} "
                    f"(every {interval} s expected)",
                }
            )
        return reasons

    def health(self) -> dict[str, Any]:
        """Job counters, the last scan's time and errors, and whether the service is healthy.

        ``status`` is ``ok`` only when ``reasons`` (see :meth:`health_reasons`) is empty.
        """
        report = self.last_report
        scan = None if report is None else report.scan
        with self._lock:
            jobs = {name: stats.to_dict() for name, stats in self.stats.items()}
        reasons = self.health_reasons(jobs)
        return {
            "status": "degraded" if reasons else "ok",
            "reasons": reasons,
            "mode": self.mode,
            "exchanges": list(self.bot.scanner.exchanges),
            "started_at": self.started_at.isoformat(),
            "jobs": jobs,
            "streaming": self.stream_view(),
            "last_scan": None
            if scan is None
            else {
                "at": scan.started_at.isoformat(),
                "seconds": round(scan.seconds, 4),
                "markets": scan.market_count,
                "matches": len(scan.matches),
                "opportunities": len(scan.opportunities),
                "errors": [{"venue": v, "operation": o, "message": m} for v, o, m in scan.errors],
            },
        }

    def stream_host(self, venue: str) -> str | None:
        """The host a venue's stream connects to, if it says."""
        session = self.bot.streaming
        stream = None if session is None else session.streams.get(venue)
        url = getattr(stream, "url", None)
        return (urlsplit(url).netloc or None) if isinstance(url, str) and url else None

    def close(self) -> None:
        """Stop streaming, close the exchange clients and the store."""
        self.bot.stop_streaming()
        self.bot.close()


def _feed_view(feed: FeedStatus) -> dict[str, Any]:
    return {
        "venue": feed.exchange,
        "state": feed.state.value,
        "reason": feed.reason,
        "since": None if feed.since is None else feed.since.isoformat(),
        "last_message_at": None if feed.last_message_at is None else feed.last_message_at.isoformat(),
        "subscribed": feed.subscribed,
        "reconnects": feed.reconnects,
        "messages": feed.messages,
    }
