"""How fast gate gets traffic off a canary, and exits, when the outside world misbehaves.

    python -m benchmarks.faults.run [--runs 5] [--out benchmarks/faults/results.md]

Everything is real: HAProxy and Prometheus of ``tests/integration/stack.py`` on 127.0.0.1,
``gate`` run as a child process, and the misbehaving server of ``tests/faults/server.py`` in
front of Prometheus (or standing in for a kill switch). Canary weights are read back from
HAProxy's runtime API every 10 ms, so "weight 0" below is HAProxy's own answer.

1. **SIGTERM during a hung query**: the stage's query hangs (its deadline is 30 s); SIGTERM
   is sent once the server holds it. Time from SIGTERM to canary weight 0, and to the exit.
2. **`gate abort` during a hung query**: the same, with `gate abort` run as a second process.
   Time from starting `gate abort` to weight 0, to its exit and to the driver's exit.
3. **Rollback with a dripping server**: Prometheus drips one byte every 2 s during the stage
   (metrics deadline 2 s, `consecutiveErrorLimit: 0`) and the kill switch (webhook flag, its
   deadline 10 s) drips during the rollback. Time from the first dripping query to weight 0,
   from the rollback's start (its audit record) to weight 0, and to the (loud, exit 4) end.
4. **`gate check` with a live check that never answers** (hangs, or drips), timeout 2 s: the
   process's wall time from start to exit, interpreter start-up included.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.faults import harness  # noqa: E402
from tests.faults.server import FaultServer, forward_to  # noqa: E402
from tests.faults.test_rollout_faults import flag_service  # noqa: E402
from tests.integration.stack import Stack  # noqa: E402

Figures = defaultdict[str, list[float]]


def _wall_offset() -> float:
    """time.time() - time.monotonic(), to place audit-log times on the monotonic clock."""
    return time.time() - time.monotonic()


def _audit_time(state: Path, event: str) -> float:
    record = next(e for e in harness.audit(state) if e["event"] == event)
    return datetime.fromisoformat(record["time"]).timestamp() - _wall_offset()


def _require(ok: bool, driver: harness.Driver) -> None:
    if not ok:
        raise RuntimeError(f"unexpected end of the scenario:\n{driver.output()}")


def _hung_driver(stack: Stack, prom: FaultServer, work: Path) -> tuple[harness.Driver, Path]:
    harness.reset(stack)
    prom.set("normal", after=1, then="hang")
    state = work / "state"
    spec = harness.spec(
        stack, prom.url, stages=[{"weight": 10, "duration": "60s"}, {"weight": 100}], timeout="30s"
    )
    driver = harness.Driver(state, "rollout", "rollout", str(harness.write(work / "r.yaml", spec)))
    prom.wait_stalled(60)
    harness.wait_for_stage(stack, 10, 10)
    return driver, state


def sigterm(stack: Stack, prom: FaultServer, work: Path, figures: Figures) -> None:
    with harness.Weights(stack) as weights:
        driver, _ = _hung_driver(stack, prom, work)
        sent = driver.signal(signal.SIGTERM)
        code = driver.wait(120)
    at_zero = weights.first(0, after=sent)
    _require(code == 130 and at_zero is not None and driver.ended is not None, driver)
    assert at_zero is not None
    assert driver.ended is not None
    figures["SIGTERM → canary weight 0"].append(at_zero - sent)
    figures["SIGTERM → process exit"].append(driver.ended - sent)


def abort(stack: Stack, prom: FaultServer, work: Path, figures: Figures) -> None:
    with harness.Weights(stack) as weights:
        driver, state = _hung_driver(stack, prom, work)
        began = time.monotonic()
        done = harness.gate(state, "abort", harness.NAME)
        ended = time.monotonic()
        code = driver.wait(120)
    at_zero = weights.first(0, after=began)
    _require(done.returncode == 1 and code == 1, driver)
    assert at_zero is not None
    assert driver.ended is not None
    figures["gate abort → canary weight 0"].append(at_zero - began)
    figures["gate abort → its exit"].append(ended - began)
    figures["gate abort → driving process exit"].append(driver.ended - began)


def dripping_rollback(stack: Stack, prom: FaultServer, work: Path, figures: Figures) -> None:
    harness.reset(stack)
    enabled = {"new-checkout": True}
    with FaultServer(flag_service(enabled), drip_every=2.0, max_seconds=120) as flags:
        flags.set("normal", after=1, then="drip")
        prom.set("normal", after=1, then="drip")
        state = work / "state"
        spec = harness.spec(
            stack,
            prom.url,
            timeout="2s",
            consecutive_error_limit=0,
            flags=[{"provider": "webhook", "url": flags.url, "feature": "new-checkout"}],
        )
        with harness.Weights(stack) as weights:
            driver = harness.Driver(
                state, "rollout", "rollout", str(harness.write(work / "r.yaml", spec))
            )
            code = driver.wait(180)
    _require(code == 4, driver)
    assert driver.ended is not None
    first_drip = prom.requests[1].at
    rolling_back = _audit_time(state, "rolling-back")
    at_zero = weights.first(0, after=first_drip)
    assert at_zero is not None
    figures["dripping query starts → canary weight 0"].append(at_zero - first_drip)
    figures["rollback starts → canary weight 0"].append(at_zero - rolling_back)
    figures["rollback starts → rollback over (exit 4, kill switch named)"].append(
        driver.ended - rolling_back
    )


def check(mode: str) -> Callable[[Stack, FaultServer, Path, Figures], None]:
    def run(stack: Stack, prom: FaultServer, work: Path, figures: Figures) -> None:
        with FaultServer(mode=mode, max_seconds=120) as server:
            policy = work / "policy.yaml"
            live = {
                "type": "http-json",
                "name": "status",
                "url": server.url + "/status",
                "pointer": "/state",
                "equals": "ok",
                "timeout": "2s",
            }
            policy.write_text(
                json.dumps(
                    {
                        "apiVersion": "gate/v1",
                        "kind": "Policy",
                        "metadata": {"name": "live"},
                        "spec": {"checks": [live]},
                    }
                )
            )
            began = time.monotonic()
            done = harness.gate(
                work / "state",
                "check",
                "--change",
                str(ROOT / "examples" / "change-request.yaml"),
                "--policy",
                str(policy),
                "--no-default-policy",
                "--format",
                "json",
            )
            seconds = time.monotonic() - began
        if done.returncode != 1:
            raise RuntimeError(f"gate check exited {done.returncode}: {done.stderr}")
        figures[f"gate check, live check that {mode}s (timeout 2 s) → exit"].append(seconds)

    return run


SCENARIOS: list[Callable[[Stack, FaultServer, Path, Figures], None]] = [
    sigterm,
    abort,
    dripping_rollback,
    check("hang"),
    check("drip"),
]


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _table(figures: Figures) -> str:
    lines = ["| interval | runs | median | min | max |", "|---|---|---|---|---|"]
    for name, values in figures.items():
        lines.append(
            f"| {name} | {len(values)} | {_seconds(statistics.median(values))} | "
            f"{_seconds(min(values))} | {_seconds(max(values))} |"
        )
    return "\n".join(lines)


NOTES = """
How to read it:

