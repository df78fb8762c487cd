"""The PostgreSQL journal's own promises: leases that expire and are taken over, writes fenced
by the lease, a schema made once however many runners start at once, a dropped connection
survived, and a password that never shows."""

from __future__ import annotations

import threading
import time

import pytest

from gate.errors import ConfigError, StateError
from gate.rollout.journal import (
    Busy,
    LeaseLost,
    RolloutState,
    RolloutStatus,
    check_state_url,
    live_driver,
)
from gate.rollout.stores import open_store
from gate.secrets import redact
from tests.integration.postgres import GATE_PASSWORD, PostgresServer

LEASE = 0.6  # seconds: short, so that tests see leases expire


def state(**changes: object) -> RolloutState:
    base = RolloutState(
        name="checkout", status=RolloutStatus.PROGRESSING, spec={}, spec_file="", weight=10
    )
    return base.with_(**changes) if changes else base


pytestmark = pytest.mark.integration


def test_an_expired_lease_is_taken_over_and_the_old_driver_is_fenced_off(
    state_url: str,
) -> None:
    a = open_store(url=state_url, lease_seconds=LEASE)
    b = open_store(url=state_url, lease_seconds=LEASE)
    try:
        old = a.journal("checkout")
        old.acquire()
        old.save(state())
        with pytest.raises(Busy):
            b.journal("checkout").acquire()
        time.sleep(LEASE + 0.2)  # the driver froze: no heartbeat
        seen = b.journal("checkout").driver()
        assert seen is not None
        assert seen.expired
        assert live_driver(b.journal("checkout")) is None
        new = b.journal("checkout")
        new.acquire()  # takes the expired lease over
        new.save(state(status=RolloutStatus.ROLLING_BACK))
        with pytest.raises(LeaseLost, match="ran out and was taken over"):
            old.save(state(weight=50))  # the write before a side effect is refused
        with pytest.raises(LeaseLost):
            old.heartbeat()
        loaded = new.load()
        assert loaded is not None
        assert (loaded.status, loaded.weight) == (RolloutStatus.ROLLING_BACK, 10)
        old.release()  # gives nothing up: the lease is no longer its own
        assert live_driver(a.journal("checkout")) is not None
        new.release()
    finally:
        a.close()
        b.close()


def test_heartbeats_keep_a_lease_alive_past_its_length(state_url: str) -> None:
    a = open_store(url=state_url, lease_seconds=LEASE)
    b = open_store(url=state_url, lease_seconds=LEASE)
    try:
        driver = a.journal("checkout")
        with driver.locked():
            deadline = time.monotonic() + 3 * LEASE
            while time.monotonic() < deadline:
                driver.heartbeat()  # as the controller does while it waits
                time.sleep(0.05)
            with pytest.raises(Busy, match="lease renewed"):
                b.journal("checkout").acquire()
            holder = live_driver(b.journal("checkout"))
            assert holder is not None
            assert holder.renewed_ago is not None
            assert holder.renewed_ago < LEASE
    finally:
        a.close()
        b.close()


def test_a_state_write_renews_the_lease(state_url: str) -> None:
    a = open_store(url=state_url, lease_seconds=LEASE)
    try:
        driver = a.journal("checkout")
        with driver.locked():
            for _ in range(6):
                time.sleep(LEASE / 3)
                driver.save(state())
            assert live_driver(driver) is not None
    finally:
        a.close()


def test_a_released_lease_shows_no_driver_and_keeps_the_last_host(state_url: str) -> None:
    a = open_store(url=state_url, lease_seconds=30)
    try:
        driver = a.journal("checkout")
        with driver.locked():
            driver.save(state())
        assert driver.driver() is None
        assert live_driver(driver) is None
    finally:
        a.close()


def test_the_schema_is_made_once_when_many_runners_start_together(
    postgres: PostgresServer,
) -> None:
    url = postgres.fresh_schema("gate")
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        s = open_store(url=url, lease_seconds=30)
        try:
            barrier.wait()
            s.names()
        except BaseException as exc:  # the test reports any
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    schema = url.rsplit("search_path%3D", 1)[1]
    versions = postgres.psql(f"SELECT version FROM {schema}.gate_schema", "gate")
    assert versions.split() == ["1"]


def test_tables_newer_than_this_gate_are_refused(postgres: PostgresServer) -> None:
    url = postgres.fresh_schema("gate")
    s = open_store(url=url, lease_seconds=30)
    s.names()
    s.close()
    schema = url.rsplit("search_path%3D", 1)[1]
    postgres.psql(f"INSERT INTO {schema}.gate_schema (version) VALUES (99)", "gate")
    s = open_store(url=url, lease_seconds=30)
    try:
        with pytest.raises(StateError, match=r"version 99, newer than this gate .*upgrade gate"):
            s.names()
    finally:
        s.close()


