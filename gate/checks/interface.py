"""What every live check is given and what it answers."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.policy.change import ChangeRequest


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    WARN = "warn"  # passed with a caveat worth a warning (e.g. error budget 50-100 % used)
    ERROR = "error"  # the check could not run


@dataclass(frozen=True)
class CheckSpec:
    type: str
    name: str
    required: bool = True
    remediation: str = ""
    timeout: float = 10.0
    on_error: str = "fail-closed"
    settings: Mapping[str, Any] = field(default_factory=dict)
    file: str = ""
    line: int | None = None


@dataclass(frozen=True)
class CheckOutcome:
    status: Status
    message: str

    @classmethod
    def passed(cls, message: str = "") -> CheckOutcome:
        return cls(Status.PASS, message)

    @classmethod
    def failed(cls, message: str) -> CheckOutcome:
        return cls(Status.FAIL, message)


CheckFunction = Callable[[CheckSpec, ChangeRequest], CheckOutcome]
