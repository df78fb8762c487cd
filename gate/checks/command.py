"""``type: command``: run an argv (never through a shell); exit 0 passes."""

from __future__ import annotations

from dataclasses import dataclass

from gate import process
from gate.change import ChangeRequest
from gate.checks.interface import CheckContext, CheckOutcome
from gate.config.node import Node
from gate.errors import ProviderRejected


@dataclass(frozen=True)
class Settings:
    argv: tuple[str, ...]

    @classmethod
    def parse(cls, node: Node) -> Settings:
        from gate.checks.registry import settings_keys

        settings_keys(node, ("argv",), "command")
        return cls(node.strings("argv", min_items=1))


def run(settings: Settings, change: ChangeRequest, context: CheckContext) -> CheckOutcome:
    program = settings.argv[0]
    env = {"GATE_CHANGE_ID": change.id, "GATE_CHANGE_FILE": change.file}
    try:
        done = process.run(settings.argv, timeout=context.timeout, env=env)
    except process.ProgramNotFound as exc:
        raise ProviderRejected(str(exc)) from None
    if done.timed_out:
        return CheckOutcome.failed(f"{program} did not finish within {context.timeout:g}s")
    if done.ok:
        return CheckOutcome.passed(f"{program} exited 0")
    detail = done.tail()
    return CheckOutcome.failed(
        f"{program} exited {done.returncode}" + (f": {detail}" if detail else "")
    )
