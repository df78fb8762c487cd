"""``gate reap``, ``gate status`` and ``gate abort`` over a shared state store, in-process.

An orphaned rollout is journaled as its driver left it (progressing at 25 %, lock or lease
gone); the reaper rolls it back through the dry-run router of its spec and the flagd kill
switch of its spec (a real flag file), once. Real processes killed -9 are in
tests/integration/test_shared_state.py.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.rollout.journal import RolloutState, RolloutStatus, StateStore
from gate.rollout.reaper import reap
from gate.rollout.runtime import Options
from gate.rollout.stores import open_store
from tests.cli.conftest import Result
from tests.integration.postgres import GATE_PASSWORD
from tests.rollout.fakes import spec as make_spec

Gate = Callable[..., Result]
SHORT = 0.3  # seconds: the lease of a driver that is about to die


def flag_file(path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "flags": {
                    "new-checkout": {
                        "state": "ENABLED",
                        "variants": {"on": True, "off": False},
                        "defaultVariant": "on",
                        "targeting": {"if": [True, "on"]},
                    }
                }
            }
        )
    )
    return path


def flag_default(path: Path) -> str:
    return str(json.loads(path.read_text())["flags"]["new-checkout"]["defaultVariant"])


def orphan(
    store: StateStore, flags: Path, *, name: str = "checkout", status: RolloutStatus | None = None
) -> None:
    """Journal ``name`` as a driver leaves it when killed at canary weight 25 %."""
    s = make_spec(onFailure={"flags": [{"provider": "flagd", "path": str(flags),
                                          "feature": "new-checkout"}]})  # fmt: skip
    raw = dict(s.raw)
    raw["metadata"] = {"name": name, "service": name}
    journal = store.journal(name)
    journal.acquire()  # the driver's lock or lease, never released: the driver is killed
    journal.save(
        RolloutState(
            name=name,
            status=status or RolloutStatus.PROGRESSING,
            spec=raw,
            spec_file="rollout.yaml",
            stage=2,
            weight=25,
            pid=999_999,
            started_at="2026-01-02T03:04:05.000+00:00",
        )
    )
    if store.lease_seconds is None:  # the local lock dies with its process
        journal.release()


@pytest.fixture(params=["local", pytest.param("postgresql", marks=pytest.mark.integration)])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Options]:
    """The state store as every command of this test sees it (through the environment)."""
    if request.param == "local":
        yield Options(state_dir=str(tmp_path / "state"))
        return
    url = request.getfixturevalue("state_url")
    monkeypatch.setenv("GATE_STATE_URL", url)
    yield Options(state_url=url, lease_seconds=30)


def driver_store(options: Options) -> StateStore:
    lease = SHORT if options.state_url else 30
    return open_store(options.state_dir, options.state_url, lease_seconds=lease)


def orphaned(options: Options, flags: Path, **kw: Any) -> None:
    store = driver_store(options)
    try:
        orphan(store, flags, **kw)
    finally:
        if options.state_url:
            time.sleep(SHORT + 0.2)  # the lease runs out
        store.close()


def entries(options: Options, name: str = "checkout") -> list[dict[str, Any]]:
    store = driver_store(options)
    try:
        return store.journal(name).events()
    finally:
        store.close()


def load(options: Options, name: str = "checkout") -> RolloutState:
    store = driver_store(options)
    try:
        state = store.journal(name).load()
    finally:
        store.close()
    assert state is not None
    return state


def test_an_orphaned_rollout_is_rolled_back_with_its_flags_off_once(
    gate: Gate, backend: Options, tmp_path: Path
) -> None:
    flags = flag_file(tmp_path / "flags.json")
    orphaned(backend, flags)
    result = gate("reap", *(["--state-dir", backend.state_dir] if backend.state_dir else []))
    assert (result.code, result.out) == (0, "checkout: aborted\n"), result.err
    state = load(backend)
    assert (state.status, state.weight) == (RolloutStatus.ABORTED, 0)
    assert state.reason.startswith("reaped: no process drives it")
    assert flag_default(flags) == "off"
    reaped = [e for e in entries(backend) if e["event"] == "reaped"]
    assert len(reaped) == 1
    assert reaped[0]["outcome"] == "aborted"
    assert reaped[0]["reaper"].startswith("reaper ")
    again = gate("reap", *(["--state-dir", backend.state_dir] if backend.state_dir else []))
    assert (again.code, again.out) == (0, "nothing to reap\n")
    assert len([e for e in entries(backend) if e["event"] == "reaped"]) == 1


def test_a_driven_or_finished_rollout_is_left_alone(
    gate: Gate, backend: Options, tmp_path: Path
) -> None:
    flags = flag_file(tmp_path / "flags.json")
    orphaned(backend, flags, name="done", status=RolloutStatus.PROMOTED)
    orphaned(backend, flags, name="left", status=RolloutStatus.INTERRUPTED)
    store = open_store(backend.state_dir, backend.state_url, lease_seconds=30)
    try:
        orphan(store, flags)  # a driver that is alive: its lock or lease held
        if backend.state_dir:
            store.journal("checkout").acquire()
        result = gate("reap", *(["--state-dir", backend.state_dir] if backend.state_dir else []))
        assert (result.code, result.out) == (0, "nothing to reap\n")
    finally:
        store.close()
    assert flag_default(flags) == "on"
    assert load(backend).status is RolloutStatus.PROGRESSING


def test_a_failed_rollback_is_named_and_exits_4(
    gate: Gate, backend: Options, tmp_path: Path
) -> None:
    flags = flag_file(tmp_path / "flags.json")
    orphaned(backend, flags)
    flags.unlink()  # the kill switch cannot be turned off
    result = gate(
        "reap",
        "--format",
        "json",
        *(["--state-dir", backend.state_dir] if backend.state_dir else []),
    )
    assert result.code == 4
    (row,) = json.loads(result.out)
    assert (row["name"], row["outcome"]) == ("checkout", "rollback-failed")
    assert "kill switches are still ON" in row["message"]
    assert result.err.startswith("gate: error: REAP FAILED for checkout: ROLLBACK FAILED")
    assert load(backend).status is RolloutStatus.ROLLBACK_FAILED
    assert (
        gate("reap", *(["--state-dir", backend.state_dir] if backend.state_dir else [])).code == 0
    )


def test_a_damaged_journal_is_named_and_the_others_are_still_reaped(
    gate: Gate, tmp_path: Path
) -> None:
    """One rollout's unreadable state must not keep `gate reap` from rolling back the rest."""
    backend = Options(state_dir=str(tmp_path / "state"))
    flags = flag_file(tmp_path / "flags.json")
    orphaned(backend, flags, name="aaa-damaged")
    (tmp_path / "state" / "aaa-damaged" / "state.json").write_text("{torn", encoding="utf-8")
    orphaned(backend, flags)
    result = gate("reap", "--state-dir", str(tmp_path / "state"))
    assert result.code == 4
    assert result.out == "aaa-damaged: error\ncheckout: aborted\n"
    failed = [line for line in result.err.splitlines() if line.startswith("gate: error:")]
    assert len(failed) == 1
    assert failed[0].startswith("gate: error: REAP FAILED for aaa-damaged: ")
    assert "state.json is damaged" in failed[0]
    assert "not checked" in failed[0]
    assert load(backend).status is RolloutStatus.ABORTED
    assert flag_default(flags) == "off"


