"""Whole-process time of `gate check` on an example change with the bundled policy.

    python benchmarks/check_startup.py [--runs 30] [--change FILE] [--write]

Prints the median, min and max wall time over the runs (after two warm-up runs) and the
modules that take longest to import; with --write, also benchmarks/results/check_startup.md.
Target: median under 0.3 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def once(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=60
    )
    return time.perf_counter() - start


def slowest_imports(cmd: list[str], top: int = 8) -> list[tuple[int, str]]:
    proc = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s+(\S+)$", line)
        if m and "." not in m.group(2):
            rows.append((int(m.group(1)), m.group(2)))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--change", default="examples/change-request.yaml")
    ap.add_argument(
        "--write",
        action="store_true",
        help="also write benchmarks/results/check_startup.md (the committed results)",
    )
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "gate", "check", "--change", args.change]
    for _ in range(2):
        once(cmd)
    times = [once(cmd) for _ in range(args.runs)]
    baseline = [once([sys.executable, "-c", "pass"]) for _ in range(args.runs)]
    med = statistics.median(times)
    lines = [
        "# gate check start-up",
        "",
        f"`{' '.join(['python', *cmd[1:]])}`, {args.runs} runs after 2 warm-ups, "
        f"Python {platform.python_version()}, {platform.machine()}.",
        "",
        "| figure | seconds |",
        "|---|---|",
        f"| median | {med:.3f} |",
        f"| min | {min(times):.3f} |",
        f"| max | {max(times):.3f} |",
        f"| bare `python -c pass`, median | {statistics.median(baseline):.3f} |",
        "",
        f"Target: median < 0.300 s — {'met' if med < 0.3 else 'NOT met'}.",
        "",
        "Slowest top-level imports (cumulative microseconds):",
        "",
        *[f"- `{name}`: {us} µs" for us, name in slowest_imports(cmd)],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        (REPO / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
        (REPO / "benchmarks" / "results" / "check_startup.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
