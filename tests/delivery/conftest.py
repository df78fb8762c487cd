"""Three rollouts driven by the real controller with fakes of gate's own interfaces, into one
state directory: one promoted, two rolled back by their analysis."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.config.loader import load_text
from gate.rollout.controller import Controller
from gate.rollout.journal import Journal
from gate.rollout.spec import RolloutSpec, parse_rollout
from tests.cli.conftest import gate
from tests.rollout.fakes import BASE, FakeClock, FakeMetrics, FakeRouter

ROUTER_SECONDS = 1.5  # how long the fake router takes to apply a weight


class SlowRouter(FakeRouter):
    """A router that takes ROUTER_SECONDS (on the fake clock) to apply a weight."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def set_canary_weight(self, percent: int) -> None:
        self.clock.sleep(ROUTER_SECONDS)
        super().set_canary_weight(percent)


def rollout_spec(name: str, service: str, **analysis: Any) -> RolloutSpec:
    data = copy.deepcopy(BASE)
    data["metadata"] = {"name": name, "service": service}
    data["spec"]["analysis"].update(analysis)
    return parse_rollout(load_text(yaml.safe_dump(data, sort_keys=False), f"{name}.yaml"))


def drive(root: Path, spec: RolloutSpec, error_rate: Any, started: datetime) -> str:
    """Run one rollout; the journal's clock follows the fake clock from ``started``."""
    clock = FakeClock()
    origin = clock.now
    journal = Journal(
        root, spec.name, clock=lambda: started + timedelta(seconds=clock.now - origin)
    )
    controller = Controller(
        spec=spec,
        router=SlowRouter(clock),
        metrics=FakeMetrics(error_rate),
        journal=journal,
        clock=clock,
        sleep=clock.sleep,
    )
    with journal.locked():
        return controller.run().status


@pytest.fixture
def three_rollouts(tmp_path: Path) -> Path:
    root = tmp_path / "journal"
    day = datetime.now(UTC) - timedelta(days=3)
    statuses = [
        drive(root, rollout_spec("checkout-v41", "checkout"), lambda q, n: 0.01, day),
        # healthy for three intervals, then 30 % errors: the first failure fails it
        drive(
            root,
            rollout_spec("checkout-v42", "checkout"),
            lambda q, n: 0.01 if n < 5 else 0.3,
            day + timedelta(hours=2),
        ),
        # errors from the start, failureLimit 1: the second failure fails it
        drive(
            root,
            rollout_spec("payments-v7", "payments", failureLimit=1),
            lambda q, n: 0.01 if n < 2 else 0.2,
            day + timedelta(days=1),
        ),
    ]
    assert statuses == ["promoted", "rolled-back", "rolled-back"]
    return root


__all__ = ["gate", "three_rollouts"]
