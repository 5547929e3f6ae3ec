"""Reading the environment: :class:`Secret`, :class:`EnvReader` and the :class:`SettingsSpec`
an adapter registers for its venue's settings (re-exported by :mod:`arbkit.config`).

An adapter writes its settings once, with its variables' documented names; the reader it is
handed resolves them for the account being read (``MYVENUE_ENV`` or ``MYVENUE_ENV__HEDGE``) and
raises :class:`~arbkit.errors.ConfigError` naming the variable actually read.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from arbkit.errors import ArbkitError, ConfigError
from arbkit.values import DEFAULT_ACCOUNT, to_decimal

__all__ = ["DEFAULT_ACCOUNT", "MAX_AMOUNT", "EnvReader", "Secret", "SettingsSpec", "account_suffix"]


@attrs.frozen(repr=False)
class Secret:
    """A credential. Shows as ``'***'`` everywhere; ``reveal()`` is the only way in."""

    _value: str = attrs.field(alias="value")

    def reveal(self) -> str:
        """The secret itself: pass it straight to the signer, never to a log."""
        return self._value

    def matches(self, candidate: str) -> bool:
        """Constant-time comparison (for confirmation keys and API tokens)."""
        return hmac.compare_digest(self._value.encode(), candidate.encode())

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


_TRUE = {"1", "true", "yes", "on"}
#: No dollar setting is sane above a trillion; larger values are typos (or 1e999999).
MAX_AMOUNT = Decimal(10**12)
_FALSE = {"0", "false", "no", "off"}


def account_suffix(account: str) -> str:
    """What an extra account appends to each of its venue's variables: ``hedge`` -> ``__HEDGE``.

    ``""`` for the default account, which reads the venue's names as they are.
    """
    return "" if account == DEFAULT_ACCOUNT else f"__{account.upper()}"


class EnvReader:
    """Typed access to the merged environment as one account sees it, raising ConfigError per variable.

    Every method takes a variable's name as the venue documents it (``MYVENUE_ENV``); for an
    extra account it reads that account's own variable (``MYVENUE_ENV__HEDGE``), or, for a
    ``shared`` variable the account leaves unset, the default account's. Errors name the
    variable actually read, and never show the value of a ``secrets`` one.

    >>> env = EnvReader({"MY_TIMEOUT__FAST": "2"}, account="fast")
    >>> env.integer("MY_TIMEOUT", 10), env.variable("MY_TIMEOUT")
    (2, 'MY_TIMEOUT__FAST')
    """

    def __init__(
        self,
        values: Mapping[str, str | None],
        *,
        account: str = DEFAULT_ACCOUNT,
        secrets: Collection[str] = (),
        shared: Collection[str] = (),
    ) -> None:
        self.values = values
        self.account = account
        self._suffix = account_suffix(account)
        self._secrets = frozenset(secrets)
        self._shared = frozenset(shared)

    def variable(self, name: str) -> str:
        """The variable this reader reads for ``name`` (the account's own, or the shared default)."""
        if not self._suffix:
            return name
        own = name + self._suffix
        if name in self._shared and not (self.values.get(own) or "").strip():
            return name
        return own

    def raw(self, name: str) -> str | None:
        """The value, stripped; ``None`` when unset or blank (blank means "the default")."""
        value = self.values.get(self.variable(name))
        if value is None:
            return None
        value = value.strip()
        return value or None

    def fail(self, name: str, what: str) -> ConfigError:
        """The error to raise for ``name``: ``raise env.fail("MY_KEY", "expected ...")``."""
        return ConfigError(what, variable=self.variable(name))

    def _shown(self, name: str, value: str) -> str:
        return "(hidden)" if name in self._secrets else repr(value[:40])

    def boolean(self, name: str, default: bool) -> bool:
        """``true``/``false`` (also 1/0, yes/no, on/off)."""
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise self.fail(name, f"expected true or false, got {self._shown(name, value)}")

    def decimal(
        self, name: str, default: Decimal | None, *, positive: bool = False, maximum: Decimal = MAX_AMOUNT
    ) -> Decimal | None:
        """A non-negative (or ``positive``) number up to ``maximum``, exact."""
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = to_decimal(value, field=name)
        except ArbkitError:
            raise self.fail(name, f"expected a number, got {self._shown(name, value)}") from None
        if number < 0 or (positive and number == 0):
            raise self.fail(name, f"must be {'positive' if positive else 'non-negative'}, got {number}")
        if number > maximum:
            raise self.fail(name, f"must be at most {maximum}, got {number}")
        return number

    def required_decimal(self, name: str, default: Decimal, **kw: Any) -> Decimal:
        """:meth:`decimal` with a default that is not ``None``."""
        result = self.decimal(name, default, **kw)
        assert result is not None
        return result

    def integer(
        self, name: str, default: int | None, *, minimum: int = 0, maximum: int = 10**9
    ) -> int | None:
        """A whole number between ``minimum`` and ``maximum``."""
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value, 10)
        except ValueError:
            raise self.fail(name, f"expected a whole number, got {self._shown(name, value)}") from None
        if not minimum <= number <= maximum:
            raise self.fail(name, f"must be between {minimum} and {maximum}, got {number}")
        return number

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        """One of ``choices`` (case-insensitive), lower-cased."""
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() not in choices:
            raise self.fail(name, f"must be one of {', '.join(choices)}, got {self._shown(name, value)}")
        return value.lower()

    def text(self, name: str, check: Callable[[str], object] | None = None, what: str = "") -> str | None:
        """The text, refused with ``what`` when ``check(text)`` is false."""
        value = self.raw(name)
        if value is not None and check is not None and not check(value):
            raise self.fail(name, what or "invalid value")
        return value

    def secret(self, name: str) -> Secret | None:
        """The value as a :class:`Secret`."""
        value = self.raw(name)
        return None if value is None else Secret(value)

    def url(self, name: str, what: str = "must be an http:// or https:// URL with a host") -> str | None:
        """An ``http://`` or ``https://`` URL with a host (refused with ``what``)."""
        return self.text(name, _is_url, what)

    def ws_url(self, name: str) -> str | None:
        """A ``ws://`` or ``wss://`` URL with a host."""
        return self.text(name, _is_ws_url, "must be a ws:// or wss:// URL with a host")

    def file(self, name: str) -> Path | None:
        """The path of a file that exists (``~`` expanded)."""
        value = self.raw(name)
        if value is None:
            return None
        try:
            path = Path(value).expanduser()
            exists = path.is_file()
        except (OSError, ValueError, RuntimeError):  # name too long, NUL byte, "~nosuchuser"
            exists = False
        if not exists:
            raise self.fail(name, "file does not exist")
        return path


