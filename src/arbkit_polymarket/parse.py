"""Polymarket market-data payloads -> arbkit models, one function per payload.

Every number goes through :func:`arbkit_polymarket.units.number` (``Decimal``; strings such
as ``".48"`` and ``"0.920"`` occur, and Gamma mixes JSON numbers and strings). A payload that is not
what the API promises raises :class:`arbkit.errors.InvalidResponse`, never
``KeyError``/``TypeError``/``ValueError``.

Wire facts (reference polymarket.md): CLOB book arrays put the best bid and best ask
**last** (section 2.1), which is why books go through :meth:`OrderBook.build`, which
sorts; Gamma's ``outcomes``/``clobTokenIds``/``outcomePrices`` are JSON strings inside
JSON (section 3.3); resolution reads CLOB ``tokens[].winner`` first, then Gamma
``umaResolutionStatus``/``outcomePrices`` (section 3.4).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs

from arbkit.engine.fees import FeeSchedule, NoFees, PowerFee
from arbkit.errors import ArbkitError, InvalidResponse
from arbkit.models import (
    Market,
    MarketStatus,
    OrderBook,
    Outcome,
    Resolution,
    ResolutionState,
)
from arbkit.values import shared_text
from arbkit_polymarket.games import game_info
from arbkit_polymarket.units import (
    MARKETABLE_COST_STEP,
    MIN_MARKETABLE_NOTIONAL,
    SHARE_STEP,
    number,
    opt_number,
)

__all__ = [
    "EXCHANGE",
    "ClobMarketInfo",
    "decode_list",
    "parse_book",
    "parse_books",
    "parse_clob_market_info",
    "parse_clob_resolution",
    "parse_event",
    "parse_fee_details",
    "parse_gamma_fees",
    "parse_gamma_market",
    "parse_gamma_resolution",
    "parse_time",
]

EXCHANGE = "polymarket"
ONE = Decimal(1)
ZERO = Decimal(0)
HALF = Decimal("0.5")


def invalid(message: str) -> InvalidResponse:
    """An :class:`InvalidResponse` tagged with this exchange."""
    return InvalidResponse(message, exchange=EXCHANGE)


def obj(payload: Any, what: str) -> Mapping[str, Any]:
    """``payload`` if it is a JSON object, else ``InvalidResponse``."""
    if not isinstance(payload, Mapping):
        raise invalid(f"{what} is not a JSON object")
    return payload


def seq(payload: Any, what: str) -> Sequence[Any]:
    """``payload`` if it is a JSON array, else ``InvalidResponse``."""
    if not isinstance(payload, list):
        raise invalid(f"{what} is not a JSON array")
    return payload


def text(payload: Mapping[str, Any], key: str, what: str) -> str:
    """A required non-empty string field."""
    value = payload.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise invalid(f"{what}: {key} is missing or not a string")
    return value


def decode_list(value: Any, what: str) -> list[Any]:
    """A Gamma array that may arrive JSON-encoded inside a string (decode twice)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_float=Decimal)
        except ValueError:
            raise invalid(f"{what} is not a JSON-encoded array") from None
    if not isinstance(value, list):
        raise invalid(f"{what} is not an array")
    return value


