"""The ``cli`` runner: run a program with an argument vector, never a shell.

The prompt is written to a temporary file readable only by the user; an
argument that is exactly ``{prompt_file}`` becomes its path, one that is
exactly ``{prompt}`` the prompt itself (a placeholder inside a longer argument
is refused: it would invite quoting mistakes). The program runs in its own
process group with stdin closed and without the app's secrets in its
environment, so a timeout or a cancel kills it and every child it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from typing import Any

from lora_desktop.services.runners import Outcome

OUTPUT_CAP = 64 * 1024
PROMPT_FILE = "{prompt_file}"
PROMPT_ARG = "{prompt}"
PLACEHOLDERS = (PROMPT_FILE, PROMPT_ARG)
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL")
SECRET_NAMES = frozenset({"DATABASE_URL", "LORA_DESKTOP_DATABASE"})
CANCEL_POLL = 0.1
PIPE_GRACE = 2.0
"""Seconds to wait for the pipes to close once the program has ended."""


def check_argv(argv: list[str]) -> str | None:
    """Why ``argv`` cannot be run, or None when it can."""
    if not argv or not argv[0]:
        return "give the program to run and its arguments"
    for arg in argv:
        for placeholder in PLACEHOLDERS:
            if placeholder in arg and arg != placeholder:
                return f"{placeholder} must be a whole argument, not part of {arg!r}"
    return None


def child_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The app's environment without its secrets: names with TOKEN, SECRET, PASSWORD
    or KEY in them, and the library's location (it may hold a database password)."""
    source = os.environ if environ is None else environ
    return {
        name: value
        for name, value in source.items()
        if name.upper() not in SECRET_NAMES
        and not any(word in name.upper() for word in SECRET_WORDS)
    }


class _Tail:
    """The last ``OUTPUT_CAP`` bytes of a pipe, read on a thread (memory stays bounded)."""

    def __init__(self, stream: Any) -> None:
        self.data = bytearray()
        self.total = 0
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: Any) -> None:
        try:
            with contextlib.suppress(OSError, ValueError):
                while chunk := stream.read1(65536):
                    self.total += len(chunk)
                    self.data.extend(chunk)
                    if len(self.data) > 2 * OUTPUT_CAP:
                        del self.data[: len(self.data) - OUTPUT_CAP]
        finally:
            stream.close()

    def text(self) -> tuple[str, bool]:
        """The kept tail, decoded, and whether anything before it was cut."""
        return bytes(self.data[-OUTPUT_CAP:]).decode("utf-8", "replace"), self.total > OUTPUT_CAP


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _wait(
    process: subprocess.Popen[bytes], timeout: float, cancel: threading.Event | None
) -> str | None:
    """Wait for the program; kill its group at the timeout or on cancel and say which."""
    deadline = time.monotonic() + timeout
    while True:
        # Short waits so a cancel is seen within a tenth of a second.
        step = min(CANCEL_POLL, max(0.0, deadline - time.monotonic()))
        try:
            process.wait(timeout=step)
            return None
        except subprocess.TimeoutExpired:
            pass
        if cancel is not None and cancel.is_set():
            _kill_group(process)
            process.wait()
            return "cancelled"
        if time.monotonic() >= deadline:
            _kill_group(process)
            process.wait()
            return "timeout"


def _start(args: list[str], cwd: str | None) -> subprocess.Popen[bytes] | Outcome:
    try:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=child_environment(),
            start_new_session=True,
        )
    except FileNotFoundError:
        return Outcome(False, error=f"program not found: {args[0]}; check the command")
    except PermissionError:
        return Outcome(False, error=f"program not executable: {args[0]}; check its permissions")
    except OSError as exc:
        return Outcome(False, error=f"cannot run {args[0]}: {exc.strerror or exc}")


def run_cli(prompt: str, params: dict[str, Any], cancel: threading.Event | None = None) -> Outcome:
    """Run the program once; report its exit code and the tail of its output.

    A timeout (``params["timeout"]`` seconds) or ``cancel`` being set kills the
    program's whole process group.
    """
    argv = [str(a) for a in params["argv"]]
    problem = check_argv(argv)
    if problem:
        return Outcome(False, error=f"bad command: {problem}")
    timeout = float(params.get("timeout", 30.0))
    cwd = params.get("cwd") or None
    fd, prompt_path = tempfile.mkstemp(prefix="lora-desktop-prompt-", suffix=".txt")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(prompt.encode("utf-8"))
        args = [prompt_path if a == PROMPT_FILE else prompt if a == PROMPT_ARG else a for a in argv]
        started = _start(args, cwd)
        if isinstance(started, Outcome):
            return started
        process = started
        out, err = _Tail(process.stdout), _Tail(process.stderr)
        ended = _wait(process, timeout, cancel)
        for tail in (out, err):
            tail.thread.join(PIPE_GRACE)
        if out.thread.is_alive() or err.thread.is_alive():
            # A child left behind still holds the pipes: end the group, then read to EOF.
            _kill_group(process)
            for tail in (out, err):
                tail.thread.join(PIPE_GRACE)
        stdout, stdout_cut = out.text()
        stderr, stderr_cut = err.text()
        result: dict[str, Any] = {
            "exit_code": process.returncode,
            "stdout": stdout,
            "stderr": stderr,
            "stdout_truncated": stdout_cut,
            "stderr_truncated": stderr_cut,
        }
        if ended == "cancelled":
            return Outcome(False, result, "cancelled")
        if ended == "timeout":
            return Outcome(False, result, f"{args[0]} did not finish within {timeout:g} s; killed")
        if process.returncode != 0:
            return Outcome(False, result, f"{args[0]} exited with status {process.returncode}")
        return Outcome(True, result)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(prompt_path)
