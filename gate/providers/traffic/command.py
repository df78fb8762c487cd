"""Any router with a command-line client: argv templates run without a shell.

Each argument may hold ``{{ weight }}`` (the canary's percent), ``{{ stable_weight }}``
(``100 - weight``) and ``{{ service }}``; they are substituted inside that one argument, so a
value can never split into several arguments or reach a shell. An optional read-back command
prints the canary's current percent on stdout. Examples::

    # Argo Rollouts
    ["kubectl", "argo", "rollouts", "set", "weight", "{{ service }}", "{{ weight }}"]
    # Gateway API HTTPRoute
    ["kubectl", "patch", "httproute", "{{ service }}", "--type=json", "-p",
     '[{"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":{{ weight }}},'
     '{"op":"replace","path":"/spec/rules/0/backendRefs/0/weight","value":{{ stable_weight }}}]']
    # Cloud Run
    ["gcloud", "run", "services", "update-traffic", "{{ service }}",
     "--to-tags=canary={{ weight }}"]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from gate import process
from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers.traffic.settings import _PLACEHOLDER, PLACEHOLDERS

_NAME = "command"
_INTEGER = re.compile(r"\s*(-?\d{1,4})\s*%?\s*")


def render(argv: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Substitute placeholders argument by argument; no argument is ever split or joined."""
    return [_PLACEHOLDER.sub(lambda m: values[m.group(1)], arg) for arg in argv]


def _check(argv: Sequence[str]) -> tuple[str, ...]:
    if not argv or not all(isinstance(a, str) for a in argv):
        raise ValueError("a command needs a non-empty list of strings")
    for arg in argv:
        for name in _PLACEHOLDER.findall(arg):
            if name not in PLACEHOLDERS:
                raise ValueError(f"unknown placeholder {{{{ {name} }}}}")
    return tuple(argv)


class CommandRouter:
    """A :class:`~gate.providers.traffic.interface.TrafficRouter` running argv templates."""

    name = _NAME

    def __init__(
        self,
        *,
        set_argv: Sequence[str],
        get_argv: Sequence[str] | None = None,
        service: str = "",
        timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.set_argv = _check(set_argv)
        self.get_argv = _check(get_argv) if get_argv is not None else None
        self.service = service
        self.timeout = timeout
        self._env = dict(env or {})
        self._cwd = cwd

    def describe(self) -> str:
        return f"command {self.set_argv[0]} ({self.service or 'no service'})"

    def __repr__(self) -> str:
        return f"CommandRouter({self.set_argv[0]!r})"

    def set_canary_weight(self, percent: int) -> None:
        if isinstance(percent, bool) or not 0 <= int(percent) <= 100:
            raise ValueError(f"canary weight {percent!r} is not a percentage 0-100")
        self._run(self.set_argv, int(percent))

    def canary_weight(self) -> int | None:
        if self.get_argv is None:
            return None
        out = self._run(self.get_argv, None)
        match = _INTEGER.fullmatch(out)
        if match is None:
            raise ProviderRejected(
                f"{self.get_argv[0]}: read-back printed {process.one_line_tail(out, 80)!r}, "
                "expected an integer",
                provider=_NAME,
            )
        value = int(match.group(1))
        if not 0 <= value <= 100:
            raise ProviderRejected(
                f"{self.get_argv[0]}: read-back printed {value}, not a percentage 0-100",
                provider=_NAME,
            )
        return value

    def close(self) -> None:
        """Nothing to release."""

    def _run(self, template: Sequence[str], percent: int | None) -> str:
        values = {
            "weight": "" if percent is None else str(percent),
            "stable_weight": "" if percent is None else str(100 - percent),
            "service": self.service,
        }
        argv = render(template, values)
        program = argv[0]
        try:
            done = process.run(argv, timeout=self.timeout, env=self._env, cwd=self._cwd)
        except process.ProgramNotFound as exc:
            raise ProviderRejected(str(exc), provider=_NAME) from None
        if done.timed_out:
            raise ProviderUnavailable(
                f"{program}: no answer within {self.timeout:g}s (killed)", provider=_NAME
            )
        if not done.ok:
            detail = done.tail() or "no output"
            raise ProviderRejected(
                f"{program} exited with {done.returncode}: {detail}", provider=_NAME
            )
        return done.stdout
