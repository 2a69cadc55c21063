"""Running the app in a child process until it closes itself (exit status and timing)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple


class Closed(NamedTuple):
    """How a child app ended: its first stdout line, exit status, seconds from that
    line to the exit, and its stderr."""

    line: str
    status: int
    seconds: float
    stderr: str


def run_until_closed(script: str, args: list[str], config_home: Path) -> Closed:
    """Run ``script`` (``python -c``, offscreen, settings under ``config_home``); time the
    exit from its first printed line. A child still running after 10 s is killed."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(config_home))
    with subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            line = process.stdout.readline()
            started = time.monotonic()
            status = process.wait(timeout=10)
            elapsed = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        stderr = process.stderr.read()
    return Closed(line.strip(), status, elapsed, stderr)
