"""The interface every traffic backend implements."""

from __future__ import annotations

from typing import Protocol


class TrafficRouter(Protocol):
    """Sets and reads the canary's share of traffic, in percent (0-100).

    ``set_canary_weight`` returns only when the router accepted the change; ``canary_weight``
    reads the router's actual state back (``None`` when the backend cannot read it).
    Raise ProviderUnavailable / ProviderRejected on failure.
    """

    name: str

    def set_canary_weight(self, percent: int) -> None: ...

    def canary_weight(self) -> int | None: ...

    def describe(self) -> str:
        """A short human description of where traffic is routed, e.g. ``haproxy app/canary``."""
        ...

    def close(self) -> None: ...
