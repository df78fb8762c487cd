"""Which harm prior for the sequential judge: the alternatives tried, side by side.

    python -m benchmarks.judge.priors               # 300 runs per scenario, about 15 min
    python -m benchmarks.judge.priors --runs 50

Runs gate's sequential judge with each candidate prior (``harm_prior``) on the regression
scenarios of the judge benchmark without the spike, next to the oracle SPRT and the split
oracle (the judge told the true ratio: what no prior can beat), and writes
benchmarks/judge/priors.md. Seeded.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.judge.judges import make_judge
from benchmarks.judge.run import ALPHA, Scenario, judge_params, traffic
from gate.judge import Counts, Verdict
from gate.judge.sequential import HARM_PRIOR, Prior, SequentialCountJudge

HERE = Path(__file__).resolve().parent
BANDS: Prior = (
    (1.0, 1.15, 4.0),
    (1.15, 1.3, 6.0),
    (1.3, 1.5, 16.0),
    (1.5, 1.75, 9.0),
    (1.75, 2.0, 9.0),
    (2.0, 2.5, 8.0),
    (2.5, 3.0, 7.0),
    (3.0, 4.0, 8.0),
    (4.0, 5.5, 8.0),
    (5.5, 7.5, 9.0),
    (7.5, 10.0, 9.0),
    (10.0, 15.0, 5.0),
    (15.0, 30.0, 2.0),
)
PRIORS: dict[str, Prior] = {
    "round ratios (gate)": HARM_PRIOR,
    "70 % round + 30 % spread": tuple(
        [(lo, hi, m * 0.7 / 11) for lo, hi, m in HARM_PRIOR]
        + [(lo, hi, m * 0.3 / 100) for lo, hi, m in BANDS]
    ),
    "spread ×1–×30": BANDS,
    "log-uniform ×1.1–×30": ((1.1, 30.0, 1.0),),
}


def exposure(judge: Any, windows: list[Counts]) -> int | None:
    seen = 0
    for w in windows:
        seen += w.canary_requests
        if judge.update(w) is Verdict.FAIL:
            return seen
    return None


def run(args: tuple[Scenario, int, int]) -> dict[str, Any]:
    s, runs, seed = args
    rng = np.random.default_rng(seed)
    found: dict[str, list[int | None]] = {k: [] for k in [*PRIORS, "oracle", "split"]}
    for _ in range(runs):
        windows = [Counts(*row) for row in traffic(rng, s).tolist()]
        for name, prior in PRIORS.items():
            found[name].append(
                exposure(SequentialCountJudge(alpha=ALPHA, harm_prior=prior), windows)
            )
        for kind in ("oracle", "split"):
            found[kind].append(exposure(make_judge(kind, **judge_params(kind, s)), windows))
    return {"scenario": s, "runs": runs, "found": found}


def summary(result: dict[str, Any], name: str) -> tuple[float, float | None]:
    caught = [x for x in result["found"][name] if x is not None]
    power = len(caught) / result["runs"]
    return power, statistics.median(caught) if caught else None


def report(results: list[dict[str, Any]], runs: int, seconds: float) -> str:
    names = [*PRIORS, "split"]
    lines = [
        "# Harm priors for the sequential judge",
        "",
        f"{runs} runs per scenario (the judge benchmark's, without the spike), α = {ALPHA}. "
        f"Cells: power · median exposure × the oracle SPRT's. Run time {seconds / 60:.1f} min. "
        "Reproduce: `python -m benchmarks.judge.priors`.",
        "",
        "| rps | p0 | ratio | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    worst = dict.fromkeys(names, 0.0)
    for r in results:
        s = r["scenario"]
        o_power, o_med = summary(r, "oracle")
        cells = []
        for name in names:
            power, med = summary(r, name)
            rel = med / o_med if med and o_med else None
            if rel and o_power >= 0.9:
                worst[name] = max(worst[name], rel)
            cells.append(f"{power:.0%} · {rel:.2f}×" if rel else f"{power:.0%} · —")
        lines.append(f"| {s.rps} | {s.p0:.1%} | {s.ratio:g} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Largest exposure × oracle where the oracle catches ≥ 90 %: "
        + ", ".join(f"{name} {worst[name]:.2f}×" for name in names)
        + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "priors.md")
    args = ap.parse_args()
    todo = [
        (Scenario(rps, p0, ratio, False), args.runs, 7000 + i)
        for i, (rps, p0, ratio) in enumerate(
            itertools.product((20, 200, 2000), (0.001, 0.01, 0.05), (1.25, 1.5, 2, 3, 5, 10))
        )
    ]
    start = time.monotonic()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(run, todo))
    text = report(results, args.runs, time.monotonic() - start)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
