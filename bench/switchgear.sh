#!/usr/bin/env bash
# switchgear under the bench harness.
# usage: bench/switchgear.sh start|stop|run [run.sh options]
#   start: the gateway from this checkout (.venv) with switchgear-bench.yaml, pinned to CPUS
#   run:   fake upstreams + gateway + ./run.sh (direct baseline and every scenario), then stop all
# env:   CPUS (taskset list for the gateway, default 0), WORKERS (default 1), BENCH_PORT (14100),
#        NAME (results name, default switchgear-<WORKERS>w), CONFIG (default switchgear-bench.yaml;
#        switchgear-stages.yaml adds five no-op stages and a counting settle consumer),
#        ACCESS_LOG (false), LOG_LEVEL (warning; info writes the access log to run/switchgear.log)
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/lib/proc.sh"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
CPUS="${CPUS:-0}"
export WORKERS="${WORKERS:-1}" BENCH_PORT="${BENCH_PORT:-14100}" ACCESS_LOG="${ACCESS_LOG:-false}"
CONFIG="${CONFIG:-switchgear-bench.yaml}"
export PYTHONPATH="$BENCH_DIR/stages${PYTHONPATH:+:$PYTHONPATH}"  # the no-op stages of switchgear-stages.yaml

start() {
  [ -x "$ROOT/.venv/bin/switchgear" ] || { echo "install first: scripts/test.sh or pip install -e ." >&2; exit 1; }
  # shellcheck disable=SC2046
  start_service switchgear "$RUN_DIR/switchgear.log" $(pin_prefix "$CPUS") "$ROOT/.venv/bin/switchgear" serve \
    --config "$BENCH_DIR/$CONFIG" --log-level "${LOG_LEVEL:-warning}"
  wait_http "http://127.0.0.1:$BENCH_PORT/health/ready" 30
  echo "switchgear ready on http://127.0.0.1:$BENCH_PORT (workers=$WORKERS cpus=$CPUS)"
}

run() {
  trap 'stop_service switchgear || true; "$BENCH_DIR/upstream/upstream.sh" stop || true' EXIT
  "$BENCH_DIR/upstream/upstream.sh" start
  start
  cd "$BENCH_DIR"
  ./run.sh --name "${NAME:-switchgear-${WORKERS}w}" --url "http://127.0.0.1:$BENCH_PORT" --key sk-bench-0123456789 \
    --model fake-fast --stream-model fake-stream --slow-model fake-slow --gw-pidfile run/switchgear.pid \
    --note "switchgear $("$ROOT/.venv/bin/switchgear" version), $WORKERS worker(s), gateway pinned to CPU $CPUS" "$@"
}

case "${1:-}" in
  start) start ;;
  stop) stop_service switchgear ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 start|stop|run [run.sh options]" >&2; exit 2 ;;
esac
