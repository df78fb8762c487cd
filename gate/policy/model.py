"""Typed, frozen records of a validated policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from gate.change import Scope
from gate.checks.interface import CheckSpec
from gate.policy.result import Severity
from gate.policy.windows import Window

ENFORCEMENT_SEVERITY = {"block": Severity.BLOCK, "warn": Severity.WARN, "audit": Severity.INFO}


@dataclass(frozen=True)
class Rule:
    """One rule of a policy. ``params`` holds the kind-specific settings as validated."""

    id: str
    kind: str
    policy: str
    file: str
    line: int | None
    enforcement: str = "block"
    risk_points: int = 0
    bypassable: bool = False
    message: str = ""
    remediation: str = ""
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    unless: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    scope: Scope = field(default_factory=Scope)
    params: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True

    @property
    def severity(self) -> Severity:
        return ENFORCEMENT_SEVERITY[self.enforcement]


@dataclass(frozen=True)
class Policy:
    name: str
    file: str
    timezone: ZoneInfo
    scope: Scope = field(default_factory=Scope)
    risk_threshold: int | None = None
    risk_threshold_line: int | None = None
    bypass_emergency: bool = True
    bypass_override: bool = True
    rules: tuple[Rule, ...] = ()
    windows: tuple[Window, ...] = ()
    checks: tuple[CheckSpec, ...] = ()
