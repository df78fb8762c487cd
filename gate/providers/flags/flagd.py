"""flagd flag files: a kill switch makes the off variant the default and removes targeting.

One writer at a time per file: every change is one read-modify-write under a lock held across
threads of this process (a thread-level lock per file) and across processes (``flock`` on a
``.lock`` file beside it), so several flags of one file switched at once are all switched. The
file is replaced atomically (a temp file in the same directory, fsync, rename), so flagd and
any other reader see the old file or the new one, never half of one. What a switch changed is
kept in the flag's ``metadata``, so turning it on again restores exactly the default variant
and targeting it had.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers.flags.interface import FlagRef

_NAME = "flagd"
_PREVIOUS = "gate.previousDefaultVariant"
_TARGETING = "gate.previousTargeting"
MAX_FILE = 16 * 1024 * 1024

_locks_guard = threading.Lock()
_locks: dict[str, threading.Lock] = {}


def _thread_lock(path: Path) -> threading.Lock:
    key = os.path.realpath(path)
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _off_variant(flag: dict[str, Any]) -> str | None:
    variants = flag.get("variants")
    if not isinstance(variants, dict):
        return None
    if "off" in variants:
        return "off"
    for name, value in variants.items():
        if value is False:
            return str(name)
    return None


class FlagdProvider:
    name = _NAME

    def __init__(self, *, path: str) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(f".{self.path.name}.lock")
        with _thread_lock(self.path):
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            except OSError as exc:
                raise ProviderUnavailable(
                    f"{lock_path}: cannot lock the flag file: {exc.strerror}", provider=_NAME
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    def _read(self) -> dict[str, Any]:
        try:
            with self.path.open("rb") as fh:
                raw = fh.read(MAX_FILE + 1)
        except FileNotFoundError:
            raise ProviderRejected(f"{self.path}: no such flag file", provider=_NAME) from None
        except OSError as exc:
            raise ProviderUnavailable(f"{self.path}: {exc.strerror}", provider=_NAME) from None
        if len(raw) > MAX_FILE:
            raise ProviderRejected(f"{self.path}: larger than {MAX_FILE} bytes", provider=_NAME)
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ProviderRejected(f"{self.path}: not JSON: {exc}", provider=_NAME) from None
        if not isinstance(data, dict) or not isinstance(data.get("flags"), dict):
            raise ProviderRejected(f"{self.path}: no 'flags' mapping", provider=_NAME)
        return data

    def _write(self, data: dict[str, Any]) -> None:
        try:
            mode = self.path.stat().st_mode & 0o777
        except OSError:
            mode = 0o644
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        except OSError as exc:
            raise ProviderUnavailable(f"{self.path}: {exc.strerror}", provider=_NAME) from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise ProviderUnavailable(f"{self.path}: {exc.strerror}", provider=_NAME) from None

    def _flag(self, data: dict[str, Any], ref: FlagRef) -> dict[str, Any]:
        flag = data["flags"].get(ref.feature)
        if not isinstance(flag, dict):
            raise ProviderRejected(f"flag {ref.feature!r} not in {self.path}", provider=_NAME)
        return flag

    def exists(self, flag: FlagRef) -> bool:
        return isinstance(self._read()["flags"].get(flag.feature), dict)

    def is_enabled(self, flag: FlagRef) -> bool:
        f = self._flag(self._read(), flag)
        if f.get("state", "ENABLED") != "ENABLED":
            return False
        return f.get("defaultVariant") != _off_variant(f) or "targeting" in f

    def set_enabled(self, flag: FlagRef, enabled: bool) -> None:
        with self._locked():
            data = self._read()
            f = self._flag(data, flag)
            off = _off_variant(f)
            if off is None:
                raise ProviderRejected(
                    f"flag {flag.feature!r} has no off variant "
                    "(named 'off' or with the value false)",
                    provider=_NAME,
                )
            meta = f.get("metadata")
            if meta is None:
                meta = f["metadata"] = {}
            if not isinstance(meta, dict):
                raise ProviderRejected(
                    f"flag {flag.feature!r}: metadata is not a mapping", provider=_NAME
                )
            if not enabled:
                if f.get("defaultVariant") == off and "targeting" not in f:
                    if not meta:
                        f.pop("metadata")
                    return
                meta[_PREVIOUS] = f.get("defaultVariant", off)
                if "targeting" in f:
                    meta[_TARGETING] = json.dumps(f.pop("targeting"))
                f["defaultVariant"] = off
            else:
                if _PREVIOUS in meta or _TARGETING in meta:
                    f["defaultVariant"] = meta.pop(_PREVIOUS, f.get("defaultVariant", off))
                    targeting = meta.pop(_TARGETING, None)
                    if targeting is not None:
                        f["targeting"] = json.loads(targeting)
                elif f.get("defaultVariant") == off and "targeting" not in f:
                    variants = f.get("variants", {})
                    f["defaultVariant"] = next((n for n in variants if n != off), off)
                f["state"] = "ENABLED"
                if not meta:
                    f.pop("metadata")
            self._write(data)

    def can_write(self, flag: FlagRef) -> None:
        """Read-only probe before a rollout: the flag exists, has an off variant, and the
        file's directory is writable (the switch replaces the file)."""
        f = self._flag(self._read(), flag)
        if _off_variant(f) is None:
            raise ProviderRejected(
                f"flag {flag.feature!r} has no off variant (named 'off' or with the value false)",
                provider=_NAME,
            )
        if not os.access(self.path.parent, os.W_OK):
            raise ProviderRejected(
                f"{self.path.parent}: not writable, so the flag file cannot be replaced",
                provider=_NAME,
            )

    def close(self) -> None:
        """Nothing to release."""
