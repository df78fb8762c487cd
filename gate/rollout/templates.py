"""Query templates: ``{{ service }}``, ``{{ name }}``, ``{{ interval }}``, ``{{ args.X }}``.

A plain substitution, no expressions: a template cannot run code. Values are escaped for a
PromQL double-quoted string (label matchers), so a value cannot close the string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gate.config.loader import Document, PathKey

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
_BARE = ("service", "name", "interval")


def escape_promql(value: str) -> str:
    """Escape ``value`` for use inside a PromQL ``"..."`` string."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


def known(variable: str, args: Mapping[str, str]) -> bool:
    if variable in _BARE:
        return True
    return variable.startswith("args.") and variable[5:] in args


def check_template(text: str, args: Mapping[str, str], doc: Document, path: PathKey) -> None:
    for match in _PLACEHOLDER.finditer(text):
        variable = match.group(1)
        if not known(variable, args):
            names = ", ".join([*_BARE, *(f"args.{a}" for a in sorted(args))])
            raise doc.error(path, f"unknown template variable {variable!r}; known: {names}")
    leftover = _PLACEHOLDER.sub("", text)
    if "{{" in leftover or "}}" in leftover:
        raise doc.error(path, "malformed template: use {{ name }} with a plain variable name")


def render(text: str, values: Mapping[str, str]) -> str:
    """Substitute every placeholder (already checked) with its escaped value."""
    return _PLACEHOLDER.sub(lambda m: escape_promql(values[m.group(1)]), text)


def values_for(
    service: str, name: str, interval_seconds: float, args: Mapping[str, str]
) -> dict[str, str]:
    interval = (
        f"{int(interval_seconds)}s"
        if interval_seconds >= 1
        else (f"{int(interval_seconds * 1000)}ms")
    )
    return {
        "service": service,
        "name": name,
        "interval": interval,
        **{f"args.{k}": v for k, v in args.items()},
    }
