"""The bundled default policy, rule by rule, at its boundaries."""

from __future__ import annotations

import pytest
import yaml

from gate.policy.result import Decision, Severity, SourceLocation
from tests.policy.helpers import change, default_eval, policy


def rules(**overrides: object) -> dict[str, Severity]:
    e = default_eval(change(**overrides))
    return {f.rule: f.severity for f in e.findings}


def test_a_good_change_is_allowed_with_no_findings() -> None:
    e = default_eval(change())
    assert e.decision is Decision.ALLOW
    assert e.findings == ()
    assert e.risk_score == 0


@pytest.mark.parametrize(("length", "blocked"), [(49, True), (50, False)])
def test_rollback_plan_needs_50_characters(length: int, blocked: bool) -> None:
    found = rules(rollbackPlan="r" * length)
    assert ("rollback-plan" in found) is blocked
    if blocked:
        assert found["rollback-plan"] is Severity.BLOCK


def test_rollback_plan_counts_characters_without_surrounding_space() -> None:
    assert "rollback-plan" in rules(rollbackPlan="  " + "r" * 49 + "   ")


def test_missing_rollback_plan_blocks_with_30_points() -> None:
    e = default_eval(change(rollbackPlan=None))
    [f] = [f for f in e.findings if f.rule == "rollback-plan"]
    assert (f.severity, f.risk_points, e.risk_score) == (Severity.BLOCK, 30, 30)
    assert e.decision is Decision.BLOCK


@pytest.mark.parametrize("value", [None, "", "   "])
def test_testing_evidence_missing_or_empty(value: str | None) -> None:
    e = default_eval(change(testingEvidence=value))
    assert [(f.rule, f.risk_points) for f in e.findings] == [("testing-evidence", 25)]


@pytest.mark.parametrize("value", [None, []])
def test_affected_services_missing_or_empty(value: list[str] | None) -> None:
    e = default_eval(change(affectedServices=value))
    assert [(f.rule, f.risk_points) for f in e.findings] == [("affected-services", 15)]


@pytest.mark.parametrize(
    ("approvers", "blocked"),
    [(["a"], True), (["a", "b"], False), (["a", "z"], True), (["a", "a"], True)],
)
def test_critical_needs_two_approvers_other_than_the_author(
    approvers: list[str], blocked: bool
) -> None:
    found = rules(riskLevel="critical", approvers=approvers)
    assert ("critical-approvers" in found) is blocked


@pytest.mark.parametrize(
    ("approvers", "author"),
    [(["bob", "Bob"], "z"), (["bob", " bob "], "z"), (["bob", "Alice"], "alice")],
)
def test_one_person_is_one_approver_however_the_name_is_written(
    approvers: list[str], author: str
) -> None:
    """GitHub logins and e-mail addresses are the same person in any case: a name repeated
    in another case, or the author's own name re-cased, is not a second approver."""
    e = default_eval(change(riskLevel="critical", approvers=approvers, author=author))
    assert e.decision is Decision.BLOCK
    (finding,) = [f for f in e.findings if f.rule == "critical-approvers"]
    assert "1 given" in finding.message


def test_emergency_needs_a_justification() -> None:
    assert rules(type="emergency")["emergency-justification"] is Severity.BLOCK
    assert "emergency-justification" not in rules(type="emergency", justification="INC-1 outage")


@pytest.mark.parametrize(("window", "warned"), [(False, True), (True, False)])
def test_high_risk_outside_maintenance_window_warns(window: bool, warned: bool) -> None:
    found = rules(riskLevel="high", maintenanceWindow=window)
    assert ("maintenance-window" in found) is warned
    assert "maintenance-window" not in rules(riskLevel="medium", maintenanceWindow=False)


@pytest.mark.parametrize(
    ("when", "weekend"),
    [
        ("2026-11-26T23:59:00+00:00", False),  # Thursday
        ("2026-11-27T00:00:00+00:00", True),  # Friday
        ("2026-11-29T23:59:00+00:00", True),  # Sunday
        ("2026-11-30T00:00:00+00:00", False),  # Monday
    ],
)
def test_weekend_is_friday_to_sunday(when: str, weekend: bool) -> None:
    assert ("weekend" in rules(riskLevel="medium", scheduledTime=when)) is weekend


