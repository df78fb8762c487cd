"""The one way gate runs a program: an argv (never a shell), a deadline, bounded output.

The child runs in its own process group; when the deadline passes, or the caller is
interrupted, the whole group is killed, so a command that forked helpers cannot outlive gate.
Output beyond ``max_output`` bytes per stream is dropped (the tail is kept), so a chatty or
hostile program cannot exhaust memory, and a grandchild left holding the pipes cannot hang it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gate.secrets import redact

MAX_OUTPUT = 256 * 1024
_TAIL = 300


@dataclass(frozen=True)
class ProcessResult:
    argv: tuple[str, ...]
    returncode: int | None  # None: killed at the deadline
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def tail(self, limit: int = _TAIL) -> str:
        """The last words of stderr (else stdout) on one line, for a message."""
        return one_line_tail(self.stderr.strip() or self.stdout.strip(), limit)


class ProgramNotFound(Exception):
    """The program does not exist or cannot be executed."""


def one_line_tail(text: str, limit: int = _TAIL) -> str:
    """The end of ``text`` on one line, secrets removed before it is cut short (a secret cut
    in two would no longer be recognised)."""
    text = redact(" | ".join(line.strip() for line in text.strip().splitlines() if line.strip()))
    return text if len(text) <= limit else "…" + text[-limit:]


class _Reader(threading.Thread):
    """Drains one pipe, keeping at most ``limit`` bytes (the last ones)."""

    def __init__(self, stream: object, limit: int) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0

    def run(self) -> None:
        read = getattr(self.stream, "read1", None) or self.stream.read  # type: ignore[attr-defined]
        with contextlib.suppress(OSError, ValueError):
            while True:
                chunk = read(65536)
                if not chunk:
                    break
                self.chunks.append(chunk)
                self.size += len(chunk)
                while self.size > self.limit and len(self.chunks) > 1:
                    self.size -= len(self.chunks.pop(0))

    def text(self) -> str:
        data = b"".join(self.chunks)[-self.limit :]
        return data.decode("utf-8", errors="replace")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    max_output: int = MAX_OUTPUT,
) -> ProcessResult:
    """Run ``argv`` with ``env`` added to gate's environment; kill its process group when
    ``timeout`` seconds pass (then ``returncode`` is None). Raises ProgramNotFound when the
    program cannot be started."""
    args = tuple(argv)
    if not args or not all(isinstance(a, str) for a in args):
        raise ProgramNotFound("an empty command")
    began = time.monotonic()
    try:
        proc = subprocess.Popen(  # noqa: S603 - an argv from a file the user wrote, no shell
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=None if env is None else {**os.environ, **env},
            cwd=cwd,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ProgramNotFound(f"{args[0]}: command not found") from None
    except PermissionError:
        raise ProgramNotFound(f"{args[0]}: not executable") from None
    except OSError as exc:
        raise ProgramNotFound(f"{args[0]}: {exc.strerror or exc}") from None
    readers = [_Reader(proc.stdout, max_output), _Reader(proc.stderr, max_output)]
    for reader in readers:
        reader.start()
    returncode: int | None
    try:
        returncode = proc.wait(timeout=max(0.0, timeout))
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.wait()
        returncode = None
    except BaseException:  # interrupted (SIGTERM/SIGINT raise in the main thread): no orphans
        _kill_group(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1.0)
        raise
    finally:
        # a grandchild left behind may still hold the pipes open: stop reading after a second
        for reader in readers:
            reader.join(timeout=1.0)
        for stream in (proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]
    return ProcessResult(
        argv=args,
        returncode=returncode,
        stdout=readers[0].text(),
        stderr=readers[1].text(),
        seconds=time.monotonic() - began,
    )
