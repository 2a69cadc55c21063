#!/usr/bin/env bash
# Set up (a virtual environment in .venv with the package and its test tools) and run
# every check: ruff, mypy, the import-linter contracts, and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy lora_desktop/models lora_desktop/services
echo "== import-linter"
.venv/bin/lint-imports
echo "== pytest"
set +e
.venv/bin/python -m pytest -p no:cacheprovider --timeout-method=thread "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit "$status"
