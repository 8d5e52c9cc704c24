#!/usr/bin/env bash
# Translation benchmark: OpenAI clients served by an OpenAI-compatible upstream (passthrough) and
# by an Anthropic upstream (translated), the same fixed answers, measured in the same run.
# usage: bench/translate/run.sh   (env: CPUS for the gateway, default 0; DURATION, default 10)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../lib/proc.sh"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
export BENCH_PORT="${BENCH_PORT:-14100}"
DUR="${DURATION:-10}"
KEY=sk-bench-0123456789
stop_all() {
  stop_service switchgear || true; stop_service upstream-anthropic || true
  "$BENCH_DIR/upstream/upstream.sh" stop || true
}
trap stop_all EXIT
"$BENCH_DIR/upstream/upstream.sh" start
mkdir -p "$RUN_DIR/nginx-anthropic/tmp"
python3 "$HERE/fake_anthropic.py" 18002 > "$RUN_DIR/nginx-anthropic/nginx.conf"
start_service upstream-anthropic "$RUN_DIR/upstream-anthropic.log" $(pin_prefix 1) \
  nginx -p "$RUN_DIR/nginx-anthropic/" -c nginx.conf -e "$RUN_DIR/nginx-anthropic/error.log" -g "daemon off;"
wait_http http://127.0.0.1:18002/health 20
start_service switchgear "$RUN_DIR/switchgear.log" $(pin_prefix "${CPUS:-0}") "$ROOT/.venv/bin/switchgear" serve \
  --config "$HERE/switchgear-translate.yaml" --log-level warning
wait_http "http://127.0.0.1:$BENCH_PORT/health/ready" 30
cd "$BENCH_DIR"
for kind in passthrough translated; do
  fast=fake-fast; stream=fake-stream
  [ "$kind" = translated ] && fast=claude-fast && stream=claude-stream
  ./run.sh --name "translate-$kind" --url "http://127.0.0.1:$BENCH_PORT" --key "$KEY" --model "$fast" \
    --stream-model "$stream" --slow-model "$fast" --scenarios direct-c1,gw-c1,gw-c32,gw-stream-c1,gw-stream-c32 \
    --duration "$DUR" --gw-pidfile run/switchgear.pid --note "OpenAI client, $kind ($fast / $stream)"
done
BODY='{"model":"%s","messages":[{"role":"user","content":"Write a haiku about gateways."}],"max_tokens":64,"stream":true}'
echo "TTFB, Anthropic upstream directly:"
taskset -c 1 python3 "$HERE/ttfb.py" http://127.0.0.1:18002 /stream/v1/messages \
  "$(printf "$BODY" claude-bench)" 3000
echo "TTFB, through switchgear (translated to OpenAI chunks):"
taskset -c 1 python3 "$HERE/ttfb.py" "http://127.0.0.1:$BENCH_PORT" /v1/chat/completions \
  "$(printf "$BODY" claude-stream)" 3000 "authorization: Bearer $KEY"
echo "TTFB, OpenAI upstream directly:"
taskset -c 1 python3 "$HERE/ttfb.py" http://127.0.0.1:18000 /stream/v1/chat/completions \
  "$(printf "$BODY" gpt-4o-mini)" 3000
echo "TTFB, through switchgear (passthrough):"
taskset -c 1 python3 "$HERE/ttfb.py" "http://127.0.0.1:$BENCH_PORT" /v1/chat/completions \
  "$(printf "$BODY" fake-stream)" 3000 "authorization: Bearer $KEY"
