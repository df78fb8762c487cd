"""A place in a loaded document, and typed reads of the values under it.

Settings records are built from a :class:`Node`: each read checks the value's type and range
and, when it is wrong, raises a :class:`~gate.errors.ConfigError` naming the file, the line and
the field (``FILE:LINE: spec.traffic.timeout: …``). The JSON Schema has already checked the
shape (unknown keys, enums); what a schema cannot say — finite limits, durations within sane
bounds, names by gate's one rule, URLs without credentials, secrets by environment variable —
is checked here, when the file is loaded, before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from gate.config import values
from gate.config.loader import Document, PathKey, dotted
from gate.errors import ConfigError, Location
from gate.secrets import SecretRef

T = TypeVar("T")
_MISSING: Any = object()


@dataclass(frozen=True)
class Node:
    """The value at ``path`` in ``doc``."""

    doc: Document
    path: PathKey = ()

    # -- navigation ----------------------------------------------------------------------------

    @property
    def value(self) -> Any:
        node: Any = self.doc.data
        for part in self.path:
            node = node[part]
        return node

    @property
    def field(self) -> str:
        return dotted(self.path)

    @property
    def line(self) -> int | None:
        return self.doc.line_of(self.path)

    @property
    def location(self) -> Location:
        return Location(self.doc.file, self.line)

    def __getitem__(self, key: str | int) -> Node:
        return Node(self.doc, (*self.path, key))

    def has(self, key: str) -> bool:
        v = self.value
        return isinstance(v, Mapping) and key in v

    def items(self) -> Iterator[Node]:
        """The nodes of a list."""
        v = self.value
        for i in range(len(v) if isinstance(v, list) else 0):
            yield self[i]

    def mapping_keys(self) -> list[str]:
        v = self.value
        return [str(k) for k in v] if isinstance(v, Mapping) else []

    def error(self, message: str, key: str | int | None = None) -> ConfigError:
        path = self.path if key is None else (*self.path, key)
        return self.doc.error(path, message)

    def where(self, key: str | None = None) -> Where:
        """Where a value is, for an error found later (a secret read when the run starts)."""
        node = self if key is None else self[key]
        return Where(node.doc.file, node.line, node.field)

    # -- typed reads ---------------------------------------------------------------------------

    def get(self, key: str, default: T = _MISSING) -> Any | T:
        if self.has(key):
            return self.value[key]
        if default is _MISSING:
            raise self[key].error("required field is missing")
        return default

    def text(self, key: str, default: Any = _MISSING) -> Any:
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str):
            raise self[key].error(f"expected a string, got {type(value).__name__}")
        if any(ch in value for ch in "\x00\r") or any(
            ord(ch) < 32 and ch not in "\n\t" for ch in value
        ):
            raise self[key].error("contains control characters")
        return value

    def name(self, key: str, what: str) -> str:
        try:
            return values.check_name(self.get(key), what)
        except ValueError as exc:
            raise self[key].error(str(exc)) from None

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        above: float | None = None,
        below: float | None = None,
    ) -> Any:
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        try:
            return values.finite(
                value,
                minimum=minimum,
                maximum=maximum,
                exclusive_minimum=above,
                exclusive_maximum=below,
            )
        except ValueError as exc:
            raise self[key].error(str(exc)) from None

    def integer(
        self, key: str, default: Any = _MISSING, *, minimum: int = 0, maximum: int = 1_000_000
    ) -> Any:
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self[key].error(f"expected a whole number, got {value!r}")
        if not minimum <= value <= maximum:
            raise self[key].error(f"{value} is outside {minimum}-{maximum}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self[key].error(f"expected true or false, got {value!r}")
        return value

    def duration(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        minimum: float = 0.001,
        maximum: float = values.MAX_DURATION,
    ) -> Any:
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        try:
            return values.parse_duration(value, minimum=minimum, maximum=maximum)
        except ValueError as exc:
            raise self[key].error(str(exc)) from None

    def url(self, key: str, default: Any = _MISSING) -> Any:
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        try:
            return check_url(value)
        except ValueError as exc:
            raise self[key].error(str(exc)) from None

    def strings(self, key: str, default: Any = _MISSING, *, min_items: int = 0) -> Any:
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self[key].error("expected a list of strings")
        if len(value) < min_items:
            raise self[key].error(f"needs at least {min_items} item(s)")
        return tuple(value)

    def secret(self, key: str) -> SecretRef:
        """A secret named by its environment variable (``tokenEnv: UNLEASH_TOKEN``); its value
        is read only when the run starts, through :func:`gate.secrets.reveal`."""
        var = self.get(key)
        if not isinstance(var, str) or not _ENV_NAME(var):
            raise self[key].error(f"{var!r} is not the NAME of an environment variable")
        where = self.where(key)
        return SecretRef(var, where.file, where.line, where.field)

    def optional_secret(self, key: str) -> SecretRef | None:
        return self.secret(key) if self.has(key) else None

    def secret_map(self, key: str) -> tuple[tuple[str, SecretRef], ...]:
        """``headersEnv: {Header: VAR}`` → ((Header, ref), …)."""
        if not self.has(key):
            return ()
        node = self[key]
        out = []
        for header in node.mapping_keys():
            if not _HEADER(header):
                raise node.error(f"{header!r} is not an HTTP header name", header)
            out.append((header, node.secret(header)))
        return tuple(out)


@dataclass(frozen=True)
class Where:
    """``FILE:LINE: field`` of a value, kept in a settings record for errors found at run time."""

    file: str
    line: int | None
    field: str

    def error(self, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, line=self.line, field=self.field or None)

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{place}: {self.field}" if self.field else place


def _ENV_NAME(text: str) -> bool:
    return (
        bool(text)
        and len(text) <= 128
        and (text[0].isalpha() or text[0] == "_")
        and all(c.isascii() and (c.isalnum() or c == "_") for c in text)
    )


def _HEADER(text: str) -> bool:
    return (
        bool(text)
        and len(text) <= 128
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in text)
    )


def check_url(value: object) -> str:
    """An http(s) URL with a host, a valid port and no credentials in it."""
    if not isinstance(value, str):
        raise ValueError(f"expected a URL, got {type(value).__name__}")
    if any(ord(c) < 33 for c in value):
        raise ValueError("a URL cannot hold spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "credentials in a URL would be printed and saved; give them through an "
            "environment variable (tokenEnv or headersEnv) instead"
        )
    if port == 0:
        raise ValueError(f"{value!r} has port 0")
    return value
