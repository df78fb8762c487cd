"""The rollout journal: state written atomically before every side effect, a lock, an audit log.

Two backends answer the same :class:`RolloutJournal` interface, each reached through a
:class:`StateStore`: the local directory below (the default) and PostgreSQL for fleets of CI
runners (:mod:`gate.rollout.journal_postgres`, chosen by ``--state-url`` /
``$GATE_STATE_URL``), where a renewed lease takes the place of the lock.

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
import errno
import fcntl
import json
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from gate.config.values import check_name
from gate.errors import EXIT_HUMAN_NEEDED, ConfigError, StateError
from gate.secrets import redact, remember

MAX_STATE = 16 * 1024 * 1024
DEFAULT_LEASE = 90.0  # seconds a PostgreSQL lease lasts unless renewed (--lease-seconds)


class Busy(StateError):
    """Another live process drives (or is claiming) the rollout."""


class Unreadable(StateError):
    """One rollout's journal cannot be read (damaged, too large, not readable): its traffic
    and kill switches are unknown. Commands over every rollout name it and go on."""


class LeaseLost(StateError):
    """This process's lease ran out and another process took the rollout over: it must stop,
    and what it left behind may need a look."""

    exit_code = EXIT_HUMAN_NEEDED


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


@dataclass(frozen=True)
class Driver:
    """The process that drives a rollout (or drove it, when its lease has expired)."""

    pid: int
    host: str = ""
    owner: str = ""  # the lease's owner id; empty for the local directory's lock
    renewed_ago: float | None = None  # seconds since the lease was last renewed
    expires_in: float | None = None  # seconds until it expires (negative: expired)

    @property
    def expired(self) -> bool:
        return self.expires_in is not None and self.expires_in <= 0

    def describe(self) -> str:
        where = f" on {self.host}" if self.host else ""
        return f"pid {self.pid}{where}"


class RolloutJournal(Protocol):
    """One rollout's journal, whichever store holds it.

    ``save`` replaces the state atomically; ``audit`` appends one entry; ``request`` and
    ``take_request`` carry `gate promote` / `gate abort` to the driving process (taking a
    request removes it, atomically). ``acquire`` makes this process the rollout's only driver
    (:class:`Busy` when a live one exists) until ``release``; ``heartbeat`` is called where
    the driver waits, and keeps a lease alive (:class:`LeaseLost` when another process took
    the rollout over).
    """

    @property
    def name(self) -> str: ...

    def acquire(self) -> None: ...

    def release(self) -> None: ...

    def locked(self) -> contextlib.AbstractContextManager[None]: ...

    def heartbeat(self) -> None: ...

    def driver(self) -> Driver | None: ...

    def load(self) -> RolloutState | None: ...

    def save(self, state: RolloutState) -> None: ...

    def audit(self, event: str, **fields: Any) -> None: ...

    def events(self) -> list[dict[str, Any]]: ...

    def request(self, kind: str, reason: str) -> None: ...

    def take_request(self, kind: str) -> str | None: ...

    def clear_requests(self) -> None: ...


class StateStore(Protocol):
    """Where the journals of many rollouts live: a directory, or a PostgreSQL database."""

    @property
    def where(self) -> str:
        """The store, for messages (never with a password)."""
        ...

    @property
    def lease_seconds(self) -> float | None:
        """How long a driver's lease lasts without renewal; None for the local lock."""
        ...

    def journal(self, name: str) -> RolloutJournal: ...

    def names(self) -> list[str]: ...

    def close(self) -> None: ...


def live_driver(journal: RolloutJournal) -> Driver | None:
    """The process driving the rollout now, or None when none is (or its lease expired)."""
    found = journal.driver()
    return None if found is None or found.expired else found


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


