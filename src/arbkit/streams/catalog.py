"""Markets and matches as JSON, so a recording carries what its frames are about.

A replay needs the markets (outcomes, fee schedules, lots, status) and the matches the
recording session traded, exactly as they were: re-matching later could pair differently
(a pairs file changed, a generic proposal confirmed). Fee schedules of :mod:`arbkit.engine.fees`
are written by class and field; an adapter's own schedule class that is not one of them
is written as unknown (``null``), and such a market is never traded in replay.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

from arbkit.engine import fees as fee_module
from arbkit.engine.matching.model import MarketMatch, OutcomeGroup, OutcomeRef
from arbkit.errors import ValidationError
from arbkit.games import GameInfo
from arbkit.models import Market, Outcome

__all__ = [
    "catalog_from_json",
    "catalog_to_json",
    "game_from_json",
    "game_to_json",
    "market_from_json",
    "market_to_json",
]

logger = logging.getLogger(__name__)

_FEES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (fee_module.NoFees, fee_module.QuadraticFee, fee_module.PowerFee)
}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def market_to_json(market: Market) -> dict[str, Any]:
    """One market as JSON-able data (Decimals as strings)."""
    fees: dict[str, Any] | None = None
    if market.fees is not None and type(market.fees).__name__ in _FEES:
        fees = {"type": type(market.fees).__name__, **_plain(attrs.asdict(market.fees))}  # type: ignore[arg-type]
    elif market.fees is not None:
        logger.warning("fee schedule %s of %s is not recordable", type(market.fees).__name__, market.id)
    return {
        "exchange": market.exchange,
        "id": market.id,
        "title": market.title,
        "outcomes": [[o.id, o.name] for o in market.outcomes],
        "status": str(market.status),
        "close_time": _plain(market.close_time),
        "tick_size": str(market.tick_size),
        "min_order_size": str(market.min_order_size),
        "size_increment": str(market.size_increment),
        "cost_increment": None if market.cost_increment is None else str(market.cost_increment),
        "min_order_cost": str(market.min_order_cost),
        "fees": fees,
        "event_id": market.event_id,
        "event_title": market.event_title,
        "start_time": _plain(market.start_time),
        "rules": market.rules,
        "meta": _plain({k: v for k, v in market.meta.items() if k != "game"}),
        "game": None if market.game is None else game_to_json(market.game),
    }


#: GameInfo fields read back from their JSON text (the rest are strings, lists or mappings).
_GAME_DATES = ("date", "scheduled_date")
_GAME_TIMES = ("start_time", "expected_end")


def game_to_json(game: GameInfo) -> dict[str, Any]:
    """A market's :class:`GameInfo` as JSON-able data (dates ISO, the line a string)."""
    return {field.name: _plain(getattr(game, field.name)) for field in attrs.fields(GameInfo)}


def game_from_json(data: Mapping[str, Any]) -> GameInfo:
    """The :class:`GameInfo` :func:`game_to_json` wrote (:class:`ValidationError` on bad data)."""
    fields = dict(data)
    for name in _GAME_DATES:
        if fields.get(name) is not None:
            fields[name] = date.fromisoformat(fields[name])
    for name in _GAME_TIMES:
        fields[name] = _time(fields.get(name))
    if fields.get("line") is not None:
        fields["line"] = Decimal(fields["line"])
    return GameInfo(**fields)


def market_from_json(data: Mapping[str, Any]) -> Market:
    """The market :func:`market_to_json` wrote; :class:`ValidationError` on bad data."""
    try:
        fees_data = data.get("fees")
        schedule = None
        if fees_data is not None:
            fields = dict(fees_data)
            cls = _FEES[fields.pop("type")]
            if "exponent" in fields:
                fields["exponent"] = int(fields["exponent"])
            schedule = cls(**fields)
        return Market(
            exchange=data["exchange"],
            id=data["id"],
            title=data["title"],
            outcomes=[Outcome(o[0], o[1]) for o in data["outcomes"]],
            status=data["status"],
            close_time=_time(data.get("close_time")),
            tick_size=data["tick_size"],
            min_order_size=data["min_order_size"],
            size_increment=data["size_increment"],
            cost_increment=data.get("cost_increment"),  # these two are absent from older recordings
            min_order_cost=data.get("min_order_cost", "0"),
            fees=schedule,
            event_id=data.get("event_id"),
            event_title=data.get("event_title"),
            start_time=_time(data.get("start_time")),
            rules=data.get("rules", ""),
            # A recording made before ``Market.game`` holds the game as text in meta: not read.
            meta={k: v for k, v in (data.get("meta") or {}).items() if k != "game"},
            game=game_from_json(data["game"]) if data.get("game") else None,
        )
    except ValidationError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ValidationError(f"bad recorded market: {type(exc).__name__}: {exc}") from None


def catalog_to_json(matches: Iterable[MarketMatch]) -> dict[str, Any]:
    """The matches and every market they use, as one JSON-able object."""
    matches = list(matches)
    markets: dict[tuple[str, str], Market] = {}
    for match in matches:
        for market in match.markets:
            markets[(market.exchange, market.id)] = market
    return {
        "markets": [market_to_json(m) for _, m in sorted(markets.items())],
        "matches": [
            {
                "method": match.method,
                "title": match.title,
                "confidence": str(match.confidence),
                "confirmed": match.confirmed,
                "differences": list(match.differences),
                "refusals": list(match.refusals),
                "groups": [
                    [group.name, [[r.market.exchange, r.market.id, r.outcome_id] for r in group.refs]]
                    for group in match.groups
                ],
            }
            for match in matches
        ],
    }


def catalog_from_json(data: Mapping[str, Any]) -> list[MarketMatch]:
    """The matches :func:`catalog_to_json` wrote; :class:`ValidationError` on bad data."""
    try:
        markets = {(m.exchange, m.id): m for m in (market_from_json(d) for d in data["markets"])}
        return [
            MarketMatch(
                method=item["method"],
                title=item.get("title", ""),
                confidence=item["confidence"],
                confirmed=bool(item.get("confirmed", True)),
                differences=item.get("differences", ()),
                refusals=item.get("refusals", ()),
                groups=[
                    OutcomeGroup(name, [OutcomeRef(markets[(ex, mid)], oid) for ex, mid, oid in refs])
                    for name, refs in item["groups"]
                ],
            )
            for item in data["matches"]
        ]
    except ValidationError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"bad recorded catalog: {type(exc).__name__}: {exc}") from None


def dumps(data: Any) -> str:
    """Compact JSON (the recording's line format)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
