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
# The storage tests run on a real PostgreSQL: the server on 127.0.0.1:5432 if one answers, else one
# the tests start from PostgreSQL's binaries (tests/fakes/postgres.py). Install them when neither is here.
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null \
   && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && ! command -v initdb >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing postgresql (Debian) for the storage tests"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } \
      || echo "postgresql could not be installed: the PostgreSQL tests will be skipped"
  else
    echo "note: no PostgreSQL here (server or binaries): its storage tests will be skipped" >&2
  fi
fi
# The admin UI's browser tests drive Debian's chromium (Playwright never downloads a browser here).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing chromium (Debian) for the admin UI's browser tests"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    || echo "chromium could not be installed: the browser tests will be skipped"
fi
echo "== ruff";          .venv/bin/ruff check src tests tools
echo "== ruff format";   .venv/bin/ruff format --check src tests tools
echo "== mypy --strict"; .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports --no-cache
echo "== pytest";        .venv/bin/pytest -q "$@"
