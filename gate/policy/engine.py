"""Evaluate a change request against policies: rules → findings → decision.

Pure: the time of evaluation is passed in, nothing is printed, nothing exits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from gate.change import ChangeRequest, ChangeType, same_name
from gate.checks.interface import CheckSpec, OnError, Status
from gate.checks.runner import CheckResult
from gate.errors import ConfigError
from gate.policy import rules as rule_checks
from gate.policy.model import ENFORCEMENT_SEVERITY, Policy, Rule
from gate.policy.result import (
    Bypass,
    CheckTiming,
    Evaluation,
    Finding,
    Severity,
    SourceLocation,
    decide,
    risk_score,
)
from gate.policy.windows import Window, next_allowed

LiveChecksRunner = Callable[[Sequence[CheckSpec], ChangeRequest], Sequence[CheckResult]]


def _check_finding(result: CheckResult) -> Finding | None:
    """A live check's outcome as a finding: a failure blocks when the check is required and
    warns otherwise; a check that could not run fails closed the same way, unless it says
    ``onError: fail-open`` — then it is an audit record, visibly. fail-open is for outages: a
    check that cannot run because of its own settings (a token variable that is not set) or
    the change request's fails closed all the same."""
    spec, outcome = result.spec, result.outcome
    if outcome.status is Status.PASS:
        return None
    if outcome.status is Status.ERROR:
        if spec.on_error is OnError.FAIL_OPEN and not outcome.misconfigured:
            severity = Severity.INFO
            message = f"could not run, ignored because onError is fail-open: {outcome.message}"
        elif outcome.misconfigured:
            severity = Severity.BLOCK if spec.required else Severity.WARN
            message = f"could not run, so it fails closed: {outcome.message}"
        else:
            severity = Severity.BLOCK if spec.required else Severity.WARN
            message = (
                f"could not run, so it fails closed: {outcome.message} (set onError: "
                "fail-open to let the deploy through when this check cannot run)"
            )
        remediation = ""
    elif outcome.status is Status.WARN:
        severity, message, remediation = Severity.WARN, outcome.message, spec.remediation
    else:
        severity = Severity.BLOCK if spec.required else Severity.WARN
        message, remediation = outcome.message, spec.remediation
    return Finding(
        rule=f"check:{spec.name}",
        severity=severity,
        message=message,
        remediation=remediation,
        location=SourceLocation(spec.file, spec.line),
        policy=spec.policy,
        field=None,
    )


def _bypass(policy: Policy, change: ChangeRequest, override: str | None) -> tuple[str, str] | None:
    """Why bypassable rules of ``policy`` are skipped for this change, and the justification."""
    if override and policy.bypass_override:
        return "override", override
    if change.type is ChangeType.EMERGENCY and policy.bypass_emergency:
        return "emergency change", change.justification or "(no justification given)"
    return None


def _effective_rules(
    policies: Sequence[Policy], environment: str, services: tuple[str, ...]
) -> list[tuple[Rule, Policy]]:
    """Every enabled rule that applies here, with its policy; a later policy's rule of the
    same id replaces (or, with ``enabled: false``, removes) an earlier one only where its own
    scope applies: a replacement scoped to staging leaves production its original rule."""
    by_id: dict[str, tuple[Rule, Policy]] = {}
    for policy in policies:
        for rule in policy.rules:
            if not rule.scope.applies(environment, services):
                continue
            by_id.pop(rule.id, None)
            if rule.enabled:
                by_id[rule.id] = (rule, policy)
    return list(by_id.values())


def _window_findings(
    change: ChangeRequest, policy: Policy, windows: Sequence[Window], now: datetime
) -> list[tuple[Finding, Window]]:
    """Deny windows the change falls in, or allow windows it falls outside: at its scheduled
    time and, once that time has passed, now as well (a change deployed late is deployed now,
    and a freeze that began since holds it)."""
    t = change.scheduled_time
    times = [(t, "scheduled")]
    if now > t:  # the evaluation's time is in the report (evaluated_at)
        times.append((now, "deploying now, after its scheduled time, is"))
    loc = SourceLocation(change.file, change.line_of("scheduledTime"))
    out: list[tuple[Finding, Window]] = []
    for w in windows:
        when = next((label for at, label in times if w.kind == "deny" and w.active(at)), None)
        if when is not None:
            what = w.description or w.matcher.describe()
            out.append(
                (_window_finding(w, policy, f"{when} in deny window {w.name}: {what}", loc), w)
            )
    allows = [w for w in windows if w.kind == "allow"]
    outside = [label for at, label in times if not any(w.active(at) for w in allows)]
    if allows and outside:
        names = "; ".join(f"{w.name}: {w.matcher.describe()}" for w in allows)
        strictest = min(allows, key=lambda w: list(ENFORCEMENT_SEVERITY).index(w.enforcement))
        out.append(
            (
                _window_finding(
                    strictest,
                    policy,
                    f"{outside[0]} outside every allow window ({names})",
                    loc,
                    rule_id="allow-windows",
                ),
                strictest,
            )
        )
    return out


