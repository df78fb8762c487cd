"""Shared fixtures. Guardrails: no test touches the real home directory or state directory."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.postgres import PostgresServer


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GATE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATE_CRASH_DIR", str(tmp_path / "crash"))
    for var in (
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_OUTPUT",
        "GITHUB_WORKSPACE",
        "NO_COLOR",
        "GITHUB_TOKEN",
        "UNLEASH_TOKEN",
        "LD_API_TOKEN",
        "GATE_STATE_URL",
        "GATE_LEASE_SECONDS",
        "PGPASSWORD",
    ):
        monkeypatch.delenv(var, raising=False)
    from gate.secrets import forget_all

    forget_all()  # secrets remembered by an earlier test are not this test's


def _children(pid: int) -> list[tuple[int, str]]:
    """Live (not zombie) child processes of ``pid``, from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name_end = stat.rindex(")")
        fields = stat[name_end + 2 :].split()
        state, ppid = fields[0], int(fields[1])
        if ppid == pid and state != "Z":
            out.append((int(entry.name), stat[stat.index("(") + 1 : name_end]))
    return out


@pytest.fixture(autouse=True, scope="session")
def _no_process_left_behind() -> Iterator[None]:
    """Guardrail: when the run ends, every server and child a test started has stopped."""
    yield
    import os
    import signal
    import time

    deadline = time.monotonic() + 10
    left = _children(os.getpid())
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _children(os.getpid())
    for pid, _ in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes left running by the tests (now killed): {left}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL for the session, with a database ``gate`` owned by the password-
    protected role ``gate``. In CI a missing server fails loudly."""
    from tests.integration.postgres import PostgresServer, missing

    why = missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot start PostgreSQL in CI: {why}")
        pytest.skip(why)
    with PostgresServer(max_connections=200) as server:
        server.gate_database("gate")
        yield server


@pytest.fixture
def state_url(postgres: PostgresServer) -> str:
    """A URL of an empty state store (its own schema) on the session's PostgreSQL."""
    return postgres.fresh_schema("gate")
