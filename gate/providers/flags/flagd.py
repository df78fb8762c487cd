"""flagd flag files: a kill switch makes the off variant the default and removes targeting.

The file is rewritten atomically (a temp file in the same directory, fsync, rename), so flagd
and any other reader see the old file or the new one, never half of one. What the switch
replaced is kept in the flag's ``metadata`` so that turning it on again restores it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers.flags.interface import FlagRef

_NAME = "flagd"
_PREVIOUS = "gate.previousDefaultVariant"
_TARGETING = "gate.previousTargeting"


def _off_variant(flag: dict[str, Any]) -> str | None:
    variants = flag.get("variants", {})
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

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ProviderRejected(f"{self.path}: no such flag file", provider=_NAME) from None
        except OSError as exc:
            raise ProviderUnavailable(f"{self.path}: {exc.strerror}", provider=_NAME) from None
        except ValueError as exc:
            raise ProviderRejected(f"{self.path}: not JSON: {exc}", provider=_NAME) from None
        if not isinstance(data, dict) or not isinstance(data.get("flags"), dict):
            raise ProviderRejected(f"{self.path}: no 'flags' mapping", provider=_NAME)
        return data

    def _write(self, data: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
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
        return flag.feature in self._read()["flags"]

    def is_enabled(self, flag: FlagRef) -> bool:
        f = self._flag(self._read(), flag)
        if f.get("state", "ENABLED") != "ENABLED":
            return False
        return f.get("defaultVariant") != _off_variant(f) or "targeting" in f

    def set_enabled(self, flag: FlagRef, enabled: bool) -> None:
        data = self._read()
        f = self._flag(data, flag)
        off = _off_variant(f)
        if off is None:
            raise ProviderRejected(
                f"flag {flag.feature!r} has no off variant (named 'off' or with the value false)",
                provider=_NAME,
            )
        meta = f.setdefault("metadata", {})
        if not enabled:
            if f.get("defaultVariant") == off and "targeting" not in f:
                return
            meta[_PREVIOUS] = f.get("defaultVariant", off)
            if "targeting" in f:
                meta[_TARGETING] = json.dumps(f.pop("targeting"))
            f["defaultVariant"] = off
        else:
            previous = meta.pop(_PREVIOUS, None)
            targeting = meta.pop(_TARGETING, None)
            on = (
                previous
                if previous and previous != off
                else next((n for n in f.get("variants", {}) if n != off), off)
            )
            f["defaultVariant"] = on
            if targeting:
                f["targeting"] = json.loads(targeting)
            f["state"] = "ENABLED"
            if not meta:
                f.pop("metadata")
        self._write(data)

    def close(self) -> None:
        """Nothing to release."""
