#!/usr/bin/env bash
# Install everything the checks need into .venv, then run them all: lint, format, types,
# layer contracts and the test suite (unit + integration, real sockets).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
echo "== ruff";          .venv/bin/ruff check src tests tools
echo "== ruff format";   .venv/bin/ruff format --check src tests tools
echo "== mypy --strict"; .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports --no-cache
echo "== pytest";        .venv/bin/pytest -q "$@"
