"""``type: flags-exist``: every flag the change request names exists in its provider."""

from __future__ import annotations

from dataclasses import dataclass

from gate.change import ChangeRequest
from gate.checks.interface import CheckContext, CheckOutcome
from gate.config.node import Node


@dataclass(frozen=True)
class Settings:
    @classmethod
    def parse(cls, node: Node) -> Settings:
        from gate.checks.registry import settings_keys

        settings_keys(node, (), "flags-exist")
        return cls()


def run(settings: Settings, change: ChangeRequest, context: CheckContext) -> CheckOutcome:
    from gate.providers.flags.killswitch import missing_flags

    if not change.flags:
        return CheckOutcome.passed("the change names no flags")
    missing = missing_flags(change.flags)
    if missing:
        return CheckOutcome.failed(f"flags not found: {', '.join(missing)}")
    return CheckOutcome.passed(f"{len(change.flags)} flag(s) exist")