def test_a_dropped_connection_is_reopened_and_the_write_goes_through(
    state_url: str, postgres: PostgresServer
) -> None:
    s = open_store(url=state_url, lease_seconds=30)
    try:
        journal = s.journal("checkout")
        with journal.locked():
            journal.save(state())
            postgres.psql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'gate' AND pid <> pg_backend_pid()"
            )
            journal.save(state(stage=2))  # on a new connection, still fenced by the lease
            journal.audit("weight", message="after the drop")
        loaded = journal.load()
        assert loaded is not None
        assert loaded.stage == 2
        assert [e["message"] for e in journal.events()] == ["after the drop"]
    finally:
        s.close()


def test_an_unreachable_store_is_a_state_error_without_the_password(
    postgres: PostgresServer,
) -> None:
    from tests.integration.stack import free_port

    url = f"postgresql://gate:{GATE_PASSWORD}@127.0.0.1:{free_port()}/gate"
    check_state_url(url, on_command_line=False)  # remembers the password
    s = open_store(url=url, lease_seconds=30)
    try:
        with pytest.raises(StateError) as caught:
            s.names()
    finally:
        s.close()
    message = str(caught.value)
    assert "cannot be reached" in message
    assert "postgresql://gate@127.0.0.1:" in message
    assert GATE_PASSWORD not in message


def test_a_wrong_password_is_refused_and_never_shown(postgres: PostgresServer) -> None:
    url = postgres.url("gate").replace("gate-state-pw", "wrong-pw")
    s = open_store(url=url, lease_seconds=30)
    try:
        with pytest.raises(StateError, match="password authentication failed") as caught:
            s.names()
    finally:
        s.close()
    assert "wrong-pw" not in str(caught.value)


# -- the URL, before any connection ------------------------------------------------------------


def test_a_password_on_the_command_line_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        check_state_url("postgresql://gate:hunter22@db.example/gate", on_command_line=True)
    assert str(caught.value) == (
        "--state-url: the URL holds a password, and a command line is visible to every user "
        "of this machine; put the URL in GATE_STATE_URL, or the password in PGPASSWORD or "
        "~/.pgpass"
    )
    with pytest.raises(ConfigError, match="holds a password"):
        check_state_url("postgresql://db.example/gate?password=hunter22", on_command_line=True)


def test_a_password_from_the_environment_is_accepted_and_redacted() -> None:
    check_state_url("postgresql://gate:p%40ss-w0rd@db.example/gate", on_command_line=False)
    assert redact("auth p@ss-w0rd and p%40ss-w0rd") == "auth *** and ***"


def test_only_postgresql_urls_are_state_urls() -> None:
    with pytest.raises(ConfigError, match="GATE_STATE_URL: must be a postgresql:// URL"):
        check_state_url("mysql://db/gate", on_command_line=False)


def test_tls_is_verified_away_from_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    from psycopg.conninfo import conninfo_to_dict

    from gate.rollout.journal_postgres import connection_string, public_url

    monkeypatch.delenv("PGSSLMODE", raising=False)
    monkeypatch.delenv("PGHOST", raising=False)
    remote = conninfo_to_dict(connection_string("postgresql://gate@db.example/gate"))
    assert (remote["sslmode"], remote["sslrootcert"]) == ("verify-full", "system")
    local = conninfo_to_dict(connection_string("postgresql://gate@127.0.0.1:5432/gate"))
    assert "sslmode" not in local
    chosen = conninfo_to_dict(connection_string("postgresql://db.example/gate?sslmode=require"))
    assert chosen["sslmode"] == "require"
    monkeypatch.setenv("PGSSLMODE", "verify-ca")
    assert "sslmode" not in conninfo_to_dict(connection_string("postgresql://db.example/g"))
    assert public_url("postgresql://gate:pw@db.example:6432/gate?sslmode=require") == (
        "postgresql://gate@db.example:6432/gate"
    )


def test_a_save_is_refused_while_another_process_drives(state_url: str) -> None:
    a = open_store(url=state_url, lease_seconds=30)
    b = open_store(url=state_url, lease_seconds=30)
    try:
        driver = a.journal("checkout")
        with driver.locked():
            driver.save(state())
            with pytest.raises(Busy, match="being driven by"):
                b.journal("checkout").save(state(status=RolloutStatus.ABORTED))
        loaded = driver.load()
        assert loaded is not None
        assert loaded.status is RolloutStatus.PROGRESSING
    finally:
        a.close()
        b.close()
