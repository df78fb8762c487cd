"""Run the app on uvicorn: one process, or a supervisor with several worker processes.

gate binds the listening socket itself (so a busy port is one line and exit 2, and port 0
picks a free port that the ``listening`` log line names) and hands it to uvicorn. Worker
processes are spawned by uvicorn's supervisor, which restarts a worker that dies; each builds
its app from ``GATE_SERVE_SETTINGS`` (no secrets: the token stays in its own variable). With
several workers, the server's metrics are kept in a private ``PROMETHEUS_MULTIPROC_DIR`` so
``/metrics`` adds up all workers; the directory is removed at exit.
"""

from __future__ import annotations

import contextlib
import logging
import logging.config
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

from gate.errors import ConfigError, GateError
from gate.serve.logs import log, log_config
from gate.serve.settings import SETTINGS_ENV, ServeSettings

FACTORY = "gate.serve.app:app_from_environment"


def require_extra() -> None:
    """Raise ConfigError (exit 2) when the ``serve`` extra is not installed."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"gate serve needs the serve extra ({exc.name} is missing): "
            "pip install 'gate-cd[serve]'"
        ) from None


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="--port"
        ) from None
    sock.set_inheritable(True)
    return sock


class _Stopped(Exception):
    pass


def _stop(signum: int, frame: object) -> None:
    raise _Stopped


@contextlib.contextmanager
def _sigterm_stops() -> Iterator[None]:
    """uvicorn shuts down gracefully on SIGTERM and then raises the signal again for the
    handler it found; with this one, that ends ``serve`` normally (exit 0)."""
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    except _Stopped:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(
    settings: ServeSettings,
    app: Any,
    *,
    host: str,
    port: int,
    workers: int,
    max_connections: int = 1000,
) -> None:
    """Serve until SIGINT/SIGTERM. ``app`` (already built and checked by the caller) is used
    as is with one worker; several workers build their own from the environment."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    logging.config.dictConfig(log_config())
    sock = bind(host, port)
    metrics_dir: str | None = None
    os.environ[SETTINGS_ENV] = settings.to_json()
    if workers > 1:
        metrics_dir = tempfile.mkdtemp(prefix="gate-serve-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    config = uvicorn.Config(
        FACTORY if workers > 1 else app,
        factory=workers > 1,
        workers=workers,
        log_config=log_config(),
        access_log=False,
        server_header=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=int(settings.timeout) + 5,
        limit_concurrency=max_connections,
    )
    bound = sock.getsockname()
    log(logging.INFO, "listening", host=bound[0], port=bound[1], workers=workers)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            server = uvicorn.Server(config)
            with _sigterm_stops():
                server.run(sockets=[sock])
            if not server.started:
                raise GateError("the server did not start; the log above says why")
    finally:
        sock.close()
        os.environ.pop(SETTINGS_ENV, None)
        if metrics_dir is not None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
            with contextlib.suppress(OSError):
                shutil.rmtree(metrics_dir)
    log(logging.INFO, "stopped")
