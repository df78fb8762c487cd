"""Choosing the state store: PostgreSQL when a state URL is given, else the local directory.

psycopg is imported only here, and only for a postgresql:// URL, so that no other command
pays for it (and a machine without the ``state`` extra runs everything else).
"""

from __future__ import annotations

from gate.errors import ConfigError
from gate.rollout.journal import DEFAULT_LEASE, LocalStore, StateStore, check_state_url, state_dir


def open_store(
    directory: str | None = None,
    url: str | None = None,
    *,
    lease_seconds: float = DEFAULT_LEASE,
    on_command_line: bool = False,
) -> StateStore:
    """The store chosen: PostgreSQL when a URL is given, else the local directory."""
    if not url:
        return LocalStore(state_dir(directory))
    check_state_url(url, on_command_line=on_command_line)
    where = "--state-url" if on_command_line else "GATE_STATE_URL"
    try:
        from gate.rollout.journal_postgres import PostgresStore
    except ImportError:
        raise ConfigError(
            "the PostgreSQL state store needs psycopg: pip install 'gate-cd[state]'", field=where
        ) from None
    try:
        return PostgresStore(url, lease_seconds=lease_seconds)
    except ValueError as exc:
        raise ConfigError(str(exc), field=where) from None
