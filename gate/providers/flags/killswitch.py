"""Switch many flags at once: concurrently, idempotently, each read back to verify.

A single flag's failure never stops the others; the report names exactly which flags are
still on and why. Messages never contain tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gate.errors import GateError
from gate.providers.flags.interface import FlagProvider, FlagRef
from gate.providers.flags.registry import build_flag_provider, flag_ref


@dataclass(frozen=True)
class FlagOutcome:
    flag: FlagRef
    ok: bool
    enabled: bool | None  # as read back; None when it could not be read
    detail: str = ""


@dataclass(frozen=True)
class SwitchReport:
    wanted: bool
    outcomes: tuple[FlagOutcome, ...]

    @property
    def failed(self) -> list[FlagOutcome]:
        return [o for o in self.outcomes if not o.ok]

    def still_wrong(self) -> list[str]:
        """``flag (why)`` for every flag not in the wanted state."""
        return [f"{o.flag} ({o.detail})" for o in self.failed]


def _switch_one(flag: FlagRef, provider: FlagProvider, enabled: bool) -> FlagOutcome:
    try:
        provider.set_enabled(flag, enabled)
        actual = provider.is_enabled(flag)
    except GateError as exc:
        try:
            actual_or_none: bool | None = provider.is_enabled(flag)
        except GateError:
            actual_or_none = None
        return FlagOutcome(flag, actual_or_none is enabled, actual_or_none, str(exc))
    if actual is not enabled:
        return FlagOutcome(
            flag, False, actual, f"still {'on' if actual else 'off'} after switching"
        )
    return FlagOutcome(flag, True, actual, "")


def switch(flags: Sequence[tuple[FlagRef, FlagProvider]], enabled: bool) -> SwitchReport:
    if not flags:
        return SwitchReport(enabled, ())
    with ThreadPoolExecutor(max_workers=min(16, len(flags))) as pool:
        outcomes = list(pool.map(lambda fp: _switch_one(fp[0], fp[1], enabled), flags))
    return SwitchReport(enabled, tuple(outcomes))


def build(configs: Sequence[Any]) -> list[tuple[FlagRef, FlagProvider]]:
    """(ref, provider) for each flag config (a spec ProviderConfig or a mapping)."""
    out = []
    for i, config in enumerate(configs):
        settings = getattr(config, "settings", config)
        out.append((flag_ref(settings), build_flag_provider(settings, f"flags[{i}]")))
    return out


class KillSwitches:
    """For the rollout controller: calling it turns every flag off and returns those still on.

    Built up front, so a missing token is bad input before any traffic moves.
    """

    def __init__(self, configs: Sequence[Any]) -> None:
        self.flags = build(configs)

    def __call__(self) -> list[str]:
        return switch(self.flags, enabled=False).still_wrong()

    def close(self) -> None:
        for _, provider in self.flags:
            provider.close()


def kill_switches_for(configs: Sequence[Any]) -> KillSwitches:
    return KillSwitches(configs)


def missing_flags(configs: Sequence[Any]) -> list[str]:
    """The flags that do not exist in their provider (for the flags-exist check)."""
    missing = []
    for ref, provider in build(configs):
        try:
            if not provider.exists(ref):
                missing.append(str(ref))
        except GateError as exc:
            missing.append(f"{ref} ({exc})")
        finally:
            provider.close()
    return missing
