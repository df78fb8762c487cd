"""What policies can express beyond the defaults: field rules, scope, enforcement, thresholds."""

from __future__ import annotations

from typing import Any

import pytest

from gate.policy.engine import evaluate
from gate.policy.load import load_policies
from gate.policy.result import Decision, Severity
from tests.policy.helpers import change, default_eval, evaluate_only, policy


def field_rule(**settings: Any) -> dict[str, Any]:
    return {"id": "r", "kind": "field", "enforcement": "block", **settings}


@pytest.mark.parametrize(
    ("rule", "fields", "fails"),
    [
        (field_rule(field="links", required=True), {}, True),
        (field_rule(field="links", required=True), {"links": ["https://t/1"]}, False),
        (field_rule(field="id", pattern=r"^CHG-\d+$"), {"id": "CHG-12"}, False),
        (field_rule(field="id", pattern=r"^CHG-\d+$"), {"id": "chg-12"}, True),
        (field_rule(field="type", allowedValues=["standard"]), {"type": "normal"}, True),
        (field_rule(field="type", allowedValues=["standard", "normal"]), {}, False),
        (field_rule(field="description", minLength=10), {"description": "short"}, True),
        (field_rule(field="description", minLength=10), {}, False),  # not required: absent is ok
        (field_rule(field="approvers", minItems=2), {"approvers": ["a"]}, True),
        # a list field: every item is judged (the list's repr used to be, so these inverted)
        (field_rule(field="affectedServices", allowedValues=["search", "web"]), {}, False),
        (field_rule(field="affectedServices", allowedValues=["web"]), {}, True),
        (field_rule(field="links", pattern="^https://jira/"), {"links": ["https://jira/1"]}, False),
        (field_rule(field="links", pattern="jira"), {"links": ["https://jira/1", "x"]}, True),
    ],
)
def test_field_rules(rule: dict[str, Any], fields: dict[str, Any], fails: bool) -> None:
    e = evaluate_only(change(**fields), policy({"rules": [rule]}))
    assert (e.decision is Decision.BLOCK) is fails


def test_remediation_and_message_reach_the_finding() -> None:
    rule = field_rule(
        field="links",
        required=True,
        message="Link the ticket",
        remediation="Add the CAB ticket URL under links.",
        riskPoints=7,
    )
    [f] = evaluate_only(change(), policy({"rules": [rule]})).findings
    assert f.message == "Link the ticket (links is missing or empty)"
    assert f.remediation == "Add the CAB ticket URL under links."
    assert f.risk_points == 7
    assert f.policy == "test"


def test_audit_is_recorded_but_never_changes_the_decision_or_score() -> None:
    rule = field_rule(field="links", required=True, enforcement="audit", riskPoints=50)
    e = evaluate_only(change(), policy({"riskThreshold": 10, "rules": [rule]}))
    assert [f.severity for f in e.findings] == [Severity.INFO]
    assert e.decision is Decision.ALLOW
    assert e.risk_score == 0


def test_risk_threshold_blocks_at_the_threshold() -> None:
    rule = field_rule(field="links", required=True, enforcement="warn", riskPoints=40)
    at = evaluate_only(change(), policy({"riskThreshold": 40, "rules": [rule]}))
    assert at.decision is Decision.BLOCK
    assert [f.rule for f in at.findings] == ["r", "risk-threshold"]
    below = evaluate_only(change(), policy({"riskThreshold": 41, "rules": [rule]}))
    assert below.decision is Decision.WARN


def test_approvals_per_risk_level() -> None:
    rule = {"id": "approvals", "kind": "approvals", "minimum": {"medium": 1, "high": 2}}
    p = policy({"rules": [rule]})
    assert evaluate_only(change(riskLevel="medium", approvers=["a"]), p).decision is Decision.ALLOW
    assert evaluate_only(change(riskLevel="high", approvers=["a"]), p).decision is Decision.BLOCK
    assert evaluate_only(change(riskLevel="low", approvers=[]), p).decision is Decision.ALLOW


def test_scope_by_environment_and_service() -> None:
    rule = field_rule(field="links", required=True, scope={"environments": ["production"]})
    p = policy({"rules": [rule]})
    assert evaluate_only(change(), p).decision is Decision.BLOCK
    staged = default_eval(change(), p, env="staging")
    assert "r" not in {f.rule for f in staged.findings}
    scoped = policy(
        {"scope": {"services": ["payments"]}, "rules": [field_rule(field="links", required=True)]}
    )
    assert evaluate_only(change(), scoped).decision is Decision.ALLOW
    assert evaluate_only(change(affectedServices=["payments"]), scoped).decision is Decision.BLOCK


def test_a_later_policy_replaces_a_bundled_rule_by_id() -> None:
    late = policy(
        {
            "rules": [
                {
                    "id": "business-hours",
                    "kind": "hours",
                    "start": "06:00",
                    "end": "22:00",
                    "enforcement": "warn",
                }
            ]
        }
    )
    e = default_eval(change(scheduledTime="2026-11-24T07:00:00+00:00"), late)
    assert "business-hours" not in {f.rule for f in e.findings}
    off = policy(
        {
            "rules": [
                {
                    "id": "business-hours",
                    "kind": "hours",
                    "start": "09:00",
                    "end": "17:00",
                    "enabled": False,
                }
            ]
        }
    )
    e = default_eval(change(scheduledTime="2026-11-24T07:00:00+00:00"), off)
    assert "business-hours" not in {f.rule for f in e.findings}


