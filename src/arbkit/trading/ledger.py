"""The ledger: a trading system's cash, realised P&L and daily counters, and every change to them.

All the money arithmetic of a trading system is here, as pure functions of frozen values, so
paper and live, recovery and flattening, settlement and the shared PostgreSQL ledger move money
by one set of rules:

* recording a trade moves cash by what it cost less what its unwinds brought back; recording
  it again (a correction: recovery finished it, a flatten sold it back) moves cash only by the
  difference to the earlier record, so nothing is counted twice;
* a trade that ends unwound realises its P&L at once (proceeds less cost, fees included);
* a settlement pays its payout into cash and realises its P&L;
* the day's trade count grows by one for each new trade that filled; the day's loss is never
  accumulated but recounted from the trades (:func:`arbkit.trading.records.daily_loss`).

>>> from datetime import date
>>> from decimal import Decimal
>>> ledger = Ledger("paper", Decimal(1000), Decimal(1000), DailyCounters(date(2026, 3, 1)))
>>> ledger.settling(payout=Decimal(10), realised_pnl=Decimal("0.74")).balance
Decimal('1010')
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, tzinfo
from decimal import Decimal

import attrs

from arbkit.codec import configure
from arbkit.trading.records import Trade, TradeStatus, daily_loss
from arbkit.values import ZERO, as_decimal

__all__ = ["DailyCounters", "Ledger"]


@attrs.frozen
class DailyCounters:
    """Today's trade count and realised loss; ``day`` is the date in the trading timezone."""

    day: date
    trades: int = attrs.field(
        default=0, validator=[attrs.validators.instance_of(int), attrs.validators.ge(0)]
    )
    loss: Decimal = attrs.field(default=ZERO, converter=as_decimal)

    def rolled(self, today: date) -> DailyCounters:
        """These counters, or fresh ones if ``today`` is a new day."""
        return self if today == self.day else DailyCounters(day=today)


@attrs.frozen
class Ledger:
    """The money side of a trading system: balance, realised P&L and the daily counters."""

    mode: str = attrs.field(validator=attrs.validators.in_(("paper", "live")))
    initial_balance: Decimal = attrs.field(converter=as_decimal)
    balance: Decimal = attrs.field(converter=as_decimal)
    daily: DailyCounters
    realised_pnl: Decimal = attrs.field(default=ZERO, converter=as_decimal)

    def recording(self, trade: Trade, *, previous: Trade | None = None) -> tuple[Ledger, Trade]:
        """This ledger after ``trade`` is recorded, in place of ``previous`` when it corrects an
        earlier record of the same trade; and the trade, with its realised P&L if it ended
        unwound. The daily loss is left to :meth:`recounted`."""
        moved = trade.unwind_proceeds - trade.total_cost
        daily = self.daily
        realised = self.realised_pnl
        if previous is not None:
            moved -= previous.unwind_proceeds - previous.total_cost
            realised -= previous.realised_pnl or ZERO
        elif trade.filled:
            daily = attrs.evolve(daily, trades=daily.trades + 1)
        if trade.status is TradeStatus.UNWOUND:
            pnl = trade.unwind_proceeds - trade.total_cost
            trade = attrs.evolve(trade, realised_pnl=pnl)
            realised += pnl
        ledger = attrs.evolve(self, balance=self.balance + moved, daily=daily, realised_pnl=realised)
        return ledger, trade

    def settling(self, *, payout: Decimal, realised_pnl: Decimal) -> Ledger:
        """This ledger after a settlement paid ``payout`` and realised ``realised_pnl``."""
        return attrs.evolve(
            self, balance=self.balance + payout, realised_pnl=self.realised_pnl + realised_pnl
        )

    def recounted(self, trades: Iterable[Trade], zone: tzinfo) -> Ledger:
        """This ledger with the day's loss recounted from ``trades`` (never accumulated, so an
        unwind inside a trade that stays hedged counts, and a corrected record counts once)."""
        loss = daily_loss(trades, self.daily.day, zone)
        if loss == self.daily.loss:
            return self
        return attrs.evolve(self, daily=attrs.evolve(self.daily, loss=loss))

    def rolled(self, today: date) -> Ledger:
        """This ledger with fresh daily counters if ``today`` is a new day."""
        daily = self.daily.rolled(today)
        return self if daily is self.daily else attrs.evolve(self, daily=daily)


# PolyMix's files name the day "date".
configure(DailyCounters, rename={"day": "date"})
