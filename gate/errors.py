"""The one error tree of gate, and the exit code each branch maps to.

::

    GateError                      exit 3 unless a subclass says otherwise
    ├── ConfigError                exit 2  bad input: a file, a field or a flag is wrong
    │   └── ConfigErrors           exit 2  several ConfigErrors found in one pass
    ├── ProviderError              exit 2 at start-up, handled by the core during a rollout
    │   ├── ProviderUnavailable    the server could not be reached or kept failing (retryable)
    │   └── ProviderRejected       the server refused the request (not retryable: 4xx, bad query)
    ├── RollbackError              exit 4  stable traffic or kill switches could not be restored
    └── StateError                 exit 2  the rollout journal is missing, locked or unreadable

The core raises these and never prints or exits; ``gate.cli`` is the one place that maps an
error to its exit code.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_BLOCK = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_HUMAN_NEEDED = 4
EXIT_INCONCLUSIVE = 5  # gate judge: neither pass nor fail (no data, too little, metrics down)
EXIT_INTERRUPTED = 130


class GateError(Exception):
    """Base of every error gate raises on purpose."""

    exit_code = EXIT_INTERNAL


@dataclass(frozen=True)
class Location:
    """Where in which file a problem sits; ``line`` is 1-based, ``None`` when unknown."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class ConfigError(GateError):
    """A user's input is wrong: one line ``FILE:LINE: field: what is wrong``."""

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(f"{self.file}:{self.line}" if self.line is not None else self.file)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


class ConfigErrors(ConfigError):
    """Several problems found in one pass; each is reported on its own line."""

    def __init__(self, errors: list[ConfigError]) -> None:
        if not errors:
            raise ValueError("ConfigErrors needs at least one error")
        self.errors = errors
        first = errors[0]
        super().__init__(first.message, file=first.file, line=first.line, field=first.field)

    def one_line(self) -> str:  # the first error; `lines()` gives all
        return self.errors[0].one_line() if hasattr(self, "errors") else super().one_line()

    def lines(self) -> list[str]:
        return [e.one_line() for e in self.errors]


class ProviderError(GateError):
    """An outside system (metrics, traffic, flags, notify, scm) failed."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, provider: str = "") -> None:
        self.provider = provider
        super().__init__(f"{provider}: {message}" if provider else message)


class ProviderUnavailable(ProviderError):
    """The provider could not be reached, timed out or kept answering 5xx."""


class ProviderRejected(ProviderError):
    """The provider refused the request itself (4xx, a bad query): retrying cannot help."""


class RollbackError(GateError):
    """Stable traffic or a kill switch could not be restored: a human must act."""

    exit_code = EXIT_HUMAN_NEEDED


class StateError(GateError):
    """The rollout journal is missing, locked by another process, or unreadable."""

    exit_code = EXIT_BAD_INPUT
