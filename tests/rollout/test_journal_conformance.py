"""Every journal backend keeps the same promises: the same tests, once per backend.

The local directory runs everywhere; PostgreSQL runs on the real server the suite starts
(``postgres`` fixture), each test in a schema of its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.errors import ConfigError
from gate.rollout.journal import (
    Busy,
    RolloutState,
    RolloutStatus,
    StateStore,
    live_driver,
)
from gate.rollout.stores import open_store
from gate.secrets import SecretRef, reveal


@pytest.fixture(
    params=["local", pytest.param("postgresql", marks=pytest.mark.integration)],
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "local":
        opened = open_store(str(tmp_path / "state"))
    else:
        url = request.getfixturevalue("state_url")
        opened = open_store(url=url, lease_seconds=30)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def other(
    store: StateStore, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[StateStore]:
    """The same store as seen by another process (its own connection or file descriptors)."""
    if store.lease_seconds is None:
        opened = open_store(str(tmp_path / "state"))
    else:
        opened = open_store(url=request.getfixturevalue("state_url"), lease_seconds=30)
    try:
        yield opened
    finally:
        opened.close()


def state(name: str = "checkout", **changes: object) -> RolloutState:
    base = RolloutState(
        name=name,
        status=RolloutStatus.PROGRESSING,
        spec={"spec": {"stages": [{"weight": 10}, {"weight": 100}]}},
        spec_file="/specs/rollout.yaml",
        stage=1,
        weight=10,
        target_weight=50,
        reason="",
        pid=1234,
        started_at="2026-01-02T03:04:05.000+00:00",
        updated_at="2026-01-02T03:04:06.000+00:00",
        history=({"stage": 0, "weight": 10},),
        flags_still_on=("new-checkout (HTTP 500)",),
    )
    return base.with_(**changes) if changes else base


def test_a_rollout_never_saved_loads_as_none_and_is_not_listed(store: StateStore) -> None:
    assert store.journal("checkout").load() is None
    assert store.names() == []


def test_a_saved_state_loads_back_field_for_field(store: StateStore) -> None:
    saved = state()
    store.journal("checkout").save(saved)
    assert store.journal("checkout").load() == saved


def test_the_last_save_wins_and_every_saved_rollout_is_listed_by_name(
    store: StateStore,
) -> None:
    journal = store.journal("checkout")
    journal.save(state(status=RolloutStatus.STARTING))
    journal.save(state(status=RolloutStatus.ROLLED_BACK, weight=0, target_weight=None))
    store.journal("search.dry-run").save(state("search.dry-run"))
    store.journal("api").save(state("api"))
    loaded = store.journal("checkout").load()
    assert loaded is not None
    assert (loaded.status, loaded.weight, loaded.target_weight) == (
        RolloutStatus.ROLLED_BACK,
        0,
        None,
    )
    assert store.names() == ["api", "checkout", "search.dry-run"]


def test_the_audit_log_keeps_every_entry_in_order(store: StateStore) -> None:
    journal = store.journal("checkout")
    for i in range(5):
        journal.audit("weight", message=f"canary weight {i}%", stage=i, weight=i)
    entries = journal.events()
    assert [e["weight"] for e in entries] == [0, 1, 2, 3, 4]
    assert {e["event"] for e in entries} == {"weight"}
    assert {e["rollout"] for e in entries} == {"checkout"}
    assert all(e["time"].endswith("+00:00") for e in entries)
    assert store.journal("api").events() == []


def test_a_request_is_taken_once(store: StateStore, other: StateStore) -> None:
    driver = store.journal("checkout")
    driver.save(state())
    other.journal("checkout").request("abort", "INC-12: checkout latency")
    assert driver.take_request("promote") is None
    assert driver.take_request("abort") == "INC-12: checkout latency"
    assert driver.take_request("abort") is None


def test_cleared_requests_are_gone(store: StateStore) -> None:
    journal = store.journal("checkout")
    journal.request("abort", "stop")
    journal.request("promote", "go")
    journal.clear_requests()
    assert journal.take_request("abort") is None
    assert journal.take_request("promote") is None


def test_one_driver_at_a_time_and_the_second_is_told_who(
    store: StateStore, other: StateStore
) -> None:
    first = store.journal("checkout")
    first.save(state())
    with first.locked():
        holder = live_driver(other.journal("checkout"))
        assert holder is not None
        assert holder.pid == os.getpid()
        with pytest.raises(Busy, match=r"rollout checkout is being driven by pid \d+"):
            other.journal("checkout").acquire()
        first.heartbeat()
        first.save(state(stage=2))  # the holder writes on
    assert live_driver(other.journal("checkout")) is None
    second = other.journal("checkout")
    with second.locked():
        second.save(state(stage=3))
    loaded = store.journal("checkout").load()
    assert loaded is not None
    assert loaded.stage == 3


def test_the_lock_is_released_when_the_block_raises(store: StateStore, other: StateStore) -> None:
    journal = store.journal("checkout")
    with pytest.raises(RuntimeError), journal.locked():
        raise RuntimeError("boom")
    with other.journal("checkout").locked():
        pass


def test_many_processes_race_for_one_rollout_and_one_wins(
    store: StateStore, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("state_url") if store.lease_seconds else None
    stores = [open_store(str(tmp_path / "state"), url, lease_seconds=30) for _ in range(8)]
    winners: list[int] = []
    barrier = threading.Barrier(len(stores))

    def race(i: int) -> None:
        journal = stores[i].journal("checkout")
        barrier.wait()
        try:
            journal.acquire()
        except Busy:
            return
        winners.append(i)  # the lock is kept until the store closes

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert len(winners) == 1
    finally:
        for s in stores:
            s.close()


@pytest.mark.parametrize("name", ["../x", "checkout\n", "Checkout", "a/b", ".."])
def test_a_name_that_is_not_a_rollout_name_is_refused(store: StateStore, name: str) -> None:
    with pytest.raises(ConfigError, match=r"NAME: .* is not a valid rollout name"):
        store.journal(name)
    assert store.names() == []


def test_secrets_never_reach_the_state_the_audit_log_or_a_request(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTER_TOKEN", "s3cr3t-t0ken")
    token = reveal(SecretRef("ROUTER_TOKEN"))
    echoed = f"HTTP 401: invalid token {token} (Basic czNjcjN0LXQwa2Vu)"
    journal = store.journal("checkout")
    journal.save(state(reason=echoed))
    journal.audit("rolling-back", message=echoed, detail={"error": f"token={token}"})
    journal.request("abort", f"because {token}")
    loaded = journal.load()
    assert loaded is not None
    assert token not in loaded.reason
    assert "czNjcjN0LXQwa2Vu" not in loaded.reason
    entry = journal.events()[0]
    assert entry["message"].count("***") == 2
    assert token not in str(entry)
    taken = journal.take_request("abort")
    assert taken == "because ***"
