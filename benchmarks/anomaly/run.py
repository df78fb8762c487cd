"""Anomaly-detection benchmark: gate's detector beside the plain 3-sigma z-score.

    pip install '.[bench]'                               # numpy
    python -m benchmarks.anomaly.run                     # full run (2,000 deploys a scenario)
    python -m benchmarks.anomaly.run --deploys 100       # a smoke run

Writes benchmarks/anomaly/results.md. Seeded: the same command gives the same numbers.

One deploy = one simulated metric around a deploy time t0, at one point a minute:

* a positive metric (think requests a second or p95 latency) with a daily cycle (±60 %),
  quiet weekends (×0.5), a steep Monday-morning peak (up to ×2.5 at 09:30), a day-to-day
  level wobble (σ 5 %), growth of 1 % a week, and AR(1) noise on the log scale (φ = 0.5,
  σ 8 %);
* history with outliers: in each past week, with probability 0.1 an incident (×2–×5 or
  ×0.2–×0.5 for 10–90 minutes) near the same time of week, with probability 0.05 a holiday
  (×0.6 all day); with probability 0.05 an incident also sits in the hour before the deploy
  (over by the deploy: an alarm during the watch is then a false one);
* the deploy multiplies every value from t0 on by the scenario's factor (1 = a good deploy);
* each detector is asked once a minute for 15 minutes after t0 (a deploy's watch period);
  a deploy counts as alarmed when any of the 15 checks alarms.

Detectors, seeing exactly the same points:

* ``gate``: :func:`gate.anomaly.evaluate` with 4 weeks of history (3 needed), the hour before
  t0 as the pre-deploy period, each past week smoothed over ±5 minutes, at sensitivities
  3 / 3.25 / 3.5 / 4.5 / 6 robust σ;
* ``z-score``: the guides' detector, (x − mean) / sd over the trailing 60 minutes, alarm past
  3 (one-sided, in the bad direction).

Deploy times: ``any`` — uniform over the week; ``monday`` — uniform over Monday 07:00-10:00,
the climb into the peak.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gate.anomaly import AnomalySettings, Window, evaluate

HERE = Path(__file__).resolve().parent
MINUTE = 60.0
WEEK = 7 * 86400.0
BEFORE = 60  # minutes of pre-deploy period
CHECKS = 15  # minutes watched after the deploy
PAD = 5  # gate's running median over ±5 minutes of each past week
INCIDENTS = 0.1  # chance that a past week has an incident near the same time of week
WEEKS = 4
SENSITIVITIES = (3.0, 3.25, 3.5, 4.5, 6.0)
Z_LIMIT = 3.0
EPOCH = 1_795_996_800.0  # 2026-11-30 00:00 UTC, a Monday
FACTORS = (1.0, 1.2, 1.5, 2.0, 3.0, 0.8, 1 / 1.5, 0.5)


@dataclass(frozen=True)
class Scenario:
    factor: float
    when: str  # any | monday
    direction: str  # which way is bad: up | down


def profile(t: np.ndarray) -> np.ndarray:
    """The seasonal level at unix times ``t`` (seconds)."""
    since = t - EPOCH
    day = np.floor(since / 86400.0)
    weekday = np.mod(day, 7)  # 0 = Monday
    hour = (since - day * 86400.0) / 3600.0
    level = 100.0 * (1.0 + 0.6 * np.sin(2 * np.pi * (hour - 9) / 24))
    level = np.where(weekday >= 5, level * 0.5, level)
    peak = (weekday == 0) & (hour >= 7) & (hour < 12)
    level = np.where(peak, level * (1.0 + 1.5 * np.sin(np.pi * (hour - 7) / 5)), level)
    growth = 1.0 + 0.01 * since / WEEK
    return np.asarray(level * growth)


def ar1(rng: np.random.Generator, n: int, phi: float = 0.5, sigma: float = 0.08) -> np.ndarray:
    shocks = rng.normal(0.0, sigma * math.sqrt(1 - phi * phi), n)
    out = np.empty(n)
    out[0] = rng.normal(0.0, sigma)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + shocks[i]
    return out


def incident(rng: np.random.Generator, n: int, end: int) -> np.ndarray:
    """A multiplicative episode of 10-90 minutes that ends before point ``end`` (it may have
    begun before the window), as factors over n points."""
    factors = np.ones(n)
    length = int(rng.integers(10, 91))
    stop = int(rng.integers(1, end + 1))
    size = rng.uniform(2, 5) if rng.random() < 0.5 else rng.uniform(0.2, 0.5)
    factors[max(0, stop - length) : stop] = size
    return factors


def simulate(rng: np.random.Generator, s: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid times, the current row, and WEEKS history rows (index 0 = one week ago), which
    reach PAD points further on both sides."""
    if s.when == "monday":
        t0 = EPOCH + 4 * WEEK + 7 * 3600 + MINUTE * int(rng.integers(0, 180))
    else:
        t0 = EPOCH + 4 * WEEK + MINUTE * int(rng.integers(0, 7 * 1440))
    n = BEFORE + CHECKS + 1 + 2 * PAD  # history reaches PAD points past both ends
    times = t0 + MINUTE * (np.arange(n) - BEFORE - PAD)
    rows = []
    for k in range(WEEKS + 1):
        t = times - k * WEEK
        level = math.exp(rng.normal(0.0, 0.05))  # this day's wobble
        row = profile(t) * level * np.exp(ar1(rng, n))
        if k > 0:
            if rng.random() < INCIDENTS:
                row = row * incident(rng, n, n)
            if rng.random() < 0.05:
                row = row * 0.6
        elif rng.random() < 0.05:
            row = row * incident(rng, n, PAD + BEFORE)
        rows.append(row)
    current = rows[0][PAD : n - PAD].copy()
    current[BEFORE:] *= s.factor
    return times[PAD : n - PAD], current, np.array(rows[1:])


