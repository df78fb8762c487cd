"""``gate reap``: roll back every rollout whose driver is gone, exactly once.

A rollout is reaped when it is still active (starting, progressing, paused or rolling back)
and nobody drives it: its lease expired (PostgreSQL) or no process holds its lock (the local
directory). The claim is the journal's own :meth:`~gate.rollout.journal.RolloutJournal.acquire`
— in PostgreSQL one transaction that locks the row (``FOR UPDATE SKIP LOCKED``) and takes the
lease only if it is still expired — so of several reapers running at once exactly one wins each
rollout; the others skip it. The winner re-reads the state under its lease, rolls back through
the same path as ``gate abort`` (canary weight 0, kill switches off, rollback hooks), records
who reaped and the outcome in the audit log, and releases the lease. A reaper that dies half
way leaves its own lease to expire, and the next reaper finishes the rollback.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gate.errors import GateError
from gate.rollout.journal import ACTIVE, Busy, LeaseLost, RolloutJournal, Unreadable, live_driver
from gate.rollout.runtime import Options, roll_back_held, store
from gate.secrets import redact


@dataclass(frozen=True)
class Reaped:
    """What one reaper did with one rollout."""

    name: str
    outcome: str  # rolled-back | aborted | rollback-failed | error
    message: str

    @property
    def ok(self) -> bool:
        return self.outcome in ("rolled-back", "aborted")


def reaper_id() -> str:
    return f"reaper {uuid.uuid4().hex[:8]} (pid {os.getpid()} on {socket.gethostname()})"


def reap(
    options: Options,
    *,
    reaper: str | None = None,
    note: Callable[[str], None] = lambda text: None,
) -> list[Reaped]:
    """Roll back every active rollout nobody drives; one entry per rollout this reaper
    claimed (those claimed by another reaper or still driven are left alone)."""
    who = reaper or reaper_id()
    done: list[Reaped] = []
    with store(options) as opened:
        for name in opened.names():
            j = opened.journal(name)
            try:
                state = j.load()
                driven = state is not None and live_driver(j) is not None
            except Unreadable as exc:  # one damaged journal must not stop the others' rollback
                why = f"{redact(str(exc))}; its traffic and kill switches were not checked"
                unread = Reaped(name, "error", why)
                note(f"{name}: {unread.outcome}: {unread.message}")
                done.append(unread)
                continue
            if state is None or state.status not in ACTIVE or driven:
                continue
            last = j.driver()
            gone = (
                f"the lease of {last.describe()} expired {-(last.expires_in or 0.0):.0f}s ago"
                if last is not None and last.expires_in is not None
                else f"pid {state.pid} is gone"
            )
            try:
                j.acquire()  # the claim: exactly one reaper (or driver) wins it
            except Busy:
                continue
            try:
                result = _reap_held(j, who, gone, options)
            finally:
                j.release()
            if result is not None:
                note(f"{name}: {result.outcome}: {result.message}")
                done.append(result)
    return done


def _reap_held(j: RolloutJournal, who: str, gone: str, options: Options) -> Reaped | None:
    state = j.load()  # again, under the claim: another reaper may have finished it
    if state is None or state.status not in ACTIVE:
        return None
    reason = f"reaped: no process drives it ({gone}); rolled back by {who}"
    j.audit("reap-claimed", message=reason, reaper=who, status=state.status.value)
    try:
        result = roll_back_held(j, state, reason, options)
        outcome, message = result.status.value, reason
    except LeaseLost:  # this reaper was too slow: another one holds the rollout now
        return None
    except GateError as exc:  # RollbackError, or providers that cannot be built here
        outcome, message = "rollback-failed" if exc.exit_code == 4 else "error", redact(str(exc))
    j.audit("reaped", message=message, reaper=who, outcome=outcome)
    return Reaped(j.name, outcome, message)