def open_safely(path: Path, flags: int, mode: int = 0o600) -> int:
    """Open ``path`` without following a symlink planted in its place; a symlink is a
    StateError, never a write through it."""
    try:
        return os.open(path, flags | _NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StateError(f"{path} is a symbolic link; refusing to follow it") from None
        raise


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: a new temp file (never an existing one or a link),
    fsync, rename over the old file, fsync the directory."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets_token()}.tmp")
    fd = open_safely(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def secrets_token() -> str:
    return os.urandom(4).hex()


def check_directory(path: Path) -> None:
    """A state directory is trusted only when it is a real directory (not a link) owned by
    this user and not writable by others."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise StateError(f"{path} is a symbolic link; refusing to use it as a state directory")
    if not stat.S_ISDIR(info.st_mode):
        raise StateError(f"{path} is not a directory")
    if info.st_uid != os.geteuid():
        raise StateError(f"{path} belongs to another user (uid {info.st_uid}); refusing to use it")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise StateError(f"{path} is writable by other users; run `chmod go-w {path}`")


@dataclass
class Journal:
    root: Path
    name: str
    _lock: int | None = field(default=None, repr=False)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)

    def __post_init__(self) -> None:
        # the name becomes a directory: only names by gate's one rule (a dry run's journal
        # adds .dry-run), so "../x" or a name with a newline never reaches the file system
        check_journal_name(self.name)

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
            self.root.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create {self.root.parent}: {exc.strerror}") from None
        for directory in (self.root, self.dir):
            try:
                os.mkdir(directory, 0o700)
            except FileExistsError:
                pass
            except OSError as exc:
                raise StateError(
                    f"cannot create state directory {directory}: {exc.strerror}"
                ) from None
            check_directory(directory)

    # -- the lock -----------------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the rollout's lock or raise StateError naming the process that holds it."""
        self._ensure()
        fd = open_safely(self.dir / "lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise Busy(
                f"rollout {self.name} is being driven by pid {holder}; use `gate status "
                f"{self.name}`, `gate promote {self.name}` or `gate abort {self.name}`"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        self._lock = fd

    def release(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            os.close(self._lock)
            self._lock = None

    def holder(self) -> int | None:
        """The pid driving this rollout now, or None when no live process holds the lock."""
        path = self.dir / "lock"
        try:
            fd = open_safely(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = os.read(fd, 32).decode("ascii", "replace").strip()
                return int(text) if text.isdigit() else -1
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def driver(self) -> Driver | None:
        pid = self.holder()
        return None if pid is None else Driver(pid=pid)

    def heartbeat(self) -> None:
        """Nothing to renew: the kernel holds the lock until this process ends."""

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    # -- state and audit ----------------------------------------------------------------------

    def load(self) -> RolloutState | None:
        check_directory(self.root)
        check_directory(self.dir)
        try:
            fd = open_safely(self.state_path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {self.state_path}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "rb") as fh:
                raw = fh.read(MAX_STATE + 1)
        except OSError as exc:
            raise Unreadable(f"cannot read {self.state_path}: {exc.strerror}") from None
        if len(raw) > MAX_STATE:
            raise Unreadable(f"{self.state_path} is larger than {MAX_STATE} bytes")
        try:
            return RolloutState.from_json(json.loads(raw))
        except (ValueError, TypeError, RecursionError) as exc:
            raise Unreadable(f"{self.state_path} is damaged: {exc}") from None

    def save(self, state: RolloutState) -> None:
        self._ensure()
        try:
            write_atomic(self.state_path, redact(json.dumps(state.to_json(), indent=2)) + "\n")
        except OSError as exc:  # a full disk, a directory in the way: the journal failed
            raise StateError(f"cannot write {self.state_path}: {exc.strerror or exc}") from None

    def audit(self, event: str, **fields: Any) -> None:
        self._ensure()
        stamp = self.clock().isoformat(timespec="milliseconds")
        line = json.dumps(
            {"time": stamp, "rollout": self.name, "event": event, **fields}, default=str
        )
        try:
            fd = open_safely(self.audit_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            try:
                os.write(fd, (redact(line) + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:  # a full disk, a directory in the way: the journal failed
            raise StateError(f"cannot write {self.audit_path}: {exc.strerror or exc}") from None

    def events(self) -> list[dict[str, Any]]:
        """The audit log's records, oldest first (a torn last line is left out)."""
        check_directory(self.root)
        check_directory(self.dir)
        try:
            fd = open_safely(self.audit_path, os.O_RDONLY)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StateError(f"cannot read {self.audit_path}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "rb") as fh:
                text = fh.read().decode("utf-8", errors="replace")
        except OSError as exc:
            raise StateError(f"cannot read {self.audit_path}: {exc.strerror}") from None
        records = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    # -- requests from other processes --------------------------------------------------------

    def request(self, kind: str, reason: str) -> None:
        self._ensure()
        write_atomic(self.dir / f"request-{kind}", redact(reason) + "\n")

    def take_request(self, kind: str) -> str | None:
        path = self.dir / f"request-{kind}"
        try:
            fd = open_safely(path, os.O_RDONLY)
        except (FileNotFoundError, StateError):
            path.unlink(missing_ok=True)
            return None
        with os.fdopen(fd, "rb") as fh:
            text = fh.read(4096).decode("utf-8", "replace").strip()
        path.unlink(missing_ok=True)
        return text or kind

    def clear_requests(self) -> None:
        for kind in ("promote", "abort"):
            (self.dir / f"request-{kind}").unlink(missing_ok=True)


def all_rollouts(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    check_directory(root)
    return sorted(
        p.name
        for p in root.iterdir()
        if not p.is_symlink() and p.is_dir() and (p / "state.json").is_file()
    )


def check_journal_name(name: str) -> str:
    """A journal's name: a rollout name by gate's one rule, a dry run's with ``.dry-run``."""
    try:
        check_name(name.removesuffix(".dry-run"), "rollout name")
    except ValueError as exc:
        raise ConfigError(str(exc), field="NAME") from None
    return name


@dataclass
class LocalStore:
    """Journals in a local directory, one sub-directory each; flock instead of a lease."""

    root: Path

    @property
    def where(self) -> str:
        return str(self.root)

    @property
    def lease_seconds(self) -> float | None:
        return None

    def journal(self, name: str) -> Journal:
        return Journal(self.root, name)

    def names(self) -> list[str]:
        return all_rollouts(self.root)

    def close(self) -> None:
        return None


# -- choosing a store -------------------------------------------------------------------------

STATE_URL_SCHEMES = ("postgresql", "postgres")


def check_state_url(url: str, *, on_command_line: bool) -> str:
    """Refuse a state URL that is not PostgreSQL's, or that carries a password on the command
    line (where every user of the machine can read it); remember any password so that it is
    redacted from everything gate writes."""
    where = "--state-url" if on_command_line else "GATE_STATE_URL"
    try:
        parts = urlsplit(url)
        password = parts.password
        parts.port  # noqa: B018 - raises on a port that is not a number in 0-65535
    except ValueError as exc:
        raise ConfigError(f"not a valid URL ({exc})", field=where) from None
    if parts.scheme not in STATE_URL_SCHEMES:
        raise ConfigError(
            "must be a postgresql:// URL (the local directory is --state-dir)", field=where
        )
    in_query = parse_qs(parts.query).get("password", [])
    secrets = [p for p in (password, *in_query) if p]
    if secrets and on_command_line:
        raise ConfigError(
            "the URL holds a password, and a command line is visible to every user of this "
            "machine; put the URL in GATE_STATE_URL, or the password in PGPASSWORD or "
            "~/.pgpass",
            field=where,
        )
    for secret in secrets:
        remember(secret)
        remember(unquote(secret))
    remember(os.environ.get("PGPASSWORD", ""))
    return url
