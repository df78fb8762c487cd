"""`gate status` tells the truth for every journal state and suggests a command that works;
`gate abort` of a rollout that never moved traffic records it as aborted at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.rollout.journal import Journal, RolloutState, RolloutStatus
from tests.cli.conftest import Result

SPEC: dict[str, Any] = {
    "apiVersion": "gate/v1",
    "kind": "Rollout",
    "metadata": {"name": "checkout"},
    "spec": {
        # a router that cannot be reached: abort must not need it when no traffic moved
        "traffic": {"provider": "command", "set": ["/nonexistent/router", "{{ weight }}"]},
        "metrics": {"provider": "prometheus", "url": "http://127.0.0.1:9"},
        "stages": [{"weight": 10, "duration": "1m"}, {"weight": 100}],
        "analysis": {"interval": "10s", "metrics": [{"name": "e", "query": "q", "max": 1}]},
    },
}


def journal(tmp_path: Path, status: RolloutStatus, **fields: Any) -> Path:
    root = tmp_path / "state"
    Journal(root, "checkout").save(
        RolloutState(
            name="checkout",
            status=status,
            spec=SPEC,
            spec_file=str(tmp_path / "rollout.yaml"),
            pid=999_999,
            **fields,
        )
    )
    (tmp_path / "rollout.yaml").write_text(yaml.safe_dump(SPEC))
    return root


CASES = [
    (RolloutStatus.STARTING, {}, "gate resume checkout"),
    (RolloutStatus.FAILED_TO_START, {"reason": "cannot connect"}, "run `gate rollout` again"),
    (RolloutStatus.PROGRESSING, {"weight": 10, "stage": 0}, "gate resume checkout"),
    (RolloutStatus.PROGRESSING, {"weight": 10, "target_weight": 50}, "gate abort checkout"),
    (RolloutStatus.ROLLING_BACK, {"weight": 10, "target_weight": 0}, "gate abort checkout"),
    (RolloutStatus.PAUSED, {"weight": 10}, "gate resume checkout"),
    (RolloutStatus.INTERRUPTED, {"weight": 10}, "gate resume checkout"),
    (RolloutStatus.ROLLBACK_FAILED, {"weight": None}, "a human must act"),
    (RolloutStatus.ROLLBACK_FAILED, {"weight": 10, "target_weight": 0}, "a human must act"),
]


@pytest.mark.parametrize(("status", "fields", "advice"), CASES, ids=lambda c: str(c)[:30])
def test_status_says_what_to_do(
    gate: Callable[..., Result],
    tmp_path: Path,
    status: RolloutStatus,
    fields: dict[str, Any],
    advice: str,
) -> None:
    root = journal(tmp_path, status, **fields)
    r = gate("status", "--state-dir", str(root))
    assert r.code == 0, r.err
    assert f"checkout  {status.value}" in r.out
    assert advice in r.out
    assert "None%" not in r.out


@pytest.mark.parametrize("status", [RolloutStatus.STARTING, RolloutStatus.FAILED_TO_START])
def test_abort_of_a_rollout_that_never_moved_traffic_is_recorded_fast(
    gate: Callable[..., Result], tmp_path: Path, status: RolloutStatus
) -> None:
    root = journal(tmp_path, status)
    began = time.monotonic()
    r = gate("abort", "checkout", "--state-dir", str(root))
    assert (r.code, r.err) == (1, "")
    assert time.monotonic() - began < 2
    state = Journal(root, "checkout").load()
    assert state is not None
    assert state.status is RolloutStatus.ABORTED
    again = gate("rollout", "--dry-run", str(tmp_path / "rollout.yaml"), "--state-dir", str(root))
    assert "still" not in again.err  # nothing left that blocks a new rollout


def test_names_on_the_command_line_follow_the_same_rule(
    gate: Callable[..., Result], tmp_path: Path
) -> None:
    root = tmp_path / "state"
    for command in ("status", "resume", "abort", "promote"):
        r = gate(command, "../x", "--state-dir", str(root))
        assert r.code == 2
        assert "NAME: '../x' is not a valid rollout name" in r.err
    assert not root.exists()


def test_a_damaged_journal_is_listed_as_damaged_beside_the_others(
    gate: Callable[..., Result], tmp_path: Path
) -> None:
    root = journal(tmp_path, RolloutStatus.PROGRESSING, weight=10)
    (root / "aaa-torn").mkdir(mode=0o700)
    (root / "aaa-torn" / "state.json").write_text("{torn", encoding="utf-8")
    r = gate("status", "--state-dir", str(root))
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith("aaa-torn  DAMAGED  ")
    assert "state.json is damaged" in lines[0]
    assert "a human must check the router and the flags" in lines[1]
    assert any(x.startswith("checkout  progressing") for x in lines)
    one = gate("status", "aaa-torn", "--state-dir", str(root))
    assert one.code == 2
    assert "state.json is damaged" in one.err