def test_reapers_racing_reap_each_rollout_once(backend: Options, tmp_path: Path) -> None:
    flags = flag_file(tmp_path / "flags.json")
    names = [f"svc-{i}" for i in range(6)]
    for name in names:
        orphaned(backend, flags, name=name)
    results: list[list[str]] = []
    barrier = threading.Barrier(4)

    def reaper(i: int) -> None:
        barrier.wait()
        done = reap(backend, reaper=f"reaper-{i}")
        results.append([r.name for r in done if r.ok])

    threads = [threading.Thread(target=reaper, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    reaped = sorted(n for each in results for n in each)
    assert reaped == names
    for name in names:
        assert len([e for e in entries(backend, name) if e["event"] == "reaped"]) == 1
        assert load(backend, name).status is RolloutStatus.ABORTED


@pytest.mark.integration
def test_status_shows_every_rollout_with_its_driver_and_lease(
    gate: Gate, state_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GATE_STATE_URL", state_url)
    flags = flag_file(tmp_path / "flags.json")
    orphaned(Options(state_url=state_url), flags, name="gone")
    alive = open_store(url=state_url, lease_seconds=30)
    try:
        orphan(alive, flags, name="checkout")
        text = gate("status")
        rows = json.loads(gate("status", "--format", "json").out)
    finally:
        alive.close()
    assert text.code == 0
    lines = text.out.splitlines()
    assert lines[0].startswith("checkout  progressing  stage 3/4  canary 25%  pid ")
    assert "(lease renewed 0s ago)" in lines[0]
    assert lines[1].startswith("gone  progressing  stage 3/4  canary 25%  no process (lease of pid")
    assert "expired" in lines[1]
    assert "run `gate resume gone` or `gate abort gone`" in lines[2]
    by_name = {r["name"]: r for r in rows}
    assert by_name["checkout"]["pid"] == os.getpid()
    assert by_name["checkout"]["lease"]["expired"] is False
    assert by_name["gone"]["pid"] is None
    assert by_name["gone"]["lease"]["expired"] is True
    assert GATE_PASSWORD not in text.out + text.err


@pytest.mark.integration
def test_abort_from_another_runner_rolls_back_when_the_lease_expired(
    gate: Gate, state_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GATE_STATE_URL", state_url)
    flags = flag_file(tmp_path / "flags.json")
    orphaned(Options(state_url=state_url), flags)
    result = gate("abort", "checkout", "--reason", "INC-7")
    assert result.code == 1, result.err
    assert result.out.splitlines()[-1] == "checkout: aborted"
    assert flag_default(flags) == "off"
    assert load(Options(state_url=state_url)).reason == "INC-7"


def test_a_password_on_the_command_line_is_refused_before_anything(gate: Gate) -> None:
    result = gate("status", "--state-url", f"postgresql://gate:{GATE_PASSWORD}@db.example/gate")
    assert result.code == 2
    assert result.err == (
        "gate: error: --state-url: the URL holds a password, and a command line is visible to "
        "every user of this machine; put the URL in GATE_STATE_URL, or the password in "
        "PGPASSWORD or ~/.pgpass\n"
    )
    assert GATE_PASSWORD not in result.out


def test_a_state_url_that_is_not_postgresql_is_bad_input(
    gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATE_STATE_URL", "redis://cache/0")
    result = gate("reap")
    assert (result.code, result.err) == (
        2,
        "gate: error: GATE_STATE_URL: must be a postgresql:// URL (the local directory is "
        "--state-dir)\n",
    )
