"""The one parser of each kind of value gate reads: durations, date-times, names, numbers.

Every parser raises :class:`ValueError` with a message a person can act on; callers that know
where the value came from (a file and line, or a command-line option) turn it into a
:class:`~gate.errors.ConfigError`. Ranges are checked here, so that a value that parses is one
the rest of gate can use: no NaN or infinite limits, no zero-length or century-long
intervals, no dates that overflow when a window is added to them.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

# -- durations ---------------------------------------------------------------------------------

_DURATION = re.compile(r"(?:[0-9]{1,9}(?:\.[0-9]{1,6})?(?:ms|s|m|h|d|w))+")
_PART = re.compile(r"([0-9]{1,9}(?:\.[0-9]{1,6})?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
MAX_DURATION = 366 * 86400.0  # a year: longer is a typo, and would overflow date arithmetic


def parse_duration(text: str, *, minimum: float = 0.001, maximum: float = MAX_DURATION) -> float:
    """``1h30m`` → 5400.0 seconds; ``ms``, ``s``, ``m``, ``h``, ``d`` and ``w`` may be combined.

    Raises ValueError unless the text is a duration between ``minimum`` and ``maximum``.
    """
    if not isinstance(text, str) or not _DURATION.fullmatch(text):
        raise ValueError(f"{_show(text)} is not a duration such as 500ms, 30s, 5m or 1h30m")
    seconds = math.fsum(float(n) * _UNITS[u] for n, u in _PART.findall(text))
    if seconds < minimum:
        raise ValueError(f"{text} is shorter than the minimum of {format_duration(minimum)}")
    if seconds > maximum:
        raise ValueError(f"{text} is longer than the maximum of {format_duration(maximum)}")
    return seconds


def format_duration(seconds: float) -> str:
    """5400 → ``1h30m``; 0.25 → ``250ms``: the shortest form :func:`parse_duration` reads back."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    out = []
    rest = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out) or "0s"


# -- date-times --------------------------------------------------------------------------------

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def parse_datetime(text: str, *, require_offset: bool = True) -> datetime:
    """An ISO 8601 date-time between 1970 and 2200, with a UTC offset (``Z`` or ``+01:00``)
    unless ``require_offset`` is False (then the caller supplies the zone)."""
    if not isinstance(text, str):
        raise ValueError(f"{_show(text)} is not an ISO 8601 date-time")
    raw = text.strip()
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"{_show(text)} is not an ISO 8601 date-time, e.g. 2026-11-24T10:00:00+01:00"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        if require_offset:
            raise ValueError(f"{_show(text)} has no UTC offset; write e.g. {raw}+00:00 or {raw}Z")
        check_year(parsed.year, text)
        return parsed
    check_year(parsed.year, text)
    return parsed


def check_year(year: int, text: object) -> None:
    if not EARLIEST.year <= year < LATEST.year:
        raise ValueError(
            f"{_show(text)} is outside the years {EARLIEST.year}-{LATEST.year - 1} gate works with"
        )


# -- names -------------------------------------------------------------------------------------

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"  # for the JSON Schemas (editors)
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
NAME_RULE = "lower-case letters, digits, and - . _ inside; at most 63 characters"


def check_name(text: object, what: str = "name") -> str:
    """The one rule for the names of rollouts, checks and metrics, wherever they are written
    (files and command-line arguments): they name directories and label metrics."""
    if not isinstance(text, str) or not _NAME.fullmatch(text):
        raise ValueError(f"{_show(text)} is not a valid {what} ({NAME_RULE})")
    return text


# -- numbers -----------------------------------------------------------------------------------


def finite(
    value: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: float | None = None,
    exclusive_maximum: float | None = None,
) -> float:
    """``value`` as a finite float within the bounds, or ValueError saying why not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{_show(value)} is not a number")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError("the number is too large") from None
    if not math.isfinite(number):
        raise ValueError(f"{_show(value)} is not a finite number")
    if minimum is not None and number < minimum:
        raise ValueError(f"{value:g} is below the minimum of {minimum:g}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{value:g} is above the maximum of {maximum:g}")
    if exclusive_minimum is not None and number <= exclusive_minimum:
        raise ValueError(f"{value:g} must be above {exclusive_minimum:g}")
    if exclusive_maximum is not None and number >= exclusive_maximum:
        raise ValueError(f"{value:g} must be below {exclusive_maximum:g}")
    return number


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
