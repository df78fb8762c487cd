"""Rollout benchmarks on the real local stack (HAProxy, Prometheus, two app versions).

    python benchmarks/rollout/bench_rollout.py [--runs 5] [--cpu-seconds 120]

1. Reaction time: a canary answering 20 % errors; gate queries Prometheus through a
   recording proxy and drives HAProxy through a recording proxy of the admin socket. The
   figure is the time from the end of the last query answer gate received before it rolled
   back (the analysis that saw the bad canary) to HAProxy's acknowledgement of
   ``set server app/canary weight 0`` - i.e. everything gate does beyond the query itself.
2. CPU time per rollout-hour at 10 s intervals: CPU time (user + system, from ``wait4``) of
   the ``gate rollout`` process over a shortened run of a healthy canary at 10 s intervals,
   minus the CPU time of the same rollout with no waiting (start-up, validation, the first
   queries, promotion), scaled to one hour; the start-up cost is reported separately.

Results are printed as Markdown; ``results.md`` holds the committed figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.integration.stack import Stack, rollout_spec, write_spec  # noqa: E402


class QueryProxy:
    """HTTP proxy in front of Prometheus recording when each answer was fully sent."""

    def __init__(self, upstream: str) -> None:
        self.answers: list[float] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {"Content-Type": self.headers.get("Content-Type", "")}
                req = urllib.request.Request(
                    upstream + self.path, data=body, method=method, headers=headers
                )
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        code, data = resp.status, resp.read()
                except urllib.error.HTTPError as exc:
                    with exc:
                        code, data = exc.code, exc.read()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                proxy.answers.append(time.time())

            def do_POST(self) -> None:
                self._forward("POST")

            def do_GET(self) -> None:
                self._forward("GET")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class AdminProxy:
    """Unix-socket proxy of HAProxy's runtime API recording each command and its reply time."""

    def __init__(self, upstream: str, path: str) -> None:
        self.upstream = upstream
        self.path = path
        self.commands: list[tuple[float, str]] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        self._sock.listen(16)
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        with conn, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as up:
            line = b""
            while not line.endswith(b"\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                line += chunk
            up.connect(self.upstream)
            up.sendall(line)
            reply = b""
            while chunk := up.recv(65536):
                reply += chunk
            self.commands.append((time.time(), line.decode().strip()))
            conn.sendall(reply)

    def close(self) -> None:
        self._stop = True
        self._sock.close()


@contextlib.contextmanager
def proxied_stack(workdir: Path, mode: str) -> Iterator[tuple[Stack, QueryProxy, AdminProxy]]:
    with Stack(workdir / "stack", canary_mode=mode) as stack:
        queries = QueryProxy(stack.prometheus.url)
        admin = AdminProxy(stack.haproxy.socket, str(workdir / "proxy.sock"))
        try:
            yield stack, queries, admin
        finally:
            queries.close()
            admin.close()


def _spec(stack: Stack, queries: QueryProxy, admin: AdminProxy, **kw: Any) -> dict[str, Any]:
    spec = rollout_spec(stack, **kw)
    spec["spec"]["metrics"]["url"] = queries.url
    spec["spec"]["traffic"]["socket"] = admin.path
    return spec


def _run_gate(spec: Path, state: Path, log: Path) -> tuple[int, float]:
    """Run ``gate rollout``; its exit code and CPU seconds (user + system)."""
    env = {**os.environ, "GATE_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gate", "rollout", str(spec)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def reaction(workdir: Path, run: int) -> float:
    with proxied_stack(workdir / f"reaction-{run}", "errors") as (stack, queries, admin):
        load = stack.load(rps=50, seconds=60)
        time.sleep(2)
        spec = write_spec(
            workdir / f"reaction-{run}.yaml",
            _spec(
                stack,
                queries,
                admin,
                stages=[{"weight": 20, "duration": "30s"}, {"weight": 100}],
                interval="1s",
            ),
        )
        code, _ = _run_gate(spec, workdir / f"state-r{run}", workdir / f"reaction-{run}.log")
        load.stop()
        if code != 1:
            raise RuntimeError(f"expected a rollback (exit 1), got {code}; see the log")
        (rolled_back,) = [t for t, c in admin.commands if c == "set server app/canary weight 0"][
            -1:
        ]
        last_answer = max(t for t in queries.answers if t <= rolled_back)
        return rolled_back - last_answer


def cpu(workdir: Path, seconds: int) -> tuple[float, float, int]:
    """CPU of a run with a ``seconds`` stage at 10 s intervals, of a no-wait run, and queries."""
    with proxied_stack(workdir / "cpu", "healthy") as (stack, queries, admin):
        stack.load(rps=20, seconds=seconds + 60)
        time.sleep(2)
        figures = []
        for label, duration in (("short", 0), ("long", seconds)):
            stages = [{"weight": 10, "duration": f"{duration}s"}, {"weight": 100}]
            spec = write_spec(
                workdir / f"cpu-{label}.yaml",
                _spec(
                    stack,
                    queries,
                    admin,
                    stages=stages,
                    interval="10s",
                    window="30s",
                    name=f"cpu-{label}",
                ),
            )
            before = len(queries.answers)
            code, used = _run_gate(spec, workdir / f"state-{label}", workdir / f"cpu-{label}.log")
            if code != 0:
                raise RuntimeError(f"cpu run {label}: exit {code}; see {workdir}/cpu-{label}.log")
            figures.append((used, len(queries.answers) - before))
            admin.commands.clear()
            stack.haproxy.command("set server app/canary weight 0")
            stack.haproxy.command("set server app/stable weight 100")
        (short_cpu, _), (long_cpu, long_queries) = figures
        return long_cpu, short_cpu, long_queries


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cpu-seconds", type=int, default=120)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="gate-bench-"))
    reactions = [reaction(workdir, i) for i in range(args.runs)]
    long_cpu, short_cpu, queries = cpu(workdir, args.cpu_seconds)
    per_hour = (long_cpu - short_cpu) / args.cpu_seconds * 3600
    ms = sorted(r * 1000 for r in reactions)
    print(
        f"## Rollout benchmarks ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs)\n"
    )
    print("### Reaction: last query answer -> HAProxy canary weight 0\n")
    print(
        f"runs: {len(ms)}; median {statistics.median(ms):.1f} ms; "
        f"min {ms[0]:.1f} ms; max {ms[-1]:.1f} ms (target < 1000 ms)\n"
    )
    print("### Controller CPU time at 10 s intervals\n")
    print(
        f"- run with a {args.cpu_seconds} s stage: {long_cpu:.3f} s CPU, {queries} queries answered"
    )
    print(f"- same rollout without waiting (start-up, checks, promotion): {short_cpu:.3f} s CPU")
    print(
        f"- steady state: {(long_cpu - short_cpu) / args.cpu_seconds * 1000:.2f} ms CPU per second "
        f"of rollout -> **{per_hour:.1f} s CPU per rollout-hour** "
        f"({per_hour / 3600 * 100:.3f} % of one core), plus {short_cpu:.2f} s once per rollout"
    )
    print(f"\nlogs: {workdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
