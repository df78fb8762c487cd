"""The interface every feature-flag backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class FlagRef:
    """One flag in one environment of one provider, as a rollout spec or policy names it."""

    provider: str
    feature: str
    environment: str = "production"
    project: str = "default"

    def __str__(self) -> str:
        return f"{self.provider}:{self.project}/{self.feature}@{self.environment}"


class FlagProvider(Protocol):
    """Turns a flag on or off idempotently and reads its state back.

    Raise ProviderUnavailable / ProviderRejected on failure; a flag that does not exist is
    ProviderRejected.
    """

    name: str

    def set_enabled(self, flag: FlagRef, enabled: bool) -> None: ...

    def is_enabled(self, flag: FlagRef) -> bool: ...

    def exists(self, flag: FlagRef) -> bool: ...

    def can_write(self, flag: FlagRef) -> None:
        """A read-only probe before a rollout starts: the flag exists where the kill switch
        will look for it and the credentials reach it; raise ProviderError if not."""
        ...

    def close(self) -> None: ...
