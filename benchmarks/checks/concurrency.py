"""Live checks run side by side: the whole run takes about as long as the slowest check.

    python benchmarks/checks/concurrency.py

Five command checks sleeping 0.2-1.0 s each (plus a start-up of their own); prints the sum of
the checks' own durations, the slowest one, and the wall time of the run, and writes
benchmarks/checks/results.md.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


from gate.checks.runner import run_checks  # noqa: E402
from tests.policy.helpers import change, policy  # noqa: E402

SLEEPS = (0.2, 0.4, 0.6, 0.8, 1.0)


def once() -> tuple[float, float, float]:
    specs = policy(
        {
            "checks": [
                {
                    "type": "command",
                    "name": f"sleep-{s}",
                    "timeout": "10s",
                    "argv": [sys.executable, "-c", f"import time; time.sleep({s})"],
                }
                for s in SLEEPS
            ]
        }
    ).checks
    start = time.perf_counter()
    results = run_checks(specs, change())
    wall = time.perf_counter() - start
    return wall, sum(r.seconds for r in results), max(r.seconds for r in results)


def main() -> int:
    runs = [once() for _ in range(5)]
    wall = statistics.median(r[0] for r in runs)
    total = statistics.median(r[1] for r in runs)
    slowest = statistics.median(r[2] for r in runs)
    text = "\n".join(
        [
            "# Live checks: concurrent run time",
            "",
            f"Five command checks sleeping {', '.join(f'{s:g}' for s in SLEEPS)} s; "
            "median of 5 runs.",
            "",
            "| figure | seconds |",
            "|---|---|",
            f"| sum of the checks' durations | {total:.2f} |",
            f"| slowest check | {slowest:.2f} |",
            f"| wall time of the whole run | {wall:.2f} |",
            "",
            f"The run took {wall / slowest:.2f}× the slowest check and "
            f"{wall / total:.2f}× the sum.",
            "",
        ]
    )
    print(text)
    (Path(__file__).parent / "results.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
