"""Start a local canary stack and watch gate roll a bad canary back.

    .venv/bin/python examples/quickstart/run.py                  # a canary answering 20 % errors
    .venv/bin/python examples/quickstart/run.py --canary slow    # 0.8 s per request
    .venv/bin/python examples/quickstart/run.py --canary healthy # a good canary, promoted

Everything runs on 127.0.0.1 with free ports, in a temporary directory, and stops — and the
directory is removed — when the rollout ends, on Ctrl-C or on SIGTERM:
two versions of a small app, HAProxy in front of them, Prometheus scraping them every second,
and a load generator. Needs ``haproxy`` and ``prometheus`` on PATH (Debian:
``apt-get install haproxy prometheus``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.integration.stack import (  # noqa: E402
    MODES,
    Stack,
    WeightRecorder,
    rollout_spec,
    write_spec,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--canary", choices=MODES, default="errors", help="canary behaviour")
    parser.add_argument("--rps", type=float, default=40.0, help="requests per second")
    parser.add_argument("--stage-seconds", type=int, default=10, help="length of each stage")
    parser.add_argument("--keep", action="store_true", help="keep the stack up afterwards")
    args = parser.parse_args(argv)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the stack as Ctrl-C does: nothing is orphaned

    signal.signal(signal.SIGTERM, stop)
    with tempfile.TemporaryDirectory(prefix="gate-quickstart-") as tmp:
        return run(Path(tmp), args)


def run(workdir: Path, args: argparse.Namespace) -> int:
    print(f"Starting the local stack in {workdir} ...", flush=True)
    with Stack(workdir / "stack", canary_mode=args.canary) as stack:
        stages: list[dict[str, Any]] = [
            {"weight": 10, "duration": f"{args.stage_seconds}s"},
            {"weight": 50, "duration": f"{args.stage_seconds}s"},
            {"weight": 100},
        ]
        spec = write_spec(workdir / "rollout.yaml", rollout_spec(stack, stages=stages))
        seconds = 3 * args.stage_seconds + 60
        stack.load(rps=args.rps, seconds=seconds)
        print(
            f"""
  app (through HAProxy)   {stack.haproxy.url}
  Prometheus              {stack.prometheus.url}
  HAProxy admin socket    {stack.haproxy.socket}
  canary behaviour        {args.canary}
  rollout spec            {spec}

Warming up: the load generator sends {args.rps:g} requests/s, all to stable for now.""",
            flush=True,
        )
        time.sleep(3)
        print(f"\n$ gate rollout {spec}\n", flush=True)
        recorder = WeightRecorder(stack.haproxy).start()
        env = {**os.environ, "GATE_STATE_DIR": str(workdir / "state")}
        try:
            code = subprocess.call(
                [sys.executable, "-m", "gate", "rollout", str(spec)], cwd=ROOT, env=env
            )
        except KeyboardInterrupt:
            code = 130
        finally:
            recorder.stop()
        weights = stack.haproxy.weights()
        steps = " -> ".join(f"{w}%" for w in recorder.canary_weights())
        print(
            f"\ngate exited with {code}. Canary weights seen in HAProxy: {steps}\n"
            f"HAProxy now: canary weight {weights['canary']}, stable weight {weights['stable']}"
        )
        outcome = {
            0: "The canary was promoted: it now takes all the traffic.",
            1: "The canary was rolled back: all traffic is on stable again.",
        }.get(code, "See the messages above.")
        print(outcome)
        if args.keep:
            print("\nThe stack stays up; press Ctrl-C (or send SIGTERM) to stop it.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return code


if __name__ == "__main__":
    raise SystemExit(main())
