"""Run live checks concurrently, each within its timeout; the whole run takes about as long as
the slowest check, and never longer than the longest timeout.

Each check runs in a daemon thread with its own deadline (its outside calls carry the same
deadline, see :mod:`gate.providers.http`), so a server that hangs or drips cannot keep ``gate
check`` from deciding or from exiting. A check that raises says why it could not decide: that
is an ``error`` outcome, which the policy engine fails closed (or open, when asked).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gate.change import ChangeRequest
from gate.checks.interface import CheckContext, CheckOutcome, CheckSpec, MetricsFactory, Status
from gate.checks.registry import CHECKS
from gate.errors import ConfigError, ConfigErrors, GateError
from gate.secrets import redact, refs_in, reveal


@dataclass(frozen=True)
class CheckResult:
    spec: CheckSpec
    outcome: CheckOutcome
    seconds: float  # from its start to its end (or to its timeout)


class _Run(threading.Thread):
    def __init__(self, spec: CheckSpec, change: ChangeRequest, context: CheckContext) -> None:
        super().__init__(daemon=True, name=f"check-{spec.name}")
        self.spec = spec
        self.change = change
        self.context = context
        self.began = time.monotonic()
        self.ended: float | None = None
        self.outcome: CheckOutcome | None = None

    def run(self) -> None:
        try:
            self.outcome = CHECKS[self.spec.type].run(self.spec.settings, self.change, self.context)
        except ConfigError as exc:
            self.outcome = CheckOutcome(Status.ERROR, redact(exc.one_line()), misconfigured=True)
        except GateError as exc:
            self.outcome = CheckOutcome(Status.ERROR, redact(str(exc)))
        except Exception as exc:  # noqa: BLE001 - a check's failure to run is an outcome
            self.outcome = CheckOutcome(
                Status.ERROR, redact(f"the check failed unexpectedly ({type(exc).__name__})")
            )
        finally:
            self.ended = time.monotonic()


def secrets_set(specs: Sequence[CheckSpec]) -> None:
    """Every secret the checks name is set and usable; else one ConfigError for each."""
    problems: list[ConfigError] = []
    for ref in refs_in([spec.settings for spec in specs]):
        try:
            reveal(ref)
        except ConfigError as exc:
            problems.append(exc)
    if problems:
        raise ConfigErrors(problems)


def run_checks(
    specs: Sequence[CheckSpec],
    change: ChangeRequest,
    *,
    metrics: MetricsFactory | None = None,
) -> list[CheckResult]:
    """Run every check at once; return their results in the order given. A secret a check
    names that is not set (or cannot be sent) is bad input, raised before any check runs:
    ``onError`` says what an outage means, never a token that was not given."""
    secrets_set(specs)
    runs = [_Run(spec, change, CheckContext(spec.timeout, metrics)) for spec in specs]
    for r in runs:
        r.start()
    results = []
    for r in runs:
        r.join(timeout=max(0.0, r.began + r.spec.timeout - time.monotonic()))
        if r.outcome is None or r.ended is None:
            outcome = CheckOutcome(Status.ERROR, f"timed out after {r.spec.timeout:g}s")
            seconds = r.spec.timeout
        else:
            outcome, seconds = r.outcome, r.ended - r.began
        results.append(CheckResult(r.spec, outcome, seconds))
    return results
