"""The rollout journal in PostgreSQL, for fleets of CI runners (``--state-url postgresql://…``).

Tables (created on first use, under a transaction-scoped advisory lock, and versioned in
``gate_schema`` so that a newer gate can migrate them)::

    gate_rollouts   one row a rollout: its state (jsonb) and the driver's lease
    gate_audit      append-only: every decision and action, one row each
    gate_requests   `gate promote` / `gate abort` for the driving process, one row per kind

**Leases.** The driver holds a lease on its rollout's row (owner id, host, pid, expiry) in
place of the local directory's flock. It is taken in one transaction that locks the row
(``SELECT … FOR UPDATE SKIP LOCKED``) and takes it only when no live lease is there; it is
renewed by :meth:`PostgresJournal.heartbeat` (the controller calls it while it waits) and by
every state write. Every write of the driver is fenced: ``UPDATE … WHERE lease_owner = me``,
so a process whose lease was taken over fails its next write — which comes before every side
effect — with :class:`~gate.rollout.journal.LeaseLost`. Times are the database server's
(``clock_timestamp()``), so the runners' clocks do not matter.

Credentials come from the URL in ``$GATE_STATE_URL`` or libpq's own environment (PGPASSWORD,
~/.pgpass); the password is remembered for redaction and never part of a message. Away from
loopback, TLS is verified (``sslmode=verify-full`` with the system's CA store) unless the URL
or ``$PGSSLMODE`` says otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from gate.errors import StateError
from gate.rollout.journal import (
    MAX_STATE,
    Busy,
    Driver,
    LeaseLost,
    RolloutState,
    Unreadable,
    check_journal_name,
    now_iso,
)
from gate.secrets import redact

T = TypeVar("T")

SCHEMA_LOCK = 0x6761_7465  # pg_advisory_xact_lock key while migrating ("gate")
CONNECT_TIMEOUT = 10  # seconds
STATEMENT_TIMEOUT_MS = 15_000
ATTEMPTS = 4  # a dropped connection is reopened and the operation retried this often

# (version, statements): applied in order, each version once, recorded in gate_schema
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE gate_rollouts (
                name text PRIMARY KEY,
                state jsonb,
                status text,
                updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                lease_owner text,
                lease_host text,
                lease_pid integer,
                lease_taken_at timestamptz,
                lease_renewed_at timestamptz,
                lease_expires_at timestamptz
            )""",
            "CREATE INDEX gate_rollouts_status ON gate_rollouts (status)",
            """CREATE TABLE gate_audit (
                seq bigserial PRIMARY KEY,
                id uuid NOT NULL UNIQUE,
                rollout text NOT NULL,
                time timestamptz NOT NULL DEFAULT clock_timestamp(),
                event text NOT NULL,
                entry jsonb NOT NULL
            )""",
            "CREATE INDEX gate_audit_rollout ON gate_audit (rollout, seq)",
            """CREATE TABLE gate_requests (
                rollout text NOT NULL,
                kind text NOT NULL,
                reason text NOT NULL,
                requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                PRIMARY KEY (rollout, kind)
            )""",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]

_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def public_url(url: str) -> str:
    """``url`` without its password or query: what messages may show."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def connection_string(url: str) -> str:
    """libpq's connection string for ``url``: TLS verified away from loopback unless the URL
    or $PGSSLMODE chooses, an application name, a connect timeout. A URL libpq cannot read
    is a ValueError."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ValueError(f"not a valid PostgreSQL URL ({str(exc).strip()})") from None
    extra: dict[str, Any] = {"application_name": "gate", "connect_timeout": CONNECT_TIMEOUT}
    hosts = str(params.get("host") or os.environ.get("PGHOST") or "").split(",")
    remote = any(h and not h.startswith("/") and h not in _LOOPBACK for h in hosts)
    if remote and "sslmode" not in params and not os.environ.get("PGSSLMODE"):
        extra["sslmode"] = "verify-full"
        if "sslrootcert" not in params and not os.environ.get("PGSSLROOTCERT"):
            extra["sslrootcert"] = "system"
    return make_conninfo(url, **{k: v for k, v in extra.items() if k not in params})


