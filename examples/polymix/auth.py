"""Bearer-token protection for mutating endpoints (``ARBKIT_API_TOKEN``).

When no token is configured, mutating endpoints are open: the server binds 127.0.0.1
unless told otherwise, so only the local machine reaches them. When one is set, every
mutating request needs ``Authorization: Bearer <token>``, compared in constant time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import current_app, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

__all__ = ["require_token"]

F = TypeVar("F", bound=Callable[..., Any])


def _authorised() -> bool:
    token = current_app.extensions["polymix"].settings.api_token
    if token is None:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Secret.matches is hmac.compare_digest: no timing difference on where the guess goes wrong.
    return scheme.lower() == "bearer" and token.matches(given.strip())


def require_token(view: F) -> F:
    """Refuse the request with 401 unless it carries the configured bearer token."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _authorised():
            raise Unauthorized(
                "missing or wrong bearer token (Authorization: Bearer $ARBKIT_API_TOKEN)",
                www_authenticate=WWWAuthenticate("bearer"),
            )
        return view(*args, **kwargs)

    return cast(F, wrapper)
