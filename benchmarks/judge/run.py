"""The canary-judge benchmark of shared/BENCHMARK.md: the judges side by side.

    pip install '.[bench]'                              # numpy and matplotlib
    python -m benchmarks.judge.run                      # full run: 1,000 runs per scenario
    python -m benchmarks.judge.run --runs 50 --quick    # a smoke run

Writes benchmarks/judge/results.md (tables) and benchmarks/judge/exposure.png (chart).
Seeded: the same command gives the same numbers.

Besides BENCHMARK.md's measures (false rollbacks, power, exposure against the oracle SPRT) it
measures gate's proof of safety: the sequential judge runs with ``max_ratio`` 1.5, and a good
canary may be *promoted* as soon as the judge proves "ratio ≤ 1.5" (time to promote, against
the fixed schedule of 120 windows); a regression beyond 1.5 that gets proven within it is a
*false promotion*. The sequential judge keeps judging after a proof, so its false-rollback
figure covers the whole schedule.
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.judge.judges import make_judge
from gate.judge import Counts, Verdict

HERE = Path(__file__).resolve().parent
STAGES = (0.01, 0.05, 0.25, 0.50)
WINDOWS_PER_STAGE = 30
WINDOW_SECONDS = 10
SPIKE_WINDOWS = range(40, 46)  # one minute, early in the 5 % stage
SPIKE_FACTOR = 10.0
ALPHA = 0.01
MAX_RATIO = 1.5
SCHEDULE = len(STAGES) * WINDOWS_PER_STAGE
JUDGES = ("sequential", "threshold", "ratio", "kayenta", "oracle", "split")
COMPARED = ("sequential", "threshold", "ratio", "kayenta")


@dataclass(frozen=True)
class Scenario:
    rps: int
    p0: float
    ratio: float
    spike: bool


def boosts(s: Scenario) -> list[float]:
    out = [1.0] * SCHEDULE
    if s.spike:
        for w in SPIKE_WINDOWS:
            out[w] = SPIKE_FACTOR
    return out


def judge_params(kind: str, s: Scenario) -> dict[str, Any]:
    params: dict[str, dict[str, Any]] = {
        "sequential": {"alpha": ALPHA, "max_ratio": MAX_RATIO},
        "threshold": {"max_rate": 2 * s.p0, "threshold": 5},
        "ratio": {"max_ratio": 2.0, "failure_limit": 2, "min_requests": 50},
        "kayenta": {"windows_per_stage": WINDOWS_PER_STAGE, "confidence": 0.98, "tolerance": 0.25},
        "oracle": {"p0": s.p0, "ratio": s.ratio, "alpha": ALPHA, "boosts": boosts(s)},
        "split": {"ratio": s.ratio, "alpha": ALPHA},
    }
    return params[kind]


def traffic(rng: np.random.Generator, s: Scenario) -> np.ndarray:
    """One canary's windows: columns canary errors, canary requests, baseline errors, requests."""
    n = SCHEDULE
    t = np.arange(n)
    mean = s.rps * WINDOW_SECONDS * (1 + 0.5 * np.sin(2 * np.pi * t * WINDOW_SECONDS / 360))
    total = rng.poisson(mean)
    weight = np.repeat(STAGES, WINDOWS_PER_STAGE)
    canary = rng.binomial(total, weight)
    base = total - canary
    boost = np.array(boosts(s))
    ce = rng.binomial(canary, np.minimum(1.0, s.ratio * s.p0 * boost))
    be = rng.binomial(base, np.minimum(1.0, s.p0 * boost))
    return np.stack([ce, canary, be, base], axis=1)


