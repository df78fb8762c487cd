"""The one registry shape of every provider kind: ``{name: Backend(settings, factory)}``.

``settings`` is a frozen record class with ``parse(node) -> record``: it reads a provider block
of a file and refuses every mistake with ``FILE:LINE: field: what is wrong`` when the file is
loaded. ``factory(settings, context)`` builds the provider when a run starts (that is when
secrets are read). The registries feed the JSON Schemas' enums and the
command line's choices, so a backend's name is written once.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from gate.config.node import Node, Where

P_co = TypeVar("P_co", covariant=True)


class Settings(Protocol):
    @classmethod
    def parse(cls, node: Node) -> Any: ...


@dataclass(frozen=True)
class BuildContext:
    """What a factory may need besides its settings."""

    service: str = ""
    rollout: str = ""
    run_id: str = ""


class Backend(NamedTuple, Generic[P_co]):
    settings: type[Settings]
    factory: Callable[[Any, BuildContext], P_co]


@dataclass(frozen=True)
class Configured:
    """One provider block as loaded: its backend's name, its typed settings, where it is."""

    provider: str
    settings: Any
    where: Where

    @property
    def line(self) -> int | None:
        return self.where.line


def parse_block(registry: Mapping[str, Backend[Any]], node: Node, kind: str) -> Configured:
    """Read a provider block (``provider: NAME`` and that backend's settings)."""
    name = node.get("provider")
    if name not in registry:
        names = ", ".join(registry)
        hint = difflib.get_close_matches(str(name), list(registry), n=1)
        tail = f"; did you mean {hint[0]!r}?" if hint else ""
        raise node.error(f"unknown {kind} provider {name!r}; one of: {names}{tail}", "provider")
    settings = registry[name].settings.parse(node)
    return Configured(name, settings, node.where())


def only_keys(node: Node, allowed: Iterable[str], what: str) -> None:
    """Refuse keys that are not settings of ``what`` (the schema allows the union of every
    backend's keys; this says which belong to which)."""
    known = set(allowed) | {"provider"}
    for key in node.mapping_keys():
        if key not in known:
            hint = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
            tail = f"; did you mean {hint[0]!r}?" if hint else ""
            raise node.error(f"not a setting of {what}{tail}", key)


T = TypeVar("T")


def build(registry: Mapping[str, Backend[T]], config: Configured, context: BuildContext) -> T:
    return registry[config.provider].factory(config.settings, context)
