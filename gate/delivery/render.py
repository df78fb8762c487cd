"""The delivery report as text, JSON and Markdown (with Mermaid trend charts GitHub renders)."""

from __future__ import annotations

import json
import statistics
from datetime import datetime, timedelta
from typing import Any

from gate.delivery.report import (
    TARGET_ROLLBACK_RATE,
    Durations,
    Figures,
    Report,
)
from gate.delivery.timeline import PALETTE, RED, chart


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(round(value), 60)
    return f"{minutes} min {secs:02d} s"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _met(met: bool | None, *, text: bool = True) -> str:
    if met is None:
        return "no data" if text else "—"
    if text:
        return "met" if met else "NOT MET"
    return "✅ met" if met else "❌ not met"


def _durations_json(d: Durations) -> dict[str, Any]:
    return {
        "median": d.median,
        "p90": d.p90,
        "count": d.count,
        "not_restored": d.missing,
        "target": d.target,
        "met": d.met,
    }


def _figures_json(f: Figures) -> dict[str, Any]:
    return {
        "rollouts": f.rollouts,
        "promoted": f.promoted,
        "rolled_back": f.rolled_back,
        "running": f.running,
        "rollback_rate": f.rollback_rate,
        "rollback_rate_target": TARGET_ROLLBACK_RATE,
        "rollback_rate_met": f.rollback_rate_met,
        "change_failure_rate": f.change_failure_rate,
        "deploys_per_day": f.deploys_per_day,
        "time_to_detect_seconds": _durations_json(f.detect),
        "time_to_restore_seconds": _durations_json(f.restore),
    }


def to_json(report: Report) -> str:
    data: dict[str, Any] = {
        "since": report.since.isoformat(timespec="seconds"),
        "until": report.until.isoformat(timespec="seconds"),
        **_figures_json(report.overall),
        "services": {name: _figures_json(f) for name, f in report.services.items()},
        "history": [
            {
                "name": r.name,
                "service": r.service,
                "status": r.status,
                "started": r.started.isoformat(timespec="seconds"),
                "time_to_detect_seconds": r.detect_seconds,
                "time_to_restore_seconds": r.restore_seconds,
            }
            for r in report.rollouts
        ],
        "unreadable": [{"name": name, "reason": why} for name, why in report.unreadable],
    }
    return json.dumps(data, indent=2) + "\n"


def _rows(f: Figures, *, text: bool) -> list[tuple[str, str, str, str]]:
    """(measure, value, target, met) rows."""

    def durations(d: Durations) -> str:
        shown = f"median {_seconds(d.median)}, p90 {_seconds(d.p90)} ({d.count})"
        return shown + (f", {d.missing} never restored" if d.missing else "")

    return [
        ("rollouts", str(f.rollouts) + (f" ({f.running} running)" if f.running else ""), "", ""),
        ("promoted", str(f.promoted), "", ""),
        ("rolled back", str(f.rolled_back), "", ""),
        ("rollback rate", _pct(f.rollback_rate), "< 2%", _met(f.rollback_rate_met, text=text)),
        ("change failure rate", _pct(f.change_failure_rate), "", ""),
        ("deploy frequency", f"{f.deploys_per_day:.2f} a day", "", ""),
        ("time to detect", durations(f.detect), "< 1 min", _met(f.detect.met, text=text)),
        ("time to restore", durations(f.restore), "< 5 min", _met(f.restore.met, text=text)),
    ]


def _period(report: Report) -> str:
    days = (report.until - report.since).total_seconds() / 86400
    return f"{report.since:%Y-%m-%d %H:%M} → {report.until:%Y-%m-%d %H:%M} UTC ({days:g} days)"