class _Connection:
    """One connection, opened on first use and reopened (with the operation retried) when it
    drops; errors are StateErrors naming the store, never the password."""

    def __init__(self, url: str) -> None:
        self.where = public_url(url)
        self._conninfo = connection_string(url)
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._migrated = False

    def _open(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True)
            self._conn.execute(
                sql.SQL("SET statement_timeout = {}").format(sql.Literal(STATEMENT_TIMEOUT_MS))
            )
            if not self._migrated:
                migrate(self._conn)
                self._migrated = True
        return self._conn

    def run(self, operation: Callable[[psycopg.Connection[tuple[Any, ...]]], T]) -> T:
        last: Exception | None = None
        for attempt in range(ATTEMPTS):
            try:
                return operation(self._open())
            except psycopg.OperationalError as exc:
                last = exc
                self.close()
                if attempt + 1 < ATTEMPTS:
                    time.sleep(0.2 * 2**attempt)
            except psycopg.Error as exc:
                raise StateError(
                    redact(f"the state store {self.where} failed: {exc}".strip())
                ) from None
        raise StateError(
            redact(f"the state store {self.where} cannot be reached: {last}".strip())
        ) from None

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None


def migrate(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """Bring the tables to SCHEMA_VERSION (idempotent, safe when many runners start at once);
    return the version found before."""
    try:
        row = conn.execute("SELECT max(version) FROM gate_schema").fetchone()
        current = int(row[0]) if row and row[0] is not None else 0
    except psycopg.errors.UndefinedTable:
        current = 0
    if current == SCHEMA_VERSION:
        return current
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS gate_schema ("
            " version integer PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        row = conn.execute("SELECT coalesce(max(version), 0) FROM gate_schema").fetchone()
        current = int(row[0]) if row else 0
        if current > SCHEMA_VERSION:
            raise StateError(
                f"the state store's tables are at version {current}, newer than this gate "
                f"understands ({SCHEMA_VERSION}); upgrade gate"
            )
        for version, statements in MIGRATIONS:
            if version > current:
                for statement in statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO gate_schema (version) VALUES (%s)", (version,))
    return current


class PostgresStore:
    """Every rollout of every runner, in one database."""

    def __init__(self, url: str, *, lease_seconds: float) -> None:
        self._db = _Connection(url)
        self._lease = float(lease_seconds)

    @property
    def where(self) -> str:
        return self._db.where

    @property
    def lease_seconds(self) -> float | None:
        return self._lease

    def journal(self, name: str) -> PostgresJournal:
        return PostgresJournal(check_journal_name(name), self._db, self._lease)

    def names(self) -> list[str]:
        rows = self._db.run(
            lambda c: c.execute(
                "SELECT name FROM gate_rollouts WHERE state IS NOT NULL ORDER BY name"
            ).fetchall()
        )
        return [str(r[0]) for r in rows]

    def schema_version(self) -> int:
        row = self._db.run(lambda c: c.execute("SELECT max(version) FROM gate_schema").fetchone())
        return int(row[0]) if row and row[0] is not None else 0

    def close(self) -> None:
        self._db.close()


_SELECT_LEASE = (
    "SELECT lease_owner, lease_host, lease_pid,"
    " extract(epoch FROM clock_timestamp() - lease_renewed_at),"
    " extract(epoch FROM lease_expires_at - clock_timestamp())"
    " FROM gate_rollouts WHERE name = %s"
)


def _driver(row: tuple[Any, ...] | None) -> Driver | None:
    if row is None or row[0] is None:
        return None
    owner, host, pid, renewed_ago, expires_in = row
    return Driver(
        pid=int(pid or 0),
        host=str(host or ""),
        owner=str(owner),
        renewed_ago=float(renewed_ago) if renewed_ago is not None else None,
        expires_in=float(expires_in) if expires_in is not None else None,
    )


def _busy(name: str, holder: Driver) -> Busy:
    renewed = f", lease renewed {holder.renewed_ago:.0f}s ago" if holder.renewed_ago else ""
    return Busy(
        f"rollout {name} is being driven by {holder.describe()}{renewed}; use `gate status "
        f"{name}`, `gate promote {name}` or `gate abort {name}`"
    )


@dataclass
class PostgresJournal:
    name: str
    _db: _Connection = field(repr=False)
    lease_seconds: float
    _owner: str | None = field(default=None, repr=False)
    _renewed: float = field(default=0.0, repr=False)  # time.monotonic() of the last renewal

    # -- the lease ----------------------------------------------------------------------------

    @property
    def renewed_at(self) -> float:
        """time.monotonic() when this process last renewed its lease (0: never)."""
        return self._renewed

    def acquire(self) -> None:
        """Take the rollout's lease, or raise Busy naming the live process that holds it."""
        owner = uuid.uuid4().hex
        host = socket.gethostname()

        def take(c: psycopg.Connection[tuple[Any, ...]]) -> None:
            with c.transaction():
                c.execute(
                    "INSERT INTO gate_rollouts (name) VALUES (%s) ON CONFLICT (name) DO NOTHING",
                    (self.name,),
                )
                row = c.execute(
                    _SELECT_LEASE + " FOR UPDATE SKIP LOCKED",
                    (self.name,),
                ).fetchone()
                if row is None:
                    raise Busy(f"rollout {self.name} is being claimed by another process")
                holder = _driver(row)
                if holder is not None and holder.owner != owner and not holder.expired:
                    raise _busy(self.name, holder)
                c.execute(
                    "UPDATE gate_rollouts SET lease_owner = %s, lease_host = %s,"
                    " lease_pid = %s, lease_taken_at = clock_timestamp(),"
                    " lease_renewed_at = clock_timestamp(),"
                    " lease_expires_at = clock_timestamp() + make_interval(secs => %s)"
                    " WHERE name = %s",
                    (owner, host, os.getpid(), self.lease_seconds, self.name),
                )

        started = time.monotonic()
        self._db.run(take)
        self._owner, self._renewed = owner, started

    def release(self) -> None:
        """Give the lease up (keeping who held it last); a lease already lost is left alone."""
        owner, self._owner = self._owner, None
        if owner is None:
            return
        with contextlib.suppress(StateError):
            self._db.run(
                lambda c: c.execute(
                    "UPDATE gate_rollouts SET lease_owner = NULL, lease_expires_at = NULL"
                    " WHERE name = %s AND lease_owner = %s",
                    (self.name, owner),
                )
            )

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def heartbeat(self) -> None:
        """Renew the lease when a third of it has passed since the last renewal."""
        if self._owner is None or time.monotonic() - self._renewed < self.lease_seconds / 3:
            return
        started = time.monotonic()
        renewed = self._db.run(
            lambda c: (
                c.execute(
                    "UPDATE gate_rollouts SET lease_renewed_at = clock_timestamp(),"
                    " lease_expires_at = clock_timestamp() + make_interval(secs => %s)"
                    " WHERE name = %s AND lease_owner = %s",
                    (self.lease_seconds, self.name, self._owner),
                ).rowcount
            )
        )
        if not renewed:
            raise self._lost()
        self._renewed = started

    def _lost(self) -> LeaseLost:
        now = self.driver()
        who = f"{now.describe()} holds it now" if now is not None else "nobody holds it now"
        return LeaseLost(
            f"the lease on rollout {self.name} ran out and was taken over ({who}); this "
            f"process stopped: check `gate status {self.name}`"
        )

    def driver(self) -> Driver | None:
        return _driver(self._db.run(lambda c: c.execute(_SELECT_LEASE, (self.name,)).fetchone()))

    # -- state and audit ----------------------------------------------------------------------

    def load(self) -> RolloutState | None:
        row = self._db.run(
            lambda c: c.execute(
                "SELECT state::text FROM gate_rollouts WHERE name = %s", (self.name,)
            ).fetchone()
        )
        if row is None or row[0] is None:
            return None
        try:
            return RolloutState.from_json(json.loads(row[0]))
        except (ValueError, TypeError, RecursionError) as exc:
            raise Unreadable(
                f"the state of {self.name} in {self._db.where} is damaged: {exc}"
            ) from None

    def save(self, state: RolloutState) -> None:
        """Replace the state in one statement. Holding the lease, the write is fenced by it
        (and renews it); without one, it is refused while another process holds a live one."""
        text = redact(json.dumps(state.to_json()))
        if len(text) > MAX_STATE:
            raise StateError(f"the state of {self.name} is larger than {MAX_STATE} bytes")
        owner = self._owner
        if owner is not None:
            started = time.monotonic()
            written = self._db.run(
                lambda c: (
                    c.execute(
                        "UPDATE gate_rollouts SET state = %s::jsonb, status = %s,"
                        " updated_at = clock_timestamp(), lease_renewed_at = clock_timestamp(),"
                        " lease_expires_at = clock_timestamp() + make_interval(secs => %s)"
                        " WHERE name = %s AND lease_owner = %s",
                        (text, state.status.value, self.lease_seconds, self.name, owner),
                    ).rowcount
                )
            )
            if not written:
                raise self._lost()
            self._renewed = started
            return
        written = self._db.run(
            lambda c: (
                c.execute(
                    "INSERT INTO gate_rollouts AS r (name, state, status)"
                    " VALUES (%s, %s::jsonb, %s)"
                    " ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state,"
                    " status = EXCLUDED.status, updated_at = clock_timestamp()"
                    " WHERE r.lease_owner IS NULL OR r.lease_expires_at <= clock_timestamp()",
                    (self.name, text, state.status.value),
                ).rowcount
            )
        )
        if not written:
            holder = self.driver()
            raise _busy(self.name, holder) if holder else Busy(f"rollout {self.name} is busy")

    def audit(self, event: str, **fields: Any) -> None:
        entry = redact(
            json.dumps(
                {"time": now_iso(), "rollout": self.name, "event": event, **fields}, default=str
            )
        )
        key = uuid.uuid4()  # a retried insert after a dropped connection is recorded once
        self._db.run(
            lambda c: c.execute(
                "INSERT INTO gate_audit (id, rollout, event, entry) VALUES (%s, %s, %s, %s::jsonb)"
                " ON CONFLICT (id) DO NOTHING",
                (key, self.name, event, entry),
            )
        )

    def events(self) -> list[dict[str, Any]]:
        rows = self._db.run(
            lambda c: c.execute(
                "SELECT entry::text FROM gate_audit WHERE rollout = %s ORDER BY seq", (self.name,)
            ).fetchall()
        )
        return [json.loads(r[0]) for r in rows]

    # -- requests from other processes --------------------------------------------------------

    def request(self, kind: str, reason: str) -> None:
        self._db.run(
            lambda c: c.execute(
                "INSERT INTO gate_requests (rollout, kind, reason) VALUES (%s, %s, %s)"
                " ON CONFLICT (rollout, kind) DO UPDATE SET reason = EXCLUDED.reason,"
                " requested_at = clock_timestamp()",
                (self.name, kind, redact(reason)),
            )
        )

    def take_request(self, kind: str) -> str | None:
        row = self._db.run(
            lambda c: c.execute(
                "DELETE FROM gate_requests WHERE rollout = %s AND kind = %s RETURNING reason",
                (self.name, kind),
            ).fetchone()
        )
        if row is None:
            return None
        return str(row[0]).strip() or kind

    def clear_requests(self) -> None:
        self._db.run(
            lambda c: c.execute("DELETE FROM gate_requests WHERE rollout = %s", (self.name,))
        )