- Canary weight 0 is HAProxy's answer to `get weight app/canary`, polled every 10 ms, so
  each figure about it carries up to 10 ms of polling.
- SIGTERM: the signal interrupts the wait for the hung query at once; the rollback is two
  `set server` commands and a read-back. The process then exits without waiting for the
  abandoned query (its deadline was 30 s).
- `gate abort` includes starting a second Python process (interpreter and imports, on a
  machine this loaded a good part of the figure); the driving process looks for the request
  every 0.25 s while a query is in flight.
- Dripping rollback: the stage's query drips, so it fails at its 2 s deadline; traffic is back
  on stable within milliseconds of the rollback's start. The kill switch (the webhook flag
  provider, whose deadline is 10 s) then gets its full deadline to switch and another to read
  the flag back; both drip, so the rollback ends after about 2 x 10 s, in exit 4 naming the
  flag. Several such flags are switched concurrently and take no longer.
- `gate check`: the live check's 2 s timeout plus interpreter start-up; the process does not
  wait for the server afterwards.
"""


def _versions() -> str:
    def first_line(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10)
        except OSError:
            return "?"
        words = (out.stdout or out.stderr).split()
        return words[2].split("-")[0].split("+")[0] if len(words) > 2 else "?"

    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"HAProxy {first_line(['haproxy', '-v'])}, "
        f"Prometheus {first_line(['prometheus', '--version'])}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the Markdown results here")
    args = parser.parse_args(argv)
    figures: Figures = defaultdict(list)
    load_before = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="gate-faults-") as tmp,
        Stack(Path(tmp) / "stack") as stack,
    ):
        for scenario in SCENARIOS:
            before = set(figures)
            for i in range(args.runs):
                work = Path(tmp) / f"run-{time.time_ns()}-{i}"
                work.mkdir()
                with FaultServer(
                    forward_to(stack.prometheus.url), drip_every=2.0, max_seconds=120
                ) as prom:
                    scenario(stack, prom, work, figures)
            for name in set(figures) - before:
                print(f"{name}: {[round(v, 3) for v in figures[name]]}", flush=True)
        harness.reset(stack)
    text = (
        "# Fault benchmarks\n\n"
        f"Machine: {_versions()}; load average {load_before:.1f} when the run began.\n"
        f"Command: `python -m benchmarks.faults.run --runs {args.runs}` "
        f"({datetime.now().date().isoformat()}).\n\n" + _table(figures) + "\n" + NOTES
    )
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
