"""A rollback asked for with `gate abort NAMESPACE.NAME` on any machine, recorded in the shared
PostgreSQL store, is what gate serve's Flagger rollback hook answers (once) for that canary —
through a real PostgreSQL and the real `gate abort` command."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gate.rollout.stores import open_store
from gate.serve.state import StoredRollbackRequests
from tests.cli.conftest import Result, gate
from tests.serve.conftest import MakeClient
from tests.serve.test_flagger import payload

pytestmark = pytest.mark.integration
__all__ = ["gate"]


def test_gate_abort_of_a_flagger_canary_reaches_its_rollback_hook_once(
    gate: Callable[..., Result],
    make_client: MakeClient,
    state_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATE_STATE_URL", state_url)
    aborted = gate("abort", "test.podinfo", "--reason", "INC-7: checkout errors")
    assert aborted.code == 0, aborted.err
    assert "recorded a rollback request for test.podinfo" in aborted.out
    requests = StoredRollbackRequests(open_store(url=state_url))
    client = make_client(rollbacks=requests)
    try:
        first = client.post("/v1/flagger/rollback", json=payload())
        assert (first.status_code, first.json()["answer"]) == (200, "rollback")
        assert first.json()["reason"] == "rollback requested: INC-7: checkout errors"
        again = client.post("/v1/flagger/rollback", json=payload())
        assert (again.status_code, again.json()["reason"]) == (403, "no rollback requested")
    finally:
        requests.close()


def test_without_a_shared_store_abort_still_needs_a_journaled_rollout(
    gate: Callable[..., Result],
) -> None:
    r = gate("abort", "test.podinfo")
    assert r.code == 2
    assert "no journaled rollout named test.podinfo" in r.err