def _window_finding(
    w: Window, policy: Policy, message: str, loc: SourceLocation, rule_id: str | None = None
) -> Finding:
    return Finding(
        rule=rule_id or w.name,
        severity=ENFORCEMENT_SEVERITY[w.enforcement],
        message=message,
        remediation=w.remediation or "reschedule the change to a time the windows allow",
        location=loc,
        risk_points=w.risk_points,
        policy=policy.name,
        field="scheduledTime",
    )


def _environments_skipped(policies: Sequence[Policy]) -> list[str]:
    """The environments that policies, rules or windows are scoped to: with no environment
    named, none of them applies, which is worth saying."""
    scopes = [p.scope for p in policies]
    scopes += [r.scope for p in policies for r in p.rules]
    scopes += [w.scope for p in policies for w in p.windows]
    return sorted({e for scope in scopes for e in scope.environments})


def evaluate(
    change: ChangeRequest,
    policies: Sequence[Policy],
    *,
    environment: str = "",
    now: datetime | None = None,
    override: str | None = None,
    live_checks_runner: LiveChecksRunner | None = None,
) -> Evaluation:
    """Decide allow / warn / block for ``change`` under ``policies``, in ``environment`` or,
    when none is given, the one the change request names."""
    if (
        change.environment
        and environment
        and same_name(environment) != same_name(change.environment)
    ):
        raise ConfigError(
            f"the change request is for {change.environment!r}; it cannot be checked for "
            f"{environment!r}",
            file=change.file,
            line=change.line_of("environment"),
            field="environment",
        )
    environment = environment or change.environment
    now = now or datetime.now(UTC)
    applicable = [p for p in policies if p.scope.applies(environment, change.affected_services)]
    findings: list[Finding] = []
    bypasses: list[Bypass] = []
    unnamed = _environments_skipped(policies) if not environment.strip() else []
    if unnamed:
        findings.append(
            Finding(
                rule="environment",
                severity=Severity.WARN,
                message=f"no environment given, so what applies only to {', '.join(unnamed)} "
                "was not applied",
                remediation="name the environment: --env, or environment in the change request",
                location=SourceLocation(change.file),
                field="environment",
            )
        )

    def record(finding: Finding, bypassable: bool, policy: Policy) -> bool:
        """Keep ``finding``, or record its bypass; True when it was kept."""
        reason = _bypass(policy, change, override) if bypassable else None
        if reason is None:
            findings.append(finding)
            return True
        bypasses.append(
            Bypass(rule=finding.rule, reason=reason[0], justification=reason[1], finding=finding)
        )
        return False

    for rule, policy in _effective_rules(applicable, environment, change.affected_services):
        if not rule_checks.applies(rule, change):
            continue
        finding = rule_checks.check(rule, change, policy)
        if finding is not None:
            record(finding, rule.bypassable, policy)

    blocking_windows: list[Window] = []
    for policy in applicable:
        windows = [
            w for w in policy.windows if w.scope.applies(environment, change.affected_services)
        ]
        blocked = False
        for finding, window in _window_findings(change, policy, windows, now):
            kept = record(finding, window.bypassable, policy)
            blocked = blocked or (kept and finding.severity is Severity.BLOCK)
        if blocked:  # the windows that decide when this policy lets the change through
            blocking_windows.extend(
                w for w in windows if w.enforcement == "block" or w.kind == "allow"
            )

    checks: list[CheckTiming] = []
    specs = [spec for p in applicable for spec in p.checks]
    if specs:
        if live_checks_runner is None:
            checks.extend(
                CheckTiming(s.name, 0.0, "skipped", "live checks are not run in this evaluation")
                for s in specs
            )
        else:
            for result in live_checks_runner(specs, change):
                finding = _check_finding(result)
                if finding is not None:
                    findings.append(finding)
                checks.append(
                    CheckTiming(
                        result.spec.name,
                        result.seconds,
                        result.outcome.status.value,
                        result.outcome.message,
                    )
                )

    score = risk_score([f for f in findings if f.severity is not Severity.INFO])
    for policy in applicable:
        if policy.risk_threshold is not None and score >= policy.risk_threshold:
            findings.append(
                Finding(
                    rule="risk-threshold",
                    severity=Severity.BLOCK,
                    message=f"risk score {score} reaches the threshold {policy.risk_threshold} "
                    f"of policy {policy.name}",
                    remediation="lower the risk: address the findings that add risk points",
                    location=SourceLocation(policy.file, policy.risk_threshold_line),
                    policy=policy.name,
                )
            )

    next_at = None
    if blocking_windows:
        found = next_allowed(max(change.scheduled_time, now), blocking_windows)
        next_at = found.astimezone(change.scheduled_time.tzinfo) if found else None

    return Evaluation(
        decision=decide(findings),
        risk_score=score,
        findings=tuple(findings),
        change_file=change.file,
        change_id=change.id,
        environment=environment,
        policies=tuple(p.name for p in applicable),
        bypasses=tuple(bypasses),
        next_allowed_at=next_at,
        checks=tuple(checks),
        evaluated_at=now,
    )
