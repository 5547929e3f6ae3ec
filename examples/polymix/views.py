"""The dashboard page. Its script and stylesheet are served by the app itself (no CDN)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue

__all__ = ["bp"]

bp = Blueprint("views", __name__)


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    """The dashboard: mode banner, balance, P&L chart, positions, trades, opportunities, errors."""
    service = current_app.extensions["polymix"]
    return render_template("index.html", mode=service.mode, label=service.label)
