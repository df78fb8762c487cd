"""Where ``gate serve`` reads state that outlives a request: the shared state store.

The server itself is stateless. What a Flagger ``rollback`` hook must also honour — a rollback
that someone asked for with ``gate abort NAMESPACE.NAME`` on any machine — is a request row in
the shared PostgreSQL store (``gate serve --state-url`` / ``GATE_STATE_URL``): the canary
``namespace/name`` is the rollout ``namespace.name``. Without a store, :class:`NoSharedState`
answers that nothing was asked.
"""

from __future__ import annotations

from typing import Protocol

from gate.config.values import check_name
from gate.rollout.journal import StateStore


class RollbackRequests(Protocol):
    def requested(self, namespace: str, name: str) -> str | None:
        """The reason recorded for rolling back canary ``namespace/name``, or None."""
        ...


class NoSharedState:
    """No store configured: no rollback was ever requested."""

    def requested(self, namespace: str, name: str) -> str | None:
        return None


class StoredRollbackRequests:
    """Rollback requests from the shared state store. A request is taken when a rollback
    hook answers it: it rolls back one run of the canary, not every later one."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    @staticmethod
    def rollout(namespace: str, name: str) -> str | None:
        """The rollout name of canary ``namespace/name``, or None when it has none."""
        key = f"{namespace}.{name}"
        try:
            return check_name(key)
        except ValueError:
            return None

    def requested(self, namespace: str, name: str) -> str | None:
        key = self.rollout(namespace, name)
        if key is None:
            return None
        return self.store.journal(key).take_request("abort")

    def close(self) -> None:
        self.store.close()