def test_weekend_does_not_apply_to_low_risk() -> None:
    assert "weekend" not in rules(riskLevel="low", scheduledTime="2026-11-28T12:00:00+00:00")


@pytest.mark.parametrize(
    ("clock", "warned"), [("08:59", True), ("09:00", False), ("16:59", False), ("17:00", True)]
)
def test_business_hours_boundaries(clock: str, warned: bool) -> None:
    found = rules(scheduledTime=f"2026-11-24T{clock}:00+00:00")
    assert ("business-hours" in found) is warned


def test_business_hours_are_read_in_the_policy_zone_not_the_offset_written() -> None:
    # 09:30 in New York is 14:30 UTC: inside UTC business hours
    assert "business-hours" not in rules(scheduledTime="2026-11-24T09:30:00-05:00")
    # 10:00 in Tokyo is 01:00 UTC: outside
    assert "business-hours" in rules(scheduledTime="2026-11-24T10:00:00+09:00")


def test_friday_midnight_in_berlin_is_thursday_in_utc() -> None:
    when = "2026-11-27T00:00:00+01:00"  # Friday 00:00 Berlin = Thursday 23:00 UTC
    assert "weekend" not in rules(riskLevel="medium", scheduledTime=when)
    berlin = policy(
        {
            "timezone": "Europe/Berlin",
            "rules": [
                {
                    "id": "weekend",
                    "kind": "days",
                    "days": ["fri", "sat", "sun"],
                    "enforcement": "warn",
                }
            ],
        }
    )
    e = default_eval(change(riskLevel="medium", scheduledTime=when), berlin)
    assert "weekend" in {f.rule for f in e.findings}


@pytest.mark.parametrize(
    ("utc", "warned"),
    [
        # 2026-03-08: New York springs forward at 02:00 (EST -5 → EDT -4)
        ("2026-03-08T12:59:00+00:00", True),  # 08:59 EDT
        ("2026-03-08T13:00:00+00:00", False),  # 09:00 EDT (08:00 if read as EST)
        ("2026-03-08T20:59:00+00:00", False),  # 16:59 EDT
        ("2026-03-08T21:00:00+00:00", True),  # 17:00 EDT
        # 2026-11-01: New York falls back at 02:00 (EDT -4 → EST -5)
        ("2026-11-01T13:59:00+00:00", True),  # 08:59 EST (09:59 if read as EDT)
        ("2026-11-01T14:00:00+00:00", False),  # 09:00 EST
        ("2026-11-01T21:59:00+00:00", False),  # 16:59 EST
        ("2026-11-01T22:00:00+00:00", True),  # 17:00 EST
    ],
)
def test_business_hours_on_new_york_dst_change_days(utc: str, warned: bool) -> None:
    ny = policy(
        {
            "timezone": "America/New_York",
            "rules": [
                {
                    "id": "business-hours",
                    "kind": "hours",
                    "start": "09:00",
                    "end": "17:00",
                    "enforcement": "warn",
                }
            ],
        }
    )
    e = default_eval(change(scheduledTime=utc), ny)
    hours_rule = next((f for f in e.findings if f.rule == "business-hours"), None)
    assert (hours_rule is not None) is warned
    if hours_rule is not None:
        assert "America/New_York" in hours_rule.message


def test_critical_services_warns_unless_emergency() -> None:
    assert rules(affectedServices=["api-gateway", "search"])["critical-services"] is Severity.WARN
    assert "critical-services" not in rules(
        affectedServices=["api-gateway"], type="emergency", justification="INC-9"
    )


def test_risk_score_is_capped_at_100() -> None:
    e = default_eval(
        change(
            rollbackPlan=None,
            testingEvidence=None,
            affectedServices=None,
            riskLevel="high",
            scheduledTime="2026-11-28T20:00:00+00:00",
        )
    )
    assert sum(f.risk_points for f in e.findings) > 100
    assert e.risk_score == 100


def test_findings_point_at_the_line_of_the_field() -> None:
    c = change(rollbackPlan="short")
    e = default_eval(c)
    [f] = e.findings
    assert c.source is not None
    text_lines = yaml.safe_dump(c.source.data, sort_keys=False).splitlines()
    expected = next(i for i, line in enumerate(text_lines, 1) if line.startswith("rollbackPlan:"))
    assert f.location == SourceLocation("change.yaml", expected)
