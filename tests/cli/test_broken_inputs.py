"""Every broken input gives exit 2 and one line naming the file and line: never a traceback."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, Result

BROKEN = Path("tests/broken_inputs")

# file → a part of the message it must give
CHANGE_CASES = {
    "syntax-error.yaml": "invalid YAML",
    "duplicate-key.yaml": "title: duplicate key 'title' (first defined on line 2)",
    "wrong-type-approvers.yaml": "approvers: expected array, got string 'alice'",
    "bad-enum-type.yaml": "type: 'urgent' is not one of: standard, normal, emergency",
    "bad-enum-risk.yaml": "did you mean 'low'?",
    "unparseable-time.yaml": "scheduledTime: 'next tuesday' is not an ISO 8601 date-time",
    "time-without-offset.yaml": "scheduledTime: '2026-11-24T10:00:00' has no UTC offset",
    "time-as-number.yaml": "scheduledTime: expected string, got integer",
    "missing-id.yaml": "id: required field is missing",
    "unknown-key.yaml": "rollbackPlna: unknown key 'rollbackPlna'; did you mean 'rollbackPlan'?",
    "bool-as-string.yaml": "maintenanceWindow: expected boolean, got string 'maybe'",
    "empty.yaml": "file is empty",
    "only-comment.yaml": "file holds no document",
    "top-level-list.yaml": "expected a mapping at the top level",
    "tab-indent.yaml": "invalid YAML",
    "alias-bomb.yaml": "alias bomb",
    "json-syntax.json": "invalid YAML",
    "json-duplicate.json": "id: duplicate key 'id'",
    "json-wrong-item-type.json": "approvers[1]: expected string, got integer 2",
}
POLICY_CASES = {
    "policy-unknown-timezone.yaml": "spec.timezone: unknown time zone 'Europe/Berlinn'",
    "policy-bad-clock.yaml": "spec.rules[0].start: expected a time of day HH:MM",
    "policy-bad-cron.yaml": "spec.windows[0].cron: '61 * * * *' is not a valid cron expression",
    "policy-bad-duration.yaml": "spec.windows[0].duration: expected a duration such as 62h",
    "policy-unknown-rule-kind.yaml": "did you mean 'field'?",
    "policy-bad-regex.yaml": "spec.rules[0].pattern: invalid regular expression",
    "policy-window-two-forms.yaml": "this one has weekly and cron",
    "policy-unknown-holiday-country.yaml": "spec.windows[0].holidays: no holiday calendar for XX",
    "policy-duplicate-rule-id.yaml": "spec.rules[1].id: duplicate rule id 'r' (first on line 7)",
    "policy-missing-spec.yaml": "spec: required field is missing",
    "policy-dates-reversed.yaml": "spec.windows[0].dates.end: end is before start",
    "policy-bad-window-type.yaml": "spec.windows[0].type: 'block' is not one of: deny, allow",
    "policy-bad-day.yaml": "spec.rules[0].days[0]: 'someday' is not one of",
    "policy-setting-of-other-kind.yaml": "spec.rules[0].minimum: not a setting of a 'field' rule",
    "policy-threshold-string.yaml": "spec.riskThreshold: expected integer, got string 'high'",
    # a condition or a field rule on something no change request holds would never apply
    "policy-condition-unknown-field.yaml": (
        "spec.rules[0].when.risklevel: a change request has no field 'risklevel'; "
        "did you mean 'riskLevel'?"
    ),
    "policy-condition-never-a-value.yaml": (
        "spec.rules[0].when.riskLevel: 'High' is never a riskLevel; one of: low, medium, high, "
        "critical"
    ),
    "policy-condition-empty-list.yaml": (
        "spec.rules[0].when.riskLevel: lists no value, so the condition never matches"
    ),
    "policy-incidents-empty-services.yaml": (
        "spec.checks[0].services: maps no service; map gate's service names to PagerDuty "
        "service ids, or leave services out to watch every service"
    ),
    "policy-condition-on-mappings.yaml": (
        "spec.rules[0].when.labels: labels holds mappings, which a condition never matches"
    ),
    "policy-rule-unknown-field.yaml": (
        "spec.rules[0].field: a change request has no field 'link'; did you mean 'links'?"
    ),
}


def one_line(r: Result, path: str, message: str, *, with_line: bool = True) -> None:
    assert r.code == 2, r.err
    assert r.out == ""
    lines = r.err.splitlines()
    assert len(lines) == 1, r.err
    prefix = re.escape(f"gate: error: {path}") + (r":\d+: " if with_line else ": ")
    assert re.match(prefix, lines[0]), lines[0]
    assert message in lines[0]
    assert "Traceback" not in r.err


def test_the_table_covers_at_least_25_files() -> None:
    on_disk = {p.name for p in (REPO / BROKEN).iterdir() if p.is_file()}
    assert set(CHANGE_CASES) | set(POLICY_CASES) == on_disk
    assert len(on_disk) >= 25


@pytest.mark.parametrize(("name", "message"), sorted(CHANGE_CASES.items()))
def test_broken_change_request(gate: Callable[..., Result], name: str, message: str) -> None:
    path = str(BROKEN / name)
    one_line(gate("check", "--change", path), path, message)
    one_line(gate("validate", path), path, message)


@pytest.mark.parametrize(("name", "message"), sorted(POLICY_CASES.items()))
def test_broken_policy(gate: Callable[..., Result], name: str, message: str) -> None:
    path = str(BROKEN / name)
    one_line(
        gate("check", "--change", "examples/change-pass.yaml", "--policy", path), path, message
    )


def test_binary_and_non_utf8_files(gate: Callable[..., Result], tmp_path: Path) -> None:
    binary = tmp_path / "change.yaml"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00")
    one_line(gate("check", "--change", str(binary)), str(binary), "binary file")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"id: CHG-1\ntitle: caf\xe9\n")
    one_line(gate("check", "--change", str(latin)), str(latin), "not UTF-8 text")


def test_missing_file_and_directory(gate: Callable[..., Result], tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    one_line(gate("check", "--change", missing), missing, "no such file", with_line=False)
    one_line(
        gate("check", "--change", str(tmp_path)), str(tmp_path), "is a directory", with_line=False
    )
    empty_dir = tmp_path / "policies"
    empty_dir.mkdir()
    one_line(
        gate("check", "--change", "examples/change-pass.yaml", "--policy", str(empty_dir)),
        str(empty_dir),
        "directory holds no",
        with_line=False,
    )


def test_bad_now_flag(gate: Callable[..., Result]) -> None:
    r = gate("check", "--change", "examples/change-pass.yaml", "--now", "tomorrow")
    assert (r.code, r.err) == (
        2,
        "gate: error: --now: 'tomorrow' is not an ISO 8601 date-time, e.g. "
        "2026-11-24T10:00:00+01:00\n",
    )
