#!/usr/bin/env bash
# Set up (a virtual environment in .venv with the package) and start LoRA Desk on the
# embedded default library (a SQLite file in your per-user data folder).
# Extra arguments go to lora-desktop, e.g. `--database /path/to/library.sqlite3`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# Install again when the dependencies changed since the last install (a stamp file).
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ] \
    || ! .venv/bin/python -c "import lora_desktop, PySide6" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
    touch .venv/.installed
fi
# Byte-compile the package (only what changed): an editable install leaves that to the
# first import, which a PYTHONDONTWRITEBYTECODE environment forbids; compiling the
# ~100 modules again at every start costs ~0.13 s (docs/benchmarks.md).
.venv/bin/python -m compileall -q lora_desktop >/dev/null || true
exec .venv/bin/lora-desktop "$@"
