"""The JSON API: trading mode, state and reset, PolyMix's scanning endpoints, health.

Reads are open; every mutating endpoint (``POST``) needs the bearer token when
``ARBKIT_API_TOKEN`` is set. Bad parameters and bad JSON get a 4xx JSON answer with a
message (the app's error handlers turn every HTTP error into ``{"error", "message"}``).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest, Conflict, Forbidden, NotFound, ServiceUnavailable

from arbkit.errors import ArbkitError, RiskRejected, TradeNotFound, ValidationError
from arbkit.models import to_decimal, utcnow
from arbkit.trading.records import TradeStatus

from .auth import require_token
from .serialize import match_view, opportunity_view, reconcile_view, state_view, trade_view
from .service import PolymixService

__all__ = ["bp"]

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_LIMIT = 1000
#: This API's OpenAPI 3 description, kept beside the code it describes.
OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")


def _service() -> PolymixService:
    service: PolymixService = current_app.extensions["polymix"]
    return service


def _limit(default: int) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise BadRequest(f"limit must be a whole number between 1 and {MAX_LIMIT}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number between 1 and {MAX_LIMIT}")
    return value


def _json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 400 saying what is wrong with it."""
    if not request.data:
        return {}
    if not request.is_json:
        received = request.headers.get("Content-Type") or "no Content-Type header"
        raise BadRequest(
            f"send the body as JSON with Content-Type: application/json "
            f"(received {received}, {len(request.data)} bytes)"
        )
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("the body is not valid JSON")
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


@bp.get("/trading/mode")
def trading_mode() -> ResponseReturnValue:
    """``{"mode": "paper"|"live", "label", "live", "trading_enabled", "exchanges"}``."""
    service = _service()
    return jsonify(
        mode=service.mode,
        label=service.label,
        live=service.mode == "live",
        trading_enabled=service.bot.trade_enabled,
        exchanges=list(service.bot.scanner.exchanges),
    )


@bp.get("/trading/state")
def trading_state() -> ResponseReturnValue:
    """Balance, open positions, newest trades (``?limit=``, default 50), P&L, today, limits, errors."""
    service = _service()
    view = state_view(service.bot.state(), service.settings, history_limit=_limit(50))
    view["trading_enabled"] = service.bot.trade_enabled
    view["controls"] = service.bot.control_state().to_dict()
    view["reconciliation"] = (
        None if service.last_reconcile is None else reconcile_view(service.last_reconcile)
    )
    return jsonify(view)


@bp.post("/trading/pause")
@require_token
def trading_pause() -> ResponseReturnValue:
    """Stop new trades (kept across restarts) until resumed. Body ``{"reason": "..."}`` (optional)."""
    reason = _reason("paused from the API")
    state = _service().bot.pause(reason)
    return jsonify(state.to_dict())


@bp.post("/trading/resume")
@require_token
def trading_resume() -> ResponseReturnValue:
    """Trade again after a pause or a kill."""
    state = _service().bot.resume()
    return jsonify(state.to_dict())


@bp.post("/trading/kill")
@require_token
def trading_kill() -> ResponseReturnValue:
    """Cancel every resting order on every venue and stop trading until resumed.

    Body ``{"confirm": "kill", "reason": "..."}``: the confirmation guards against a stray click.
    """
    body = _json_object()
    if body.get("confirm") != "kill":
        raise BadRequest('send {"confirm": "kill"} to cancel every resting order and stop trading')
    service = _service()
    cancelled = service.bot.kill(_reason("killed from the API", body))
    view = service.bot.control_state().to_dict()
    view["cancelled"] = cancelled
    return jsonify(view)


@bp.post("/trading/flatten")
@require_token
def trading_flatten() -> ResponseReturnValue:
    """Sell back what one trade holds at the venues' best bids, within a loss bound.

    Body ``{"trade_id": "...", "confirm": "flatten", "max_loss": "5.00"}``; ``max_loss`` (dollars,
    optional) bounds the loss on the contracts sold even if every sale fills at its limit;
    without it each leg sells no lower than its entry price less the unwind allowance.
    404 for an unknown trade, 409 when it holds nothing or the bound cannot be kept at the
    current bids (nothing is sent then), 503 when a venue cannot be reached.
    """
    body = _json_object()
    if body.get("confirm") != "flatten":
        raise BadRequest('send {"trade_id": "...", "confirm": "flatten"} to sell back a trade\'s position')
    trade_id = body.get("trade_id")
    if not isinstance(trade_id, str) or not trade_id or len(trade_id) > 100:
        raise BadRequest("trade_id must be the id of a trade (a string)")
    max_loss = _money(body.get("max_loss"), "max_loss")
    try:
        trade = _service().bot.flatten(trade_id, max_loss=max_loss)
    except TradeNotFound as exc:
        raise NotFound(str(exc)) from None
    except (RiskRejected, ValidationError) as exc:
        raise Conflict(str(exc)) from None
    except ArbkitError as exc:  # a venue could not be asked
        raise ServiceUnavailable(f"not flattened: {exc}") from None
    return jsonify(trade_view(trade))


