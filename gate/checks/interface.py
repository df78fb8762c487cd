"""What every live check declares, is given, and answers.

A check module holds a frozen ``Settings`` record with ``parse(node)`` (its keys, read and
range-checked when the policy is loaded) and ``run(settings, change, context)`` returning a
:class:`CheckOutcome`. A check that cannot decide raises a :class:`~gate.errors.GateError`
saying why in the user's terms; the runner turns that into an ``error`` outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from gate.change import ChangeRequest
from gate.config.node import Node, Where
from gate.providers.metrics.interface import MetricsProvider


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    WARN = "warn"  # passed with a caveat worth a warning (e.g. error budget 50-100 % used)
    ERROR = "error"  # the check could not run


class OnError(enum.StrEnum):
    FAIL_CLOSED = "fail-closed"
    FAIL_OPEN = "fail-open"


@dataclass(frozen=True)
class CheckOutcome:
    status: Status
    message: str
    misconfigured: bool = False  # an error of its settings or the change, not an outage

    @classmethod
    def passed(cls, message: str = "") -> CheckOutcome:
        return cls(Status.PASS, message)

    @classmethod
    def failed(cls, message: str) -> CheckOutcome:
        return cls(Status.FAIL, message)

    @classmethod
    def warned(cls, message: str) -> CheckOutcome:
        return cls(Status.WARN, message)


MetricsFactory = Callable[[str, float, Any], MetricsProvider]  # (url, timeout, headers)


@dataclass(frozen=True)
class CheckContext:
    """What a running check may use besides its settings: its deadline, and the metrics
    client factory (tests hand in fakes of gate's own MetricsProvider interface)."""

    timeout: float = 10.0
    metrics: MetricsFactory | None = None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


class CheckSettings(Protocol):
    @classmethod
    def parse(cls, node: Node) -> Any: ...


CheckRun = Callable[[Any, ChangeRequest, CheckContext], CheckOutcome]


@dataclass(frozen=True)
class CheckSpec:
    """One live check of a policy, as loaded."""

    type: str
    name: str
    settings: Any
    where: Where
    required: bool = True
    remediation: str = ""
    timeout: float = 10.0
    on_error: OnError = OnError.FAIL_CLOSED
    policy: str = ""

    @property
    def file(self) -> str:
        return self.where.file

    @property
    def line(self) -> int | None:
        return self.where.line
