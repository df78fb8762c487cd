"""The rollout runtime: ``gate abort`` against the process that drives the rollout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.rollout import runtime
from gate.rollout.journal import Journal, RolloutState, RolloutStatus
from tests.rollout.fakes import spec as make_spec


def flag_file(path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "flags": {
                    "new-checkout": {
                        "state": "ENABLED",
                        "variants": {"on": True, "off": False},
                        "defaultVariant": "on",
                    }
                }
            }
        )
    )
    return path


@pytest.mark.parametrize("left", [RolloutStatus.ROLLBACK_FAILED, RolloutStatus.INTERRUPTED])
def test_abort_rolls_back_itself_when_the_driver_stops_and_leaves_the_canary_on(
    tmp_path: Path, left: RolloutStatus
) -> None:
    """The driver took the abort request and stopped, but its rollback failed (or it left
    traffic where it was): `gate abort` finishes the rollback instead of exiting 2 as if
    nothing had been changed."""
    flags = flag_file(tmp_path / "flags.json")
    s = make_spec(
        onFailure={"flags": [{"provider": "flagd", "path": str(flags), "feature": "new-checkout"}]}
    )
    state_dir = tmp_path / "state"
    driver = Journal(state_dir, "checkout")
    driver.acquire()  # the live driver's lock
    driver.save(
        RolloutState(
            name="checkout",
            status=RolloutStatus.PROGRESSING,
            spec=dict(s.raw),
            spec_file="rollout.yaml",
            stage=2,
            weight=25,
        )
    )

    def driver_gives_up(seconds: float) -> None:
        state = driver.load()
        assert state is not None
        driver.save(state.with_(status=left, reason="the router did not answer"))
        driver.release()

    notes: list[str] = []
    result = runtime.abort(
        "checkout",
        "INC-9",
        runtime.Options(state_dir=str(state_dir)),
        wait_seconds=5,
        note=notes.append,
        sleep=driver_gives_up,
    )
    assert (result.status, result.exit_code) == (RolloutStatus.ABORTED, 1)
    assert "stopped without rolling back checkout; rolling back here" in notes[-1]
    assert json.loads(flags.read_text())["flags"]["new-checkout"]["defaultVariant"] == "off"
    final = Journal(state_dir, "checkout").load()
    assert final is not None
    assert (final.status, final.weight) == (RolloutStatus.ABORTED, 0)