def gate_first_alarm(
    times: np.ndarray, current: np.ndarray, history: np.ndarray, direction: str
) -> list[int | None]:
    """For each sensitivity, the first check (1-based minute) that alarms, or None."""
    first: list[int | None] = [None] * len(SENSITIVITIES)
    settings = AnomalySettings(
        query="benchmark", direction="either", seasons=WEEKS, min_seasons=3,
        baseline=BEFORE * MINUTE, step=MINUTE, sensitivity=min(SENSITIVITIES),
        smooth=PAD * MINUTE,
    )  # fmt: skip
    hist = [tuple(float(x) for x in row) for row in history]
    cur = [float(x) for x in current]
    t = [float(x) for x in times]
    for j in range(1, CHECKS + 1):
        end = BEFORE + j + 1
        result = evaluate(
            settings,
            Window(
                tuple(t[:end]), tuple(cur[:end]), tuple(h[: end + 2 * PAD] for h in hist),
                BEFORE, PAD,
            ),
        )  # fmt: skip
        if result.score is None:
            continue
        signed = result.score if direction == "up" else -result.score
        for i, k in enumerate(SENSITIVITIES):
            if first[i] is None and signed > k:
                first[i] = j
        if all(f is not None for f in first):
            break
    return first


def zscore_first_alarm(current: np.ndarray, direction: str) -> int | None:
    for j in range(1, CHECKS + 1):
        i = BEFORE + j
        trailing = current[i - BEFORE : i]
        sd = float(np.std(trailing, ddof=1))
        if sd == 0:
            continue
        z = (float(current[i]) - float(np.mean(trailing))) / sd
        if (z if direction == "up" else -z) > Z_LIMIT:
            return j
    return None


