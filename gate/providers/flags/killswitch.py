"""Switch many flags at once: concurrently, idempotently, each read back to verify.

A single flag's failure never stops the others; the report names exactly which flags are
still on and why. Messages never contain tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from gate.errors import GateError
from gate.providers.flags.interface import FlagProvider, FlagRef
from gate.providers.flags.registry import PROVIDERS
from gate.providers.registry import BuildContext, Configured, build
from gate.secrets import redact


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


Flag = tuple[FlagRef, FlagProvider]


def _switch_one(flag: FlagRef, provider: FlagProvider, enabled: bool) -> FlagOutcome:
    try:
        provider.set_enabled(flag, enabled)
        actual = provider.is_enabled(flag)
    except GateError as exc:
        try:
            actual_or_none: bool | None = provider.is_enabled(flag)
        except GateError:
            actual_or_none = None
        return FlagOutcome(flag, actual_or_none is enabled, actual_or_none, redact(str(exc)))
    if actual is not enabled:
        return FlagOutcome(
            flag, False, actual, f"still {'on' if actual else 'off'} after switching"
        )
    return FlagOutcome(flag, True, actual, "")


def switch(flags: Sequence[Flag], enabled: bool) -> SwitchReport:
    if not flags:
        return SwitchReport(enabled, ())
    pool = ThreadPoolExecutor(max_workers=min(16, len(flags)), thread_name_prefix="flag")
    try:
        outcomes = list(pool.map(lambda fp: _switch_one(fp[0], fp[1], enabled), flags))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return SwitchReport(enabled, tuple(outcomes))


def probe(flags: Sequence[Flag]) -> list[str]:
    """Read-only checks that every kill switch can be switched, all at once (so several slow
    flag services take one deadline, not one each): ``flag (why)`` for each that cannot
    (wrong URL, missing file, misspelt feature, refused token)."""

    def one(flag: Flag) -> str | None:
        ref, provider = flag
        try:
            provider.can_write(ref)
        except GateError as exc:
            return f"{ref} ({redact(str(exc))})"
        return None

    if not flags:
        return []
    pool = ThreadPoolExecutor(max_workers=min(16, len(flags)), thread_name_prefix="probe")
    try:
        return [p for p in pool.map(one, flags) if p is not None]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def build_flags(configs: Sequence[Configured], context: BuildContext | None = None) -> list[Flag]:
    """(ref, provider) for each configured flag; reads the tokens now (a missing one is a
    ConfigError naming the file and line), closing what was built if one fails."""
    out: list[Flag] = []
    try:
        for config in configs:
            out.append((config.settings.flag, build(PROVIDERS, config, context or BuildContext())))
    except BaseException:
        close_all(out)
        raise
    return out


def close_all(flags: Sequence[Flag]) -> None:
    for _, provider in flags:
        provider.close()


class KillSwitches:
    """For the rollout controller: :meth:`turn_off` turns every flag off and returns those
    still on; :meth:`probe` checks them before any traffic moves."""

    def __init__(self, flags: Sequence[Flag]) -> None:
        self.flags = list(flags)

    def turn_off(self) -> list[str]:
        return switch(self.flags, enabled=False).still_wrong()

    def probe(self) -> list[str]:
        return probe(self.flags)

    def close(self) -> None:
        close_all(self.flags)


def missing_flags(configs: Sequence[Configured]) -> list[str]:
    """The flags that do not exist in their provider (for the flags-exist check)."""
    missing = []
    flags = build_flags(configs)
    try:
        for ref, provider in flags:
            try:
                if not provider.exists(ref):
                    missing.append(str(ref))
            except GateError as exc:
                missing.append(f"{ref} ({redact(str(exc))})")
    finally:
        close_all(flags)
    return missing
