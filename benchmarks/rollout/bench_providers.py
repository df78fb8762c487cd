"""The providers' share of a rollback, on the real local stack.

    python benchmarks/rollout/bench_providers.py [--runs 200]

Measures what gate's controller spends in the providers when an analysis fails:
- the three analysis queries of the issue's example (run concurrently, as the controller does),
- the HAProxy rollback: ``set_canary_weight(0)`` (two ``set server`` commands plus a
  ``get weight``) and the read-back ``canary_weight()`` that verifies it,
- CPU time of one analysis round (three queries) in this process, scaled to a rollout-hour
  at 10 s intervals.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gate.providers.metrics.prometheus import PrometheusProvider  # noqa: E402
from gate.providers.traffic.haproxy import HAProxyRouter  # noqa: E402
from tests.integration.stack import (  # noqa: E402
    ERROR_RATE,
    P95_LATENCY,
    STABLE_ERROR_RATE,
    Stack,
)


def _ms(values: list[float]) -> str:
    v = sorted(x * 1000 for x in values)
    p95 = v[int(0.95 * (len(v) - 1))]
    return f"median {statistics.median(v):.2f} ms, p95 {p95:.2f} ms, max {v[-1]:.2f} ms"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    queries = [
        ERROR_RATE.format(window="1m"),
        ERROR_RATE.format(window="1m") + " / " + STABLE_ERROR_RATE.format(window="1m"),
        P95_LATENCY.format(window="1m"),
    ]
    with Stack(Path(tempfile.mkdtemp(prefix="gate-bench-")) / "stack", "errors") as stack:
        stack.load(rps=50, seconds=600)
        router = HAProxyRouter(
            socket=stack.haproxy.socket, backend="app", stable="stable", canary="canary"
        )
        router.set_canary_weight(20)
        time.sleep(3)
        prom = PrometheusProvider(stack.prometheus.url)
        rounds, rollbacks, readbacks = [], [], []
        cpu_rounds = 0.0
        with ThreadPoolExecutor(max_workers=len(queries)) as pool:
            for _ in range(args.runs):
                router.set_canary_weight(20)
                cpu0, t0 = _cpu(), time.perf_counter()
                list(pool.map(prom.query, queries))
                t1 = time.perf_counter()
                cpu_rounds += _cpu() - cpu0
                router.set_canary_weight(0)
                t2 = time.perf_counter()
                assert router.canary_weight() == 0
                t3 = time.perf_counter()
                rounds.append(t1 - t0)
                rollbacks.append(t2 - t1)
                readbacks.append(t3 - t2)
        prom.close()
    per_round = cpu_rounds / args.runs
    print(f"runs: {args.runs}")
    print(f"- analysis round (3 concurrent queries, wall): {_ms(rounds)}")
    print(f"- HAProxy rollback set_canary_weight(0): {_ms(rollbacks)}")
    print(f"- read-back canary_weight(): {_ms(readbacks)}")
    print(
        f"- rollback + read-back: {_ms([a + b for a, b in zip(rollbacks, readbacks, strict=True)])}"
    )
    print(
        f"- CPU per analysis round in the provider: {per_round * 1000:.2f} ms -> "
        f"{per_round * 360:.2f} s CPU per rollout-hour at 10 s intervals (queries only)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
