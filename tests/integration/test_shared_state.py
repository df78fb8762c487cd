"""Rollouts journaled in a real PostgreSQL, driven, watched, aborted and reaped by separate
processes — as CI runners of one fleet would — against real HAProxy and Prometheus.

Every ``gate`` here is its own process (``python -m gate``) with the state URL (and its
password) in ``GATE_STATE_URL``. The driver's lease is 3 s; a driver is killed with SIGKILL
after it moved traffic, so nothing of it can clean up.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.rollout.stores import open_store
from tests.integration.gate_process import ROOT, Background, gate_env, run_gate
from tests.integration.postgres import GATE_PASSWORD
from tests.integration.stack import Stack, WeightRecorder, rollout_spec, write_spec

pytestmark = pytest.mark.integration

LEASE = 3.0


def _env(url: str) -> dict[str, str]:
    return gate_env(GATE_STATE_URL=url)


def gate(url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run_gate(_env(url), *args, timeout=timeout)


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


FLAG = "new-checkout"


def _flags(path: Path) -> Path:
    flag = {
        "state": "ENABLED",
        "variants": {"on": True, "off": False},
        "defaultVariant": "on",
        "targeting": {"if": [{"in": ["beta", {"var": "groups"}]}, "on", "off"]},
    }
    path.write_text(json.dumps({"flags": {FLAG: flag}}))
    return path


def _flag_off(path: Path) -> bool:
    flag = json.loads(path.read_text())["flags"][FLAG]
    return bool(flag["defaultVariant"] == "off" and "targeting" not in flag)


@pytest.fixture
def recorder(stack: Stack) -> Iterator[WeightRecorder]:
    rec = WeightRecorder(stack.haproxy).start()
    yield rec
    rec.stop()


def _spec(stack: Stack, tmp_path: Path, flags: Path) -> Path:
    spec: dict[str, Any] = rollout_spec(
        stack, stages=[{"weight": 20, "duration": "120s"}, {"weight": 100}]
    )
    spec["spec"]["onFailure"] = {"flags": [{"provider": "flagd", "path": str(flags),
                                            "feature": FLAG}]}  # fmt: skip
    return write_spec(tmp_path / "rollout.yaml", spec)


def _driven_to_20(stack: Stack, recorder: WeightRecorder, url: str, tmp_path: Path) -> Background:
    stack.load(rps=40, seconds=90)
    time.sleep(2)
    flags = _flags(tmp_path / "flags.json")
    spec = _spec(stack, tmp_path, flags)
    driver = Background(
        _env(url), tmp_path / "driver.log", "rollout", str(spec), "--lease-seconds", "3"
    )
    _wait_for(lambda: 20 in recorder.canary_weights(), 40, "the driver to move traffic")
    return driver


def _reaped_entries(url: str) -> list[dict[str, Any]]:
    store = open_store(url=url, lease_seconds=LEASE)
    try:
        return [e for e in store.journal("checkout").events() if e["event"] == "reaped"]
    finally:
        store.close()


def test_a_killed_driver_is_reaped_by_another_process_within_one_lease(
    stack: Stack, recorder: WeightRecorder, state_url: str, tmp_path: Path
) -> None:
    driver = _driven_to_20(stack, recorder, state_url, tmp_path)
    try:
        time.sleep(0.5)
        seen = gate(state_url, "status", "--format", "json")  # another runner looks
        driver.kill()
        killed_at = time.time()
    finally:
        driver.kill()
    assert seen.returncode == 0, seen.stderr
    (row,) = json.loads(seen.stdout)
    assert (row["name"], row["status"], row["weight"]) == ("checkout", "progressing", 20)
    assert row["lease"]["pid"] == driver.proc.pid
    assert row["lease"]["expired"] is False
    assert stack.haproxy.weights() == {"canary": 20, "stable": 80}  # left on the canary

    early = gate(state_url, "reap")  # the lease has not run out yet: the driver may be alive
    assert (early.returncode, early.stdout) == (0, "nothing to reap\n"), early.stderr
    assert stack.haproxy.weights()["canary"] == 20

    reaped: subprocess.CompletedProcess[str] | None = None
    while time.time() - killed_at < 3 * LEASE:  # a reaper every half second, as cron
        run = gate(state_url, "reap")
        assert run.returncode == 0, run.stdout + run.stderr
        if run.stdout != "nothing to reap\n":
            reaped = run
            break
        time.sleep(0.5)
    back_at = recorder.first_time_at(0, after=killed_at)
    assert reaped is not None, "no reaper rolled the rollout back"
    assert reaped.stdout == "checkout: aborted\n"
    assert back_at is not None
    assert back_at - killed_at <= LEASE + 2.0  # one lease, and the time to start a reaper
    assert stack.haproxy.weights() == {"canary": 0, "stable": 100}
    assert _flag_off(tmp_path / "flags.json")
    (entry,) = _reaped_entries(state_url)
    assert entry["outcome"] == "aborted"
    assert "expired" in entry["message"]

    after = gate(state_url, "status", "checkout", "--format", "json")
    row = json.loads(after.stdout)
    assert (row["status"], row["weight"], row["pid"]) == ("aborted", 0, None)
    assert gate(state_url, "reap").stdout == "nothing to reap\n"
    assert len(_reaped_entries(state_url)) == 1
    for text in (seen.stdout, seen.stderr, after.stdout, reaped.stdout, reaped.stderr):
        assert GATE_PASSWORD not in text


def test_two_reapers_racing_reap_it_once(
    stack: Stack, recorder: WeightRecorder, state_url: str, tmp_path: Path
) -> None:
    driver = _driven_to_20(stack, recorder, state_url, tmp_path)
    driver.kill()
    time.sleep(LEASE + 0.5)
    reapers = [
        subprocess.Popen(
            [sys.executable, "-m", "gate", "reap", "--format", "json"],
            cwd=ROOT,
            env=_env(state_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [r.communicate(timeout=60) for r in reapers]
    assert [r.returncode for r in reapers] == [0, 0, 0], outputs
    claimed = [row for out, _ in outputs for row in json.loads(out)]
    assert claimed == [{"name": "checkout", "outcome": "aborted", "message": claimed[0]["message"]}]
    assert stack.haproxy.weights() == {"canary": 0, "stable": 100}
    assert _flag_off(tmp_path / "flags.json")
    assert len(_reaped_entries(state_url)) == 1
    assert recorder.canary_weights() == [0, 20, 0]


def test_abort_from_another_machine_reaches_the_live_driver(
    stack: Stack, recorder: WeightRecorder, state_url: str, tmp_path: Path
) -> None:
    driver = _driven_to_20(stack, recorder, state_url, tmp_path)
    try:
        aborted = gate(state_url, "abort", "checkout", "--reason", "INC-9: checkout errors")
        code = driver.wait(30)
    finally:
        driver.kill()
    assert aborted.returncode == 1, aborted.stdout + aborted.stderr
    assert f"asked process pid {driver.proc.pid} on " in aborted.stdout
    assert code == 1, driver.output()  # the driver rolled back itself, on the request row
    assert stack.haproxy.weights() == {"canary": 0, "stable": 100}
    assert _flag_off(tmp_path / "flags.json")
    store = open_store(url=state_url, lease_seconds=LEASE)
    try:
        state = store.journal("checkout").load()
    finally:
        store.close()
    assert state is not None
    assert state.status.value == "rolled-back"
    assert "INC-9: checkout errors" in state.reason
    assert _reaped_entries(state_url) == []


def test_a_store_outage_mid_rollout_rolls_back_unjournaled_and_reap_records_it_later(
    stack: Stack, recorder: WeightRecorder, tmp_path: Path
) -> None:
    from tests.integration.postgres import PostgresServer

    with PostgresServer() as own:  # its own server: this test stops it
        url = own.gate_database("gate")
        driver = _driven_to_20(stack, recorder, url, tmp_path)
        try:
            own.halt()
            code = driver.wait(60)
        finally:
            driver.kill()
        output = driver.output()
        assert code == 4, output
        assert "cannot be reached" in output
        assert "Rolled back without journaling it: canary weight set to 0; kill switches off" in (
            output
        )
        assert GATE_PASSWORD not in output
        assert stack.haproxy.weights() == {"canary": 0, "stable": 100}
        assert _flag_off(tmp_path / "flags.json")
        own.resume()
        time.sleep(LEASE)  # the journal still says progressing, under a lease left to expire
        reaped = gate(url, "reap")
        assert (reaped.returncode, reaped.stdout) == (0, "checkout: aborted\n"), reaped.stderr
        assert len(_reaped_entries(url)) == 1
