"""The change request: the typed record ``gate check`` decides about."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gate.config.loader import Document


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
    flags: tuple[Mapping[str, str], ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)
    source: Document | None = None

    @property
    def file(self) -> str:
        return self.source.file if self.source is not None else "<change>"

    def line_of(self, field_name: str) -> int | None:
        return self.source.line_of((field_name,)) if self.source is not None else None
