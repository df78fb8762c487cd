"""A local canary stack on 127.0.0.1: two app versions, HAProxy, Prometheus, a load generator.

Used by the integration tests (through the fixtures in ``conftest.py``) and by
``examples/quickstart/run.py``. Every piece binds free loopback ports, waits a bounded time
to come up, and is stopped by ``close()``/``with``; server processes log into the work dir.

* :class:`App` - a small HTTP app (``/`` answers with its version) exposing prometheus-client
  metrics ``http_requests_total{version,code}`` and ``http_request_duration_seconds{version}``;
  its ``mode`` (``healthy``, ``errors`` = every 5th request a 500, ``slow`` = 0.8 s) can be
  switched at any time, also with ``POST /-/mode/<mode>``.
* :class:`HAProxy` - frontend on a free port, backend ``app`` (``balance roundrobin``) with
  servers ``stable`` (weight 100) and ``canary`` (weight 0), an admin unix socket and an admin
  TCP address.
* :class:`Prometheus` - scrapes both apps every second, ``--query.lookback-delta=30s``.
* :class:`LoadGenerator` - N requests a second through HAProxy for at most T seconds.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter as TallyCounter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

MODES = ("healthy", "errors", "slow")
SLOW_SECONDS = 0.8
ERROR_EVERY = 5  # "errors" mode: every 5th request fails -> 20 %
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until(check: Any, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, ValueError, http.client.HTTPException) as exc:
            last = exc
        time.sleep(0.1)
    tail = ""
    if log is not None and log.exists():
        tail = "\n" + log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"{what} not ready after {timeout:g}s (last error: {last}){tail}")


def _http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
        exc.close()
        return int(exc.code), body


# -- the app ------------------------------------------------------------------------------------


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Peers (HAProxy, Prometheus) dropping idle keep-alive connections are normal."""


class App:
    """One version of the demo app, served from a thread of this process."""

    def __init__(self, version: str, mode: str = "healthy", port: int = 0) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.version = version
        self.mode = mode
        self._lock = threading.Lock()
        self._served = 0
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests served.",
            ["version", "code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency.",
            ["version"],
            registry=self.registry,
        )
        for code in ("200", "500"):
            self.requests.labels(version, code)
        self.duration.labels(version)
        self._server = _QuietServer(("127.0.0.1", port), self._handler())
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> App:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode

    def _serve(self) -> tuple[int, bytes]:
        started = time.perf_counter()
        with self._lock:
            self._served += 1
            n = self._served
        mode = self.mode
        code = 200
        if mode == "slow":
            time.sleep(SLOW_SECONDS)
        elif mode == "errors" and n % ERROR_EVERY == 0:
            code = 500
        self.requests.labels(self.version, str(code)).inc()
        self.duration.labels(self.version).observe(time.perf_counter() - started)
        return code, f"{self.version}\n".encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, code: int, body: bytes, ctype: str = "text/plain") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Version", app.version)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/metrics":
                    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

                    self._reply(200, generate_latest(app.registry), CONTENT_TYPE_LATEST)
                elif self.path == "/-/mode":
                    self._reply(200, f"{app.mode}\n".encode())
                else:
                    self._reply(*app._serve())

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                mode = self.path.removeprefix("/-/mode/")
                if self.path.startswith("/-/mode/") and mode in MODES:
                    app.set_mode(mode)
                    self._reply(200, f"{mode}\n".encode())
                else:
                    self._reply(404, b"not found\n")

        return Handler


# -- server processes ---------------------------------------------------------------------------


class _Process:
    """A server binary run in the foreground, logging to a file, stopped on close()."""

    name = "process"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = workdir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> Any:
        argv = self._argv()
        if shutil.which(argv[0]) is None:
            raise RuntimeError(f"{argv[0]} is not installed (scripts/test installs it with apt)")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n"
                    + self.log.read_text(errors="replace")[-2000:]
                )
            return self._ready()

        try:
            _wait_until(ready, timeout, self.name, self.log)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)

    def close(self) -> None:
        self.stop()


