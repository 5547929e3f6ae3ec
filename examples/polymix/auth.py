"""Who may change the service's state: bearer token, trusted hosts, same-origin requests.

* ``ARBKIT_API_TOKEN``: when set, every mutating request needs ``Authorization: Bearer <token>``
  (compared in constant time). The token is read from that header only: a query string or a
  form field ends up in proxy logs and browser history.
* Live mode without a token refuses every mutating request (``403``): a scan places real
  orders, so nothing may trigger one anonymously, even from the local machine.
* Paper mode without a token serves mutating requests from the local machine only (the server
  refuses to bind anything but loopback without a token, see ``__main__``), and never to a
  request a browser marks as coming from another site: a web page the trader happens to open
  cannot post to ``127.0.0.1:5001`` behind the trader's back.
* ``Host`` must be one of the trusted host names (Flask's ``TRUSTED_HOSTS``): a DNS-rebinding
  page, whose requests carry its own host name, gets ``400``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

__all__ = ["DEFAULT_TRUSTED_HOSTS", "install_protections", "require_token"]

F = TypeVar("F", bound=Callable[..., Any])

#: The names a browser on the local machine uses for a loopback server. (IPv6 literals cannot be
#: listed: werkzeug's host check cuts a trusted name at its first colon.)
DEFAULT_TRUSTED_HOSTS = ("127.0.0.1", "localhost")

#: The dashboard loads its own script and style sheet and nothing else; the chart is inline SVG.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _cross_site() -> bool:
    """Whether a browser says this request comes from a page of another origin."""
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin == "null"
    host = urlsplit(origin).netloc
    return host != request.host


def _check() -> None:
    service = current_app.extensions["polymix"]
    token = service.settings.api_token
    if token is None:
        if service.mode == "live":
            raise Forbidden(
                "live mode: mutating endpoints are refused until ARBKIT_API_TOKEN is set "
                "(then send Authorization: Bearer $ARBKIT_API_TOKEN)"
            )
        if _cross_site():
            raise Forbidden("cross-site request refused: mutating endpoints serve same-origin requests only")
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Secret.matches is hmac.compare_digest: no timing difference on where the guess goes wrong.
    if not (scheme.lower() == "bearer" and token.matches(given.strip())):
        raise Unauthorized(
            "missing or wrong bearer token (Authorization: Bearer $ARBKIT_API_TOKEN)",
            www_authenticate=WWWAuthenticate("bearer"),
        )


def require_token(view: F) -> F:
    """Refuse the request (401/403) unless it may change state, as the module docstring says."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _check()
        return view(*args, **kwargs)

    return cast(F, wrapper)


def install_protections(app: Flask, trusted_hosts: Iterable[str] | None = None) -> None:
    """Trusted ``Host`` names and the security headers on every response (no CORS headers, ever)."""
    hosts = list(DEFAULT_TRUSTED_HOSTS if trusted_hosts is None else trusted_hosts)
    app.config["TRUSTED_HOSTS"] = hosts

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        return response
