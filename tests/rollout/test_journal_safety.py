"""The state directory is trusted only if it is safe, and nothing in it holds a secret."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gate.errors import ConfigError, StateError
from gate.rollout.journal import Journal, RolloutState, RolloutStatus
from gate.secrets import SecretRef, reveal


def state(name: str = "checkout", reason: str = "") -> RolloutState:
    return RolloutState(name=name, status=RolloutStatus.PROGRESSING, spec={}, spec_file="",
                        reason=reason)  # fmt: skip


def test_directories_are_private(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state", "checkout")
    journal.save(state())
    for directory in (tmp_path / "state", tmp_path / "state" / "checkout"):
        assert directory.stat().st_mode & 0o777 == 0o700


def test_a_planted_lock_symlink_is_refused_not_truncated(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    journal = Journal(tmp_path / "state", "checkout")
    journal.save(state())
    (journal.dir / "lock").symlink_to(victim)
    with pytest.raises(StateError, match="symbolic link"), journal.locked():
        pass
    assert victim.read_text() == "precious\n"


def test_a_planted_audit_symlink_is_refused_not_appended_to(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    journal = Journal(tmp_path / "state", "checkout")
    journal.save(state())
    journal.audit_path.symlink_to(victim)
    with pytest.raises(StateError, match="symbolic link"):
        journal.audit("weight", message="x")
    assert victim.read_text() == "precious\n"


def test_a_state_file_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text("{}")
    journal = Journal(tmp_path / "state", "checkout")
    journal.save(state())
    journal.state_path.unlink()
    journal.state_path.symlink_to(victim)
    with pytest.raises(StateError, match="symbolic link"):
        journal.load()
    journal.save(state())  # the rename replaces the link itself
    assert victim.read_text() == "{}"
    assert not journal.state_path.is_symlink()


def test_a_symlinked_or_shared_state_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    (tmp_path / "state").symlink_to(real)
    with pytest.raises(StateError, match="symbolic link"):
        Journal(tmp_path / "state", "checkout").save(state())
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(StateError, match="writable by other users"):
        Journal(shared, "checkout").save(state())


@pytest.mark.parametrize("name", ["../x", "checkout\n", "Checkout", "a/b", ".."])
def test_a_name_that_is_not_a_rollout_name_never_reaches_the_file_system(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(ConfigError, match=r"NAME: .* is not a valid rollout name"):
        Journal(tmp_path / "state", name)
    assert not (tmp_path / "state").exists()


def test_secrets_never_reach_the_journal_or_the_audit_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTER_TOKEN", "s3cr3t-t0ken")
    token = reveal(SecretRef("ROUTER_TOKEN"))
    journal = Journal(tmp_path / "state", "checkout")
    echoed = f"HTTP 401: invalid token {token} (Basic czNjcjN0LXQwa2Vu)"
    journal.save(state(reason=echoed))
    journal.audit("rolling-back", message=echoed, detail={"error": f"token={token}"})
    journal.request("abort", f"because {token}")
    for path in journal.dir.iterdir():
        text = path.read_text()
        assert token not in text, path
        assert "czNjcjN0LXQwa2Vu" not in text, path  # its Base64, as a server echoes Basic auth
    loaded = journal.load()
    assert loaded is not None
    assert "***" in loaded.reason
    assert json.loads(journal.audit_path.read_text().splitlines()[0])["message"].count("***") == 2


def test_the_journal_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to hand a directory to another user")
    other = tmp_path / "state"
    other.mkdir(mode=0o700)
    os.chown(other, 65534, 65534)
    with pytest.raises(StateError, match="belongs to another user"):
        Journal(other, "checkout").save(state())


def test_a_journal_that_cannot_be_written_is_a_state_error(tmp_path: Path) -> None:
    """A full disk or something in the way is the journal failing (StateError, which the
    runtime answers by rolling back unjournaled), never an unexplained crash."""
    j = Journal(tmp_path / "state", "checkout")
    j.save(state())
    j.state_path.unlink()
    j.state_path.mkdir()
    with pytest.raises(StateError, match=r"cannot write .*state\.json"):
        j.save(state())
    j.audit_path.mkdir()
    with pytest.raises(StateError, match=r"cannot write .*audit\.jsonl"):
        j.audit("measured", message="x")
