"""``gate serve`` as a real process on 127.0.0.1: started on a free port (port 0, read back
from its ``listening`` log line), bounded in time, always stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


class ServerProcess:
    def __init__(
        self, workdir: Path, *args: str, token: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.args = list(args)
        self.log = workdir / f"gate-serve-{time.monotonic_ns()}.log"
        self.env = {**os.environ, **(env or {})}
        self.env.pop("GATE_SERVE_TOKEN", None)
        if token is not None:
            self.env["GATE_SERVE_TOKEN"] = token
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run to completion (for start-up failures): exit code, stdout, stderr."""
        argv = [sys.executable, "-m", "gate", "serve", "--port", "0", *self.args]
        return subprocess.run(
            argv,
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, timeout: float = START_TIMEOUT) -> ServerProcess:
        argv = [sys.executable, "-m", "gate", "serve", "--port", "0", *self.args]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"gate serve exited {self.proc.returncode}:\n{self.text()}")
                listening = [r for r in self.records() if r.get("message") == "listening"]
                if listening:
                    self.port = int(listening[0]["port"])
                    if self._healthy():
                        return self
                time.sleep(0.05)
            raise RuntimeError(f"gate serve not ready after {timeout:g}s:\n{self.text()}")
        except BaseException:
            self.stop()
            raise

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def records(self) -> list[dict[str, Any]]:
        """The JSON log lines so far (a line that is not JSON fails the test that reads it)."""
        out: list[dict[str, Any]] = []
        for line in self.text().splitlines():
            if line.strip():
                out.append(json.loads(line))
        return out

    def stop(self, timeout: float = 15.0) -> int | None:
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the server and its workers
                proc.wait(timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a worker left behind, if any
        return proc.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
