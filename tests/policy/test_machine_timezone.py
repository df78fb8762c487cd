"""No decision depends on the machine's time zone (TZ)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.policy.helpers import change, default_eval, policy

MACHINE_ZONES = [
    "UTC",
    "America/New_York",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Etc/GMT+12",
    "Europe/Berlin",
]
WINDOWS = policy(
    {
        "windows": [
            {
                "name": "night",
                "type": "deny",
                "timezone": "Europe/Berlin",
                "days": ["fri"],
                "start": "22:00",
                "end": "06:00",
            },
            {
                "name": "weekly",
                "type": "deny",
                "timezone": "America/New_York",
                "cron": "0 18 * * 5",
                "duration": "62h",
            },
            {
                "name": "holidays",
                "type": "deny",
                "timezone": "Asia/Tokyo",
                "holidays": {"country": "JP"},
            },
        ]
    },
    name="windows",
)


@contextmanager
def machine_zone(name: str) -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def outcome(when: datetime, offset_minutes: int, risk: str) -> tuple[object, ...]:
    written = when.astimezone(timezone(timedelta(minutes=offset_minutes)))
    e = default_eval(change(scheduledTime=written.isoformat(), riskLevel=risk), WINDOWS)
    return (
        e.decision,
        e.risk_score,
        tuple((f.rule, f.message) for f in e.findings),
        e.next_allowed_at,
    )


@settings(max_examples=60, deadline=None)
@given(
    when=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    offset=st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: m - m % 15),
    risk=st.sampled_from(["low", "medium", "high", "critical"]),
    machine=st.sampled_from(MACHINE_ZONES),
)
def test_decision_is_the_same_in_every_machine_time_zone(
    when: datetime, offset: int, risk: str, machine: str
) -> None:
    with machine_zone("UTC"):
        expected = outcome(when, offset, risk)
    with machine_zone(machine):
        assert outcome(when, offset, risk) == expected
