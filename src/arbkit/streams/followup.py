"""What the venues' user and lifecycle channels tell a streaming bot, acted on at once.

The reconciliation job compares the store with the venues every minute; a stream says
sooner when something needs it. :class:`FollowUps` listens to a
:class:`~arbkit.streams.books.BookStore`'s order, fill and market events and, on its own
thread:

* an update or fill of an order that no record knows, or that a record holds as *unknown*
  (a leg whose fate the executor could not decide), runs the reconciliation
  (:meth:`arbkit.Bot.reconcile`: the leg is looked up, fenced, hedged), and runs it again
  with a growing pause while such a leg stays unknown, so one venue answer is enough to
  settle it once the venue can be asked;
* a market the venue reports resolved runs the settlement check (:meth:`arbkit.Bot.settle`).

Events of orders the records already hold as decided cost nothing. Runs are coalesced: many
events close together make one run after ``delay`` seconds.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from arbkit.models import Fill, MarketStatus, Order
from arbkit.streams.feed import MarketEvent
from arbkit.trading.records import LegStatus

if TYPE_CHECKING:
    from arbkit.bot import Bot
    from arbkit.streams.books import BookStore

__all__ = ["FollowUps"]

logger = logging.getLogger(__name__)


class FollowUps:
    """Reconcile on events about undecided or unrecorded orders, settle on resolutions (module docstring)."""

    def __init__(
        self, bot: Bot, store: BookStore, *, delay: float = 0.5, retry: float = 1.0, max_retry: float = 60.0
    ) -> None:
        self.bot = bot
        self.delay = delay
        self.retry = retry
        self.max_retry = max_retry
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._orders: set[str] = set()
        self._settle = False
        self._unknown_wait: float | None = None
        #: How many runs each event kind caused (for tests and the service's curiosity).
        self.runs = {"reconcile": 0, "settle": 0}
        store.listen(order=self._on_order, fill=self._on_fill, market=self._on_market)
        self._thread = threading.Thread(target=self._loop, name="arbkit-followups", daemon=True)
        self._thread.start()

    # -- events (on the stream's thread: only note them) --------------------------------------
    def _on_order(self, order: Order) -> None:
        self._note(order.id, order.client_order_id)

    def _on_fill(self, fill: Fill) -> None:
        self._note(fill.order_id)

    def _on_market(self, event: MarketEvent) -> None:
        if event.status is MarketStatus.RESOLVED:
            with self._lock:
                self._settle = True
            self._wake.set()

    def _note(self, *ids: str | None) -> None:
        with self._lock:
            self._orders.update(i for i in ids if i)
        self._wake.set()

    # -- the follow-up thread -------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                wait = self._unknown_wait
            self._wake.wait(wait)
            if self._stop.is_set():
                return
            self._wake.clear()
            if self._stop.wait(self.delay):  # coalesce what arrives together
                return
            try:
                self._run_once()
            except Exception:  # a bug: keep listening
                logger.exception("stream follow-up failed")

    def _run_once(self) -> None:
        with self._lock:
            orders, self._orders = self._orders, set()
            settle, self._settle = self._settle, False
            retrying = self._unknown_wait is not None
        decided, undecided = self._recorded()
        if (orders - decided) or (retrying and undecided):
            self.runs["reconcile"] += 1
            self.bot.reconcile()
            _, undecided = self._recorded()
        if settle:
            self.runs["settle"] += 1
            self.bot.settle()
        with self._lock:
            if not undecided:
                self._unknown_wait = None
            else:  # keep asking, less and less often, while a leg stays unknown
                previous = self._unknown_wait or self.retry / 2
                self._unknown_wait = min(self.max_retry, previous * 2)

    def _recorded(self) -> tuple[set[str], set[str]]:
        """Order and client order ids the records hold as decided, and those of unknown legs."""
        decided: set[str] = set()
        undecided: set[str] = set()
        for trade in self.bot.trading.state().trade_history:
            for leg in trade.legs:
                ids = set(leg.order_ids) | set(leg.client_order_ids)
                (undecided if leg.status is LegStatus.UNKNOWN else decided).update(ids)
        return decided - undecided, undecided

    def close(self) -> None:
        """Stop the thread; idempotent."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
