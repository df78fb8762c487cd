"""The rollout journal: state written atomically before every side effect, a lock, an audit log.

Layout under the state directory (``--state-dir``, else ``$GATE_STATE_DIR``, else ``.gate/``)::

    NAME/state.json    the current state (temp file, fsync, rename, fsync of the directory)
    NAME/lock          flock-ed by the process driving the rollout; holds its pid
    NAME/audit.jsonl   append-only: every decision and action, one JSON object a line
    NAME/request-*     `gate promote` / `gate abort` asking the driving process to act

A process killed with SIGKILL loses its flock, so a new process can take over at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from gate.config.values import check_name
from gate.errors import ConfigError, StateError


class RolloutStatus(enum.StrEnum):
    """Where a journaled rollout stands."""

    STARTING = "starting"  # journaled, preflight running, no traffic moved yet
    PROGRESSING = "progressing"
    PAUSED = "paused"
    ROLLING_BACK = "rolling-back"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled-back"
    ABORTED = "aborted"
    ROLLBACK_FAILED = "rollback-failed"
    FAILED_TO_START = "failed-to-start"
    INTERRUPTED = "interrupted"  # stopped with traffic left where it was (--on-interrupt leave)


ACTIVE = (
    RolloutStatus.STARTING,
    RolloutStatus.PROGRESSING,
    RolloutStatus.PAUSED,
    RolloutStatus.ROLLING_BACK,
)


def state_dir(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get("GATE_STATE_DIR") or ".gate")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class RolloutState:
    name: str
    status: RolloutStatus
    spec: dict[str, Any]
    spec_file: str
    stage: int = 0
    weight: int | None = 0  # last weight read back (None: the router cannot read it)
    target_weight: int | None = None  # set before a weight change, cleared after it
    reason: str = ""
    pid: int = 0
    started_at: str = ""
    updated_at: str = ""
    dry_run: bool = False
    history: tuple[dict[str, Any], ...] = ()
    flags_still_on: tuple[str, ...] = ()

    def with_(self, **changes: Any) -> RolloutState:
        return dataclasses.replace(self, **changes, updated_at=now_iso())

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["history"] = list(self.history)
        data["flags_still_on"] = list(self.flags_still_on)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RolloutState:
        known = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["status"] = RolloutStatus(str(data.get("status")))
        data["history"] = tuple(data.get("history", ()))
        data["flags_still_on"] = tuple(data.get("flags_still_on", ()))
        return cls(**data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


@dataclass
class Journal:
    root: Path
    name: str
    _lock: TextIO | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # the name becomes a directory: only names by gate's one rule (a dry run's journal
        # adds .dry-run), so "../x" or a name with a newline never reaches the file system
        try:
            check_name(self.name.removesuffix(".dry-run"), "rollout name")
        except ValueError as exc:
            raise ConfigError(str(exc), field="NAME") from None

    @property
    def dir(self) -> Path:
        return self.root / self.name

    @property
    def state_path(self) -> Path:
        return self.dir / "state.json"

    @property
    def audit_path(self) -> Path:
        return self.dir / "audit.jsonl"

    def _ensure(self) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create state directory {self.dir}: {exc.strerror}") from None

    # -- the lock -----------------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the rollout's lock or raise StateError naming the process that holds it."""
        self._ensure()
        fh = (self.dir / "lock").open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise StateError(
                f"rollout {self.name} is being driven by pid {holder}; use `gate status "
                f"{self.name}`, `gate promote {self.name}` or `gate abort {self.name}`"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._lock = fh

    def release(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def holder(self) -> int | None:
        """The pid driving this rollout now, or None when no live process holds the lock."""
        path = self.dir / "lock"
        if not path.exists():
            return None
        with path.open("a+", encoding="utf-8") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                text = fh.read().strip()
                return int(text) if text.isdigit() else -1
            fcntl.flock(fh, fcntl.LOCK_UN)
        return None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    # -- state and audit ----------------------------------------------------------------------

    def load(self) -> RolloutState | None:
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {self.state_path}: {exc.strerror}") from None
        try:
            return RolloutState.from_json(json.loads(text))
        except (ValueError, TypeError) as exc:
            raise StateError(f"{self.state_path} is damaged: {exc}") from None

    def save(self, state: RolloutState) -> None:
        self._ensure()
        write_atomic(self.state_path, json.dumps(state.to_json(), indent=2) + "\n")

    def audit(self, event: str, **fields: Any) -> None:
        self._ensure()
        line = json.dumps(
            {"time": now_iso(), "rollout": self.name, "event": event, **fields}, default=str
        )
        with self.audit_path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    # -- requests from other processes --------------------------------------------------------

    def request(self, kind: str, reason: str) -> None:
        self._ensure()
        write_atomic(self.dir / f"request-{kind}", reason + "\n")

    def take_request(self, kind: str) -> str | None:
        path = self.dir / f"request-{kind}"
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        path.unlink(missing_ok=True)
        return text or kind

    def clear_requests(self) -> None:
        for kind in ("promote", "abort"):
            (self.dir / f"request-{kind}").unlink(missing_ok=True)


def all_rollouts(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "state.json").is_file())
