"""Tensor-table checks in a helper process, so a hash run leaves the GIL to the window.

Checking one SDXL-sized table (``tensor_table.check_table``) is ~3 ms of Python
that holds the GIL, most of it inside one ``json`` decode that cannot be
interrupted. In a hash run of a thousand small files that is 3 s during which
the window's thread queues for the GIL at every call into Python (a list paint
makes hundreds), and the hashing threads wait too. A ``TableWorker`` runs the
same check in a child Python process on the other core instead.

The child speaks a small binary protocol on its standard input and output, never
pickle (no code path of the app unpickles anything): a request is two
little-endian 64-bit numbers (header length, data size) and the header's bytes;
a reply is a 32-bit length and a JSON object, ``{"tensors": n, "incomplete":
reason-or-null}`` or ``{"error": message}`` for a header the check refuses.

Whatever goes wrong with the child (it cannot start, dies, answers nonsense),
the check runs in this process instead: slower for the window, never wrong.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from lora_desktop.services.inspect.header_json import HeaderError
from lora_desktop.services.inspect.tensor_table import TableCheck, check_table

log = logging.getLogger(__name__)

_REQUEST = struct.Struct("<QQ")
_REPLY = struct.Struct("<I")
_MAX_REPLY = 1 << 20
ANSWER_TIMEOUT_S = 30.0
"""A child that takes longer to take a header and answer is given up (a check of the
largest header the hash pass checks, 32 MiB, takes well under a second)."""
PIPE_SIZE = 1024 * 1024
"""The pipes' buffer (Linux allows up to 1 MiB unprivileged): a whole header in one write."""
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])
"""The folder holding ``lora_desktop``: the child imports the same code."""


class WorkerGone(Exception):
    """The child process cannot answer (it died, or never started)."""


class _CheckCrashed(Exception):
    """The check failed in the child with an unexpected error (run it here to see it)."""


class TableWorker:
    """One child process checking tables; thread-safe (one check at a time)."""

    def __init__(self, command: Sequence[str] | None = None) -> None:
        self._command = list(command) if command else [sys.executable, "-m", __name__]
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._failed = False

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The child while it runs (None before ``start`` and after ``close``)."""
        return self._process

    @property
    def failed(self) -> bool:
        """Whether checks fell back to this process (the child could not answer)."""
        return self._failed

    def start(self) -> bool:
        """Start the child (it imports while the caller goes on); False if it cannot."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        try:
            self._process = subprocess.Popen(
                self._command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,  # the pipes are used through their descriptors, with deadlines
                stderr=subprocess.DEVNULL,
                env=env,
                close_fds=True,
            )
        except OSError as exc:
            log.warning("table checks stay in this process: %s", exc)
            self._failed = True
            return False
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                _widen(pipe.fileno())
        return True

    def check(self, raw: bytes, data_size: int) -> TableCheck:
        """``tensor_table.check_table(raw, data_size)``, run by the child when it can.

        Raises:
            HeaderError: the header or an entry is malformed (the child's message).
        """
        with self._lock:
            process = self._process
            if not self._failed and process is not None:
                try:
                    return _ask(process, raw, data_size)
                except _CheckCrashed:
                    pass
                except WorkerGone as exc:
                    self._failed = True
                    log.warning("table checks back in this process: %s", exc)
                    _stop(process)
        return check_table(raw, data_size)

    def close(self) -> None:
        """End the child (it exits when its input closes)."""
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            _stop(process)


class TableWorkers:
    """Several ``TableWorker`` processes: each check goes to one that is free."""

    def __init__(self, count: int) -> None:
        self._all = [TableWorker() for _ in range(max(1, count))]
        self._free: queue.SimpleQueue[TableWorker] = queue.SimpleQueue()

    def start(self) -> None:
        """Start every child (see ``TableWorker.start``)."""
        for worker in self._all:
            worker.start()
            self._free.put(worker)

    def check(self, raw: bytes, data_size: int) -> TableCheck:
        """``TableWorker.check`` on the first free worker."""
        worker = self._free.get()
        try:
            return worker.check(raw, data_size)
        finally:
            self._free.put(worker)

    def close(self) -> None:
        """End every child."""
        for worker in self._all:
            worker.close()


def _ask(process: subprocess.Popen[bytes], raw: bytes, data_size: int) -> TableCheck:
    stdin, stdout = process.stdin, process.stdout
    if stdin is None or stdout is None:
        raise WorkerGone("no pipes")
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    try:
        _write_all(stdin.fileno(), _REQUEST.pack(len(raw), data_size) + raw, deadline)
        (length,) = _REPLY.unpack(_read_exact(stdout.fileno(), _REPLY.size, deadline))
        if length > _MAX_REPLY:
            raise WorkerGone(f"a reply of {length} bytes")
        reply = json.loads(_read_exact(stdout.fileno(), length, deadline))
    except (OSError, ValueError, struct.error) as exc:
        raise WorkerGone(str(exc) or type(exc).__name__) from None
    if not isinstance(reply, dict):
        raise WorkerGone("a reply that is not an object")
    if isinstance(reply.get("error"), str):
        raise HeaderError(reply["error"])
    if "crash" in reply:
        raise _CheckCrashed(str(reply["crash"]))
    tensors, incomplete = reply.get("tensors"), reply.get("incomplete")
    if type(tensors) is not int or not (incomplete is None or isinstance(incomplete, str)):
        raise WorkerGone("a malformed reply")
    return TableCheck(tensors, incomplete, {})


def _wait(fd: int, deadline: float, *, write: bool) -> None:
    """Wait until ``fd`` can be read (or written) without blocking, or the deadline."""
    left = deadline - time.monotonic()
    ready = (
        select.select([], [fd], [], max(left, 0))
        if write
        else select.select([fd], [], [], max(left, 0))
    )
    if not any(ready):
        raise WorkerGone(f"no answer within {ANSWER_TIMEOUT_S:g} s")


def _widen(fd: int) -> None:
    """Make a pipe end non-blocking (every wait is ``_wait``'s, with its deadline) and, on
    Linux, its buffer big enough for a whole SDXL header: one write, one wake-up."""
    os.set_blocking(fd, False)
    resize = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if resize is not None:
        # Above the system's limit, the default size works, only more slowly.
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, resize, PIPE_SIZE)


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        _wait(fd, deadline, write=True)
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            continue


def _read_exact(fd: int, size: int, deadline: float) -> bytes:
    parts: list[bytes] = []
    left = size
    while left:
        _wait(fd, deadline, write=False)
        try:
            part = os.read(fd, left)
        except BlockingIOError:
            continue
        if not part:
            raise WorkerGone("the check process ended")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=1)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The child's loop: answer each request on ``source`` until it ends."""
    while True:
        head = source.read(_REQUEST.size)
        if len(head) != _REQUEST.size:
            return
        length, data_size = _REQUEST.unpack(head)
        raw = source.read(length)
        if len(raw) != length:
            return
        try:
            verdict = check_table(raw, data_size)
            answer: dict[str, object] = {
                "tensors": verdict.tensors,
                "incomplete": verdict.incomplete,
            }
        except HeaderError as exc:
            answer = {"error": exc.message}
        except Exception as exc:  # a bug: the caller checks in-process and sees it
            answer = {"crash": repr(exc)}
        body = json.dumps(answer).encode()
        sink.write(_REPLY.pack(len(body)) + body)
        sink.flush()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the app, which ends us
    serve(sys.stdin.buffer, sys.stdout.buffer)
