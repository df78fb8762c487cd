"""Secrets: read from environment variables when a run starts, and never written anywhere.

A file names a secret by its variable (``tokenEnv: UNLEASH_TOKEN``); :func:`reveal` reads it
and remembers the value, so that :func:`redact` can take it — and its Base64 and URL-encoded
forms, which is how servers tend to echo credentials back — out of every message, journal
entry, audit line, notification and saved traceback before it is written.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import threading
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from gate.errors import ConfigError

MASK = "***"
_MIN_LENGTH = 4  # shorter values would redact ordinary words; they are refused as secrets

_lock = threading.Lock()
_known: dict[str, None] = {}  # insertion-ordered: each secret, then its encoded forms


@dataclass(frozen=True)
class SecretRef:
    """A secret by the name of the environment variable holding it, and where it was named."""

    var: str
    file: str = ""
    line: int | None = None
    field: str = ""

    def error(self, message: str) -> ConfigError:
        return ConfigError(
            message, file=self.file or None, line=self.line, field=self.field or None
        )


def reveal(ref: SecretRef) -> str:
    """The secret's value without the spaces or line break around it (a secret mounted from a
    file or made with ``echo`` ends with one); a missing, empty or too-short variable, or one
    no HTTP header can carry (a control character inside it, a character beyond ASCII), is
    bad input (exit 2), named without showing any of it."""
    value = os.environ.get(ref.var, "").strip()
    if not value:
        raise ref.error(f"environment variable {ref.var} is not set")
    if len(value) < _MIN_LENGTH:
        raise ref.error(f"environment variable {ref.var} is too short to be a secret")
    if _CONTROL.search(value):
        raise ref.error(
            f"environment variable {ref.var} holds a control character (a line break?) inside "
            "it: a secret is one line"
        )
    if not value.isascii():
        raise ref.error(
            f"environment variable {ref.var} holds a character that is not ASCII, which no "
            "HTTP header carries: check the value for a pasted quote or space"
        )
    remember(value)
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,30} +(\S+)$")


def _parts(value: str) -> list[str]:
    """``value`` and the credentials inside it: a whole ``Authorization`` value (``Bearer X``,
    ``token X``) holds ``X``, which a server that refuses it tends to echo alone; ``Basic``
    holds ``user:password``."""
    parts = [value]
    match = _SCHEME.match(value.strip())
    if match is not None:
        credential = match.group(1)
        parts.append(credential)
        if value.lstrip().lower().startswith("basic "):
            with contextlib.suppress(ValueError):
                pair = base64.b64decode(credential, validate=True).decode("utf-8")
                parts += [pair, pair.partition(":")[2]]
    return parts


def remember(value: str) -> None:
    """Redact ``value`` (and its encoded forms) from now on: for values derived from secrets,
    such as a Basic-auth header, as well as the secrets themselves."""
    if len(value) < _MIN_LENGTH:
        return
    forms: list[str] = []
    for part in _parts(value):
        if len(part) < _MIN_LENGTH:
            continue
        forms += [part, quote(part, safe=""), quote_plus(part)]
        raw = part.encode("utf-8")
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(raw).decode("ascii")
            forms += [encoded, encoded.rstrip("=")]
    with _lock:
        for form in forms:
            if len(form) >= _MIN_LENGTH:
                _known.setdefault(form, None)


def redact(text: str) -> str:
    """``text`` with every remembered secret replaced by ``***`` (longest first)."""
    if not text:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def known_values() -> list[str]:
    """The secrets read so far, each followed by its encoded forms (for ``::add-mask::``)."""
    with _lock:
        return list(_known)


def forget_all() -> None:
    """Forget every remembered secret (for tests)."""
    with _lock:
        _known.clear()


def refs_in(value: object) -> list[SecretRef]:
    """Every SecretRef inside a settings record (dataclasses, tuples, lists, dicts)."""
    import dataclasses

    found: list[SecretRef] = []

    def walk(node: object) -> None:
        if isinstance(node, SecretRef):
            found.append(node)
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            for f in dataclasses.fields(node):
                walk(getattr(node, f.name))
        elif isinstance(node, list | tuple | set | frozenset):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)

    walk(value)
    return found


def remember_set(refs: list[SecretRef]) -> None:
    """Remember the values of those of ``refs`` that are set (to mask them before use)."""
    for ref in refs:
        value = os.environ.get(ref.var, "").strip()
        if len(value) >= _MIN_LENGTH:
            remember(value)


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` for a message: secrets removed first, then cut to ``limit``, so a
    secret is never half shown."""
    text = redact(repr(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"