def run_scenario(args: tuple[Scenario, int, int]) -> dict[str, object]:
    s, deploys, seed = args
    rng = np.random.default_rng(seed)
    gate_hits: list[list[int]] = [[] for _ in SENSITIVITIES]
    z_hits: list[int] = []
    for _ in range(deploys):
        times, current, history = simulate(rng, s)
        for i, first in enumerate(gate_first_alarm(times, current, history, s.direction)):
            if first is not None:
                gate_hits[i].append(first)
        z = zscore_first_alarm(current, s.direction)
        if z is not None:
            z_hits.append(z)
    return {"scenario": s, "deploys": deploys, "gate": gate_hits, "z": z_hits}


def pct(hits: list[int], n: int) -> str:
    return f"{100 * len(hits) / n:.1f}%"


def minutes(hits: list[int]) -> str:
    return f"{statistics.median(hits):g}" if hits else "—"


def wilson_upper(k: int, n: int, z: float = 1.96) -> float:
    p = k / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + margin) / (1 + z * z / n)


def render(results: list[dict[str, object]], seconds: float, deploys: int) -> str:
    columns = " | ".join(f"gate σ={k:g}" for k in SENSITIVITIES)
    head = [
        "# Anomaly-detection benchmark",
        "",
        f"{deploys} simulated deploys per scenario; one point a minute; 15 checks (one a "
        f"minute) after each deploy; a deploy is alarmed when any check alarms. Run time "
        f"{seconds / 60:.1f} min. Reproduce: `python -m benchmarks.anomaly.run` (the "
        "simulation is described in [run.py](run.py)).",
        "",
        "`gate σ=k`: gate's detector at sensitivity k robust σ (`high` 3, `medium` 3.25 — the "
        "default —, `low` 4.5); `z-score`: (x − mean)/sd over the trailing hour, alarm past 3.",
        "",
        "## False alarms per deploy (factor 1: nothing changed)",
        "",
        f"| deploy time | bad direction | {columns} | z-score |",
        "|---|---|" + "---|" * (len(SENSITIVITIES) + 1),
    ]
    rows = []
    for r in results:
        s = r["scenario"]
        assert isinstance(s, Scenario)
        n = int(r["deploys"])  # type: ignore[call-overload]
        gate: list[list[int]] = r["gate"]  # type: ignore[assignment]
        z: list[int] = r["z"]  # type: ignore[assignment]
        if s.factor == 1.0:
            cells = " | ".join(
                f"{pct(h, n)} (≤ {100 * wilson_upper(len(h), n):.1f}%)" for h in gate
            )
            head.append(f"| {s.when} | {s.direction} | {cells} | {pct(z, n)} |")
        else:
            cells = " | ".join(f"{pct(h, n)} · {minutes(h)} min" for h in gate)
            rows.append(
                f"| {s.when} | ×{s.factor:.3g} | {cells} | {pct(z, n)} · {minutes(z)} min |"
            )
    head += [
        "",
        "Figures in brackets: the upper end of a 95 % Wilson interval.",
        "",
        "## Detection: share of deploys alarmed · median minutes to the alarm",
        "",
        f"| deploy time | shift | {columns} | z-score |",
        "|---|---|" + "---|" * (len(SENSITIVITIES) + 1),
        *rows,
    ]
    return "\n".join(head) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deploys", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    args = parser.parse_args()
    scenarios = [
        Scenario(factor, when, "down" if factor < 1 else "up")
        for when in ("any", "monday")
        for factor in FACTORS
    ]
    # a good deploy is also judged with "down" as the bad direction
    scenarios += [Scenario(1.0, when, "down") for when in ("any", "monday")]
    scenarios.sort(key=lambda s: (s.factor != 1.0, s.when, s.direction))
    jobs = [(s, args.deploys, seed) for seed, s in enumerate(scenarios, start=1)]
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(run_scenario, jobs))
    args.output.write_text(render(results, time.monotonic() - started, args.deploys))
    print(args.output.read_text())


if __name__ == "__main__":
    main()
