"""Deploy windows: weekly, across midnight, cron, dates, holidays, allow vs deny, DST."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from gate.policy.engine import evaluate
from gate.policy.result import Decision, Evaluation, Severity
from tests.policy.helpers import change, evaluate_only, policy


def run(when: str, *windows: dict[str, Any], tz: str = "UTC", **change_fields: Any) -> Evaluation:
    p = policy({"timezone": tz, "windows": list(windows)})
    return evaluate_only(change(scheduledTime=when, **change_fields), p)


NIGHT = {
    "name": "night-freeze",
    "type": "deny",
    "timezone": "Europe/Berlin",
    "days": ["fri"],
    "start": "22:00",
    "end": "06:00",
}


@pytest.mark.parametrize(
    ("when", "denied"),
    [
        ("2026-11-27T21:59:00+01:00", False),  # Fri 21:59 Berlin
        ("2026-11-27T22:00:00+01:00", True),  # Fri 22:00
        ("2026-11-28T05:59:00+01:00", True),  # Sat 05:59: still Friday's window
        ("2026-11-28T06:00:00+01:00", False),  # Sat 06:00
        ("2026-11-28T22:30:00+01:00", False),  # Sat 22:30: Saturday is not listed
    ],
)
def test_window_across_midnight(when: str, denied: bool) -> None:
    e = run(when, NIGHT)
    assert ("night-freeze" in {f.rule for f in e.findings}) is denied


def test_blocking_window_says_when_it_would_pass() -> None:
    e = run("2026-11-27T23:15:00+01:00", NIGHT)
    assert e.decision is Decision.BLOCK
    assert e.next_allowed_at == datetime.fromisoformat("2026-11-28T06:00:00+01:00")
    # reported in the offset the change was written in
    e = run("2026-11-27T22:15:00+00:00", NIGHT)
    assert e.next_allowed_at is not None
    assert e.next_allowed_at.isoformat() == "2026-11-28T05:00:00+00:00"


def test_window_in_another_zone_than_the_change() -> None:
    # 16:00 in New York on Friday is 22:00 in Berlin: inside the Berlin freeze
    e = run("2026-11-27T16:00:00-05:00", NIGHT)
    assert "night-freeze" in {f.rule for f in e.findings}


def test_cron_window_duration_is_elapsed_time_across_dst() -> None:
    weekend = {
        "name": "weekend-freeze",
        "type": "deny",
        "timezone": "Europe/Berlin",
        "cron": "0 18 * * 5",
        "duration": "62h",
    }
    # Berlin moves to summer time on Sunday 2026-03-29: Fri 18:00 CET + 62 h = Mon 09:00 CEST
    assert "weekend-freeze" in {f.rule for f in run("2026-03-30T08:59:00+02:00", weekend).findings}
    e = run("2026-03-28T12:00:00+01:00", weekend)
    assert e.next_allowed_at == datetime.fromisoformat("2026-03-30T09:00:00+02:00")
    assert not run("2026-03-30T09:00:00+02:00", weekend).findings


@pytest.mark.parametrize(
    "when",
    [
        "2026-10-25T02:40:00+02:00",  # 10 min after the start, still summer time
        "2026-10-25T02:00:00+01:00",  # the clocks went back: 30 min after the start
        "2026-10-25T02:20:00+01:00",  # 50 min after the start
    ],
)
def test_a_cron_window_starting_in_the_repeated_hour_covers_its_whole_duration(
    when: str,
) -> None:
    """Berlin leaves summer time at 03:00 CEST on 2026-10-25, back to 02:00 CET: a deny
    window starting at 02:30 for one hour covers 02:30 CEST to 02:30 CET, every minute."""
    nightly = {
        "name": "nightly-batch",
        "type": "deny",
        "timezone": "Europe/Berlin",
        "cron": "30 2 * * *",
        "duration": "1h",
    }
    assert "nightly-batch" in {f.rule for f in run(when, nightly).findings}
    assert not run("2026-10-25T03:30:00+01:00", nightly).findings


def test_one_off_dates_are_inclusive_local_days() -> None:
    freeze = {
        "name": "year-end",
        "type": "deny",
        "timezone": "America/New_York",
        "dates": {"start": "2026-12-20", "end": "2027-01-02"},
    }
    assert not run("2026-12-20T04:59:00+00:00", freeze).findings  # 23:59 on the 19th in NY
    assert run("2026-12-20T05:00:00+00:00", freeze).findings
    e = run("2027-01-02T23:00:00-05:00", freeze)
    assert e.next_allowed_at == datetime.fromisoformat("2027-01-03T00:00:00-05:00")


def test_public_holiday_window() -> None:
    holiday = {
        "name": "us-holidays",
        "type": "deny",
        "timezone": "America/New_York",
        "holidays": {"country": "US"},
    }
    e = run("2026-11-26T15:00:00+00:00", holiday)  # Thanksgiving
    [f] = e.findings
    assert f.rule == "us-holidays"
    assert f.severity is Severity.BLOCK
    assert e.next_allowed_at == datetime.fromisoformat("2026-11-27T05:00:00+00:00")
    assert not run("2026-11-25T15:00:00+00:00", holiday).findings


def test_german_holiday_by_subdivision() -> None:
    by = {
        "name": "bavaria",
        "type": "deny",
        "timezone": "Europe/Berlin",
        "holidays": {"country": "DE", "subdivision": "BY"},
    }
    assert run("2026-01-06T10:00:00+01:00", by).findings  # Epiphany, Bavaria only
    be = {**by, "holidays": {"country": "DE", "subdivision": "BE"}}
    assert not run("2026-01-06T10:00:00+01:00", be).findings


def test_allow_windows_and_deny_beats_allow() -> None:
    office = {
        "name": "office",
        "type": "allow",
        "days": ["mon", "tue", "wed", "thu"],
        "start": "09:00",
        "end": "16:00",
    }
    assert not run("2026-11-24T10:00:00+00:00", office).findings
    e = run("2026-11-24T16:00:00+00:00", office)
    assert [f.rule for f in e.findings] == ["allow-windows"]
    assert e.next_allowed_at == datetime.fromisoformat("2026-11-25T09:00:00+00:00")
    e = run("2026-11-26T18:00:00+00:00", office)  # Thursday evening → Monday
    assert e.next_allowed_at == datetime.fromisoformat("2026-11-30T09:00:00+00:00")
    deny = {"name": "tuesday-freeze", "type": "deny", "days": ["tue"]}
    e = run("2026-11-24T10:00:00+00:00", office, deny)
    assert [f.rule for f in e.findings] == ["tuesday-freeze"]
    assert e.next_allowed_at == datetime.fromisoformat("2026-11-25T09:00:00+00:00")


def test_no_window_matching_means_allowed() -> None:
    assert run("2026-11-24T10:00:00+00:00", NIGHT).decision is Decision.ALLOW


def test_warn_window_does_not_block_and_gives_no_next_time() -> None:
    soft = {**NIGHT, "enforcement": "warn"}
    e = run("2026-11-27T23:00:00+01:00", soft)
    assert e.decision is Decision.WARN
    assert e.next_allowed_at is None


def test_emergency_bypasses_a_freeze_and_says_so() -> None:
    e = run("2026-11-27T23:00:00+01:00", NIGHT, type="emergency", justification="INC-77 outage")
    assert "night-freeze" not in {f.rule for f in e.findings}
    assert [(b.rule, b.reason, b.justification) for b in e.bypasses] == [
        ("night-freeze", "emergency change", "INC-77 outage")
    ]


def test_window_marked_not_bypassable_holds_for_emergencies() -> None:
    hard = {**NIGHT, "bypassable": False}
    e = run("2026-11-27T23:00:00+01:00", hard, type="emergency", justification="INC-77")
    assert e.decision is Decision.BLOCK


def test_override_with_reason_bypasses_and_is_recorded() -> None:
    p = policy({"windows": [NIGHT]})
    e = evaluate_only(
        change(scheduledTime="2026-11-27T23:00:00+01:00"), p, override="CAB-9 approved"
    )
    assert e.decision is Decision.ALLOW
    assert [(b.rule, b.reason, b.justification) for b in e.bypasses] == [
        ("night-freeze", "override", "CAB-9 approved")
    ]


def test_a_window_applies_only_where_its_scope_does() -> None:
    """A freeze scoped to staging does not block production (its scope used to be read and
    ignored, so it blocked everywhere); a window scoped to a service holds only for it; an
    allow window scoped elsewhere does not confine this change either."""
    freeze = {"name": "staging-freeze", "type": "deny", "days": ["tue"]}
    nights = {"name": "db-nights", "type": "allow", "start": "01:00", "end": "04:00"}
    p = policy(
        {
            "windows": [
                {**freeze, "scope": {"environments": ["staging"]}},
                {**nights, "scope": {"services": ["db"]}},
            ]
        }
    )
    tuesday = change(scheduledTime="2026-11-24T10:00:00+00:00")
    assert evaluate_only(tuesday, p).decision is Decision.ALLOW
    staged = evaluate(tuesday, [p], environment="Staging", now=tuesday.scheduled_time)
    assert [f.rule for f in staged.findings] == ["staging-freeze"]
    db = change(scheduledTime="2026-11-24T10:00:00+00:00", affectedServices=["db"])
    assert [f.rule for f in evaluate_only(db, p).findings] == ["allow-windows"]


def test_a_change_deployed_after_its_scheduled_time_is_judged_now_too() -> None:
    """A change request scheduled last Tuesday and deployed now, on Friday evening inside
    the weekend freeze, used to be allowed: the freeze was judged at the stale scheduled time
    only (a reused request, or scheduledTime: 1970-01-01T00:00:00Z, slipped past every
    window). Once the scheduled time has passed, the windows are judged now as well."""
    p = policy(
        {
            "windows": [
                {"name": "weekend", "type": "deny", "cron": "0 18 * * fri", "duration": "62h"},
                {"name": "office", "type": "allow", "days": ["mon", "tue", "wed", "thu", "fri"]},
            ]
        }
    )
    tuesday = change(scheduledTime="2026-11-24T10:00:00+00:00")
    on_time = evaluate(tuesday, [p], now=datetime.fromisoformat("2026-11-24T09:00:00+00:00"))
    assert on_time.decision is Decision.ALLOW
    late = evaluate(tuesday, [p], now=datetime.fromisoformat("2026-11-27T19:30:00+00:00"))
    assert late.decision is Decision.BLOCK
    assert [f.message for f in late.findings] == [
        "deploying now, after its scheduled time, is in deny window weekend: "
        "cron '0 18 * * fri' for 2d14h (UTC)"
    ]
    assert late.next_allowed_at == datetime.fromisoformat("2026-11-30T08:00:00+00:00")
    sunday = evaluate(tuesday, [p], now=datetime.fromisoformat("2026-11-29T20:00:00+00:00"))
    assert [f.rule for f in sunday.findings] == ["weekend", "allow-windows"]
    epoch = change(scheduledTime="1970-01-06T10:00:00+00:00")  # a Tuesday
    old = evaluate(epoch, [p], now=datetime.fromisoformat("2026-11-28T12:00:00+00:00"))
    assert old.decision is Decision.BLOCK
