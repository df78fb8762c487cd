"""A rollout's timeline as a standalone SVG: three panels over one time axis.

1. canary weight (percent) by stage, as a step line, stage numbers along the top;
2. each metric's canary value per interval (solid) and its baseline (dashed), failed
   measurements marked red;
3. the judge's evidence as a share of the threshold it fails at (1 = fail), per metric.

A red line marks the decision to roll back, a green one the moment stable traffic was
verified. Written by hand (no plotting library): plain SVG 1.1 that browsers and GitHub show.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

from gate.delivery.timeline import Timeline, clock

WIDTH = 960
LEFT, RIGHT = 90, 190  # room for the y labels, and for the legend on the right
PANEL, GAP, TOP = 150, 46, 56
COLOURS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b")
RED, GREEN, GREY, INK = "#d62728", "#2ca02c", "#bbbbbb", "#222222"


def _ticks(top: float, n: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / n
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _label(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.1e}"
    return f"{v:.3g}"


class _Canvas:
    def __init__(self, end: float, height: int) -> None:
        self.end = max(end, 1.0)
        self.height = height
        self.parts: list[str] = []

    def x(self, t: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * t / self.end

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(self, x: float, y: float, body: str, **attrs: str) -> None:
        extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attrs.items())
        self.add(f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(body)}</text>')

    def line(self, x1: float, y1: float, x2: float, y2: float, colour: str, **attrs: str) -> None:
        extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attrs.items())
        self.add(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{colour}"{extra}/>'
        )

    def path(self, points: list[tuple[float, float]], colour: str, **attrs: str) -> None:
        if not points:
            return
        d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
        extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attrs.items())
        self.add(f'<path d="{d}" fill="none" stroke="{colour}"{extra}/>')


class _Panel:
    """One panel: a title, a y axis from 0 to ``top`` and a legend on the right."""

    def __init__(self, canvas: _Canvas, index: int, title: str, top: float) -> None:
        self.c = canvas
        self.y0 = TOP + index * (PANEL + GAP)
        self.ticks = _ticks(top)
        self.top = self.ticks[-1]
        self.legend_y = self.y0 + 12
        c = canvas
        c.text(LEFT, self.y0 - 10, title, font_weight="bold", font_size="13")
        for v in self.ticks:
            y = self.y(v)
            c.line(LEFT, y, WIDTH - RIGHT, y, "#eeeeee")
            c.text(LEFT - 8, y + 4, _label(v), text_anchor="end", font_size="11", fill="#555")
        c.line(LEFT, self.y0, LEFT, self.y0 + PANEL, INK)
        c.line(LEFT, self.y0 + PANEL, WIDTH - RIGHT, self.y0 + PANEL, INK)

    def y(self, v: float) -> float:
        return self.y0 + PANEL - PANEL * min(max(v, 0.0), self.top) / self.top

    def legend(self, label: str, colour: str, dashed: bool = False) -> None:
        x = WIDTH - RIGHT + 14
        dash = {"stroke_dasharray": "5 3"} if dashed else {}
        y = self.legend_y - 4
        self.c.line(x, y, x + 22, y, colour, stroke_width="2", **dash)
        self.c.text(x + 28, self.legend_y, label[:24], font_size="11")
        self.legend_y += 16


def render(timeline: Timeline) -> str:
    """The timeline as an SVG document (a string)."""
    height = TOP + 3 * PANEL + 2 * GAP + 44
    c = _Canvas(timeline.end, height)
    c.text(
        LEFT,
        24,
        f"gate rollout {timeline.name}: {timeline.status}",
        font_weight="bold",
        font_size="16",
    )
    metrics = timeline.metrics

    # 1. canary weight by stage
    weight = _Panel(c, 0, "Canary weight (%)", 100)
    steps: list[tuple[float, float]] = []
    for i, (t, w) in enumerate(timeline.weights):
        if i:
            steps.append((c.x(t), steps[-1][1]))
        steps.append((c.x(t), weight.y(w)))
    if steps:
        steps.append((c.x(timeline.end), steps[-1][1]))
        area = [*steps, (steps[-1][0], weight.y(0)), (steps[0][0], weight.y(0))]
        c.add(
            '<path d="'
            + " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(area))
            + f' Z" fill="{COLOURS[0]}" fill-opacity="0.12" stroke="none"/>'
        )
        c.path(steps, COLOURS[0], stroke_width="2")
    for t, stage in timeline.stages:
        c.line(c.x(t), weight.y0, c.x(t), weight.y0 + PANEL, GREY, stroke_dasharray="2 3")
        c.text(c.x(t) + 3, weight.y0 + 11, f"stage {stage}", font_size="10", fill="#555")
    weight.legend("canary weight", COLOURS[0])

    # 2. canary vs baseline per interval
    values = [v for p in timeline.points for v in (p.value, p.baseline) if v is not None]
    values = [v for v in values if math.isfinite(v)]
    panel = _Panel(c, 1, "Canary vs baseline, per interval", max(values, default=0.0) * 1.1)
    for colour, metric in zip(COLOURS, metrics, strict=False):
        mine = [p for p in timeline.points if p.metric == metric]
        canary = [(c.x(p.t), panel.y(p.value)) for p in mine if p.value is not None]
        c.path(canary, colour, stroke_width="2")
        for x, y in canary:
            c.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}"/>')
        base = [(c.x(p.t), panel.y(p.baseline)) for p in mine if p.baseline is not None]
        c.path(base, colour, stroke_width="1.5", stroke_dasharray="5 3")
        for p in mine:
            if p.outcome == "failure" and p.value is not None:
                c.add(
                    f'<circle cx="{c.x(p.t):.1f}" cy="{panel.y(p.value):.1f}" r="4" '
                    f'fill="{RED}"><title>{escape(f"{metric} failed at {clock(p.t)}")}'
                    "</title></circle>"
                )
        panel.legend(f"{metric} canary", colour)
        if base:
            panel.legend(f"{metric} baseline", colour, dashed=True)
    if any(p.outcome == "failure" for p in timeline.points):
        c.add(
            f'<circle cx="{WIDTH - RIGHT + 25:.1f}" cy="{panel.legend_y - 4:.1f}" r="4" '
            f'fill="{RED}"/>'
        )
        c.text(WIDTH - RIGHT + 42, panel.legend_y, "failed measurement", font_size="11")

    # 3. the judge's evidence against its threshold
    shares = [p.evidence for p in timeline.points if p.evidence is not None]
    shares = [v for v in shares if math.isfinite(v)]
    judge = _Panel(c, 2, "Judge's evidence / its threshold (1 = fail)", max([1.2, *shares]) * 1.05)
    c.line(LEFT, judge.y(1.0), WIDTH - RIGHT, judge.y(1.0), RED, stroke_dasharray="6 4")
    c.text(LEFT + 4, judge.y(1.0) - 4, "threshold", font_size="10", fill=RED)
    for colour, metric in zip(COLOURS, metrics, strict=False):
        curve = [
            (c.x(p.t), judge.y(p.evidence))
            for p in timeline.points
            if p.metric == metric and p.evidence is not None
        ]
        if curve:
            c.path(curve, colour, stroke_width="2")
            judge.legend(metric, colour)

    # the rollback and the restore, across every panel
    bottom = TOP + 3 * PANEL + 2 * GAP
    for at, colour, label in (
        (timeline.rollback_at, RED, "rollback"),
        (timeline.restored_at, GREEN, "stable traffic"),
    ):
        if at is None:
            continue
        c.line(c.x(at), TOP - 6, c.x(at), bottom, colour, stroke_width="2")
        anchor = "end" if label == "rollback" else "start"
        offset = -4 if anchor == "end" else 4
        c.text(c.x(at) + offset, TOP - 8, f"{label} {clock(at)}", font_size="11", fill=colour,
               text_anchor=anchor)  # fmt: skip

    # the time axis
    for t in _ticks(timeline.end, 8):
        if t > timeline.end * 1.001:
            continue
        c.line(c.x(t), bottom, c.x(t), bottom + 5, INK)
        c.text(c.x(t), bottom + 18, clock(t), text_anchor="middle", font_size="11")
    c.text(
        (LEFT + WIDTH - RIGHT) / 2,
        bottom + 36,
        f"minutes:seconds since the rollout started ({timeline.start:%Y-%m-%d %H:%M:%S} UTC)",
        text_anchor="middle",
        font_size="11",
        fill="#555",
    )
    body = "\n".join(c.parts)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" '
        f'fill="{INK}">\n'
        f"<title>{escape(f'gate rollout {timeline.name}: {timeline.status}')}</title>\n"
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>\n{body}\n</svg>\n'
    )
