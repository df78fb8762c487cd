"""Where ``gate serve`` reads state that outlives a request: for now, nowhere.

The server is stateless. What a Flagger ``rollback`` hook must also honour — a rollback that
someone asked for (``gate abort NAME`` from any machine) — comes from the shared state store
once it exists; until then :class:`NoSharedState` answers that nothing was asked. A store
plugs in by implementing :class:`RollbackRequests` and being passed to
:class:`gate.serve.service.Service`.
"""

from __future__ import annotations

from typing import Protocol


class RollbackRequests(Protocol):
    def requested(self, namespace: str, name: str) -> str | None:
        """The reason recorded for rolling back canary ``namespace/name``, or None."""
        ...


class NoSharedState:
    """No store configured: no rollback was ever requested."""

    def requested(self, namespace: str, name: str) -> str | None:
        return None
