"""Lifecycle hooks: an argv command (no shell) or an HTTP call; success is exit 0 or 2xx."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from gate.rollout.spec import Hook


@dataclass(frozen=True)
class HookResult:
    hook: str
    ok: bool
    detail: str


def _tail(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def run_hook(hook: Hook, context: dict[str, str]) -> HookResult:
    """Run one hook with ``context`` in its environment (GATE_ROLLOUT, GATE_WEIGHT, …)."""
    if hook.command:
        env = {**os.environ, **context}
        try:
            proc = subprocess.run(  # noqa: S603 - argv from the spec, no shell
                list(hook.command),
                env=env,
                capture_output=True,
                text=True,
                timeout=hook.timeout,
                check=False,
            )
        except FileNotFoundError:
            return HookResult(hook.name, False, f"{hook.command[0]}: command not found")
        except subprocess.TimeoutExpired:
            return HookResult(hook.name, False, f"timed out after {hook.timeout:g}s")
        except OSError as exc:
            return HookResult(hook.name, False, f"{hook.command[0]}: {exc.strerror}")
        detail = _tail(proc.stderr or proc.stdout)
        return HookResult(
            hook.name,
            proc.returncode == 0,
            f"exit {proc.returncode}" + (f": {detail}" if detail else ""),
        )
    import httpx

    from gate.errors import ConfigError
    from gate.providers.http_retry import headers_from_env, redact_url

    try:
        headers = headers_from_env(hook.headers_env, field=f"hooks.{hook.name}.headersEnv")
    except ConfigError as exc:
        return HookResult(hook.name, False, str(exc))
    try:
        with httpx.Client(timeout=hook.timeout, verify=True) as client:
            response = client.request(
                hook.method,
                hook.url,
                headers=headers,
                json={k.lower(): v for k, v in context.items()},
            )
    except httpx.HTTPError as exc:
        return HookResult(hook.name, False, f"{redact_url(hook.url)}: {type(exc).__name__}")
    ok = 200 <= response.status_code < 300
    return HookResult(hook.name, ok, f"HTTP {response.status_code}")
