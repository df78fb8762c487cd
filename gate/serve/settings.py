"""What ``gate serve`` is started with: a frozen record, handed to worker processes as JSON.

The bearer token is not part of it: every worker reads it from the environment variable named
by ``token_env``, so it never travels through a command line or a settings blob.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit, urlunsplit

from gate.errors import ConfigError
from gate.secrets import SecretRef, reveal

SETTINGS_ENV = "GATE_SERVE_SETTINGS"
TOKEN_ENV = "GATE_SERVE_TOKEN"  # noqa: S105 - the name of the variable, not a token
FLAGGER_TOKEN_ENV = "GATE_SERVE_FLAGGER_TOKEN"  # noqa: S105 - the name of the variable
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class ServeSettings:
    policies: tuple[str, ...] = ()
    include_default_policy: bool = True
    prometheus: str | None = None  # the Prometheus a judge request uses when it names none
    allow_prometheus: tuple[str, ...] = ()  # more URLs a caller may name (plus `prometheus`)
    kill_switches: str | None = None  # file: which flags to turn off per failed canary
    max_body_bytes: int = DEFAULT_MAX_BODY
    timeout: float = DEFAULT_TIMEOUT  # seconds for one request, body included
    auth: bool = True  # False only with --insecure-no-auth
    token_env: str = TOKEN_ENV
    prometheus_timeout: float = 10.0  # seconds for one Prometheus query
    state_url: str | None = None  # the shared store (no password: GATE_STATE_URL may hold one)

    def allowed_prometheus(self) -> frozenset[str]:
        """The normalised Prometheus URLs a request may name."""
        named = [(u, "--allow-prometheus") for u in self.allow_prometheus]
        if self.prometheus:
            named.append((self.prometheus, "--prometheus"))
        return frozenset(normalise_url(u, flag) for u, flag in named)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        raw = json.loads(text)
        raw["policies"] = tuple(raw.get("policies", ()))
        raw["allow_prometheus"] = tuple(raw.get("allow_prometheus", ()))
        return cls(**raw)

    @classmethod
    def from_environment(cls) -> ServeSettings:
        text = os.environ.get(SETTINGS_ENV)
        if not text:
            raise ConfigError(f"{SETTINGS_ENV} is not set (workers are started by gate serve)")
        return cls.from_json(text)

    def token(self) -> str | None:
        """The bearer token every request must carry, or None when auth is off."""
        if not self.auth:
            return None
        value = os.environ.get(self.token_env, "")
        if not value.strip():
            raise ConfigError(
                f"{self.token_env} is not set: gate serve needs a bearer token from the "
                "environment (or --insecure-no-auth to serve without one)"
            )
        # read as every secret is: not too short to guess, one line, and kept out of messages
        return reveal(SecretRef(self.token_env, field=self.token_env))

    def flagger_token(self) -> str | None:
        """The token Flagger's hooks carry in ``metadata.token`` when it differs from the bearer
        token (the Canary resource holds it in clear text), else None."""
        value = os.environ.get(FLAGGER_TOKEN_ENV, "").strip()
        if not self.auth or not value:
            return None
        return reveal(SecretRef(FLAGGER_TOKEN_ENV, field=FLAGGER_TOKEN_ENV))


def normalise_url(url: str, where: str) -> str:
    """``url`` as compared against the allow-list: lower-case scheme and host, explicit port,
    no trailing slash; user info, query strings and fragments are refused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ConfigError(f"{url!r} is not a URL", field=where) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{url!r} is not an http:// or https:// URL", field=where)
    if parts.username is not None or parts.password is not None:
        raise ConfigError("a Prometheus URL must not carry user info", field=where)
    if parts.query or parts.fragment:
        raise ConfigError(f"{url!r} has a query string or fragment", field=where)
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port or default}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
