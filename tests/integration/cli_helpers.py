"""Running the command line in a subprocess on a test's database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m lora_desktop --database DB ARGS...``, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "lora_desktop", "--database", str(db), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def cli_json(db: Path, *args: str) -> Any:
    """Run with ``--json``, expect success, return the parsed output."""
    result = run_cli(db, "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
