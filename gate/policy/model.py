"""Typed, frozen records of a validated policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from gate.change import same_name
from gate.checks.interface import CheckSpec
from gate.policy.result import Severity
from gate.policy.windows import Window

ENFORCEMENT_SEVERITY = {"block": Severity.BLOCK, "warn": Severity.WARN, "audit": Severity.INFO}


@dataclass(frozen=True)
class Scope:
    """Environments and services something applies to; empty means all."""

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
    scope: Scope = Scope()
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
    scope: Scope = Scope()
    risk_threshold: int | None = None
    risk_threshold_line: int | None = None
    bypass_emergency: bool = True
    bypass_override: bool = True
    rules: tuple[Rule, ...] = ()
    windows: tuple[Window, ...] = ()
    checks: tuple[CheckSpec, ...] = ()
