"""Finished and running rollouts as the delivery report sees them, read through the Journal.

Only the state store's API is used (``names``, ``journal``, and a journal's ``load`` and
``events``), so rollouts journaled in PostgreSQL read the same as a local directory's.

Times come from the audit log:

* **time to detect** — from the start of the window of the first failing measurement (the
  measurement's time minus the analysis interval) to the failing decision
  (``analysis-failed``);
* **time to restore** — from that decision (or, for a rollback without one, such as an abort
  by hand, from ``rolling-back``) to the moment stable traffic was verified
  (``traffic-restored``). A rollback that never restored traffic has none, and is counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gate.config.values import parse_duration
from gate.rollout.journal import RolloutJournal, StateStore, Unreadable
from gate.rollout.spec import DEFAULT_INTERVAL

ROLLED_BACK = ("rolled-back", "aborted", "rollback-failed")


@dataclass(frozen=True)
class Rollout:
    name: str
    service: str
    status: str  # the journal's: promoted, rolled-back, aborted, rollback-failed, progressing …
    started: datetime
    interval: float
    analysis_failed: bool = False  # gate's analysis decided the change was bad
    detect_seconds: float | None = None
    restore_seconds: float | None = None
    decided_at: datetime | None = None
    restored_at: datetime | None = None
    events: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)

    @property
    def promoted(self) -> bool:
        return self.status == "promoted"

    @property
    def rolled_back(self) -> bool:
        return self.status in ROLLED_BACK

    @property
    def finished(self) -> bool:
        return self.promoted or self.rolled_back


def _time(record: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(record["time"]))
    except (KeyError, ValueError):
        return None


def _outcomes(record: Mapping[str, Any]) -> list[str]:
    raw = record.get("measurements")
    if not isinstance(raw, list):
        return []
    return [
        str(m.get("outcome")) for m in raw if isinstance(m, dict) and not m.get("dry_run", False)
    ]


def _first_failing(measured: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The first measurement that failed; else the start of the last unbroken run of
    measurements that did not succeed (errors in a row, inconclusive ones)."""
    for record in measured:
        if "failure" in _outcomes(record):
            return record
    start = None
    for record in reversed(measured):
        outcomes = _outcomes(record)
        if not outcomes or all(o == "success" for o in outcomes):
            break
        start = record
    return start


def _interval(spec: Mapping[str, Any]) -> float:
    analysis = spec.get("spec", {}).get("analysis", {}) if isinstance(spec, Mapping) else {}
    raw = analysis.get("interval") if isinstance(analysis, Mapping) else None
    try:
        return parse_duration(raw) if isinstance(raw, str) else DEFAULT_INTERVAL
    except ValueError:
        return DEFAULT_INTERVAL


def from_journal(journal: RolloutJournal) -> Rollout | None:
    """The rollout journaled in ``journal``; None for a dry run, or one that never started
    (nothing was deployed)."""
    state = journal.load()
    if state is None or state.dry_run or state.status == "failed-to-start":
        return None
    events = journal.events()
    meta = state.spec.get("metadata", {}) if isinstance(state.spec, Mapping) else {}
    service = str(meta.get("service") or meta.get("name") or state.name)
    times = [t for r in events if r.get("event") == "started" and (t := _time(r))]
    started = times[0] if times else _time({"time": state.started_at})
    if started is None:
        return None
    interval = _interval(state.spec)
    decided = next((r for r in events if r.get("event") == "analysis-failed"), None)
    rolling = next((r for r in events if r.get("event") == "rolling-back"), None)
    detect = restore = None
    decided_at = _time(decided) if decided else None
    if decided_at is not None:
        measured = [
            r
            for r in events
            if r.get("event") == "measured" and (t := _time(r)) is not None and t <= decided_at
        ]
        first = _first_failing(measured)
        first_at = _time(first) if first else None
        if first_at is not None:
            detect = max(0.0, (decided_at - first_at).total_seconds() + interval)
    start = decided_at or (_time(rolling) if rolling else None)
    restored_at = None
    if start is not None:
        restored = next(
            (
                t
                for r in events
                if r.get("event") == "traffic-restored" and (t := _time(r)) and t >= start
            ),
            None,
        )
        if restored is not None:
            restored_at = restored
            restore = (restored - start).total_seconds()
    return Rollout(
        name=journal.name,
        service=service,
        status=state.status,
        started=started,
        interval=interval,
        analysis_failed=decided is not None,
        detect_seconds=detect,
        restore_seconds=restore,
        decided_at=start,
        restored_at=restored_at,
        events=tuple(events),
    )


@dataclass(frozen=True)
class Loaded:
    """The rollouts read (dry runs left out, oldest first), and those that could not be read,
    each with the reason (a damaged journal): the report names them rather than hide them."""

    rollouts: list[Rollout]
    unreadable: list[tuple[str, str]]


def load(store: StateStore) -> Loaded:
    """Every rollout journaled in ``store``."""
    out: list[Rollout] = []
    unreadable: list[tuple[str, str]] = []
    for name in store.names():
        try:
            rollout = from_journal(store.journal(name))
        except Unreadable as exc:
            unreadable.append((name, str(exc)))
            continue
        if rollout is not None:
            out.append(rollout)
    return Loaded(sorted(out, key=lambda r: r.started), unreadable)
