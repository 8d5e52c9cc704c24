#!/usr/bin/env bash
# Install switchgear into .venv and run it against the simulated providers: no keys needed.
# The gateway listens on http://127.0.0.1:4000 (OpenAI base URL http://127.0.0.1:4000/v1).
# Stopping this script (Ctrl-C, or `kill <its pid>`) stops the gateway and the simulator too.
# SWITCHGEAR=<command> uses an installed switchgear instead of .venv; SIM_PORT moves the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SWITCHGEAR:-}" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -e .
    SWITCHGEAR=.venv/bin/switchgear
fi
SIM_PORT=${SIM_PORT:-9999}
export SIM_URL="http://127.0.0.1:${SIM_PORT}"

sim="" gateway=""
stop() {
    trap - EXIT INT TERM
    [ -n "$gateway" ] && kill -TERM "$gateway" 2>/dev/null
    [ -n "$sim" ] && kill -TERM "$sim" 2>/dev/null
    wait
}
trap 'stop; exit 143' TERM
trap 'stop; exit 130' INT
trap stop EXIT

$SWITCHGEAR simulate --port "$SIM_PORT" >/dev/null &
sim=$!
$SWITCHGEAR serve --config examples/demo.yaml "$@" &
gateway=$!
# `wait` returns early when a trapped signal arrives, so the traps run at once.
status=0
wait "$gateway" || status=$?
gateway=""
exit "$status"
