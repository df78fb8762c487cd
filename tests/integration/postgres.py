"""A real PostgreSQL 15 on loopback and a free port, started by the tests and always stopped.

initdb refuses to run as root, so as root the server runs as the ``postgres`` user. The
superuser ``postgres`` connects without a password (trust); the role ``gate`` must give its
password (SCRAM), as an application role does in production.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from tests.integration.stack import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
GATE_ROLE = "gate"
GATE_PASSWORD = "gate-state-pw-7Qz"  # a test's own secret: the tests check it is never shown


def missing() -> str | None:
    """Why this machine cannot run PostgreSQL, or None."""
    if not (PG_BIN / "initdb").exists():
        return "PostgreSQL 15 is not installed (apt-get install postgresql)"
    return None


def as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class PostgresServer:
    def __init__(self, *, max_connections: int = 100) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="gate-pg-"))
        self.port = free_port()
        self.max_connections = max_connections
        self.started = False

    def _run(self, argv: list[str], timeout: float = 60) -> str:
        done = subprocess.run(
            as_postgres(argv), check=True, capture_output=True, text=True, timeout=timeout
        )
        return done.stdout

    def start(self) -> PostgresServer:
        data = self.dir / "pg"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"])
        hba = data / "pg_hba.conf"
        rules = hba.read_text()
        hba.write_text(f"host all {GATE_ROLE} 127.0.0.1/32 scram-sha-256\n{rules}")
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server on its data directory (again)."""
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
            f"-c max_connections={self.max_connections} -c fsync=on"
        )
        self._run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.dir / "pg"),
                "-l",
                str(self.dir / "pg.log"),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            timeout=90,
        )
        self.started = True

    def halt(self) -> None:
        """Stop the server, keeping its data (an outage; ``resume`` ends it)."""
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "pg"), "-m", "fast", "stop"])

    def psql(self, command: str, database: str = "postgres") -> str:
        """Run SQL as the superuser; returns psql's unaligned output."""
        return self._run(
            [
                str(PG_BIN.parent / "bin" / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
                "-c",
                command,
            ]
        )

    def createdb(self, name: str) -> None:
        self._run(
            [
                str(PG_BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                name,
            ]
        )

    def gate_database(self, name: str = "gate") -> str:
        """A database owned by the password-protected ``gate`` role; returns its URL
        (with the password: tests pass it through the environment, as users must)."""
        self.psql(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{GATE_ROLE}') "
            f"THEN CREATE ROLE {GATE_ROLE} LOGIN PASSWORD '{GATE_PASSWORD}'; END IF; END $$"
        )
        self.psql(f"CREATE DATABASE {name} OWNER {GATE_ROLE}")
        return self.url(name)

    def url(self, database: str, *, schema: str | None = None) -> str:
        query = f"?options={quote(f'-csearch_path={schema}')}" if schema else ""
        return (
            f"postgresql://{GATE_ROLE}:{quote(GATE_PASSWORD)}@127.0.0.1:{self.port}/"
            f"{database}{query}"
        )

    def fresh_schema(self, database: str = "gate") -> str:
        """A new empty schema of ``gate`` in ``database``; returns a URL that uses it."""
        schema = f"t_{uuid.uuid4().hex[:12]}"
        self.psql(f"CREATE SCHEMA {schema} AUTHORIZATION {GATE_ROLE}", database)
        return self.url(database, schema=schema)

    def log(self) -> str:
        path = self.dir / "pg.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.started:
            subprocess.run(
                as_postgres(
                    [str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "pg"), "-m", "immediate", "stop"]
                ),
                capture_output=True,
                timeout=60,
                check=False,
            )
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
