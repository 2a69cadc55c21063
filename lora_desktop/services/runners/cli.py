"""The ``cli`` runner: run a program with an argument vector, never a shell.

The prompt is written to a temporary file readable only by the user; an
argument that is exactly ``{prompt_file}`` becomes its path. The program runs
in its own process group with stdin closed, so a timeout kills it and every
child it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from typing import Any

from lora_desktop.services.runners import Outcome

OUTPUT_CAP = 64 * 1024
PROMPT_FILE = "{prompt_file}"
PROMPT_ARG = "{prompt}"


def _tail(data: bytes) -> tuple[str, bool]:
    cut = len(data) > OUTPUT_CAP
    return data[-OUTPUT_CAP:].decode("utf-8", "replace"), cut


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def run_cli(prompt: str, params: dict[str, Any]) -> Outcome:
    """Run the program once; report its exit code and the tail of its output."""
    argv = [str(a) for a in params["argv"]]
    timeout = float(params.get("timeout", 30.0))
    cwd = params.get("cwd") or None
    fd, prompt_path = tempfile.mkstemp(prefix="lora-desktop-prompt-", suffix=".txt")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(prompt.encode("utf-8"))
        args = [prompt_path if a == PROMPT_FILE else prompt if a == PROMPT_ARG else a for a in argv]
        try:
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                start_new_session=True,
            )
        except FileNotFoundError:
            return Outcome(False, error=f"program not found: {args[0]}; check the command")
        except PermissionError:
            return Outcome(False, error=f"program not executable: {args[0]}; check its permissions")
        except OSError as exc:
            return Outcome(False, error=f"cannot run {args[0]}: {exc.strerror or exc}")
        timed_out = False
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process)
            stdout, stderr = process.communicate()
        out, out_cut = _tail(stdout)
        err, err_cut = _tail(stderr)
        result: dict[str, Any] = {
            "exit_code": process.returncode,
            "stdout": out,
            "stderr": err,
            "stdout_truncated": out_cut,
            "stderr_truncated": err_cut,
        }
        if timed_out:
            return Outcome(False, result, f"{args[0]} did not finish within {timeout:g} s; killed")
        if process.returncode != 0:
            return Outcome(False, result, f"{args[0]} exited with status {process.returncode}")
        return Outcome(True, result)
    finally:
        os.unlink(prompt_path)
