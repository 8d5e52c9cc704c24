#!/usr/bin/env bash
# Issue 15: throughput through a 10-deployment `latency` pool (breaker on) vs a single deployment,
# in the same run against the same fake upstream. Writes results/routing-single-*.md and
# results/routing-pool10-*.md; the pool's gw-c32/gw-c128 req/s should be within 10 % of the single's.
# usage: bench/routing/run.sh [run.sh options, default --scenarios gw-c1,gw-c32,gw-c128 --repeat 3]
# ORDER="pool single" runs the pool first (default "single pool"): alternate it between rounds, as
# the second model measured always follows a warm gateway that has served the first one's load.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BENCH="$(cd "$HERE/.." && pwd)"
export CONFIG=switchgear-routing.yaml
ARGS=("$@")
[ ${#ARGS[@]} -gt 0 ] || ARGS=(--scenarios gw-c1,gw-c32,gw-c128 --repeat 3)
trap '"$BENCH/switchgear.sh" stop || true; "$BENCH/upstream/upstream.sh" stop || true' EXIT
"$BENCH/upstream/upstream.sh" start
"$BENCH/switchgear.sh" start
COMMON=(--url "http://127.0.0.1:${BENCH_PORT:-14100}" --key sk-bench-0123456789 --gw-pidfile run/switchgear.pid
        --stream-model fake-stream --slow-model fake-slow)
cd "$BENCH"
for which in ${ORDER:-single pool}; do
  case "$which" in
    single) ./run.sh --name routing-single --model fake-fast "${COMMON[@]}" --note "single deployment" "${ARGS[@]}" ;;
    pool) ./run.sh --name routing-pool10 --model fake-pool "${COMMON[@]}" --note "10 deployments, latency, breaker on" "${ARGS[@]}" ;;
    *) echo "ORDER: single or pool, not $which" >&2; exit 2 ;;
  esac
done
