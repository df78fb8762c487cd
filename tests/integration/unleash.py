"""A real Unleash server (npm ``unleash-server``) on a real PostgreSQL 15, on loopback.

The database is a :class:`~tests.integration.postgres.PostgresServer`. Unleash comes from
``$GATE_UNLEASH_DIR`` (scripts/test installs it there with npm).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.integration.postgres import PG_BIN, PostgresServer
from tests.integration.stack import free_port

ASSETS = Path(__file__).resolve().parent / "assets"
REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "*:*.gate-integration-admin-token"


def unleash_dir() -> Path:
    return Path(os.environ.get("GATE_UNLEASH_DIR") or REPO / ".cache" / "unleash")


def missing() -> str | None:
    """Why this machine cannot run the Unleash tests, or None."""
    if not (PG_BIN / "initdb").exists():
        return "PostgreSQL 15 is not installed (apt-get install postgresql)"
    if shutil.which("node") is None:
        return "node is not installed"
    if not (unleash_dir() / "node_modules" / "unleash-server" / "package.json").exists():
        return f"unleash-server is not installed in {unleash_dir()} (npm install unleash-server)"
    return None


class UnleashServer:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="gate-unleash-"))
        self.pg = PostgresServer()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = ADMIN_TOKEN
        self.node: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> UnleashServer:
        self.pg.start()
        self.pg.createdb("unleash")
        env = {
            **os.environ,
            "UNLEASH_DIR": str(unleash_dir()),
            "PGPORT": str(self.pg.port),
            "UNLEASH_PORT": str(self.port),
            "ADMIN_TOKEN": self.token,
            "SEND_TELEMETRY": "false",
            "CHECK_VERSION": "false",
            "LOG_LEVEL": "warn",
        }
        log = (self.dir / "unleash.log").open("wb")
        self.node = subprocess.Popen(
            ["node", str(ASSETS / "unleash-start.mjs")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.node.poll() is not None:
                raise RuntimeError("unleash exited:\n" + self.log()[-2000:])
            if "UNLEASH_READY" in self.log():
                return self
            time.sleep(0.3)
        raise RuntimeError(f"unleash not ready after {timeout:g}s:\n" + self.log()[-2000:])

    def log(self) -> str:
        path = self.dir / "unleash.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": self.token, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def create_feature(self, name: str) -> None:
        self.admin("POST", "/api/admin/projects/default/features", {"name": name})

    def stop(self) -> None:
        if self.node is not None and self.node.poll() is None:
            self.node.terminate()
            try:
                self.node.wait(15)
            except subprocess.TimeoutExpired:
                self.node.kill()
                self.node.wait(5)
        self.pg.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