def run_scenario(args: tuple[Scenario, int, int]) -> dict[str, Any]:
    s, runs, seed = args
    rng = np.random.default_rng(seed)
    kinds = [k for k in JUDGES if s.ratio != 1 or k not in ("oracle", "split")]
    out: dict[str, Any] = {
        k: {"failed": 0, "requests": [], "errors": [], "passed": 0, "pass_windows": []}
        for k in kinds
    }
    for _ in range(runs):
        windows = [Counts(*row) for row in traffic(rng, s).tolist()]
        for kind in kinds:
            judge = make_judge(kind, **judge_params(kind, s))
            record = out[kind]
            seen = bad = 0
            passed = False
            for index, window in enumerate(windows, start=1):
                seen += window.canary_requests
                bad += window.canary_errors
                verdict = judge.update(window)
                if verdict is Verdict.FAIL:
                    record["failed"] += 1
                    record["requests"].append(seen)
                    record["errors"].append(bad)
                    break
                if verdict is Verdict.PASS and not passed:
                    passed = True  # promoted here with promoteEarly; judged on to the end
                    record["passed"] += 1
                    record["pass_windows"].append(index)
    return {"scenario": s, "runs": runs, "judges": out}


def scenarios(quick: bool) -> list[Scenario]:
    rps = (200,) if quick else (20, 200, 2000)
    p0 = (0.01,) if quick else (0.001, 0.01, 0.05)
    ratios = (1, 1.5, 3) if quick else (1, 1.25, 1.5, 2, 3, 5, 10)
    return [
        Scenario(r, p, q, sp) for r, p, q, sp in itertools.product(rps, p0, ratios, (False, True))
    ]


def median(values: list[int]) -> float | None:
    return statistics.median(values) if values else None


def fmt(x: float | None, pattern: str = "{:,.0f}") -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else pattern.format(x)


def _key(s: Scenario) -> str:
    return f"{s.rps} | {s.p0:.1%} | {s.ratio:g} | {'yes' if s.spike else 'no'}"


