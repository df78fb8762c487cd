"""Deploy windows: when a change may (allow) or may not (deny) be deployed.

Each window reads time in its own IANA time zone, on the wall clock, so "18:00 on Fridays" in
Europe/Berlin is right on both sides of a DST change. A window is one of:

* weekly: ``days`` and/or ``start``-``end`` hours (``end`` ≤ ``start`` crosses midnight; a
  window that crosses midnight belongs to the day it starts on);
* ``cron`` start plus ``duration`` (elapsed time);
* one-off ``dates`` (``YYYY-MM-DD`` inclusive, or date-times);
* public ``holidays`` of a country (and subdivision), from the ``holidays`` package.

Deny beats allow; with no allow window every time is allowed unless denied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from gate.change import Scope

DAY_NAMES = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "wednesday": 2, "wed": 2, "thursday": 3,
    "thu": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_STEPS = 1000


def parse_clock(text: str) -> int:
    """``HH:MM`` → minutes after midnight (``24:00`` → 1440)."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _at(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """The instant of wall-clock ``minutes`` on ``day`` in ``tz`` (24:00 is the next midnight)."""
    extra, minutes = divmod(minutes, 1440)
    local = datetime.combine(day + timedelta(days=extra), time(minutes // 60, minutes % 60), tz)
    return local.astimezone(UTC).astimezone(tz)


class Matcher(Protocol):
    def active(self, t: datetime) -> bool:
        """Whether the aware instant ``t`` lies in the window."""
        ...

    def current_end(self, t: datetime) -> datetime:
        """When the activation containing ``t`` ends (``t`` must be active)."""
        ...

    def next_start(self, t: datetime) -> datetime | None:
        """The first start strictly after ``t``, or None if there is none within a year."""
        ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Weekly:
    tz: ZoneInfo
    days: frozenset[int]
    start: int = 0  # minutes after midnight
    end: int = 1440

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def active(self, t: datetime) -> bool:
        local = t.astimezone(self.tz)
        wd = local.weekday()
        m = local.hour * 60 + local.minute
        if not self.crosses_midnight:
            return wd in self.days and self.start <= m < self.end
        return (wd in self.days and m >= self.start) or ((wd - 1) % 7 in self.days and m < self.end)

    def current_end(self, t: datetime) -> datetime:
        local = t.astimezone(self.tz)
        m = local.hour * 60 + local.minute
        if self.crosses_midnight and m >= self.start and local.weekday() in self.days:
            return _at(local.date() + timedelta(days=1), self.end, self.tz)
        return _at(local.date(), self.end, self.tz)

    def next_start(self, t: datetime) -> datetime | None:
        local = t.astimezone(self.tz)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if day.weekday() in self.days:
                candidate = _at(day, self.start, self.tz)
                if candidate > t:
                    return candidate
        return None

    def describe(self) -> str:
        days = ",".join(WEEKDAY_LABELS[d] for d in sorted(self.days))
        if self.start == 0 and self.end == 1440:
            return f"{days} all day ({self.tz.key})"
        return f"{days} {_clock(self.start)}-{_clock(self.end)} ({self.tz.key})"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Cron:
    tz: ZoneInfo
    expression: str
    duration: timedelta

    def _prev_start(self, t: datetime) -> datetime:
        from croniter import croniter

        it = croniter(self.expression, t.astimezone(self.tz) + timedelta(seconds=1))
        prev: datetime = it.get_prev(datetime)
        return prev

    def _first_start_after(self, t: datetime) -> datetime:
        from croniter import croniter

        nxt: datetime = croniter(self.expression, t.astimezone(self.tz)).get_next(datetime)
        return nxt

    def _covering_starts(self, t: datetime) -> list[datetime]:
        """Starts whose activation contains ``t``. The first start after ``t - duration``
        (croniter's forward search) is always found when there is one: its backward search
        skips starts in the hour the clocks go back."""
        utc = t.astimezone(UTC)
        starts = (self._prev_start(t), self._first_start_after(utc - self.duration))
        return [s for s in starts if s.astimezone(UTC) <= utc < s.astimezone(UTC) + self.duration]

    def active(self, t: datetime) -> bool:
        return bool(self._covering_starts(t))

    def current_end(self, t: datetime) -> datetime:
        latest = max(self._covering_starts(t), key=lambda s: s.astimezone(UTC))
        return (latest.astimezone(UTC) + self.duration).astimezone(self.tz)

    def next_start(self, t: datetime) -> datetime | None:
        from croniter import croniter

        nxt: datetime = croniter(self.expression, t.astimezone(self.tz)).get_next(datetime)
        return nxt

    def describe(self) -> str:
        return f"cron '{self.expression}' for {_human(self.duration)} ({self.tz.key})"


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"


@dataclass(frozen=True)
class Dates:
    tz: ZoneInfo
    start: datetime
    end: datetime  # exclusive

    def active(self, t: datetime) -> bool:
        return self.start <= t < self.end

    def current_end(self, t: datetime) -> datetime:
        return self.end

    def next_start(self, t: datetime) -> datetime | None:
        return self.start if self.start > t else None

    def describe(self) -> str:
        return (
            f"{self.start.astimezone(self.tz).isoformat()} to "
            f"{self.end.astimezone(self.tz).isoformat()} ({self.tz.key})"
        )


@dataclass(frozen=True)
class Holidays:
    tz: ZoneInfo
    country: str
    subdivision: str | None = None

    def _calendar(self, years: Iterable[int]) -> Any:
        import holidays

        return holidays.country_holidays(self.country, subdiv=self.subdivision, years=list(years))

    def holiday_name(self, t: datetime) -> str | None:
        day = t.astimezone(self.tz).date()
        name = self._calendar([day.year]).get(day)
        return str(name) if name else None

    def active(self, t: datetime) -> bool:
        return self.holiday_name(t) is not None

    def current_end(self, t: datetime) -> datetime:
        day = t.astimezone(self.tz).date()
        return _at(day + timedelta(days=1), 0, self.tz)

    def next_start(self, t: datetime) -> datetime | None:
        day = t.astimezone(self.tz).date()
        calendar = self._calendar([day.year, day.year + 1])
        for offset in range(1, 370):
            candidate = day + timedelta(days=offset)
            if candidate in calendar:
                return _at(candidate, 0, self.tz)
        return None

    def describe(self) -> str:
        where = f"{self.country}-{self.subdivision}" if self.subdivision else self.country
        return f"public holidays of {where} ({self.tz.key})"


@dataclass(frozen=True)
class Window:
    """One deny or allow window of a policy."""

    name: str
    kind: str  # "deny" | "allow"
    matcher: Matcher
    enforcement: str = "block"
    risk_points: int = 0
    bypassable: bool = True
    remediation: str = ""
    description: str = ""
    line: int | None = None
    scope: Scope = field(default_factory=Scope)

    def active(self, t: datetime) -> bool:
        return self.matcher.active(t)


def next_allowed(t: datetime, windows: Sequence[Window]) -> datetime | None:
    """The first instant at or after ``t`` at which ``windows`` allow a deploy.

    None when no such instant is found within :data:`MAX_STEPS` window boundaries.
    """
    allows = [w for w in windows if w.kind == "allow"]
    for _ in range(MAX_STEPS):
        denies = [w for w in windows if w.kind == "deny" and w.active(t)]
        if denies:
            nxt = max(w.matcher.current_end(t) for w in denies)
        elif allows and not any(w.active(t) for w in allows):
            starts = [s for w in allows if (s := w.matcher.next_start(t)) is not None]
            if not starts:
                return None
            nxt = min(starts)
        else:
            return t
        t = nxt if nxt > t else t + timedelta(minutes=1)
    return None