def _money(raw: object, name: str) -> Decimal | None:
    """An optional dollar amount from JSON: a string or an integer (never a float), zero or more."""
    if raw is None:
        return None
    try:
        value = to_decimal(raw, field=name)
    except ValidationError as exc:
        raise BadRequest(f'{exc} (send a decimal string such as "5.00")') from None
    if value < 0 or value > Decimal(10**9):
        raise BadRequest(f"{name} must be between 0 and 1000000000 dollars")
    return value


def _reason(default: str, body: dict[str, Any] | None = None) -> str:
    data = _json_object() if body is None else body
    reason = data.get("reason", default)
    if not isinstance(reason, str) or len(reason) > 200:
        raise BadRequest("reason must be a string of at most 200 characters")
    return reason.strip() or default


@bp.post("/trading/reset")
@require_token
def trading_reset() -> ResponseReturnValue:
    """Start over from the initial balance. Body ``{"confirm": TRADING_RESET_CONFIRM_KEY}``.

    Refused when no confirmation key is configured, and in live mode unless the service
    was started with live resets allowed.
    """
    service = _service()
    confirm = _json_object().get("confirm")
    if not isinstance(confirm, str) or not confirm:
        raise BadRequest('send {"confirm": "<TRADING_RESET_CONFIRM_KEY>"}')
    if service.mode == "live" and not service.allow_live_reset:
        raise Forbidden("reset is refused in live mode (start the service with --allow-live-reset)")
    key = service.settings.reset_confirm_key
    if key is None:
        raise Forbidden("reset is disabled: set TRADING_RESET_CONFIRM_KEY")
    if not key.matches(confirm):  # constant time (hmac.compare_digest)
        raise Forbidden("wrong confirmation key")
    try:
        service.bot.trading.reset(confirm)
    except ValidationError as exc:  # e.g. live trading with open positions
        raise Conflict(str(exc)) from None
    state = service.bot.state()
    return jsonify(reset=True, mode=service.mode, balance=str(state.balance))


def _streamed_opportunities(service: PolymixService) -> ResponseReturnValue:
    """Streaming: the opportunities on the books now, and those gone with their exact lifetimes."""
    session = service.bot.streaming
    assert session is not None
    limit = _limit(100)
    lives = session.lifetimes()
    opened = {life.key: life.opened_at for life in lives if life.closed_at is None}
    gone = sorted(
        (life for life in lives if life.closed_at is not None), key=lambda life: life.opened_ns, reverse=True
    )
    views = []
    now = utcnow()
    for opportunity in session.opportunities()[:limit]:
        view = opportunity_view(opportunity)
        view["first_seen"] = (opened.get(opportunity.key) or now).isoformat()
        views.append(view)
    recent = [
        {
            "key": life.key,
            "title": life.title,
            "first_seen": life.opened_at.isoformat(),
            "last_seen": (life.closed_at or life.opened_at).isoformat(),
            "gone_at": None if life.closed_at is None else life.closed_at.isoformat(),
            "lived_seconds": round(life.seconds or 0.0, 3),
            "best_profit": str(life.best.profit),
            "best_roi_percent": str(life.best.roi_percent.quantize(Decimal("0.01"))),
        }
        for life in gone[:limit]
    ]
    return jsonify(
        opportunities=views,
        recent=recent,
        scanned_at=now.isoformat(),
        scan_seconds=None,
        markets=sum(len(m.markets) for m in session.engine.matches),
        matches=len(session.engine.matches),
        errors=[],
        source="stream",
    )


