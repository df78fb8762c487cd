"""Lifecycle hooks: an argv command (no shell) or an HTTP call; success is exit 0 or 2xx.

Every hook has a deadline (its ``timeout``); a hook that cannot run is a failed hook with a
reason, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from gate import process
from gate.errors import GateError
from gate.rollout.spec import Hook
from gate.secrets import redact, reveal


@dataclass(frozen=True)
class HookResult:
    hook: str
    ok: bool
    detail: str


def run_hook(hook: Hook, context: dict[str, str]) -> HookResult:
    """Run one hook with ``context`` in its environment (GATE_ROLLOUT, GATE_WEIGHT, …) or, for
    a URL hook, as its JSON body."""
    if hook.command:
        try:
            done = process.run(hook.command, timeout=hook.timeout, env=context)
        except process.ProgramNotFound as exc:
            return HookResult(hook.name, False, str(exc))
        if done.timed_out:
            return HookResult(hook.name, False, f"timed out after {hook.timeout:g}s")
        detail = done.tail()
        return HookResult(
            hook.name, done.ok, f"exit {done.returncode}" + (f": {detail}" if detail else "")
        )
    from gate.providers.http import HttpClient

    try:
        headers = {header: reveal(ref) for header, ref in hook.headers}
        with HttpClient("hook", headers=headers, timeout=hook.timeout, retries=0) as client:
            reply = client.request(
                hook.method,
                hook.url,
                json_body={k.lower(): v for k, v in context.items()},
                accept=range(300, 600),
            )
    except GateError as exc:
        return HookResult(hook.name, False, redact(str(exc)))
    ok = 200 <= reply.status < 300
    return HookResult(hook.name, ok, f"HTTP {reply.status}")