def report(results: list[dict[str, Any]], runs: int, seconds: float) -> str:
    lines = [
        "# Canary-judge benchmark",
        "",
        f"{runs} runs per scenario, α = {ALPHA}, windows of {WINDOW_SECONDS} s, stages "
        f"{', '.join(f'{w:.0%}' for w in STAGES)} × {WINDOWS_PER_STAGE} windows (a fixed "
        f"schedule of {SCHEDULE} windows, 20 min), traffic swing ±50 % over 6 min, shared spike "
        f"×{SPIKE_FACTOR:g} on both arms for one minute. Run time {seconds / 60:.1f} min. "
        "Reproduce: `python -m benchmarks.judge.run`.",
        "",
        f"Judges: `sequential` (gate: α = {ALPHA}, max_ratio = {MAX_RATIO}); `threshold` "
        "(Flagger: 1-min canary error rate ≤ 2·p0, rollback at 5 failed checks); `ratio` (Argo: "
        "every minute, 5-min canary rate ≤ 2× baseline, ≥ 50 canary requests, failureLimit 2); "
        "`kayenta` (gate.judge.kayenta's Mann-Whitney, 98 %, tolerance 0.25, on the per-window "
        "error rates at each stage's end); `oracle` (Wald's SPRT told p0, the ratio and the "
        "spike); `split` (gate's judge told the ratio: the best a judge can do that, like "
        "gate's, only uses how errors split between the arms and so ignores shared spikes).",
        "",
        "## False rollbacks (ratio = 1): share of good releases failed over the whole schedule",
        "",
        "| rps | p0 | spike | sequential | threshold | ratio | kayenta |",
        "|---|---|---|---|---|---|---|",
    ]
    good = [r for r in results if r["scenario"].ratio == 1]
    for r in good:
        s = r["scenario"]
        cells = [fmt(r["judges"][k]["failed"] / r["runs"], "{:.1%}") for k in COMPARED]
        lines.append(
            f"| {s.rps} | {s.p0:.1%} | {'yes' if s.spike else 'no'} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        f"## Time to promote a good canary (ratio = 1): proven ratio ≤ {MAX_RATIO}",
        "",
        f"Share of good canaries the sequential judge proves within {MAX_RATIO}× of the "
        f"baseline before the fixed schedule ends, and the median window of the proof (of "
        f"{SCHEDULE}; the fixed schedule promotes at {SCHEDULE}).",
        "",
        "| rps | p0 | spike | proven | median window | share of the schedule |",
        "|---|---|---|---|---|---|",
    ]
    for r in good:
        s = r["scenario"]
        j = r["judges"]["sequential"]
        med = median(j["pass_windows"])
        share = fmt(med / SCHEDULE if med else None, "{:.0%}")
        lines.append(
            f"| {s.rps} | {s.p0:.1%} | {'yes' if s.spike else 'no'} | "
            f"{j['passed'] / r['runs']:.1%} | {fmt(med)} | {share} |"
        )
    lines += [
        "",
        "## Regressions: power, and median canary requests before the judge fails (× the oracle's)",
        "",
        "| rps | p0 | ratio | spike | sequential | threshold | ratio | kayenta | oracle | split |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["scenario"]
        if s.ratio == 1:
            continue
        oracle = median(r["judges"]["oracle"]["requests"])
        cells = []
        for k in JUDGES:
            j = r["judges"][k]
            power = j["failed"] / r["runs"]
            med = median(j["requests"])
            rel = f" ({med / oracle:.2g}×)" if med and oracle and k != "oracle" else ""
            cells.append(f"{power:.0%} · {fmt(med)}{rel}")
        lines.append(f"| {_key(s)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Cells: power · median canary requests served before failing (× oracle).",
        "Median failed canary requests before failing, per judge, over all regression "
        "scenarios each judge caught:",
        "",
    ]
    for k in JUDGES:
        errors = [e for r in results if r["scenario"].ratio != 1 for e in r["judges"][k]["errors"]]
        lines.append(f"- `{k}`: {fmt(median(errors))}")
    lines += [
        "",
        f"## Promotions of regressions (sequential, max_ratio = {MAX_RATIO})",
        "",
        f"*Proven*: the judge proved ratio ≤ {MAX_RATIO} (a promotion with promoteEarly) — "
        f"false for ratios above {MAX_RATIO}, at most α by design. *Not caught*: the fixed "
        "schedule ran out without a failure (a promotion without promoteEarly) — 1 − power.",
        "",
        "| rps | p0 | ratio | spike | proven | not caught |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["scenario"]
        if s.ratio < MAX_RATIO:
            continue
        j = r["judges"]["sequential"]
        lines.append(
            f"| {_key(s)} | {j['passed'] / r['runs']:.1%} | {1 - j['failed'] / r['runs']:.1%} |"
        )
    return "\n".join(lines) + "\n"


def chart(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    good = [r for r in results if r["scenario"].ratio == 1]
    for k in COMPARED:
        false_rate = sum(r["judges"][k]["failed"] for r in good) / sum(r["runs"] for r in good)
        rel = []
        for r in results:
            o = median(r["judges"]["oracle"]["requests"]) if r["scenario"].ratio != 1 else None
            m = median(r["judges"][k]["requests"])
            if o and m:
                rel.append(m / o)
        if rel:
            ax.scatter(false_rate * 100, statistics.median(rel), s=80, label=k)
            ax.annotate(
                k,
                (false_rate * 100, statistics.median(rel)),
                textcoords="offset points",
                xytext=(6, 6),
            )
    ax.axvline(ALPHA * 100, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("false rollbacks over all good-release scenarios (%)")
    ax.set_ylabel("median exposure before failing, × oracle SPRT")
    ax.set_yscale("log")
    ax.set_title("Canary judges: exposure against false rollbacks (lower-left is better)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="a few scenarios only")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()
    todo = [(s, args.runs, 1000 + i) for i, s in enumerate(scenarios(args.quick))]
    start = time.monotonic()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(run_scenario, todo))
    seconds = time.monotonic() - start
    args.out.mkdir(parents=True, exist_ok=True)
    text = report(results, args.runs, seconds)
    (args.out / "results.md").write_text(text, encoding="utf-8")
    chart(results, args.out / "exposure.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
