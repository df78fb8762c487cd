"""Driving ``gate`` as real processes against the real stack (HAProxy, Prometheus) with a
misbehaving server in front of Prometheus; shared by the fault tests and by
``benchmarks/faults/run.py``, which times the same scenarios.

The spec has one metric, ``sum(up) >= 1``, which real Prometheus always answers with a value
(the stack's two apps are up), so any measurement that is not a success is the fault's doing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.integration.stack import Stack, write_spec

ROOT = Path(__file__).resolve().parents[2]
NAME = "checkout"
QUERY = "sum(up)"


def env(state: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    out = {
        **os.environ,
        "GATE_STATE_DIR": str(state),
        "GATE_CRASH_DIR": str(state.parent / "crash"),
        "PYTHONPATH": str(ROOT),
    }
    out.pop("GITHUB_ACTIONS", None)
    out.update(extra or {})
    return out


def gate(
    state: Path, *args: str, timeout: float = 90, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``gate ARGS`` run to its end as a child process."""
    return subprocess.run(
        [sys.executable, "-m", "gate", *args],
        cwd=ROOT,
        env=env(state, extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Driver:
    """``gate ARGS`` running in the background; stdout and stderr in files beside the state."""

    def __init__(
        self, state: Path, name: str, *args: str, extra_env: dict[str, str] | None = None
    ) -> None:
        state.parent.mkdir(parents=True, exist_ok=True)
        self.out_path = state.parent / f"{name}.out"
        self.err_path = state.parent / f"{name}.err"
        self._out = self.out_path.open("w")
        self._err = self.err_path.open("w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gate", *args],
            cwd=ROOT,
            env=env(state, extra_env),
            stdout=self._out,
            stderr=self._err,
            text=True,
        )
        self.ended: float | None = None

    def wait(self, timeout: float) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self.ended = self.ended or time.monotonic()
        self._close()
        return code

    def signal(self, signum: int) -> float:
        """Send ``signum``; the time it was sent."""
        at = time.monotonic()
        self.proc.send_signal(signum)
        return at

    def kill(self) -> None:
        """SIGKILL, as a crashed runner or an OOM killer would."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._close()

    def _close(self) -> None:
        for fh in (self._out, self._err):
            if not fh.closed:
                fh.close()

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def output(self) -> str:
        return self.stdout + self.stderr


def reset(stack: Stack) -> None:
    """Stable traffic only, as every scenario starts."""
    stack.haproxy.command("set server app/stable weight 100")
    stack.haproxy.command("set server app/canary weight 0")


def spec(
    stack: Stack,
    metrics_url: str,
    *,
    stages: list[dict[str, Any]] | None = None,
    interval: str = "1s",
    timeout: str = "1s",
    consecutive_error_limit: int = 2,
    router_address: str | None = None,
    router_timeout: str | None = None,
    flags: list[dict[str, Any]] | None = None,
    notifications: list[dict[str, Any]] | None = None,
    headers_env: dict[str, str] | None = None,
    hooks: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A rollout of the stack's canary whose metrics come from ``metrics_url``."""
    traffic: dict[str, Any] = {
        "provider": "haproxy",
        "backend": "app",
        "stable": "stable",
        "canary": "canary",
    }
    if router_address is not None:
        traffic["address"] = router_address
    else:
        traffic["socket"] = stack.haproxy.socket
    if router_timeout is not None:
        traffic["timeout"] = router_timeout
    metrics: dict[str, Any] = {"provider": "prometheus", "url": metrics_url, "timeout": timeout}
    if headers_env:
        metrics["headersEnv"] = headers_env
    body: dict[str, Any] = {
        "traffic": traffic,
        "metrics": metrics,
        "stages": stages or [{"weight": 10, "duration": "2s"}, {"weight": 100}],
        "analysis": {
            "interval": interval,
            "consecutiveErrorLimit": consecutive_error_limit,
            "metrics": [{"name": "targets-up", "query": QUERY, "min": 1}],
        },
    }
    if flags:
        body["onFailure"] = {"flags": flags}
    if notifications:
        body["notifications"] = notifications
    if hooks:
        body["hooks"] = hooks
    return {
        "apiVersion": "gate/v1",
        "kind": "Rollout",
        "metadata": {"name": NAME, "service": NAME},
        "spec": body,
    }


def write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_spec(path, data)


def journal(state: Path, name: str = NAME) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((state / name / "state.json").read_text())
    return data


def audit(state: Path, name: str = NAME) -> list[dict[str, Any]]:
    path = state / name / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> float:
    """Poll ``predicate`` until it holds; the time it first did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def canary_weight(stack: Stack) -> int:
    return stack.haproxy.weight("canary")


def wait_for_stage(stack: Stack, canary: int, timeout: float = 30) -> float:
    """Wait until HAProxy has both servers' weights of a ``canary`` % stage (the controller
    sets one, then the other); the time it did."""
    want = {"canary": canary, "stable": 100 - canary}
    return wait_for(lambda: weights(stack) == want, timeout, f"canary weight {canary}%")


def weights(stack: Stack) -> dict[str, int]:
    return stack.haproxy.weights()


class Weights:
    """Polls HAProxy's canary weight every ``period`` seconds; keeps each change with its
    ``time.monotonic()``, so times can be compared with a signal sent by the test."""

    def __init__(self, stack: Stack, period: float = 0.01) -> None:
        import threading

        self.stack = stack
        self.period = period
        self.changes: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="weights")

    def __enter__(self) -> Weights:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def seen(self) -> list[int]:
        """The canary weights seen, in order, without repeats."""
        return [w for _, w in self.changes]

    def first(self, weight: int, after: float = 0.0) -> float | None:
        return next((t for t, w in self.changes if w == weight and t >= after), None)

    def _run(self) -> None:
        last: int | None = None
        while not self._stop.is_set():
            try:
                now: int | None = self.stack.haproxy.weight("canary")
            except (OSError, ValueError, IndexError):
                now = None
            if now is not None and now != last:
                self.changes.append((time.monotonic(), now))
                last = now
            self._stop.wait(self.period)
