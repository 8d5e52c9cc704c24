#!/usr/bin/env bash
# What observability costs on the request path, same build, same run, interleaved rounds:
#   off       metrics and tracing off (switchgear-bench.yaml as the other benchmarks run it)
#   metrics   observability.metrics on (the settle consumer; nobody scrapes during the run)
#   full      metrics on and tracing sampled at 1 % (TRACE_RATIO), exported over OTLP/HTTP to
#             otlp_sink.py on CPU 1 (the spans it received are printed after each round)
#   scraped   full, with /metrics scraped every second during the run (as Prometheus would)
# usage: bench/observability/compare.sh [ROUNDS] [run.py options]   (VARIANTS="off metrics full")
# Writes results/observability-<variant>-<stamp>.{md,json} per round and prints a summary table.
# Issue 14's target: full >= 90 % of off's requests/s in the core scenarios.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
source "$HERE/lib/proc.sh"
ROUNDS="${1:-3}"; shift || true
SCEN="${SCENARIOS:-gw-c1,gw-c32,gw-stream-c32}"
PORT="${BENCH_PORT:-14100}"
export OTLP_PORT="${OTLP_PORT:-14318}"

scrape_loop() {  # stops by itself after 10 minutes at most
  for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics" -H "authorization: Bearer sk-bench-0123456789" || true; sleep 1; done
}

trap '"$HERE/switchgear.sh" stop >/dev/null 2>&1 || true; stop_service otlp-sink >/dev/null 2>&1 || true;
      [ -n "${SCRAPER:-}" ] && kill "$SCRAPER" 2>/dev/null || true; "$HERE/upstream/upstream.sh" stop >/dev/null 2>&1 || true' EXIT
"$HERE/upstream/upstream.sh" start >/dev/null
# shellcheck disable=SC2046
start_service otlp-sink "$RUN_DIR/otlp-sink.log" $(pin_prefix 1) "$HERE/../.venv/bin/python" "$HERE/observability/otlp_sink.py" "$OTLP_PORT" >/dev/null
wait_http "http://127.0.0.1:$OTLP_PORT/count" 10
for round in $(seq "$ROUNDS"); do
  for variant in ${VARIANTS:-off metrics full}; do
    echo "== round $round: $variant"
    export METRICS=false TRACING=false
    case "$variant" in
      off) ;;
      metrics) METRICS=true ;;
      full|scraped) METRICS=true TRACING=true ;;
    esac
    "$HERE/switchgear.sh" start >/dev/null
    SCRAPER=""
    if [ "$variant" = scraped ]; then scrape_loop & SCRAPER=$!; fi
    (cd "$HERE" && ./run.sh --name "observability-$variant" --url "http://127.0.0.1:$PORT" --key sk-bench-0123456789 \
      --model fake-fast --stream-model fake-stream --slow-model fake-slow --gw-pidfile run/switchgear.pid \
      --note "switchgear $("$HERE/../.venv/bin/switchgear" version), observability $variant" \
      --scenarios "$SCEN" --skip-direct "$@" >/dev/null)
    if [ -n "$SCRAPER" ]; then kill "$SCRAPER" 2>/dev/null || true; wait "$SCRAPER" 2>/dev/null || true; fi
    if [ "$METRICS" = true ]; then
      echo "   requests counted: $(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^switchgear_requests_total/ {s += $NF} END {print s}')"
    fi
    "$HERE/switchgear.sh" stop >/dev/null
    echo "   spans received so far: $(curl -sf "http://127.0.0.1:$OTLP_PORT/count")"
  done
done
"$HERE/../.venv/bin/python" "$HERE/stages/summary.py" "$HERE/results" observability ${VARIANTS:-off metrics full}
