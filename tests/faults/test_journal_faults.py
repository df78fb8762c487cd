"""``gate rollout`` on real HAProxy and Prometheus when its own journal stops working mid-run:
traffic must still go back to stable, and the run must end loudly (exit 4), never with exit 2
("nothing was changed") or 3 while the canary keeps its traffic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.faults import harness
from tests.faults.server import FaultServer
from tests.integration.stack import Stack

pytestmark = pytest.mark.integration


def test_a_state_directory_made_unusable_mid_rollout_still_restores_stable_traffic(
    stack: Stack, prometheus: FaultServer, weights: harness.Weights, state: Path, tmp_path: Path
) -> None:
    stages: list[dict[str, Any]] = [{"weight": 10, "duration": "30s"}, {"weight": 100}]
    spec = harness.write(
        tmp_path / "rollout.yaml", harness.spec(stack, prometheus.url, stages=stages)
    )
    driver = harness.Driver(state, "driver", "rollout", str(spec))
    journal_dir = state / harness.NAME
    try:
        harness.wait_for_stage(stack, 10)
        journal_dir.chmod(0o777)  # a careless `chmod -R 777` of the workspace: gate refuses it
        code = driver.wait(60)
    finally:
        driver.kill()
        journal_dir.chmod(0o700)
    output = driver.output()
    assert code == 4, output
    assert "Traceback" not in output
    assert "writable by other users" in output
    assert "canary weight set to 0" in output
    assert harness.weights(stack) == {"canary": 0, "stable": 100}
    assert 100 not in weights.seen()
    # once the directory is fixed, gate abort records what happened
    done = harness.gate(state, "abort", harness.NAME)
    assert done.returncode == 1, done.stdout + done.stderr
    assert harness.journal(state)["status"] == "aborted"
