"""Reading an ``anomaly:`` block (a rollout metric's, or a live check's) into
:class:`~gate.anomaly.detector.AnomalySettings`, with every mistake named by file and line."""

from __future__ import annotations

from gate.anomaly.detector import SENSITIVITY, AnomalySettings
from gate.config.node import Node

KEYS = ("direction", "sensitivity", "season", "seasons", "minSeasons", "baseline", "current",
        "step", "smooth", "timezone", "minChange", "unit", "label")  # fmt: skip


def parse_anomaly(node: Node, query: str, name: str) -> AnomalySettings:
    """``node`` is the anomaly block; ``query`` the metric's query, ``name`` its name."""
    for key in node.mapping_keys():
        if key not in KEYS:
            raise node.error(f"not a setting of anomaly detection (one of: {', '.join(KEYS)})", key)
    raw = node.get("sensitivity", "medium")
    if isinstance(raw, str):
        if raw not in SENSITIVITY:
            raise node["sensitivity"].error(
                f"{raw!r} is not low, medium, high or a number of robust σ"
            )
        sensitivity = SENSITIVITY[raw]
    else:
        sensitivity = node.number("sensitivity", above=0, maximum=100)
    seasons = node.integer("seasons", 4, minimum=1, maximum=52)
    try:
        return AnomalySettings(
            query=query,
            name=node.text("label", name),
            unit=node.text("unit", ""),
            direction=node.get("direction", "up"),
            sensitivity=sensitivity,
            season=node.get("season", "week"),
            seasons=seasons,
            min_seasons=node.integer("minSeasons", min(3, seasons), minimum=1, maximum=52),
            baseline=node.duration("baseline", 3600.0, minimum=60, maximum=7 * 86400),
            current=node.duration("current", 600.0, minimum=60, maximum=86400),
            step=node.duration("step", 60.0, minimum=1, maximum=3600),
            smooth=node.duration("smooth", 300.0, minimum=0, maximum=86400),
            timezone=node.text("timezone", "UTC"),
            min_change=node.number("minChange", 0.0, minimum=0),
        )
    except ValueError as exc:  # its messages start with the field: "direction: must be …"
        field, _, message = str(exc).partition(": ")
        key = {"min_seasons": "minSeasons", "min_change": "minChange"}.get(field, field)
        raise (node[key] if node.has(key) else node).error(message or str(exc)) from None
