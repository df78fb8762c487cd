"""How a rollout's events are shown: a live line on a terminal, log lines, JSON Lines, and a
Markdown timeline for the GitHub step summary (tables, and Mermaid charts of the weight, the
metrics and the judge's evidence)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from typing import TextIO

from gate.rollout.analysis import Outcome
from gate.rollout.events import RolloutEvent

MARK = {Outcome.SUCCESS: "ok", Outcome.FAILURE: "FAIL", Outcome.INCONCLUSIVE: "no data",
        Outcome.ERROR: "error"}  # fmt: skip


def _left(seconds: float | None) -> str:
    if seconds is None:
        return "until promoted"
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return f"{minutes}m{secs:02d}s left" if minutes else f"{secs}s left"


def status_line(event: RolloutEvent) -> str:
    metrics = "  ".join(
        f"{m.metric} {'-' if m.value is None else f'{m.value:.4g}'}"
        f"{f' [{m.limit}]' if m.limit else ''} {MARK[m.outcome]}"
        for m in event.measurements
    )
    return (
        f"stage {event.stage + 1}/{event.stages} · canary {event.weight}% · "
        f"{_left(event.remaining)} · {metrics}"
    )


@dataclass
class TextProgress:
    """Plain log lines; with ``live`` a single status line is redrawn for measurements."""

    stream: TextIO
    live: bool = False
    _dirty: bool = False

    def __call__(self, event: RolloutEvent) -> None:
        if event.kind == "measured" and self.live:
            # one row, never wider than the terminal: a wrapped line would leave a stale row
            # behind at every redraw
            width = shutil.get_terminal_size((80, 24)).columns
            line = status_line(event)
            if len(line) >= width:
                line = line[: max(1, width - 2)] + "…"
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
            self._dirty = True
            return
        if self._dirty:
            self.stream.write("\n")
            self._dirty = False
        text = status_line(event) if event.kind == "measured" else event.message
        stamp = event.at.strftime("%H:%M:%S")
        self.stream.write(f"{stamp} {event.rollout} {event.kind}: {text}\n")
        self.stream.flush()


@dataclass
class JsonProgress:
    stream: TextIO

    def __call__(self, event: RolloutEvent) -> None:
        record = {
            "time": event.at.isoformat(),
            "rollout": event.rollout,
            "event": event.kind,
            "message": event.message,
            "stage": event.stage,
            "weight": event.weight,
            "remaining_seconds": event.remaining,
            "measurements": [
                {
                    "metric": m.metric,
                    "outcome": m.outcome.value,
                    "value": m.value,
                    "baseline": m.baseline,
                    "limit": m.limit,
                    "message": m.message,
                }
                for m in event.measurements
            ],
        }
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()


@dataclass
class Timeline:
    """Collects events; renders the stage timeline and every metric per stage as Markdown."""

    events: list[RolloutEvent] = field(default_factory=list)

    def __call__(self, event: RolloutEvent) -> None:
        self.events.append(event)

    def markdown(self) -> str:
        if not self.events:
            return ""
        name = self.events[0].rollout
        final = next(
            (
                e
                for e in reversed(self.events)
                if e.kind in ("promoted", "rolled-back", "rollback-failed", "interrupted")
            ),
            None,
        )
        icon = {
            "promoted": "✅",
            "rolled-back": "↩️",
            "rollback-failed": "🚨",
            "interrupted": "⏹️",
        }.get(final.kind if final else "", "⏳")
        out = [f"## {icon} gate rollout `{name}`: {final.kind if final else 'running'}", ""]
        if final is not None:
            out += [final.message, ""]
        out += ["| time (UTC) | stage | canary | event |", "|---|---|---|---|"]
        per_stage: dict[int, dict[str, list[str]]] = {}
        for e in self.events:
            if e.kind == "measured":
                for m in e.measurements:
                    per_stage.setdefault(e.stage, {}).setdefault(m.metric, []).append(
                        MARK[m.outcome] if m.value is None else f"{m.value:.3g} {MARK[m.outcome]}"
                    )
                continue
            out.append(
                f"| {e.at:%H:%M:%S} | {e.stage + 1} | {e.weight}% | "
                f"{e.kind}: {e.message.replace('|', '/')} |"
            )
        if per_stage:
            out += ["", "| stage | metric | measurements |", "|---|---|---|"]
            for stage, metrics in sorted(per_stage.items()):
                for metric, values in metrics.items():
                    shown = ", ".join(values[-12:])
                    more = f" (+{len(values) - 12} earlier)" if len(values) > 12 else ""
                    out.append(f"| {stage + 1} | `{metric}` | {shown}{more} |")
        charts = self.charts()
        if charts:
            out += ["", charts]
        return "\n".join(out) + "\n"

    def charts(self) -> str:
        """The same timeline as Mermaid charts (canary weight, canary vs baseline, the
        judge's evidence against its threshold) that GitHub renders in the step summary."""
        from gate.delivery.timeline import from_records, mermaid, records_from_events

        if not self.events:
            return ""
        return mermaid(from_records(self.events[0].rollout, records_from_events(self.events)))
