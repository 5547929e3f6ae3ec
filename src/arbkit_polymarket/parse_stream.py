"""Polymarket WebSocket frames -> arbkit models, and the decoders that keep the local books.

Wire facts (reference polymarket.md section 8): a frame is one JSON event or a JSON array
of events (the initial dump), ``event_type`` discriminates; the keep-alive is the bare text
``PING`` answered by ``PONG``. Market channel: ``book`` (a whole snapshot, the REST
``OrderBookSummary`` shape), ``price_change`` (``price_changes[]``, each the *new total size*
of one level, 0 removing it, with the asset's ``best_bid``/``best_ask`` and ``hash`` after
the change), ``tick_size_change``, ``last_trade_price`` and, with
``custom_feature_enabled``, ``market_resolved``. User channel (8.1): ``order`` (the REST
``OpenOrder`` fields) and ``trade`` (the REST ``Trade`` fields).

Books and orders go through the REST parsers (:func:`~arbkit_polymarket.parse.parse_book`,
:func:`~arbkit_polymarket.parse_trading.parse_open_order`,
:func:`~arbkit_polymarket.parse_trading.parse_trades`), so a streamed book, order or fill is
the same model the REST client returns. A frame that is not what the venue promises is
reported to the sink as :class:`~arbkit.errors.InvalidResponse`; it never raises.

Continuity (8.2): there are no sequence numbers. A ``price_change`` is only applied to a
book whose snapshot was accepted (an update before its snapshot is a gap); after it is
applied the book is checked against the ``best_bid``/``best_ask`` the venue sent and, where
the hash can be reproduced, against ``hash``. The hash algorithm (section 2.8) is
[UNCERTAIN] for WebSocket books: the venue has changed the hashed fields, ``book`` frames
after the first may lack ``last_trade_price``, and third parties report mismatches on live
data. So a book's hash is only checked once its own snapshot's hash reproduced from the
snapshot's content; an asset whose update hashes fail to reproduce
:data:`HASH_MISMATCH_LIMIT` times has hash checks switched off (said in the error
history) and keeps the best-price check. Any failed check marks the market stale and asks
the stream to resynchronise it; ``live`` follows when fresh snapshots of all its outcomes
arrived.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from arbkit.engine.fees import FeeSchedule
from arbkit.errors import ArbkitError, ExchangeError, InvalidResponse
from arbkit.models import BookLevel, Fill, Market, MarketStatus, OrderBook, utcnow
from arbkit.streams import FeedSink, MarketEvent
from arbkit_polymarket.parse import EXCHANGE, invalid, obj, parse_book, parse_time, seq
from arbkit_polymarket.parse_trading import parse_open_order, parse_trades
from arbkit_polymarket.units import number, opt_number

__all__ = [
    "HASH_MISMATCH_LIMIT",
    "PING",
    "PONG",
    "LevelChange",
    "LocalBook",
    "MarketDecoder",
    "Subscriptions",
    "UserDecoder",
    "book_hash",
    "decode_events",
    "parse_level_changes",
]

PING = "PING"
PONG = "PONG"
#: Update hashes that failed to reproduce before hash checks of an asset are switched off.
HASH_MISMATCH_LIMIT = 3
#: Books are emitted with this ``source`` (REST books say ``"rest"``).
SOURCE = "stream"
_SIDES = {"BUY": "bids", "SELL": "asks"}
#: What the venue names the summary fields its hash covers, in order (reference 2.8).
_HASH_KEYS = (
    "market",
    "asset_id",
    "timestamp",
    "hash",
    "bids",
    "asks",
    "min_order_size",
    "tick_size",
    "neg_risk",
    "last_trade_price",
)

#: Resynchronise these assets (market ids are the sink's business); the reason is for humans.
Resync = Callable[[Sequence[str], str], None]


def decode_events(text: str) -> list[Mapping[str, Any]]:
    """The events of one frame (an object or an array of objects), numbers as ``Decimal``."""
    try:
        payload = json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise invalid(f"frame is not JSON: {text[:60]!r}") from None
    items = payload if isinstance(payload, list) else [payload]
    return [obj(item, "stream event") for item in items]


def book_hash(summary: Mapping[str, Any]) -> str:
    """The venue's book hash: SHA-1 of the compact JSON summary with ``hash`` empty (ref 2.8).

    ``summary`` must hold every key of the summary, texts as the venue wrote them.
    """
    body = {key: ("" if key == "hash" else summary[key]) for key in _HASH_KEYS}
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - the venue's content hash


@attrs.frozen
class LevelChange:
    """One entry of ``price_changes[]``: the new total ``size`` at ``price`` (0: gone)."""

    asset_id: str
    side: str  # "bids" or "asks"
    price: Decimal
    price_text: str
    size: Decimal
    size_text: str
    hash: str | None = None
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None


def _level_text(value: Any) -> str | None:
    # The hash covers the venue's own texts; a JSON number has no reproducible text.
    return value if isinstance(value, str) else None


def parse_level_changes(event: Mapping[str, Any]) -> list[LevelChange]:
    """The entries of one ``price_change`` event (the ``price_changes[]`` shape since 2025-09)."""
    changes = []
    for raw in seq(event.get("price_changes"), "price_changes"):
        entry = obj(raw, "price change")
        asset = entry.get("asset_id")
        if not isinstance(asset, str) or not asset:
            raise invalid("price change: asset_id is missing")
        side = _SIDES.get(str(entry.get("side", "")).upper())
        if side is None:
            raise invalid(f"price change of {asset[:20]}: side {entry.get('side')!r} is not BUY or SELL")
        price = number(entry.get("price"), "price change price")
        size = number(entry.get("size"), "price change size")
        if not Decimal(0) <= price <= Decimal(1) or size < 0:
            raise invalid(f"price change of {asset[:20]}: level {price} x {size} is out of range")
        digest = entry.get("hash")
        changes.append(
            LevelChange(
                asset_id=asset,
                side=side,
                price=price,
                price_text=_level_text(entry.get("price")) or str(price),
                size=size,
                size_text=_level_text(entry.get("size")) or str(size),
                hash=digest if isinstance(digest, str) and digest else None,
                best_bid=opt_number(entry.get("best_bid"), "best_bid"),
                best_ask=opt_number(entry.get("best_ask"), "best_ask"),
            )
        )
    return changes


class LocalBook:
    """One token's book as the stream built it, with the venue's texts kept for the hash.

    Each level keeps its :class:`BookLevel` (built once, when the level changes) and the
    sorted sides are cached between changes, so a change costs one level, not the book.
    """

    def __init__(self, market_id: str, asset_id: str) -> None:
        self.market_id = market_id
        self.asset_id = asset_id
        # side -> price -> (the level's JSON as the venue's hash sees it, level)
        self.levels: dict[str, dict[Decimal, tuple[str, BookLevel]]] = {"bids": {}, "asks": {}}
        self.meta: dict[str, Any] = {}
        #: Whether this book's hash is reproducible (its snapshot's hash was).
        self.hash_checked = False
        self._sorted: dict[str, tuple[BookLevel, ...]] = {}
        self._wire: dict[str, str] = {}
        self._head = f'{{"market":{_js(market_id)},"asset_id":{_js(asset_id)},"timestamp":'
        self._tail: str | None = None

    @classmethod
    def from_snapshot(cls, event: Mapping[str, Any]) -> tuple[LocalBook, OrderBook]:
        """Read a ``book`` event (through the REST parser); the model and the local state."""
        book = parse_book(event)
        local = cls(book.market_id, book.outcome_id)
        texts_ok = True
        for side, parsed in (("bids", book.bids), ("asks", book.asks)):
            by_price = {level.price: level for level in parsed}
            for raw in event.get(side) or []:
                level = obj(raw, side)
                price = number(level.get("price"), "price")
                p_text, s_text = _level_text(level.get("price")), _level_text(level.get("size"))
                texts_ok = texts_ok and p_text is not None and s_text is not None
                if price in by_price:
                    model = by_price[price]
                    local.levels[side][price] = (_level_json(p_text or str(price), s_text or "0"), model)
            local._sorted[side] = parsed
        for key in _META_KEYS:
            if key in event:
                local.set_meta(key, event[key])
        given = event.get("hash")
        stamp = event.get("timestamp")
        if texts_ok and isinstance(given, str) and isinstance(stamp, str):
            local.hash_checked = local.hash(stamp) == given
        return local, book

    def apply(self, change: LevelChange) -> None:
        """Set one level to its new total size (0 removes it)."""
        side = self.levels[change.side]
        if change.size == 0:
            side.pop(change.price, None)
        else:
            side[change.price] = (
                _level_json(change.price_text, change.size_text),
                BookLevel(change.price, change.size),
            )
        self._sorted.pop(change.side, None)
        self._wire.pop(change.side, None)

    def best(self, side: str) -> Decimal | None:
        """The best price of ``"bids"`` (highest) or ``"asks"`` (lowest)."""
        ordered = self.side(side)
        return ordered[0].price if ordered else None

    def side(self, side: str) -> tuple[BookLevel, ...]:
        """One side best first (bids descending, asks ascending)."""
        ordered = self._sorted.get(side)
        if ordered is None:
            levels = self.levels[side]
            ordered = tuple(levels[p][1] for p in sorted(levels, reverse=side == "bids"))
            self._sorted[side] = ordered
        return ordered

    def hash(self, timestamp: str) -> str | None:
        """The venue's hash of this book at ``timestamp``; ``None`` when a hashed field is unknown.

        Byte for byte what :func:`book_hash` computes, assembled from cached pieces: only the
        side that changed is re-joined.
        """
        meta = self.meta
        if self._tail is None:
            if any(k not in meta for k in _META_KEYS):
                return None
            self._tail = (
                f'"min_order_size":{_js(meta["min_order_size"])},"tick_size":{_js(meta["tick_size"])},'
                f'"neg_risk":{_js(meta["neg_risk"])},"last_trade_price":{_js(meta["last_trade_price"])}}}'
            )
        text = (
            f"{self._head}{_js(timestamp)},"
            f'"hash":"","bids":{self._wire_side("bids")},"asks":{self._wire_side("asks")},{self._tail}'
        )
        return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - the venue's content hash

    def set_meta(self, key: str, value: Any) -> None:
        """Change a hashed summary field (``tick_size``, ``last_trade_price``)."""
        self.meta[key] = value
        self._tail = None

    def _wire_side(self, side: str) -> str:
        # The wire order: bids ascending, asks descending, i.e. best last (reference 2.1).
        wire = self._wire.get(side)
        if wire is None:
            levels = self.levels[side]
            wire = "[" + ",".join(levels[lv.price][0] for lv in reversed(self.side(side))) + "]"
            self._wire[side] = wire
        return wire

    def model(self, timestamp: datetime | None) -> OrderBook:
        """The book as the core model (the REST parser's :class:`OrderBook`, levels best first).

        Streamed books are stamped with the time they were received (the core measures age
        on its own clock); the venue's ``timestamp`` only feeds the hash.
        """
        return OrderBook(
            exchange=EXCHANGE,
            market_id=self.market_id,
            outcome_id=self.asset_id,
            bids=self.side("bids"),
            asks=self.side("asks"),
            timestamp=timestamp or utcnow(),
            source=SOURCE,
        )


_META_KEYS = ("min_order_size", "tick_size", "neg_risk", "last_trade_price")


def _js(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _level_json(price: str, size: str) -> str:
    return f'{{"price":{_js(price)},"size":{_js(size)}}}'


def _is_notice(text: str) -> bool:
    # Anything that could be a damaged event (braces, binary, long) is treated as one.
    return len(text) <= 500 and text.isprintable() and not any(c in text for c in "{}[]")


def _notice(text: str) -> ExchangeError:
    """What the venue said in a frame that is no event (``INVALID OPERATION``, ``{"error": ...}``)."""
    said = text.strip()[:200]
    return ExchangeError(f"the stream said: {said}", exchange=EXCHANGE, venue_message=said)


def _best_agrees(local: Decimal | None, given: Decimal | None, empty: Decimal) -> bool:
    # An empty side may be reported as 0 (bids) / 1 (asks) or left out [UNCERTAIN].
    if given is None:
        return True
    if local is None:
        return given == empty
    return local == given


class Subscriptions:
    """The markets a stream follows: outcomes by condition id, condition id by token id.

    Changes replace the mappings whole (copy on write), so a decoder thread reading them
    never sees one half-updated. With ``learn`` (a replay that was given no markets) the
    books' own ``market``/``asset_id`` fields say what is followed.
    """

    def __init__(self, markets: Sequence[Market] = (), *, learn: bool = False) -> None:
        self.learn = learn
        self.markets: Mapping[str, Market] = {}
        self.outcomes: Mapping[str, tuple[str, ...]] = {}
        self.tokens: Mapping[str, str] = {}
        self.add(markets)

    def add(self, markets: Sequence[Market]) -> list[Market]:
        """Follow these markets; returns those that were new."""
        new = [m for m in {m.id: m for m in markets}.values() if m.id not in self.markets]
        if new:
            self.markets = {**self.markets, **{m.id: m for m in new}}
            self.outcomes = {**self.outcomes, **{m.id: tuple(o.id for o in m.outcomes) for m in new}}
            self.tokens = {**self.tokens, **{o.id: m.id for m in new for o in m.outcomes}}
        return new

    def remove(self, markets: Sequence[Market]) -> list[Market]:
        """Stop following these markets; returns those that were followed."""
        gone = [self.markets[m.id] for m in markets if m.id in self.markets]
        if gone:
            ids = {m.id for m in gone}
            self.markets = {k: v for k, v in self.markets.items() if k not in ids}
            self.outcomes = {k: v for k, v in self.outcomes.items() if k not in ids}
            self.tokens = {k: v for k, v in self.tokens.items() if v not in ids}
        return gone

    def note(self, market_id: str, asset_id: str) -> str | None:
        """The condition id followed for ``asset_id`` (learnt from a book when ``learn``)."""
        known = self.tokens.get(asset_id)
        if known is not None or not self.learn:
            return known
        self.outcomes = {**self.outcomes, market_id: (*self.outcomes.get(market_id, ()), asset_id)}
        self.tokens = {**self.tokens, asset_id: market_id}
        return market_id

    def assets(self, market_ids: Sequence[str] | None = None) -> list[str]:
        """Token ids of these markets (``None``: of all), in market order."""
        outcomes = self.outcomes
        chosen = (
            outcomes.values() if market_ids is None else [outcomes[m] for m in market_ids if m in outcomes]
        )
        return [asset for assets in chosen for asset in assets]


class MarketDecoder:
    """Decodes market-channel frames into books and stale/live reports (a :class:`FrameDecoder`).

    ``subscriptions`` are the markets followed (read live, so the stream may change them);
    frames of other assets are ignored. A market is live once every outcome has an accepted
    snapshot and no check failed since. ``resync`` (the live stream's redrive) is called
    with the assets to re-snapshot; a replay passes none.
    """

    def __init__(
        self,
        sink: FeedSink,
        subscriptions: Subscriptions,
        *,
        resync: Resync | None = None,
        check_hash: bool = True,
        check_best: bool = True,
    ) -> None:
        self.sink = sink
        self.subscriptions = subscriptions
        self.resync = resync
        self.check_hash = check_hash
        self.check_best = check_best
        self.books: dict[str, LocalBook] = {}
        #: Markets whose every outcome is whole; only these were reported live.
        self.whole: set[str] = set()
        self.hash_mismatches: dict[str, int] = {}
        self.hash_disabled: set[str] = set()
        self.tick_sizes: dict[str, Decimal] = {}
        self.last_trades: dict[str, Decimal] = {}
        #: When each market's books were last delivered (a snapshot or a checked update).
        self.updated: dict[str, datetime] = {}

    # -- what the stream calls -------------------------------------------------------------
    def discard(self, asset_ids: Sequence[str] | None, reason: str) -> None:
        """Forget these books (``None``: all) and report their markets stale; snapshots rebuild them."""
        tokens = self.subscriptions.tokens
        if asset_ids is None:
            self.books.clear()
            markets = sorted(self.whole)
        else:
            for asset in asset_ids:
                self.books.pop(asset, None)
            markets = sorted({tokens[a] for a in asset_ids if a in tokens} & self.whole)
        self.whole.difference_update(markets)
        if markets:
            self.sink.stale(EXCHANGE, markets, reason)

    def forget(self, asset_ids: Sequence[str]) -> None:
        """Drop the books of unsubscribed assets; their markets are no longer kept: stale."""
        for asset in asset_ids:
            self.books.pop(asset, None)
        gone = sorted(self.whole - set(self.subscriptions.outcomes))
        self.whole.difference_update(gone)
        if gone:
            self.sink.stale(EXCHANGE, gone, "unsubscribed")

    # -- decoding ----------------------------------------------------------------------------
    def feed(self, text: str, received_at: datetime) -> None:
        """Decode one frame; every failure is reported, none raised."""
        if text in (PONG, PING):
            return
        if _is_notice(text):
            # Short plain text is a notice (e.g. a refused operation), never a book: nothing in doubt.
            self.sink.error(_notice(text), "stream market frame")
            return
        try:
            events = decode_events(text)
        except InvalidResponse as exc:
            self.sink.error(exc, "stream market frame")
            self.doubt(None, f"unreadable frame: {exc}")  # it may have carried any book's change
            return
        for event in events:
            try:
                self._event(event, received_at)
            except ArbkitError as exc:
                error = exc if isinstance(exc, InvalidResponse) else invalid(f"stream event: {exc}")
                self.sink.error(error, "stream market frame")
                self.doubt(self._markets_of(event), f"bad {str(event.get('event_type'))[:20]} event: {error}")

    def _markets_of(self, event: Mapping[str, Any]) -> list[str] | None:
        tokens = self.subscriptions.tokens
        asset = event.get("asset_id")
        if isinstance(asset, str) and asset in tokens:
            return [tokens[asset]]
        market = event.get("market")
        if isinstance(market, str) and market in self.subscriptions.outcomes:
            return [market]
        return None  # nothing says which book it touched: all of them are in doubt

    def _event(self, event: Mapping[str, Any], received_at: datetime) -> None:
        kind = event.get("event_type")
        if kind is None and ("error" in event or "message" in event):
            self.sink.error(_notice(str(event.get("error") or event.get("message"))), "stream market frame")
            return
        if kind == "book":
            self._snapshot(event, received_at)
        elif kind == "price_change":
            self._price_change(event, received_at)
        elif kind == "tick_size_change":
            asset = str(event.get("asset_id") or "")
            tick = number(event.get("new_tick_size"), "new_tick_size")
            if not Decimal(0) < tick < Decimal(1):
                raise invalid(f"tick size {tick} is out of range")
            self.tick_sizes[asset] = tick
            if asset in self.books:
                self.books[asset].set_meta("tick_size", event.get("new_tick_size"))
        elif kind == "last_trade_price":
            asset = str(event.get("asset_id") or "")
            price = number(event.get("price"), "last trade price")
            if not Decimal(0) <= price <= Decimal(1):
                raise invalid(f"last trade price {price} is out of range")
            self.last_trades[asset] = price
            if asset in self.books and "last_trade_price" in self.books[asset].meta:
                self.books[asset].set_meta("last_trade_price", event.get("price"))
        elif kind == "market_resolved":
            self._resolved(event)
        # best_bid_ask, new_market and kinds added later carry no book state.

    def _snapshot(self, event: Mapping[str, Any], received_at: datetime) -> None:
        asset, market = event.get("asset_id"), event.get("market")
        market_id = None
        if isinstance(asset, str) and isinstance(market, str):
            market_id = self.subscriptions.note(market, asset)
        if market_id is None:
            return  # not (or no longer) subscribed
        local, book = LocalBook.from_snapshot(event)
        if book.market_id != market_id:
            raise invalid(f"book of {local.asset_id[:20]} names market {book.market_id[:20]}")
        if local.asset_id in self.hash_disabled:
            local.hash_checked = False
        self.books[local.asset_id] = local
        self.updated[market_id] = received_at
        self.sink.book(attrs.evolve(book, source=SOURCE, timestamp=received_at))
        self._maybe_live(market_id)

    def _price_change(self, event: Mapping[str, Any], received_at: datetime) -> None:
        changes = parse_level_changes(event)
        stamp = event.get("timestamp")
        tokens = self.subscriptions.tokens
        touched: dict[str, LevelChange] = {}
        for change in changes:
            local = self.books.get(change.asset_id)
            # No book: not subscribed, or waiting for its snapshot (a resync): the snapshot
            # to come supersedes this change (reference 8.2).
            if local is None or change.asset_id not in tokens:
                continue
            local.apply(change)
            touched[change.asset_id] = change  # the last entry of an asset states its top and hash
        lost: list[str] = []
        for asset, last in touched.items():
            problem = self._check(self.books[asset], last, stamp if isinstance(stamp, str) else None)
            if problem:
                lost.append(asset)
                reason = problem
                continue
            self.updated[tokens[asset]] = received_at
            self.sink.book(self.books[asset].model(received_at))
        if lost:
            self.doubt(sorted({tokens[a] for a in lost}), reason)

    def _check(self, local: LocalBook, last: LevelChange, stamp: str | None) -> str:
        if self.check_best:
            bid, ask = local.best("bids"), local.best("asks")
            if not _best_agrees(bid, last.best_bid, Decimal(0)) or not _best_agrees(
                ask, last.best_ask, Decimal(1)
            ):
                return (
                    f"book of {local.asset_id[:20]} disagrees with the venue's top "
                    f"(local {bid}/{ask}, venue {last.best_bid}/{last.best_ask})"
                )
        if not (self.check_hash and local.hash_checked and last.hash and stamp):
            return ""
        ours = local.hash(stamp)
        if ours is None or ours == last.hash:
            self.hash_mismatches.pop(local.asset_id, None)
            return ""
        count = self.hash_mismatches.get(local.asset_id, 0) + 1
        self.hash_mismatches[local.asset_id] = count
        if count >= HASH_MISMATCH_LIMIT:
            # Mismatch after mismatch, each right after a fresh snapshot, says the algorithm
            # differs rather than that changes were lost: stop trusting this asset's hash (ref 2.8).
            self.hash_disabled.add(local.asset_id)
            self.sink.error(
                invalid(f"book hash of {local.asset_id[:20]} never reproduces; hash checks off for it"),
                "stream book hash",
            )
        return (
            f"book hash of {local.asset_id[:20]} differs ({ours[:10]} != {last.hash[:10]}): a change was lost"
        )

    def _resolved(self, event: Mapping[str, Any]) -> None:
        market = event.get("market")
        if not isinstance(market, str) or market not in self.subscriptions.outcomes:
            return
        winner = event.get("winning_asset_id")
        self.sink.market(
            MarketEvent(
                exchange=EXCHANGE,
                market_id=market,
                status=MarketStatus.RESOLVED,
                winner=winner if isinstance(winner, str) and winner else None,
                timestamp=parse_time(event.get("timestamp")),
                raw=json.dumps(event, default=str)[:2000],
            )
        )

    # -- stale / live ------------------------------------------------------------------------
    def doubt(self, market_ids: list[str] | None, reason: str) -> None:
        """Books of these markets (``None``: all) are in doubt: discard them and resynchronise."""
        assets = self.subscriptions.assets(market_ids)
        self.discard(None if market_ids is None else assets, reason)
        if self.resync is not None and assets:
            self.resync(assets, reason)

    def _maybe_live(self, market_id: str) -> None:
        outcomes = self.subscriptions.outcomes.get(market_id)
        if not outcomes or market_id in self.whole:
            return
        if all(asset in self.books for asset in outcomes):
            self.whole.add(market_id)
            self.sink.live(EXCHANGE, [market_id])


class UserDecoder:
    """Decodes user-channel frames into :class:`Order` and :class:`Fill` (a :class:`FrameDecoder`).

    ``owner`` is our API key and ``address`` our maker address: a trade whose ``owner`` is us
    is our taker fill, otherwise our part is among its ``maker_orders``. The venue re-sends a
    trade at each status (MATCHED, MINED, CONFIRMED); a fill is reported once. A trade that
    FAILED after its fill was reported is reported as an error (its money never moves).
    Fees are priced from ``fees`` (condition id -> schedule), as the REST client does.
    """

    def __init__(
        self,
        sink: FeedSink,
        *,
        owner: str,
        address: str,
        fees: Callable[[str], FeeSchedule | None] = lambda market_id: None,
    ) -> None:
        self.sink = sink
        self.owner = owner
        self.address = address
        self.fees = fees
        self.seen: set[str] = set()

    def feed(self, text: str, received_at: datetime) -> None:
        """Decode one frame; every failure is reported, none raised."""
        if text in (PONG, PING):
            return
        if _is_notice(text):
            self.sink.error(_notice(text), "stream user frame")
            return
        try:
            events = decode_events(text)
        except InvalidResponse as exc:
            self.sink.error(exc, "stream user frame")
            return
        for event in events:
            try:
                self._event(event)
            except ArbkitError as exc:
                error = exc if isinstance(exc, InvalidResponse) else invalid(f"stream user event: {exc}")
                self.sink.error(error, "stream user frame")

    def _event(self, event: Mapping[str, Any]) -> None:
        kind = event.get("event_type")
        if kind == "order":
            self.sink.order(parse_open_order(event))
        elif kind == "trade":
            self._trade(event)

    def _trade(self, event: Mapping[str, Any]) -> None:
        status = str(event.get("status", "")).upper().removeprefix("TRADE_STATUS_")
        # A replay may not know our key: the channel only carries our trades, and trade_owner
        # names the key it was sent to [UNCERTAIN on the venue; the sandbox sends it so].
        owner = self.owner or str(event.get("trade_owner") or "")
        if not owner:
            raise invalid(f"trade {str(event.get('id'))[:40]}: cannot tell whose it is (no API key known)")
        # Whose trade it is comes from its owner, not trader_side [UNCERTAIN whether the venue
        # sets trader_side per recipient on the user channel].
        view = {**event, "trader_side": "TAKER" if event.get("owner") == owner else "MAKER"}
        # An empty address must not match the empty maker_address of someone else's entry.
        address = self.address or "\x00"
        if status == "FAILED":
            view["status"] = "MATCHED"  # read it to know which fills it carried
            for fill in parse_trades([view], owner=owner, address=address):
                if fill.fill_id in self.seen:
                    self.sink.error(
                        ExchangeError(
                            f"trade {fill.fill_id} failed after matching: the fill never settles",
                            exchange=EXCHANGE,
                        ),
                        "stream user trade",
                    )
            return
        for fill in parse_trades([view], owner=owner, address=address):
            key = fill.fill_id or f"{fill.order_id}:{fill.timestamp.isoformat()}"
            if key in self.seen:
                continue
            self.seen.add(key)
            self.sink.fill(self.priced(fill))

    def priced(self, fill: Fill) -> Fill:
        """The fill with its fee from the market's schedule (unchanged when the schedule is unknown)."""
        schedule = self.fees(fill.market_id)
        if schedule is None:
            return fill
        return attrs.evolve(fill, fee=schedule.fee(fill.price, fill.size, taker=fill.is_taker))