def _opportunities() -> ResponseReturnValue:
    service = _service()
    if service.streaming:
        return _streamed_opportunities(service)
    report = service.last_report
    scan = None if report is None else report.scan
    limit = _limit(100)
    recent = [life.to_dict() for life in service.recent_opportunities()[:limit]]
    if scan is None:
        return jsonify(
            opportunities=[],
            source="scan",
            scanned_at=None,
            scan_seconds=None,
            markets=0,
            matches=0,
            errors=[],
            recent=recent,
        )
    views = []
    for opportunity in scan.opportunities[:limit]:
        view = opportunity_view(opportunity)
        first = service.first_seen(opportunity.key) or scan.started_at
        view["first_seen"] = first.isoformat()
        views.append(view)
    return jsonify(
        opportunities=views,
        recent=recent,
        source="scan",
        scanned_at=scan.started_at.isoformat(),
        scan_seconds=round(scan.seconds, 4),
        markets=scan.market_count,
        matches=len(scan.matches),
        errors=[{"venue": v, "operation": op, "message": m} for v, op, m in scan.errors],
    )


@bp.get("/opportunities")
def opportunities() -> ResponseReturnValue:
    """The last scan's opportunities, best first (``?limit=``), and when it ran."""
    return _opportunities()


@bp.get("/arbitrage")
def arbitrage() -> ResponseReturnValue:
    """PolyMix's name for :func:`opportunities`."""
    return _opportunities()


@bp.get("/markets/matched")
def matched_markets() -> ResponseReturnValue:
    """Games and markets paired across venues by the last scan (tradable or refused, and why)."""
    service = _service()
    report = service.last_report
    matches: Any = () if report is None or report.scan is None else report.scan.matches
    if service.streaming:
        # The scanner's last matching (refusals included), which the stream subscriptions follow.
        matches = service.bot.scanner.last_matches
    limit = _limit(500)
    tradable = request.args.get("tradable")
    if tradable not in (None, "true", "false"):
        raise BadRequest("tradable must be true or false")
    views = [match_view(m) for m in matches]
    if tradable is not None:
        views = [v for v in views if v["tradable"] == (tradable == "true")]
    return jsonify(matches=views[:limit], total=len(views))


@bp.get("/trades")
def trades() -> ResponseReturnValue:
    """Trade history, newest first; ``?status=open|settled|...`` and ``?limit=`` (default 100)."""
    status = request.args.get("status")
    if status is not None and status not in {s.value for s in TradeStatus}:
        raise BadRequest(f"status must be one of {', '.join(s.value for s in TradeStatus)}")
    limit = _limit(100)
    history = list(reversed(_service().bot.state().trade_history))
    if status is not None:
        history = [t for t in history if t.status.value == status]
    return jsonify(trades=[trade_view(t) for t in history[:limit]], total=len(history))


@bp.post("/scan")
@require_token
def scan_now() -> ResponseReturnValue:
    """Run one monitor step now (scan, and trade in the current mode); returns what it did.

    ``skipped`` counts opportunities not traded because an open trade already holds them
    (or because trading is disabled).
    """
    service = _service()
    report = service.monitor()
    if service.streaming and report is not None:
        # Streaming: this step listed and matched markets; trades happen on every book change.
        session = service.bot.streaming
        assert session is not None
        return jsonify(
            opportunities=len(session.opportunities()), executed=0, rejected=0, skipped=0, error=report.error
        )
    if report is None:
        return jsonify(opportunities=0, executed=0, error="no scan has completed"), 503
    return jsonify(
        opportunities=len(report.opportunities),
        executed=len(report.executed),
        rejected=sum(1 for r in report.results if r.rejected),
        skipped=len(report.skipped),
        error=report.error,
    )


@bp.post("/reconcile")
@require_token
def reconcile_now() -> ResponseReturnValue:
    """Run the reconciliation job now (live): unknown legs resolved, store compared with every venue."""
    service = _service()
    if service.mode != "live":
        raise Conflict("reconciliation compares a live store with the venues; this service is paper trading")
    report = service.reconcile()
    if report is None:
        raise ServiceUnavailable("the reconciliation run failed (see the service log)")
    return jsonify(reconcile_view(report))


@bp.post("/settle")
@require_token
def settle_now() -> ResponseReturnValue:
    """Run one settlement check now; returns how many trades settled."""
    return jsonify(settled=_service().settle())


@bp.get("/health")
def health() -> ResponseReturnValue:
    """``{"status": "ok"|"degraded", "mode", "jobs", "last_scan"}``."""
    return jsonify(_service().health())


@bp.get("/openapi.yaml")
def openapi() -> ResponseReturnValue:
    """This API's OpenAPI 3 description (``examples/polymix/openapi.yaml``), as YAML."""
    return current_app.response_class(OPENAPI_FILE.read_bytes(), mimetype="application/yaml")
