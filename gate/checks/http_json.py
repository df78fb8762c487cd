"""``type: http-json``: GET a URL; the value at a JSON pointer must equal ``equals`` or lie
within ``min``/``max``."""

from __future__ import annotations

from dataclasses import dataclass
from math import isfinite
from typing import Any

from gate.change import ChangeRequest
from gate.checks.interface import CheckContext, CheckOutcome
from gate.config.node import Node
from gate.errors import ProviderRejected
from gate.providers.traffic.settings import parse_pointer
from gate.secrets import SecretRef, reveal, shown


@dataclass(frozen=True)
class Settings:
    url: str
    pointer: tuple[str, ...] = ()
    pointer_text: str = ""
    equals: Any = None
    max: float | None = None
    min: float | None = None
    headers: tuple[tuple[str, SecretRef], ...] = ()

    @classmethod
    def parse(cls, node: Node) -> Settings:
        from gate.checks.registry import settings_keys

        settings_keys(node, ("url", "pointer", "equals", "max", "min", "headersEnv"), "http-json")
        text = node.text("pointer", "")
        try:
            pointer = parse_pointer(text)
        except ValueError as exc:
            raise node["pointer"].error(str(exc)) from None
        if not any(node.has(k) for k in ("equals", "max", "min")):
            raise node.error("an http-json check needs equals, max or min")
        return cls(
            url=node.url("url"),
            pointer=pointer,
            pointer_text=text or "/",
            equals=node.get("equals", None),
            max=node.number("max", None),
            min=node.number("min", None),
            headers=node.secret_map("headersEnv"),
        )


def _equal(value: Any, expected: Any) -> bool:
    """JSON equality: true is not 1 and 0 is not false (Python's == says they are)."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return value is expected
    return bool(value == expected)


def run(settings: Settings, change: ChangeRequest, context: CheckContext) -> CheckOutcome:
    from gate.providers.http import HttpClient
    from gate.providers.traffic.webhook import resolve_pointer

    headers = {h: reveal(ref) for h, ref in settings.headers}
    with HttpClient("http-json", headers=headers, timeout=context.timeout, retries=1) as client:
        reply = client.request("GET", settings.url)
    where = settings.pointer_text
    try:
        value = resolve_pointer(reply.json(), settings.pointer)
    except KeyError:
        raise ProviderRejected(f"{reply.where}: nothing at JSON pointer {where!r}") from None
    if settings.equals is not None and not _equal(value, settings.equals):
        return CheckOutcome.failed(f"{where} is {shown(value, 60)}, expected {settings.equals!r}")
    if settings.max is not None or settings.min is not None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not isfinite(value):
            # NaN compares false with every bound, -Infinity is below any max: neither is a
            # measurement within bounds
            return CheckOutcome.failed(f"{where} is {shown(value, 60)}, not a number")
        if settings.max is not None and value > settings.max:
            return CheckOutcome.failed(f"{where} is {value}, above {settings.max:g}")
        if settings.min is not None and value < settings.min:
            return CheckOutcome.failed(f"{where} is {value}, below {settings.min:g}")
    return CheckOutcome.passed(f"{where} is {shown(value, 60)}")
