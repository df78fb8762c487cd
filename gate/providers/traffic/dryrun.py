"""A router that changes nothing: it remembers the weights it was asked to set."""

from __future__ import annotations


class DryRunRouter:
    name = "dryrun"

    def __init__(self, *, initial: int = 0) -> None:
        self.weight = initial
        self.history: list[int] = []

    def set_canary_weight(self, percent: int) -> None:
        if isinstance(percent, bool) or not 0 <= int(percent) <= 100:
            raise ValueError(f"canary weight {percent!r} is not a percentage 0-100")
        self.weight = int(percent)
        self.history.append(self.weight)

    def canary_weight(self) -> int | None:
        return self.weight

    def describe(self) -> str:
        return "dry run (no traffic is moved)"

    def close(self) -> None:
        """Nothing to release."""
