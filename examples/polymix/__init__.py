"""PolyMix on arbkit: a Flask service that scans, paper- or live-trades and shows it all on a dashboard.

``create_app`` is the application factory (the Flask tutorial's pattern: no module-level
app, no global clients)::

    from examples.polymix import create_app
    app = create_app()                      # Settings.from_env(): .env plus the environment
    app.run()                               # or: python -m examples.polymix

The app owns one :class:`~examples.polymix.service.PolymixService`, i.e. one
:class:`arbkit.Bot` whose trading system is chosen by ``LIVE_TRADING`` (paper by
default), and, unless ``start_jobs=False``, a background scheduler running the
monitor and settlement jobs. ``app.extensions["polymix"]`` is the service;
``app.extensions["polymix_scheduler"]`` the scheduler (or ``None``).
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Sequence
from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError

from arbkit import Bot, Settings

from . import api, views
from .auth import install_protections
from .jobs import build_scheduler
from .service import PolymixService

__all__ = ["PolymixService", "create_app", "stop_app"]

logger = logging.getLogger(__name__)


def _json_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        response = jsonify(error=error.name, message=error.description, status=error.code)
        response.status_code = error.code or 500
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> ResponseReturnValue:
        # A bug, not bad input: log it, answer JSON without internals.
        logger.exception("unhandled error")
        internal = InternalServerError()
        return jsonify(error=internal.name, message="internal error (see the service log)", status=500), 500


def create_app(
    settings: Settings | None = None,
    *,
    bot: Bot | None = None,
    start_jobs: bool = True,
    allow_live_reset: bool = False,
    monitor_seconds: float | None = None,
    settlement_seconds: float | None = None,
    bot_options: dict[str, Any] | None = None,
    trusted_hosts: Sequence[str] | None = None,
) -> Flask:
    """Build the app: settings (default ``Settings.from_env()``), the Bot, the jobs.

    ``bot`` replaces the Bot built from settings (tests pass one over fakes or sandboxes);
    ``bot_options`` go to :meth:`arbkit.Bot.from_settings` (e.g. ``scanner_options``).
    ``allow_live_reset`` lets ``POST /api/trading/reset`` work in live mode.
    ``trusted_hosts`` are the ``Host`` names served (default: the loopback names); any other
    gets ``400``, which keeps DNS-rebinding pages out.
    Raises :class:`arbkit.ConfigError` when the settings cannot make a Bot.
    """
    settings = settings if settings is not None else Settings.from_env()
    if bot is None:
        bot = Bot.from_settings(settings, **dict(bot_options or {}))
    service = PolymixService(settings, bot, allow_live_reset=allow_live_reset)
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.extensions["polymix"] = service
    install_protections(app, trusted_hosts)
    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    _json_errors(app)
    scheduler = None
    if start_jobs:
        service.start_streaming()  # when ARBKIT_STREAMING asks (auto: live)
        scheduler = build_scheduler(
            service, monitor_seconds=monitor_seconds, settlement_seconds=settlement_seconds
        )
        scheduler.start()
        atexit.register(stop_app, app)
        logger.info(
            "%s trading; monitor every %ss, settlements every %ss",
            service.label,
            monitor_seconds or settings.monitor_interval_seconds,
            settlement_seconds or settings.settlement_interval_seconds,
        )
    app.extensions["polymix_scheduler"] = scheduler
    logger.info("%s state is kept in %s", service.label, settings.data_dir.resolve())
    return app


def stop_app(app: Flask, *, wait: bool = True) -> None:
    """Stop the jobs (after the one running, if ``wait``) and close the clients. Idempotent."""
    scheduler = app.extensions.get("polymix_scheduler")
    if scheduler is not None:
        app.extensions["polymix_scheduler"] = None
        if scheduler.running:
            scheduler.shutdown(wait=wait)
    service = app.extensions.get("polymix")
    if service is not None and not app.extensions.get("polymix_closed"):
        app.extensions["polymix_closed"] = True
        service.close()