def to_text(report: Report) -> str:
    out = [f"gate report: {_period(report)}", ""]
    rows = _rows(report.overall, text=True)
    width = max(len(r[1]) for r in rows)
    for measure, value, target, met in rows:
        line = f"  {measure:<20} {value:<{width}}"
        if target:
            line += f"  target {target:<8} {met}"
        out.append(line.rstrip())
    if len(report.services) > 1:
        out += ["", "per service:"]
        for name, f in report.services.items():
            out.append(
                f"  {name}: {f.rollouts} rollouts, {f.promoted} promoted, {f.rolled_back} "
                f"rolled back ({_pct(f.rollback_rate)}), detect p90 {_seconds(f.detect.p90)}, "
                f"restore p90 {_seconds(f.restore.p90)}"
            )
    if not report.rollouts:
        out += ["", "no rollouts journaled in this period"]
    if report.unreadable:
        out += ["", f"left out, journal unreadable ({len(report.unreadable)}):"]
        out += [f"  {name}: {why}" for name, why in report.unreadable]
    return "\n".join(out) + "\n"


def _buckets(report: Report) -> tuple[timedelta, list[datetime]]:
    """Hours, days (from midnight) or weeks (from Monday) covering the period."""
    span = report.until - report.since
    size = timedelta(days=1) if span <= timedelta(days=31) else timedelta(weeks=1)
    if span <= timedelta(days=2):
        size = timedelta(hours=1)
    t = report.since.replace(minute=0, second=0, microsecond=0)
    if size >= timedelta(days=1):
        t = t.replace(hour=0)
    if size == timedelta(weeks=1):
        t -= timedelta(days=t.weekday())
    starts = []
    while t < report.until:
        starts.append(t)
        t += size
    return size, starts


def trend_charts(report: Report) -> str:
    """Mermaid bar chart of rollbacks and line of time to restore, per day (week, hour)."""
    size, starts = _buckets(report)
    label = "%H:00" if size < timedelta(days=1) else "%m-%d"
    rollbacks, restore = [], []
    for start in starts:
        inside = [r for r in report.rollouts if start <= r.started < start + size]
        rollbacks.append(sum(r.rolled_back for r in inside))
        times = [d for r in inside if (d := r.restore_seconds) is not None]
        restore.append(round(statistics.median(times), 1) if times else 0)
    axis = "[" + ", ".join(f'"{s:{label}}"' for s in starts) + "]"
    unit = {timedelta(hours=1): "hour", timedelta(days=1): "day"}.get(size, "week")
    return "\n\n".join(
        [
            chart(
                f"Rollbacks per {unit}",
                axis,
                max(1, *rollbacks),
                [f"    bar [{', '.join(map(str, rollbacks))}]"],
                [RED[1]],
            ),
            chart(
                f"Median time to restore per {unit}, s (blue; 0: no rollback), target 300 s (red)",
                axis,
                max(300.0, *restore) * 1.1,
                [
                    f"    bar [{', '.join(f'{v:g}' for v in restore)}]",
                    f"    line [{', '.join('300' for _ in starts)}]",
                ],
                [PALETTE[0][1], RED[1]],
            ),
        ]
    )


def to_markdown(report: Report) -> str:
    out = [f"## gate delivery report: {_period(report)}", ""]
    out += ["| measure | value | target | |", "|---|---|---|---|"]
    for measure, value, target, met in _rows(report.overall, text=False):
        out.append(f"| {measure} | {value} | {target} | {met} |")
    if len(report.services) > 1:
        out += [
            "",
            "| service | rollouts | promoted | rolled back | rollback rate | detect p90 "
            "| restore p90 |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, f in report.services.items():
            out.append(
                f"| {name} | {f.rollouts} | {f.promoted} | {f.rolled_back} | "
                f"{_pct(f.rollback_rate)} | {_seconds(f.detect.p90)} | {_seconds(f.restore.p90)} |"
            )
    if report.unreadable:
        out += ["", f"**Left out, journal unreadable ({len(report.unreadable)}):**", ""]
        out += [f"- `{name}`: {why}" for name, why in report.unreadable]
    out += ["", trend_charts(report)]
    return "\n".join(out) + "\n"
