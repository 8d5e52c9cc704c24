#!/usr/bin/env bash
# Install everything the checks need into .venv, then run them all: lint, format, types,
# layer contracts and the test suite (unit + integration, real sockets).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
# The state tests need a real Redis: the one running, or redis-server started by the tests themselves.
if ! command -v redis-server >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing redis-server (Debian) for the state tests"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } \
    || echo "redis-server could not be installed: the Redis tests will be skipped"
fi
echo "== ruff";          .venv/bin/ruff check src tests tools
echo "== ruff format";   .venv/bin/ruff format --check src tests tools
echo "== mypy --strict"; .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports --no-cache
echo "== pytest";        .venv/bin/pytest -q "$@"
