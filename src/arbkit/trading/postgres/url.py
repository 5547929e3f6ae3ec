"""Store URLs: checked and shown without their password (no database driver needed).

A store URL is ``postgresql://user:password@host:port/database`` (or ``postgres://``;
libpq parameters may follow as a query string). The password is a credential: it is
kept in a :class:`~arbkit.config.Secret` and shown everywhere as ``***``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from arbkit.errors import ConfigError

__all__ = ["SCHEMES", "check_url_text", "redact_url"]

SCHEMES = ("postgresql", "postgres")


def check_url_text(raw: str, *, variable: str | None = "ARBKIT_STORE_URL") -> None:
    """Raise :class:`ConfigError` unless ``raw`` is a PostgreSQL URL naming a host and a
    database; the message never holds the URL."""
    try:
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        host_ok = bool(parts.hostname) or "host=" in parts.query
        port = parts.port  # raises ValueError on a port that is not a number or out of range
    except ValueError:
        raise ConfigError("is not a valid URL (or its port is out of range)", variable=variable) from None
    if scheme not in SCHEMES:
        raise ConfigError("must be a postgresql:// URL", variable=variable)
    if not host_ok or not parts.path.strip("/"):
        raise ConfigError(
            "must name a host and a database (postgresql://user:password@host:5432/arbkit)",
            variable=variable,
        )
    if port is not None and not 0 < port < 65536:
        raise ConfigError("has a port out of range", variable=variable)


def redact_url(raw: str) -> str:
    """The URL with its password (and any ``password=`` parameter) replaced by ``***``."""
    try:
        parts = urlsplit(raw)
        netloc = parts.hostname or ""
        if parts.port is not None:
            netloc = f"{netloc}:{parts.port}"
        if parts.username:
            netloc = f"{parts.username}{':***' if parts.password is not None else ''}@{netloc}"
    except ValueError:
        return "postgresql://***"
    query = "&".join(
        "password=***" if item.lower().startswith("password=") else item
        for item in parts.query.split("&")
        if item
    )
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
