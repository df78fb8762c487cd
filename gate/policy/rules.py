"""How each kind of rule judges a change request. One function per kind; none print."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gate.change import ChangeRequest, same_name
from gate.errors import ConfigError
from gate.policy.model import Policy, Rule
from gate.policy.result import Finding, SourceLocation
from gate.policy.windows import WEEKDAY_LABELS

DAY_FULL = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _matches(change: ChangeRequest, condition: Mapping[str, tuple[Any, ...]]) -> bool:
    for name, allowed in condition.items():
        value = change.fields.get(name)
        values = value if isinstance(value, list) else [value]
        if not any(_same(v, a) for v in values for a in allowed):
            return False
    return True


def _same(value: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return value is expected
    return str(value) == str(expected)


def applies(rule: Rule, change: ChangeRequest) -> bool:
    """Whether ``rule``'s ``when`` holds and its ``unless`` does not."""
    if rule.when and not _matches(change, rule.when):
        return False
    return not (rule.unless and _matches(change, rule.unless))


def _empty(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str | list | dict) and not str(value).strip())
        or (isinstance(value, list | dict) and len(value) == 0)
    )


PATTERN_TIMEOUT = 1.0


def _search(rule: Rule, pattern: Any, text: str) -> bool:
    """Search with a time bound: a pattern that backtracks without end is the policy's bug,
    reported as bad input naming the rule, never a hang."""
    try:
        return pattern.search(text[:100_000], timeout=PATTERN_TIMEOUT) is not None
    except TimeoutError:
        raise ConfigError(
            f"the pattern took more than {PATTERN_TIMEOUT:g}s on {rule.params['field']}; "
            "simplify it (nested repetition such as (a+)+ backtracks without end)",
            file=rule.file,
            line=rule.line,
            field=f"rules.{rule.id}.pattern",
        ) from None


def _field_problem(rule: Rule, value: Any) -> str | None:
    p = rule.params
    name = p["field"]
    if _empty(value):
        return f"{name} is missing or empty" if p.get("required", False) else None
    if "minLength" in p:
        n = len(str(value).strip())
        if n < p["minLength"]:
            return f"{name} has {n} characters; at least {p['minLength']} are needed"
    if "minItems" in p and isinstance(value, list) and len(value) < p["minItems"]:
        return f"{name} lists {len(value)}; at least {p['minItems']} are needed"
    items = value if isinstance(value, list) else [value]  # a list's every item is judged
    for item in items:
        if "pattern" in p and not _search(rule, p["pattern"], str(item)):
            return f"{name} {_short(item)} does not match {p['pattern'].pattern!r}"
        if "allowedValues" in p and not any(_same(item, a) for a in p["allowedValues"]):
            options = ", ".join(str(a) for a in p["allowedValues"])
            verb = "holds" if isinstance(value, list) else "is"
            return f"{name} {verb} {_short(item)}; allowed: {options}"
    if "equals" in p and not _same(value, p["equals"]):
        return f"{name} is {_short(value)}; must be {_short(p['equals'])}"
    return None


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value).lower()
    return text if len(text) <= 40 else text[:37] + "..."


def _check_field(rule: Rule, change: ChangeRequest, policy: Policy) -> tuple[str, str] | None:
    name = rule.params["field"]
    problem = _field_problem(rule, change.fields.get(name))
    return (problem, name) if problem else None


def _person(name: str) -> str:
    """Who a name in ``approvers`` or ``author`` is: logins and e-mail addresses are the same
    person in any case, with or without surrounding spaces."""
    return name.strip().casefold()


def _check_approvals(rule: Rule, change: ChangeRequest, policy: Policy) -> tuple[str, str] | None:
    need = rule.params["minimum"].get(change.risk_level.value, 0)
    author = _person(change.author)
    named: dict[str, str] = {}  # one person however their name is cased or padded
    for a in change.approvers:
        if _person(a) and _person(a) != author:
            named.setdefault(_person(a), a.strip())
    people = sorted(named.values())
    if len(people) >= need:
        return None
    given = f" ({', '.join(people)})" if people else ""
    besides = " other than the author" if change.author else ""
    return (
        f"riskLevel {change.risk_level.value} needs {need} approvers{besides}; "
        f"{len(people)} given{given}",
        "approvers",
    )


def _local(change: ChangeRequest, policy: Policy) -> str:
    local = change.scheduled_time.astimezone(policy.timezone)
    return f"{DAY_FULL[local.weekday()]} {local:%Y-%m-%d %H:%M} {policy.timezone.key}"


def _check_days(rule: Rule, change: ChangeRequest, policy: Policy) -> tuple[str, str] | None:
    local = change.scheduled_time.astimezone(policy.timezone)
    if local.weekday() not in rule.params["days"]:
        return None
    days = ", ".join(WEEKDAY_LABELS[d] for d in sorted(rule.params["days"]))
    return f"scheduled on {_local(change, policy)} (days to avoid: {days})", "scheduledTime"


def _check_hours(rule: Rule, change: ChangeRequest, policy: Policy) -> tuple[str, str] | None:
    local = change.scheduled_time.astimezone(policy.timezone)
    minutes = local.hour * 60 + local.minute
    start, end = rule.params["start"], rule.params["end"]
    if start <= minutes < end or (end <= start and (minutes >= start or minutes < end)):
        return None  # end at or before start: the hours cross midnight, as windows do
    hours = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    return f"scheduled at {_local(change, policy)}, outside {hours}", "scheduledTime"


def _check_services(rule: Rule, change: ChangeRequest, policy: Policy) -> tuple[str, str] | None:
    critical = {same_name(s) for s in rule.params["services"]}
    touched = sorted({s for s in change.affected_services if same_name(s) in critical})
    if not touched:
        return None
    return f"touches critical service{'s' if len(touched) > 1 else ''} {', '.join(touched)}", (
        "affectedServices"
    )


CHECKERS: dict[str, Callable[[Rule, ChangeRequest, Policy], tuple[str, str] | None]] = {
    "field": _check_field,
    "approvals": _check_approvals,
    "days": _check_days,
    "hours": _check_hours,
    "services": _check_services,
}


def check(rule: Rule, change: ChangeRequest, policy: Policy) -> Finding | None:
    """The finding ``rule`` raises against ``change``, or None when it passes."""
    outcome = CHECKERS[rule.kind](rule, change, policy)
    if outcome is None:
        return None
    problem, field_name = outcome
    message = f"{rule.message} ({problem})" if rule.message else problem
    return Finding(
        rule=rule.id,
        severity=rule.severity,
        message=message,
        remediation=rule.remediation,
        location=SourceLocation(change.file, change.line_of(field_name)),
        risk_points=rule.risk_points,
        policy=rule.policy,
        field=field_name,
    )