def parse_time(value: Any) -> datetime | None:
    """Gamma/CLOB dates: ISO with ``Z``, ``"2026-04-05 19:37:33+00"``, a bare date, or ms/seconds."""
    if value is None or value == "":
        return None
    if (isinstance(value, int | Decimal) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.isdigit()
    ):
        stamp = number(value, "timestamp")  # bounded first: int(Decimal("1e999999")) takes seconds
        try:
            seconds = int(stamp)
            if seconds > 10**11:  # milliseconds
                return datetime.fromtimestamp(seconds / 1000, UTC)
            return datetime.fromtimestamp(seconds, UTC)
        except (ValueError, OverflowError, OSError):  # NaN, or a year outside 1..9999
            raise invalid(f"timestamp {str(value)[:40]!r} is out of range") from None
    if not isinstance(value, str):
        raise invalid(f"date {value!r} is not a string")
    candidate = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise invalid(f"unreadable date {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


# -- fees -----------------------------------------------------------------------------------
#: One (immutable) schedule per distinct ``(rate, exponent, taker only)``: thousands of markets
#: share a few, and the engine's per-schedule caches then hold a few entries, not one per market.
#: The rate is keyed by its text, so ``0.03`` and ``0.030`` stay as the venue wrote them.
_FEES: dict[tuple[str, int, bool], FeeSchedule] = {}
_NO_FEES = NoFees()


def parse_fee_details(fd: Any) -> FeeSchedule:
    """``/clob-markets`` ``fd {r, e, to}``; a missing ``fd`` means no platform fee (section 7)."""
    if fd is None:
        return _NO_FEES
    fd = obj(fd, "fee details")
    rate = number(fd.get("r"), "fee rate")
    exponent = number(fd.get("e", 1), "fee exponent")
    if exponent != exponent.to_integral_value() or rate < 0:
        raise invalid(f"fee exponent {exponent} / rate {rate} not usable")
    if rate == 0:
        return _NO_FEES
    key = (str(rate), int(exponent), _flag(fd.get("to", False)))
    found = _FEES.get(key)
    if found is None:
        try:
            found = PowerFee(rate=rate, exponent=key[1], taker_only=key[2])
        except ArbkitError as exc:
            raise invalid(f"fee details: {exc}") from None
        if len(_FEES) > 1_000:
            _FEES.clear()
        _FEES[key] = found
    return found


def parse_gamma_fees(market: Mapping[str, Any]) -> FeeSchedule | None:
    """Gamma's ``feeSchedule {rate, exponent, takerOnly}``; ``None`` when Gamma does not say."""
    schedule = market.get("feeSchedule")
    if isinstance(schedule, Mapping) and schedule.get("rate") is not None:
        return parse_fee_details(
            {
                "r": schedule.get("rate"),
                "e": schedule.get("exponent", 1),
                "to": schedule.get("takerOnly", True),
            }
        )
    if market.get("feesEnabled") is False:
        return _NO_FEES
    return None


class ClobMarketInfo:
    """``GET /clob-markets/{condition_id}``: the CLOB's trading parameters of one market."""

    def __init__(
        self,
        condition_id: str,
        tokens: list[tuple[str, str]],
        tick_size: Decimal,
        min_order_size: Decimal,
        neg_risk: bool,
        fees: FeeSchedule,
        accepting_orders: bool,
        seconds_delay: int,
    ) -> None:
        self.condition_id = condition_id
        self.tokens = tokens
        self.tick_size = tick_size
        self.min_order_size = min_order_size
        self.neg_risk = neg_risk
        self.fees = fees
        self.accepting_orders = accepting_orders
        self.seconds_delay = seconds_delay


def parse_clob_market_info(payload: Any) -> ClobMarketInfo:
    """Read the compact keys of ``/clob-markets`` (``nr`` and ``fd`` are omitted when false/absent)."""
    data = obj(payload, "clob-markets response")
    tokens = []
    for token in seq(data.get("t", []), "clob-markets tokens"):
        token = obj(token, "clob-markets token")
        tokens.append((text(token, "t", "clob-markets token"), str(token.get("o", ""))))
    return ClobMarketInfo(
        condition_id=text(data, "c", "clob-markets"),
        tokens=tokens,
        tick_size=number(data.get("mts", "0.01"), "mts"),
        min_order_size=number(data.get("mos", 0), "mos"),
        neg_risk=_flag(data.get("nr", False)),
        fees=parse_fee_details(data.get("fd")),
        accepting_orders=_flag(data.get("ao", True)),
        seconds_delay=int(number(data.get("sd", 0), "sd")),
    )


# -- Gamma markets ------------------------------------------------------------------------------
def _status(market: Mapping[str, Any]) -> MarketStatus:
    if _flag(market.get("closed")):
        if market.get("umaResolutionStatus") == "resolved":
            return MarketStatus.RESOLVED
        return MarketStatus.CLOSED
    if market.get("active") is False:
        return MarketStatus.UNOPENED
    if market.get("acceptingOrders") is False or market.get("enableOrderBook") is False:
        return MarketStatus.PAUSED
    return MarketStatus.OPEN


_META_FIELDS = (
    "slug",
    "sportsMarketType",
    "gameStartTime",
    "eventStartTime",
    "secondsDelay",
    "clearBookOnStart",
    "umaResolutionStatus",
    "negRiskMarketID",
    "questionID",
    "groupItemTitle",
    "gameId",
    "feeType",
    "acceptingOrders",
    "line",
    "version",
)


def parse_gamma_market(payload: Any, event: Mapping[str, Any] | None = None) -> Market:
    """One Gamma market (optionally with the event it was embedded in) as a core :class:`Market`.

    Outcome ``i`` is ``Outcome(token_id[i], outcomes[i])`` in Gamma's order. Protocol-V2
    markets (``version: "v2"``) take their ids from ``positionIds`` (section 3.3).
    """
    data = obj(payload, "Gamma market")
    condition_id = text(data, "conditionId", "Gamma market")
    labels = decode_list(data.get("outcomes"), "outcomes")
    if data.get("version") == "v2":
        token_ids = decode_list(data.get("positionIds"), "positionIds")
    else:
        token_ids = decode_list(data.get("clobTokenIds"), "clobTokenIds")
    if not token_ids or len(labels) != len(token_ids):
        raise invalid(f"market {condition_id}: {len(labels)} outcomes but {len(token_ids)} token ids")
    if event is None:
        events = data.get("events")
        if isinstance(events, list) and events and isinstance(events[0], Mapping):
            event = events[0]
    prices = [shared_text(str(p)) for p in decode_list(data.get("outcomePrices"), "outcomePrices")]
    meta: dict[str, Any] = {k: data[k] for k in _META_FIELDS if data.get(k) is not None}
    meta["gamma_id"] = str(data.get("id", ""))
    meta["neg_risk"] = _flag(data.get("negRisk"))
    meta["outcome_prices"] = tuple(prices)
    if event is not None:
        meta["event_slug"] = event.get("slug")
    tick = opt_number(data.get("orderPriceMinTickSize"), "orderPriceMinTickSize")
    outcomes: tuple[Outcome, ...] = tuple(
        Outcome(str(t), str(label)) for t, label in zip(token_ids, labels, strict=True)
    )
    start = parse_time(data.get("gameStartTime") or data.get("eventStartTime"))
    try:
        market = Market(
            exchange=EXCHANGE,
            id=condition_id,
            title=str(data.get("question") or data.get("title") or ""),
            outcomes=outcomes,
            status=_status(data),
            close_time=parse_time(data.get("endDate") or data.get("endDateIso")),
            tick_size=tick if tick is not None else Decimal("0.01"),
            min_order_size=opt_number(data.get("orderMinSize"), "orderMinSize") or ZERO,
            size_increment=SHARE_STEP,  # shares are traded in hundredths (reference 5.5)
            cost_increment=MARKETABLE_COST_STEP,  # and a crossing buy spends whole cents,
            min_order_cost=MIN_MARKETABLE_NOTIONAL,  # at least a dollar
            fees=parse_gamma_fees(data),
            event_id=str(event.get("slug") or event.get("id")) if event else None,
            event_title=str(event.get("title")) if event and event.get("title") else None,
            start_time=start,
            rules=str(data.get("description") or ""),
            meta=meta,
        )
    except ArbkitError as exc:
        raise invalid(f"market {condition_id}: {exc}") from None
    game = game_info(market, event)
    return market if game is None else attrs.evolve(market, game=game)


def parse_event(payload: Any) -> list[Market]:
    """The markets embedded in one Gamma event."""
    event = obj(payload, "Gamma event")
    return [parse_gamma_market(m, event) for m in seq(event.get("markets", []), "event markets")]


# -- books ----------------------------------------------------------------------------------
def _levels(raw: Any, what: str) -> list[tuple[Decimal, Decimal]]:
    levels = []
    for level in seq(raw if raw is not None else [], what):
        level = obj(level, what)
        size = number(level.get("size"), f"{what} size")
        if size > 0:  # an empty level carries no liquidity
            levels.append((number(level.get("price"), f"{what} price"), size))
    return levels


def parse_book(payload: Any) -> OrderBook:
    """One ``OrderBookSummary`` (``GET /book`` or an element of ``POST /books``)."""
    data = obj(payload, "order book")
    condition_id = text(data, "market", "order book")
    token_id = text(data, "asset_id", "order book")
    try:
        return OrderBook.build(
            EXCHANGE,
            condition_id,
            token_id,
            # Best bid and best ask are the LAST elements on the wire (reference 2.1); build() sorts.
            bids=_levels(data.get("bids"), "bids"),
            asks=_levels(data.get("asks"), "asks"),
            timestamp=parse_time(data.get("timestamp")),
        )
    except ArbkitError as exc:
        raise invalid(f"book of {token_id[:20]}: {exc}") from None


def parse_books(payload: Any) -> list[OrderBook]:
    """The array answered by ``POST /books``."""
    return [parse_book(item) for item in seq(payload, "books response")]


# -- resolution ---------------------------------------------------------------------------------
def parse_clob_resolution(payload: Any, market: Market) -> Resolution | None:
    """CLOB ``/markets/{condition_id}``: resolved when one ``tokens[].winner`` is true.

    A closed 50/50 market pays 0.5 each. ``None`` when the CLOB does not say (fall back to Gamma).
    """
    data = obj(payload, "CLOB market")
    tokens = [obj(t, "CLOB token") for t in seq(data.get("tokens", []), "CLOB tokens")]
    winners = [text(t, "token_id", "CLOB token") for t in tokens if t.get("winner") is True]
    ids = [text(t, "token_id", "CLOB token") for t in tokens]
    if len(winners) == 1:
        return Resolution(
            EXCHANGE,
            market.id,
            ResolutionState.RESOLVED,
            {t: ONE if t == winners[0] else ZERO for t in ids},
            raw_result=f"winner {winners[0]}",
        )
    if _flag(data.get("closed")) and _flag(data.get("is_50_50_outcome")):
        return Resolution(
            EXCHANGE, market.id, ResolutionState.RESOLVED, dict.fromkeys(ids, HALF), raw_result="50-50"
        )
    return None


def parse_gamma_resolution(payload: Any, market: Market) -> Resolution:
    """Gamma fallback: ``closed`` + ``umaResolutionStatus == "resolved"`` + ``outcomePrices``.

    ``["0","0"]`` on a closed market is a void market, never a winner.
    """
    data = obj(payload, "Gamma market")
    ids = [o.id for o in market.outcomes]
    prices = [number(p, "outcomePrices") for p in decode_list(data.get("outcomePrices"), "outcomePrices")]
    status = str(data.get("umaResolutionStatus") or "")
    pending = Resolution(EXCHANGE, market.id, ResolutionState.PENDING, raw_result=status)
    if not _flag(data.get("closed")) or len(prices) != len(ids):
        return pending
    if all(p == ZERO for p in prices):
        return Resolution(EXCHANGE, market.id, ResolutionState.VOID, raw_result="void: outcomePrices all 0")
    if status != "resolved":
        return pending
    if prices.count(ONE) == 1 and all(p in (ZERO, ONE) for p in prices):
        return Resolution(
            EXCHANGE,
            market.id,
            ResolutionState.RESOLVED,
            dict(zip(ids, prices, strict=True)),
            raw_result=status,
        )
    if all(p == HALF for p in prices):
        return Resolution(
            EXCHANGE, market.id, ResolutionState.RESOLVED, dict.fromkeys(ids, HALF), raw_result="50-50"
        )
    return pending
