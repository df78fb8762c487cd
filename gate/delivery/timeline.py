"""One rollout's timeline — canary weight by stage, each metric's canary and baseline value
per interval, the judge's evidence against its threshold, the moment of rollback — from
audit records (the journal) or from live events (the step summary), and as Mermaid charts.

The SVG drawing is in :mod:`gate.delivery.svg`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gate.rollout.events import RolloutEvent

FINAL = ("promoted", "rolled-back", "rollback-failed", "interrupted")
MAX_METRICS = 4  # a chart with more lines than this is not read


@dataclass(frozen=True)
class Point:
    """One measurement of one metric, at ``t`` seconds after the rollout started."""

    t: float
    metric: str
    outcome: str
    value: float | None
    baseline: float | None
    evidence: float | None


@dataclass(frozen=True)
class Timeline:
    name: str
    status: str
    start: datetime
    end: float  # seconds after start of the last record
    weights: tuple[tuple[float, int], ...]  # (t, canary weight) at each change
    stages: tuple[tuple[float, int], ...]  # (t, stage number from 1) at each stage start
    points: tuple[Point, ...]
    rollback_at: float | None = None  # the decision to roll back
    restored_at: float | None = None  # stable traffic verified

    @property
    def metrics(self) -> list[str]:
        seen: dict[str, None] = {}
        for p in self.points:
            seen.setdefault(p.metric, None)
        return list(seen)[:MAX_METRICS]


def _float(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def from_records(name: str, records: Sequence[Mapping[str, Any]], status: str = "") -> Timeline:
    """Build a timeline from audit records (``time``, ``event``, ``weight``, ``stage``,
    ``measurements``) — the journal's, or live events turned into the same shape."""
    stamped = []
    for r in records:
        try:
            stamped.append((datetime.fromisoformat(str(r["time"])), r))
        except (KeyError, ValueError):
            continue
    if not stamped:
        raise ValueError(f"rollout {name} has no journaled events")
    start = stamped[0][0]
    weights: list[tuple[float, int]] = []
    stages: list[tuple[float, int]] = []
    points: list[Point] = []
    rollback_at = restored_at = None
    final = status
    for at, r in stamped:
        t = (at - start).total_seconds()
        kind = r.get("event")
        weight = r.get("weight")
        changed = not weights or weights[-1][1] != weight
        if (
            kind in ("weight", "traffic-restored", "started")
            and isinstance(weight, int)
            and changed
        ):
            weights.append((t, weight))
        if kind in ("stage-advanced", "promoted") and isinstance(r.get("stage"), int):
            stages.append((t, int(r["stage"]) + 1))
        if kind == "rolling-back" and rollback_at is None:
            rollback_at = t
        if kind == "traffic-restored" and restored_at is None:
            restored_at = t
        if kind in FINAL and not status:
            final = str(kind)
        measurements = r.get("measurements")
        if kind == "measured" and isinstance(measurements, list):
            for m in measurements:
                if not isinstance(m, Mapping) or m.get("dry_run"):
                    continue
                points.append(
                    Point(
                        t,
                        str(m.get("metric")),
                        str(m.get("outcome")),
                        _float(m.get("value")),
                        _float(m.get("baseline")),
                        _float(m.get("evidence")),
                    )
                )
    end = (stamped[-1][0] - start).total_seconds()
    return Timeline(
        name,
        final or "running",
        start,
        end,
        tuple(weights),
        tuple(stages),
        tuple(points),
        rollback_at,
        restored_at,
    )


def records_from_events(events: Iterable[RolloutEvent]) -> list[dict[str, Any]]:
    """Live events in the audit log's shape."""
    return [
        {
            "time": e.at.isoformat(),
            "event": e.kind,
            "stage": e.stage,
            "weight": e.weight,
            "message": e.message,
            "measurements": [dataclasses.asdict(m) for m in e.measurements],
        }
        for e in events
    ]


def clock(seconds: float) -> str:
    """``75`` → ``1:15``."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _number(x: float | None) -> str:
    return "0" if x is None else f"{x:.4g}"


def _weight_at(timeline: Timeline, t: float) -> int:
    weight = 0
    for at, w in timeline.weights:
        if at <= t:
            weight = w
    return weight


PALETTE = (("blue", "#1f77b4"), ("orange", "#ff7f0e"), ("purple", "#9467bd"),
           ("brown", "#8c564b"))  # fmt: skip
GREY, RED = ("grey", "#7f7f7f"), ("red", "#d62728")


def chart(title: str, axis: str, top: float, body: list[str], colours: list[str]) -> str:
    """One Mermaid ``xychart-beta`` block, its series drawn in ``colours`` in order."""
    palette = ", ".join(colours)
    return "\n".join(
        [
            "```mermaid",
            '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "' + palette + '"}}}}%%',
            "xychart-beta",
            f'    title "{title}"',
            f"    x-axis {axis}",
            f"    y-axis 0 --> {top:.4g}",
            *body,
            "```",
        ]
    )


def mermaid(timeline: Timeline) -> str:
    """Mermaid ``xychart-beta`` charts (GitHub renders them) per analysis interval: canary
    weight, each metric's canary and baseline value, and the judge's evidence against its
    threshold. Mermaid has no legends, so each title names its lines' colours."""
    times = sorted({p.t for p in timeline.points})
    if not times:
        return ""
    axis = "[" + ", ".join(f'"{clock(t)}"' for t in times) + "]"
    end = ""
    if timeline.rollback_at is not None:
        end = f", rolled back at {clock(timeline.rollback_at)}"
    charts = [
        chart(
            f"Canary weight % per interval{end}",
            axis,
            100,
            [f"    bar [{', '.join(str(_weight_at(timeline, t)) for t in times)}]"],
            [PALETTE[0][1]],
        )
    ]
    for metric in timeline.metrics:
        mine = {p.t: p for p in timeline.points if p.metric == metric}
        canary = [mine[t].value if t in mine else None for t in times]
        base = [mine[t].baseline if t in mine else None for t in times]
        body = [f"    line [{', '.join(_number(v) for v in canary)}]"]
        title = f"{metric}: canary ({PALETTE[0][0]})"
        if any(b is not None for b in base):
            body.append(f"    line [{', '.join(_number(b) for b in base)}]")
            title += f" vs baseline ({GREY[0]})"
        top = max([v for v in canary + base if v is not None] or [1.0]) * 1.1
        charts.append(chart(title, axis, top, body, [PALETTE[0][1], GREY[1]]))
    evidence = [
        (metric, {p.t: p.evidence for p in timeline.points if p.metric == metric})
        for metric in timeline.metrics
    ]
    evidence = [(m, e) for m, e in evidence if any(v is not None for v in e.values())]
    if evidence:
        pairs = zip(evidence, PALETTE, strict=False)
        named = ", ".join(f"{metric} {colour}" for (metric, _), (colour, _) in pairs)
        values = [v for _, e in evidence for v in e.values() if v is not None]
        charts.append(
            chart(
                f"Judge evidence (fails at 1, {RED[0]}): {named}",
                axis,
                max([1.2, *values]) * 1.05,
                [
                    *(
                        f"    line [{', '.join(_number(e.get(t)) for t in times)}]"
                        for _, e in evidence
                    ),
                    f"    line [{', '.join('1' for _ in times)}]",
                ],
                [c for _, c in PALETTE[: len(evidence)]] + [RED[1]],
            )
        )
    return "\n\n".join(charts) + "\n"
