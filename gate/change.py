"""The change request: the typed record ``gate check`` decides about."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from gate.config.loader import Document
from gate.config.values import parse_datetime
from gate.providers.registry import Configured


class ChangeType(enum.StrEnum):
    STANDARD = "standard"
    NORMAL = "normal"
    EMERGENCY = "emergency"


class RiskLevel(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class ChangeRequest:
    """A validated change request. ``fields`` holds every field as written (camelCase keys),
    for field rules; ``source`` locates any field's line for findings and annotations."""

    id: str
    title: str
    type: ChangeType
    risk_level: RiskLevel
    scheduled_time: datetime
    description: str = ""
    affected_services: tuple[str, ...] = ()
    implementation_plan: str = ""
    rollback_plan: str = ""
    testing_evidence: str = ""
    approvers: tuple[str, ...] = ()
    maintenance_window: bool = False
    justification: str = ""
    links: tuple[str, ...] = ()
    author: str = ""
    repository: str = ""
    commit: str = ""
    pull_request: int | None = None
    environment: str = ""  # the environment the change is for; gate check --env must agree
    flags: tuple[Configured, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)
    source: Document | None = None

    @property
    def file(self) -> str:
        return self.source.file if self.source is not None else "<change>"

    def line_of(self, field_name: str) -> int | None:
        return self.source.line_of((field_name,)) if self.source is not None else None


def same_name(name: str) -> str:
    """An environment or service name as compared: ``Production`` and ``production `` are
    the environment a policy scoped to ``production`` means."""
    return name.strip().casefold()


@dataclass(frozen=True)
class Scope:
    """Environments and services a policy, rule or window applies to; empty means all."""

    environments: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()

    def applies(self, environment: str, services: tuple[str, ...]) -> bool:
        if self.environments and same_name(environment) not in set(
            map(same_name, self.environments)
        ):
            return False
        return not self.services or bool(
            set(map(same_name, self.services)).intersection(map(same_name, services))
        )


def parse_time(value: str, doc: Document, path: tuple[str | int, ...]) -> datetime:
    """An ISO 8601 date-time that must carry a UTC offset (``Z`` or ``+01:00``)."""
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise doc.error(path, str(exc)) from None


@cache
def change_schema() -> dict[str, Any]:
    """The change-request schema, its flag providers from the flag registry."""
    from gate.config.validate import completed
    from gate.providers.flags.registry import PROVIDERS

    return completed(
        "change-request", {("properties", "flags", "items", "properties", "provider"): PROVIDERS}
    )


def parse_change(doc: Document) -> ChangeRequest:
    """Validate ``doc`` against the change-request schema and build the record."""
    from gate.config.node import Node
    from gate.config.validate import validate
    from gate.providers.flags.registry import PROVIDERS
    from gate.providers.registry import parse_block

    if not isinstance(doc.data, dict):
        raise doc.error((), "expected a mapping at the top level (the change-request fields)")
    validate(doc, change_schema())
    d: dict[str, Any] = doc.data
    root = Node(doc)
    flags = (
        tuple(parse_block(PROVIDERS, n, "flag") for n in root["flags"].items())
        if root.has("flags")
        else ()
    )
    pr = d.get("pullRequest")
    return ChangeRequest(
        id=d["id"],
        title=d["title"],
        type=ChangeType(d["type"]),
        risk_level=RiskLevel(d["riskLevel"]),
        scheduled_time=parse_time(d["scheduledTime"], doc, ("scheduledTime",)),
        description=d.get("description", ""),
        affected_services=tuple(d.get("affectedServices", ())),
        implementation_plan=d.get("implementationPlan", ""),
        rollback_plan=d.get("rollbackPlan", ""),
        testing_evidence=d.get("testingEvidence", ""),
        approvers=tuple(d.get("approvers", ())),
        maintenance_window=bool(d.get("maintenanceWindow", False)),
        justification=d.get("justification", ""),
        links=tuple(d.get("links", ())),
        author=d.get("author", ""),
        repository=d.get("repository", ""),
        commit=d.get("commit", ""),
        pull_request=int(pr) if pr is not None else None,
        environment=d.get("environment", ""),
        flags=flags,
        fields=dict(d),
        source=doc,
    )
