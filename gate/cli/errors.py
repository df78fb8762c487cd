"""Map every outcome of a command to an exit code and at most a few lines on stderr."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gate.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ConfigErrors,
    GateError,
)
from gate.secrets import redact

_BREAK = re.compile(r"\s*[\r\n]+\s*")


def _err(line: str) -> None:
    # one line, whatever the message quotes (libpq, for one, explains over two); a value that
    # is not UTF-8 (a lone surrogate) is shown escaped, never a crash
    line = _BREAK.sub(" ", redact(line).strip())
    click.echo(line.encode("utf-8", "backslashreplace").decode("utf-8"), err=True)


def crash_log_dir() -> Path:
    env = os.environ.get("GATE_CRASH_DIR")
    return Path(env) if env else Path(tempfile.gettempdir())


def save_traceback() -> Path | None:
    """Write the current exception's traceback to a file and return its path."""
    try:
        directory = crash_log_dir()
        directory.mkdir(parents=True, exist_ok=True)
        stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{os.urandom(2).hex()}"
        path = directory / f"gate-crash-{stamp}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(redact(traceback.format_exc()))
        return path
    except OSError:
        return None


def given_as(ctx: click.Context | None, param: click.Parameter) -> str:
    """How the user gave ``param``: the environment variable its value came from, else its
    long option, else the argument's name (``FILE...``)."""
    from click.core import ParameterSource

    if isinstance(param, click.Option):
        source = ctx.get_parameter_source(param.name) if ctx and param.name else None
        if param.envvar and source is ParameterSource.ENVIRONMENT:
            names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar)
            return next((n for n in names if n in os.environ), names[0])
        return next((o for o in param.opts if o.startswith("--")), param.opts[0])
    return param.human_readable_name


def _usage_line(exc: click.UsageError) -> str:
    """A mistake on the command line as one line: the option (or variable) and what is wrong
    with its value, else click's sentence and where to look."""
    param = exc.param if isinstance(exc, click.BadParameter) else None
    if param is not None and not isinstance(exc, click.MissingParameter):
        return f"{given_as(exc.ctx, param)}: {exc.message}"
    where = f" See '{exc.ctx.command_path} --help'." if exc.ctx is not None else ""
    return exc.format_message() + where


def run_guarded(command: Callable[[], Any]) -> int:
    """Run ``command`` (click in non-standalone mode) and turn its outcome into an exit code."""
    try:
        result = command()
    except ConfigErrors as exc:
        for line in exc.lines():
            _err(f"gate: error: {line}")
        return exc.exit_code
    except GateError as exc:
        _err(f"gate: error: {exc}")
        return exc.exit_code
    except click.exceptions.Abort:
        _err("gate: interrupted")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        _err("gate: interrupted")
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        _err(f"gate: error: {_usage_line(exc)}")
        return EXIT_BAD_INPUT
    except click.ClickException as exc:
        exc.show()
        return EXIT_BAD_INPUT if exc.exit_code == 2 else int(exc.exit_code or EXIT_BAD_INPUT)
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the one place that catches everything
        path = save_traceback()
        where = f"; traceback saved to {path}" if path else ""
        _err(f"gate: internal error: {type(exc).__name__}: {exc}{where}")
        _err("gate: this is a bug in gate; please report it with that file")
        return EXIT_INTERNAL
    finally:
        with contextlib.suppress(BrokenPipeError, ValueError):
            sys.stdout.flush()
    return int(result) if isinstance(result, int) else EXIT_OK
