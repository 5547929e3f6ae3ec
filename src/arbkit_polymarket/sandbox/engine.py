"""The sandbox's exchange state: markets, accounts, orders, trades, matching and resolution.

One :class:`arbkit.sandbox.BinaryBook` per condition holds every order in YES-price
terms: a BUY of the YES token at p is a bid at p and a SELL of the NO token at q is a
bid at 1-q; a SELL of YES at p and a BUY of NO at q are asks. Each execution is then
settled per participant in its own token: a BUY pays ``own price x size`` pUSD and
receives tokens, a SELL gives tokens and receives pUSD (a YES buyer matched with a NO
buyer mints a pair; a YES seller matched with a NO seller merges one).

Resting orders reserve what they may spend (pUSD for BUYs, tokens for SELLs). Taker
fees follow the market's schedule per fill (the sandbox's own formula, :mod:`.verify`) and
are debited in pUSD
[UNCERTAIN which asset the real V2 exchange debits: reference section 7]. The "house"
account supplies scenario liquidity and has no balance limits. This module knows
nothing about HTTP; :mod:`.app` speaks the wire protocol on top of it.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections import defaultdict
from decimal import ROUND_DOWN, Decimal
from typing import Any

import attrs

from arbkit.models import Side
from arbkit.sandbox import BinaryBook, BookSide, Match, RestingOrder
from arbkit_polymarket.sandbox.verify import SandboxFee

__all__ = ["HOUSE", "Account", "Engine", "OrderRecord", "SandboxMarket"]

ZERO = Decimal(0)
ONE = Decimal(1)
HOUSE = "0xHOUSE"
_trade_ids = itertools.count(1)


@attrs.define
class SandboxMarket:
    """One binary market: the first token is YES-like (``tokens[0]``), the second its complement."""

    condition_id: str
    question: str
    slug: str
    tokens: tuple[str, str]
    outcomes: tuple[str, str]
    tick_size: Decimal = Decimal("0.01")
    min_order_size: Decimal = Decimal(5)
    neg_risk: bool = False
    fees: SandboxFee = attrs.field(factory=SandboxFee)
    seconds_delay: int = 0  # sports taker delay (``secondsDelay``); 0 = none
    fee_details: dict[str, Any] | None = None
    event: dict[str, Any] = attrs.field(factory=dict)
    extra: dict[str, Any] = attrs.field(factory=dict)
    closed: bool = False
    accepting_orders: bool = True
    winner: str | None = None
    result: str | None = None  # "winner", "50-50", "void"
    book: BinaryBook = attrs.field(factory=BinaryBook)

    def is_yes(self, token: str) -> bool:
        """Whether ``token`` is the first (YES-like) token."""
        return token == self.tokens[0]

    def outcome_of(self, token: str) -> str:
        """The outcome label of a token."""
        return self.outcomes[self.tokens.index(token)]


@attrs.define
class Account:
    """pUSD and tokens of one maker address."""

    address: str
    cash: Decimal = ZERO
    tokens: dict[str, Decimal] = attrs.field(factory=lambda: defaultdict(Decimal))


@attrs.define
class OrderRecord:
    """An order as the CLOB keeps it (``OpenOrder`` fields)."""

    id: str
    owner: str
    maker: str
    market: str
    token: str
    side: Side
    price: Decimal
    original_size: Decimal
    order_type: str
    expiration: int = 0
    size_matched: Decimal = ZERO
    status: str = "LIVE"
    created_at: int = attrs.field(factory=lambda: int(time.time()))
    trades: list[str] = attrs.field(factory=list)
    reserved: Decimal = ZERO
    error: str = ""  # why a delayed order was killed when its delay ended


class Engine:
    """Markets, accounts, orders and trades, guarded by the app's lock."""

    def __init__(self) -> None:
        self.markets: dict[str, SandboxMarket] = {}
        self.by_token: dict[str, SandboxMarket] = {}
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, OrderRecord] = {}
        self.trades: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.clock: Any = time.time  # the app's clock (unix seconds)

    # -- set-up ---------------------------------------------------------------------------------
    def add_market(self, market: SandboxMarket) -> None:
        """Register (or replace) a market."""
        self.markets[market.condition_id] = market
        for token in market.tokens:
            self.by_token[token] = market

    def account(self, address: str) -> Account:
        """The account of an address (created empty on first use; addresses compare lower-case)."""
        key = address.lower()
        if key not in self.accounts:
            self.accounts[key] = Account(address)
        return self.accounts[key]

    def set_book(self, condition_id: str, bids: list[Any], asks: list[Any]) -> None:
        """Replace the house liquidity of a market (levels in the first token's prices)."""
        market = self.markets[condition_id]
        market.book.cancel_account(HOUSE)
        for side, levels in ((BookSide.BID, bids), (BookSide.ASK, asks)):
            for price, size in levels:
                oid = f"house-{next(_trade_ids)}"
                market.book.add(RestingOrder(oid, HOUSE, side, Decimal(str(price)), Decimal(str(size))))

    # -- orders -------------------------------------------------------------------------------------
    @staticmethod
    def book_side(market: SandboxMarket, token: str, side: Side) -> BookSide:
        """Where an order on ``token`` sits in the YES book."""
        buy_yes_like = (side is Side.BUY) == market.is_yes(token)
        return BookSide.BID if buy_yes_like else BookSide.ASK

    @staticmethod
    def yes_price(market: SandboxMarket, token: str, price: Decimal) -> Decimal:
        """A price of ``token`` in YES terms."""
        return price if market.is_yes(token) else ONE - price

    def fillable(
        self, market: SandboxMarket, token: str, side: Side, limit: Decimal, account: str
    ) -> Decimal:
        """How much an order could fill right now (own orders excluded)."""
        return market.book.fillable(
            self.book_side(market, token, side), self.yes_price(market, token, limit), account
        )

    def can_afford(self, order: OrderRecord, market: SandboxMarket, limit: Decimal) -> bool:
        """Whether the maker holds what the order may spend (pUSD plus taker fee, or tokens)."""
        account = self.account(order.maker)
        if order.side is Side.BUY:
            need = limit * order.original_size + market.fees.fee(limit, order.original_size, taker=True)
            return account.cash >= need
        return account.tokens[order.token] >= order.original_size

    def execute(self, order: OrderRecord, limit: Decimal, take: Decimal) -> list[dict[str, Any]]:
        """Match up to ``take`` of a taker order at ``limit`` or better; returns the trades made."""
        market = self.markets[order.market]
        side = self.book_side(market, order.token, order.side)
        matches = market.book.take(
            order.id, order.maker.lower(), side, self.yes_price(market, order.token, limit), take
        )
        return [self._settle(order, market, match) for match in matches]

    def _own_price(self, market: SandboxMarket, token: str, yes_price: Decimal) -> Decimal:
        return yes_price if market.is_yes(token) else ONE - yes_price

    def _settle(self, taker: OrderRecord, market: SandboxMarket, match: Match) -> dict[str, Any]:
        qty = match.size
        price = self._own_price(market, taker.token, match.price)
        fee = market.fees.fee(price, qty, taker=True)
        account = self.account(taker.maker)
        if taker.side is Side.BUY:
            account.cash -= price * qty + fee
            account.tokens[taker.token] += qty
        else:
            account.tokens[taker.token] -= qty
            account.cash += price * qty - fee
        taker.size_matched += qty
        maker_entry: dict[str, Any] = {"order_id": match.maker_order_id, "owner": "", "maker_address": HOUSE}
        maker_order = self.orders.get(match.maker_order_id)
        if maker_order is not None:
            maker_price = self._own_price(market, maker_order.token, match.price)
            maker_account = self.account(maker_order.maker)
            if maker_order.side is Side.BUY:
                maker_order.reserved -= maker_price * qty
                maker_account.tokens[maker_order.token] += qty
            else:
                maker_order.reserved -= qty
                maker_account.cash += maker_price * qty
            maker_order.size_matched += qty
            if maker_order.size_matched >= maker_order.original_size:
                maker_order.status = "MATCHED"
                self._release(maker_order)
            maker_entry = {
                "order_id": maker_order.id,
                "owner": maker_order.owner,
                "maker_address": maker_order.maker,
                "asset_id": maker_order.token,
                "side": maker_order.side.value.upper(),
                "price": str(maker_price),
                "outcome": market.outcome_of(maker_order.token),
            }
        else:  # house liquidity: shown as the complementary interest in the taker's token
            maker_entry.update(
                asset_id=taker.token,
                side="SELL" if taker.side is Side.BUY else "BUY",
                price=str(price),
                outcome=market.outcome_of(taker.token),
            )
        trade_id = f"trade-{next(_trade_ids)}"
        now = str(int(self.clock()))
        trade = {
            "id": trade_id,
            "taker_order_id": taker.id,
            "market": market.condition_id,
            "asset_id": taker.token,
            "side": taker.side.value.upper(),
            "size": str(qty),
            "price": str(price),
            "fee_rate_bps": "0",
            "status": "CONFIRMED",
            "match_time": now,
            "last_update": now,
            "outcome": market.outcome_of(taker.token),
            "bucket_index": 0,
            "owner": taker.owner,
            "maker_address": taker.maker,
            # A made-up settlement hash per trade (the SDKs wait for one before reporting a fill settled).
            "transaction_hash": "0x" + hashlib.sha256(trade_id.encode()).hexdigest(),
            "trader_side": "TAKER",
            "maker_orders": [{**maker_entry, "matched_amount": str(qty), "fee_rate_bps": "0"}],
            "fee": str(fee),
        }
        taker.trades.append(trade_id)
        if maker_order is not None:
            maker_order.trades.append(trade_id)
        self.trades.append(trade)
        return trade

    def rest(self, order: OrderRecord) -> None:
        """Put the rest of a GTC/GTD in the book, reserving what it may spend."""
        market = self.markets[order.market]
        remaining = order.original_size - order.size_matched
        account = self.account(order.maker)
        if order.side is Side.BUY:
            order.reserved = order.price * remaining
            account.cash -= order.reserved
        else:
            order.reserved = remaining
            account.tokens[order.token] -= remaining
        side = self.book_side(market, order.token, order.side)
        yes = self.yes_price(market, order.token, order.price)
        market.book.add(RestingOrder(order.id, order.maker.lower(), side, yes, remaining))

    def _release(self, order: OrderRecord) -> None:
        account = self.account(order.maker)
        if order.side is Side.BUY:
            account.cash += order.reserved
        else:
            account.tokens[order.token] += order.reserved
        order.reserved = ZERO

    def cancel(self, order: OrderRecord) -> bool:
        """Cancel a live order and release its reservation."""
        if order.status != "LIVE":
            return False
        self.markets[order.market].book.cancel(order.id)
        order.status = "CANCELED"
        self._release(order)
        return True

    # -- resolution -------------------------------------------------------------------------------
    def resolve(self, condition_id: str, *, winner: str | None = None, result: str = "winner") -> None:
        """Close a market, cancel its orders and redeem positions at the payout.

        ``result`` is ``"winner"`` (``winner`` = token id), ``"50-50"`` or ``"void"``.
        Winning tokens are redeemed into pUSD at once, as the SDK's redeem helper would.
        """
        market = self.markets[condition_id]
        if result == "winner" and winner not in market.tokens:
            raise ValueError(f"winner must be one of {market.tokens}")
        for order in list(self.orders.values()):
            if order.market == condition_id:
                self.cancel(order)
        market.book = BinaryBook()
        market.closed = True
        market.accepting_orders = False
        market.winner = winner if result == "winner" else None
        market.result = result
        for account in self.accounts.values():
            for token in market.tokens:
                held = account.tokens.pop(token, ZERO)
                account.cash += held * self.payout(market, token)

    @staticmethod
    def payout(market: SandboxMarket, token: str) -> Decimal:
        """What one token pays after resolution."""
        if market.result == "50-50":
            return Decimal("0.5")
        if market.result == "winner":
            return ONE if token == market.winner else ZERO
        return ZERO

    def outcome_prices(self, market: SandboxMarket) -> list[str]:
        """Gamma ``outcomePrices``: payouts once resolved (``["0","0"]`` when void), else the mid."""
        if market.result is not None:
            return [str(self.payout(market, t)) for t in market.tokens]
        bids, asks = market.book.levels(BookSide.BID), market.book.levels(BookSide.ASK)
        if bids and asks:
            mid = ((bids[0][0] + asks[0][0]) / 2).quantize(market.tick_size, rounding=ROUND_DOWN)
            return [str(mid), str(ONE - mid)]
        return ["0.5", "0.5"]