class HAProxy(_Process):
    """HAProxy with backend ``app``: servers ``stable`` (weight 100) and ``canary`` (weight 0)."""

    name = "haproxy"

    def __init__(self, workdir: Path, stable: str, canary: str) -> None:
        super().__init__(workdir)
        self.port = free_port()
        self.admin_port = free_port()
        self.socket = str(workdir / "admin.sock")
        self.user_socket = str(workdir / "user.sock")
        self.config = workdir / "haproxy.cfg"
        self.config.write_text(
            f"""global
    stats socket {self.socket} mode 600 level admin
    stats socket ipv4@127.0.0.1:{self.admin_port} level admin
    stats socket {self.user_socket} mode 600 level user
    stats timeout 10s
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend web
    bind 127.0.0.1:{self.port}
    default_backend app

backend app
    balance roundrobin
    server stable {stable} weight 100
    server canary {canary} weight 0
"""
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_address(self) -> str:
        return f"127.0.0.1:{self.admin_port}"

    def _argv(self) -> list[str]:
        return ["haproxy", "-db", "-f", str(self.config)]

    def _ready(self) -> bool:
        if not os.path.exists(self.socket):
            return False
        return self.command("show info").startswith("Name: HAProxy")

    def command(self, line: str, timeout: float = 5.0) -> str:
        """One runtime-API command over the unix socket; the reply as text."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.socket)
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def weight(self, server: str) -> int:
        """The current weight of ``app/server``."""
        return int(self.command(f"get weight app/{server}").split()[0])

    def weights(self) -> dict[str, int]:
        return {"stable": self.weight("stable"), "canary": self.weight("canary")}


class Prometheus(_Process):
    """Prometheus scraping ``targets`` every second; TSDB in the work dir."""

    name = "prometheus"

    def __init__(self, workdir: Path, targets: list[str]) -> None:
        super().__init__(workdir)
        self.port = free_port()
        self.targets = targets
        self.config = workdir / "prometheus.yml"
        self.config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: apps\n    static_configs:\n"
            f"      - targets: {json.dumps(targets)}\n"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _argv(self) -> list[str]:
        return [
            "prometheus",
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--query.lookback-delta=30s",
            "--log.level=warn",
        ]

    def _ready(self) -> bool:
        status, _ = _http_get(f"{self.url}/-/ready")
        if status != 200:
            return False
        _, body = _http_get(f"{self.url}/api/v1/targets")
        active = json.loads(body)["data"]["activeTargets"]
        up = {t["labels"]["instance"] for t in active if t["health"] == "up"}
        if not up >= set(self.targets):
            return False
        # enough scrapes for rate() over a short window on every target
        scrapes = self.query("min(count_over_time(up[30s]))")
        return bool(scrapes) and float(scrapes[0]["value"][1]) >= 3

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Run an instant query (for test assertions); the ``result`` list."""
        data = urllib.parse.urlencode({"query": promql}).encode()
        with urllib.request.urlopen(f"{self.url}/api/v1/query", data=data, timeout=5) as resp:
            result: list[dict[str, Any]] = json.loads(resp.read())["data"]["result"]
        return result


# -- load -------------------------------------------------------------------------------------


class LoadGenerator:
    """``rps`` GET requests a second to ``url`` from worker threads, for at most ``seconds``.

    Stops by itself; ``stop()`` ends it early. ``tally`` counts answers by (version, status).
    """

    def __init__(self, url: str, rps: float, seconds: float, workers: int = 16) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self.rps = rps
        self.seconds = seconds
        self.tally: TallyCounter[tuple[str, int]] = TallyCounter()
        self.failures = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._next = 0.0
        self._end = 0.0
        self._threads = [
            threading.Thread(target=self._work, daemon=True, name=f"load-{i}")
            for i in range(workers)
        ]

    def start(self) -> LoadGenerator:
        now = time.monotonic()
        self._next, self._end = now, now + self.seconds
        for t in self._threads:
            t.start()
        return self

    def wait(self) -> LoadGenerator:
        """Block until the bounded run ends by itself."""
        for t in self._threads:
            t.join(max(0.0, self._end - time.monotonic()) + SLOW_SECONDS + 6)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(SLOW_SECONDS + 6)

    def close(self) -> None:
        self.stop()

    def versions(self) -> dict[str, int]:
        """Answers per version so far."""
        with self._lock:
            out: dict[str, int] = {}
            for (version, _), n in self.tally.items():
                out[version] = out.get(version, 0) + n
            return out

    def reset(self) -> None:
        with self._lock:
            self.tally.clear()
            self.failures = 0

    def _slot(self) -> float | None:
        with self._lock:
            slot = self._next
            self._next = max(slot, time.monotonic() - 1.0) + 1.0 / self.rps
        return slot if slot < self._end else None

    def _work(self) -> None:
        while not self._stop.is_set():
            slot = self._slot()
            if slot is None:
                return
            delay = slot - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                resp.read()
                version = resp.getheader("X-Version") or "?"
                with self._lock:
                    self.tally[(version, resp.status)] += 1
            except (OSError, http.client.HTTPException):
                with self._lock:
                    self.failures += 1
            finally:
                conn.close()


# -- the whole stack ----------------------------------------------------------------------------


class Stack:
    """Apps, HAProxy and Prometheus together; ``with Stack(dir) as s:`` starts and stops all."""

    def __init__(self, workdir: Path, canary_mode: str = "healthy") -> None:
        self.workdir = Path(workdir)
        self.stable = App("stable")
        self.canary = App("canary", canary_mode)
        self.haproxy = HAProxy(self.workdir / "haproxy", self.stable.address, self.canary.address)
        self.prometheus = Prometheus(
            self.workdir / "prometheus", [self.stable.address, self.canary.address]
        )
        self._loads: list[LoadGenerator] = []

    def start(self) -> Stack:
        try:
            self.stable.start()
            self.canary.start()
            self.haproxy.start()
            self.prometheus.start()
        except BaseException:
            self.close()
            raise
        return self

    def load(self, rps: float, seconds: float) -> LoadGenerator:
        """Start a bounded load generator through HAProxy (stopped with the stack)."""
        gen = LoadGenerator(self.haproxy.url, rps, seconds).start()
        self._loads.append(gen)
        return gen

    def close(self) -> None:
        for gen in self._loads:
            gen.stop()
        for part in (self.prometheus, self.haproxy, self.canary, self.stable):
            with contextlib.suppress(Exception):
                part.close()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextlib.contextmanager
def running_stack(workdir: Path, canary_mode: str = "healthy") -> Iterator[Stack]:
    with Stack(workdir, canary_mode) as stack:
        yield stack


# -- rollouts on the stack ----------------------------------------------------------------------

ERROR_RATE = (
    'sum(rate(http_requests_total{{version="canary",code=~"5.."}}[{window}]))'
    ' / sum(rate(http_requests_total{{version="canary"}}[{window}]))'
)
STABLE_ERROR_RATE = (
    'sum(rate(http_requests_total{{version="stable",code=~"5.."}}[{window}]))'
    ' / sum(rate(http_requests_total{{version="stable"}}[{window}]))'
)
P95_LATENCY = (
    "histogram_quantile(0.95, sum by (le) "
    '(rate(http_request_duration_seconds_bucket{{version="canary"}}[{window}])))'
)


def rollout_spec(
    stack: Stack,
    *,
    name: str = "checkout",
    stages: list[dict[str, Any]] | None = None,
    interval: str = "1s",
    window: str = "10s",
    via: str = "socket",
    failure_limit: int = 0,
    inconclusive_limit: int = 3,
    consecutive_error_limit: int = 4,
    extra_analysis: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A rollout spec (the issue's shape) driving this stack, with durations in seconds."""
    traffic: dict[str, Any] = {
        "provider": "haproxy",
        "backend": "app",
        "stable": "stable",
        "canary": "canary",
    }
    if via == "socket":
        traffic["socket"] = stack.haproxy.socket
    else:
        traffic["address"] = stack.haproxy.admin_address
    analysis: dict[str, Any] = {
        "interval": interval,
        "failureLimit": failure_limit,
        "inconclusiveLimit": inconclusive_limit,
        "consecutiveErrorLimit": consecutive_error_limit,
        "metrics": [
            {
                "name": "error-rate",
                "query": ERROR_RATE.format(window=window),
                "max": 0.05,
                "onNoData": "inconclusive",
            },
            {
                "name": "p95-latency",
                "query": P95_LATENCY.format(window=window),
                "max": 0.5,
            },
        ],
    }
    analysis.update(extra_analysis or {})
    return {
        "apiVersion": "gate/v1",
        "kind": "Rollout",
        "metadata": {"name": name, "service": name},
        "spec": {
            "traffic": traffic,
            "metrics": {"provider": "prometheus", "url": stack.prometheus.url},
            "stages": stages
            or [
                {"weight": 10, "duration": "4s"},
                {"weight": 50, "duration": "4s"},
                {"weight": 100},
            ],
            "analysis": analysis,
        },
    }


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    """Write ``spec`` as YAML (JSON is YAML) and return the path."""
    path.write_text(json.dumps(spec, indent=2) + "\n")
    return path


class WeightRecorder:
    """Polls HAProxy's canary and stable weights and keeps every change with its time."""

    def __init__(self, haproxy: HAProxy, period: float = 0.02) -> None:
        self.haproxy = haproxy
        self.period = period
        self.changes: list[tuple[float, int, int]] = []  # (time.time(), canary, stable)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="weights")

    def start(self) -> WeightRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def canary_weights(self) -> list[int]:
        """The canary weights seen, in order, without repeats."""
        out: list[int] = []
        for _, canary, _ in self.changes:
            if not out or out[-1] != canary:
                out.append(canary)
        return out

    def first_time_at(self, canary: int, after: float = 0.0) -> float | None:
        for when, c, _ in self.changes:
            if c == canary and when >= after:
                return when
        return None

    def _run(self) -> None:
        last: tuple[int, int] | None = None
        while not self._stop.is_set():
            try:
                now = (self.haproxy.weight("canary"), self.haproxy.weight("stable"))
            except (OSError, ValueError, IndexError):
                now = None
            if now is not None and now != last:
                self.changes.append((time.time(), *now))
                last = now
            self._stop.wait(self.period)