def test_a_change_request_is_checked_in_the_environment_it_names() -> None:
    """A change request's own ``environment`` picks the policies scoped to it when no
    environment is given (--env), and one that contradicts it is bad input: it used to be
    read and ignored, so a production change checked without --env skipped every
    production-only policy."""
    from gate.errors import ConfigError
    from gate.policy.engine import evaluate

    freeze = policy(
        {
            "scope": {"environments": ["production"]},
            "windows": [{"name": "freeze", "type": "deny", "days": ["mon", "tue", "wed"]}],
        }
    )
    production = change(environment="production")  # scheduled on a Tuesday
    assert evaluate(production, [freeze]).decision is Decision.BLOCK
    assert evaluate(production, [freeze], environment="production").decision is Decision.BLOCK
    unnamed = evaluate(change(), [freeze])
    assert unnamed.decision is Decision.WARN
    assert [f.message for f in unnamed.findings] == [
        "no environment given, so what applies only to production was not applied"
    ]
    with pytest.raises(ConfigError) as caught:
        evaluate(production, [freeze], environment="staging")
    assert caught.value.one_line() == (
        "change.yaml:15: environment: the change request is for 'production'; it cannot be "
        "checked for 'staging'"
    )


def test_a_replacement_scoped_elsewhere_leaves_the_rule_in_force_here() -> None:
    """A team relaxes rollback-plan for staging with a rule of the same id scoped to staging:
    production keeps the bundled rule (the replacement used to remove it everywhere)."""
    relaxed = policy(
        {
            "rules": [
                {
                    "id": "rollback-plan",
                    "kind": "field",
                    "field": "rollbackPlan",
                    "minLength": 5,
                    "enforcement": "warn",
                    "scope": {"environments": ["staging"]},
                }
            ]
        }
    )
    short = change(rollbackPlan="redeploy")
    production = default_eval(short, relaxed, env="production")
    assert production.decision is Decision.BLOCK
    assert [f.rule for f in production.findings] == ["rollback-plan"]
    staging = default_eval(short, relaxed, env="staging")
    assert staging.decision is Decision.ALLOW
    off = policy(
        {
            "rules": [
                {
                    "id": "rollback-plan",
                    "kind": "field",
                    "field": "rollbackPlan",
                    "enabled": False,
                    "scope": {"environments": ["staging"]},
                }
            ]
        }
    )
    assert default_eval(short, off, env="production").decision is Decision.BLOCK
    assert default_eval(short, off, env="staging").decision is Decision.ALLOW


@pytest.mark.parametrize("env", ["Production", "PRODUCTION", "production "])
def test_an_environment_is_named_in_any_case(env: str) -> None:
    """--env Production is the production a policy is scoped to: it used to match no policy,
    so every production-only rule and window was skipped and the change allowed."""
    rule = field_rule(field="links", required=True, scope={"environments": ["production"]})
    p = policy({"scope": {"environments": ["production"]}, "rules": [rule]})
    e = default_eval(change(), p, env=env)
    assert e.decision is Decision.BLOCK
    assert [f.rule for f in e.findings] == ["r"]
    named = default_eval(change(environment="production"), p, env=env)
    assert [f.rule for f in named.findings] == ["r"]


def test_a_service_is_named_in_any_case() -> None:
    """affectedServices: [Payment-Service] touches payment-service: scoped policies apply and
    the bundled critical-services rule warns."""
    scoped = policy(
        {"scope": {"services": ["payments"]}, "rules": [field_rule(field="links", required=True)]}
    )
    touched = change(affectedServices=["Payments"])
    assert evaluate_only(touched, scoped).decision is Decision.BLOCK
    found = default_eval(change(affectedServices=["Payment-Service"])).findings
    assert [f.rule for f in found] == ["critical-services"]


@pytest.mark.parametrize(
    ("clock", "outside"),
    [("21:59", True), ("22:00", False), ("23:30", False), ("05:59", False), ("06:00", True)],
)
def test_hours_across_midnight(clock: str, outside: bool) -> None:
    """A night-only rule (22:00-06:00) used to find every time of day outside its hours."""
    night = {"id": "nights", "kind": "hours", "start": "22:00", "end": "06:00"}
    e = evaluate_only(
        change(scheduledTime=f"2026-11-24T{clock}:00+00:00"), policy({"rules": [night]})
    )
    assert (e.decision is Decision.BLOCK) is outside


def test_a_check_with_no_environment_says_what_it_left_out() -> None:
    """No --env and no environment in the change request: policies, rules and windows scoped
    to environments silently did not apply and the change was allowed; now a warning says
    so (with --fail-on warn it fails the run). The bundled policy is scoped nowhere."""
    scoped = policy(
        {"rules": [field_rule(field="links", required=True, scope={"environments": ["prod"]})]}
    )
    e = evaluate(change(), [*load_policies([]), scoped])
    assert e.decision is Decision.WARN
    assert [(f.rule, f.severity) for f in e.findings] == [("environment", Severity.WARN)]
    assert evaluate(change(), load_policies([])).decision is Decision.ALLOW
    assert evaluate(change(), [scoped], environment="dev").decision is Decision.ALLOW
