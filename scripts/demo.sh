#!/usr/bin/env bash
# Install switchgear into .venv and run it against the simulated providers: no keys needed.
# The gateway listens on http://127.0.0.1:4000 (OpenAI base URL http://127.0.0.1:4000/v1).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e .
.venv/bin/switchgear simulate --port 9999 >/dev/null &
sim=$!
trap 'kill $sim 2>/dev/null' EXIT
.venv/bin/switchgear serve --config examples/demo.yaml "$@"