def _names(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _name_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


def _described(values: Mapping[str, str]) -> dict[str, str]:
    return dict(values)


@attrs.frozen
class SettingsSpec:
    """How a venue's adapter reads its settings: what ``arbkit_register_settings`` registers.

    ``cls`` is the adapter's frozen attrs class of settings; ``read(env)`` builds one from an
    :class:`EnvReader`, raising through ``env.fail(NAME, why)`` so the error names the variable.
    It is called for the venue's default account and again for each extra account
    (``ARBKIT_ACCOUNTS``) with that account's reader, so it is written once, with the base names.

    ``variables`` maps every variable it reads to its meaning (``.env.example``, the
    misspelt-name notices, ``docs/configuration.md``); ``secrets`` are those whose value is a
    secret (never shown in an error or notice). ``rest_hosts`` and ``stream_hosts`` name the
    attributes of ``cls`` that override the venue's REST and stream hosts: a REST host pointed
    elsewhere without a stream host keeps ``ARBKIT_STREAMING=auto`` off, since the default stream
    is the real venue's. ``shared`` variables (hosts, never secrets) are taken by an extra account
    from the default account when it leaves its own unset: one venue, several logins.
    """

    cls: type
    read: Callable[[EnvReader], Any]
    variables: Mapping[str, str] = attrs.field(converter=_described, hash=False)
    secrets: frozenset[str] = attrs.field(default=frozenset(), converter=_name_set)
    rest_hosts: tuple[str, ...] = attrs.field(default=(), converter=_names)
    stream_hosts: tuple[str, ...] = attrs.field(default=(), converter=_names)
    shared: frozenset[str] = attrs.field(default=frozenset(), converter=_name_set)

    def __attrs_post_init__(self) -> None:
        if not attrs.has(self.cls):
            raise ConfigError(f"settings class {self.cls!r} is not an attrs class")
        fields = attrs.fields_dict(self.cls)
        problems = [f"{a} is not a field of {self.cls.__name__}" for a in self.hosts if a not in fields]
        problems += [
            f"{n} is not among its variables"
            for n in sorted((self.secrets | self.shared) - set(self.variables))
        ]
        problems += [f"{n} is a secret, never shared by accounts" for n in sorted(self.secrets & self.shared)]
        problems += [f"{n} contains '__' (kept for account suffixes)" for n in self.variables if "__" in n]
        if problems:
            raise ConfigError(f"bad settings spec for {self.cls.__name__}: {'; '.join(problems)}")

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every host attribute, REST and stream."""
        return self.rest_hosts + self.stream_hosts

    def defaults(self) -> Any:
        """The settings an empty environment gives."""
        return self.read(EnvReader({}, secrets=self.secrets))


def _is_ws_url(value: str) -> bool:
    scheme, sep, rest = value.partition("://")
    return bool(sep) and scheme in ("ws", "wss") and _is_url(f"http://{rest}")


def _is_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value and len(value) < 2048
    )
