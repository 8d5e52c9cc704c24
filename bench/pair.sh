#!/usr/bin/env bash
# Paired A/B: two gateways pinned to the same core at the same time, each loaded by its own wrk.
# The scheduler shares CPU 0 between them, so whatever slows the machine in a round (other work,
# the VM's neighbours, frequency) slows both alike, and the ratio of their requests/s is the ratio
# of their CPU cost per request. Separate runs on this kind of shared VM drift by ±10 % from one
# minute to the next; a paired round's ratio moves by a few points.
#
# usage: A="VAR=value ..." B="VAR=value ..." bench/pair.sh [ROUNDS] [SECONDS] [CONNECTIONS]
#   each side's settings: CONFIG (a bench/*.yaml, default switchgear-bench.yaml), MODEL (default
#   fake-fast), VARY (chat.lua's BENCH_VARY), HEADERS (chat.lua's BENCH_HEADERS), GOV=1 (make a
#   virtual key through the admin API and send it), and anything the configuration reads
#   (METRICS=true, TRACING=true, SPEND_LOG=false, ...). NAME names the result file.
# Writes results/pair-<NAME>-<stamp>.md; needs the fake upstreams (started here, stopped after).
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/lib/proc.sh"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
ROUNDS="${1:-5}"; SECONDS_EACH="${2:-10}"; CONNS="${3:-32}"
MASTER=sk-bench-0123456789
A="${A:-}"; B="${B:-}"
declare -A PORT=([a]=14101 [b]=14102) KEY=() MODEL_OF=() VARY_OF=() HEADERS_OF=()

side() {  # side a|b -> its settings string
  if [ "$1" = a ]; then echo "$A"; else echo "$B"; fi
}

start_side() {
  local s="$1" spec; spec="$(side "$s")"
  rm -rf "$RUN_DIR/pair-$s"; mkdir -p "$RUN_DIR/pair-$s"
  (
    export BENCH_PORT="${PORT[$s]}" DATA_DIR="$RUN_DIR/pair-$s" WORKERS=1 ACCESS_LOG=false
    # shellcheck disable=SC2086
    [ -z "$spec" ] || export $spec
    # shellcheck disable=SC2046
    start_service "pair-$s" "$RUN_DIR/pair-$s.log" $(pin_prefix 0) "$ROOT/.venv/bin/switchgear" serve \
      --config "$BENCH_DIR/${CONFIG:-switchgear-bench.yaml}" --log-level warning >/dev/null
  )
  wait_http "http://127.0.0.1:${PORT[$s]}/health/ready" 60
  local gov model vary headers
  gov="$(get "$spec" GOV)"; model="$(get "$spec" MODEL)"; vary="$(get "$spec" VARY)"; headers="$(get "$spec" HEADERS)"
  KEY[$s]="$MASTER"
  if [ "$gov" = 1 ]; then
    KEY[$s]="$(curl -sf -X POST "http://127.0.0.1:${PORT[$s]}/admin/keys" -H "authorization: Bearer $MASTER" \
      -H 'content-type: application/json' \
      -d '{"name":"bench","models":["fake-*"],"max_budget":"1000000","budget_duration":"30d",
           "rpm_limit":100000000,"tpm_limit":100000000000,"max_parallel_requests":100000}' \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
  fi
  MODEL_OF[$s]="${model:-fake-fast}"; VARY_OF[$s]="$vary"; HEADERS_OF[$s]="$headers"
}

get() {  # get "SPEC" NAME -> the value NAME has in SPEC (empty when absent)
  local item
  for item in $1; do
    case "$item" in "$2="*) echo "${item#*=}"; return ;; esac
  done
}

load() {  # load a|b SECONDS OUTFILE: wrk on CPU 1 against that side
  local s="$1"
  BENCH_KEY="${KEY[$s]}" BENCH_MODEL="${MODEL_OF[$s]}" BENCH_VARY="${VARY_OF[$s]}" BENCH_HEADERS="${HEADERS_OF[$s]}" \
    $(pin_prefix 1) wrk -t1 -c"$CONNS" -d"${2}s" -s "$BENCH_DIR/load/chat.lua" \
    "http://127.0.0.1:${PORT[$s]}/v1/chat/completions" > "$3"
}

field() { grep -o "\"$2\":[0-9.]*" "$1" | head -1 | cut -d: -f2; }

trap 'stop_service pair-a >/dev/null || true; stop_service pair-b >/dev/null || true;
      "$BENCH_DIR/upstream/upstream.sh" stop >/dev/null || true' EXIT
"$BENCH_DIR/upstream/upstream.sh" start >/dev/null
start_side a
start_side b
load a 3 /dev/null & load b 3 /dev/null & wait  # warm-up, together
stamp="$(date +%Y%m%d-%H%M%S)"
out="$BENCH_DIR/results/pair-${NAME:-ab}-$stamp.md"
{
  echo "# pair ${NAME:-ab} ($stamp): $ROUNDS rounds of ${SECONDS_EACH}s, $CONNS connections each, both gateways on CPU 0"
  echo
  echo "- A: \`${A:-defaults}\`"
  echo "- B: \`${B:-defaults}\`"
  echo
  echo "| round | A req/s | A p50 ms | B req/s | B p50 ms | B / A |"
  echo "|---|---|---|---|---|---|"
} > "$out"
ratios=()
for round in $(seq "$ROUNDS"); do
  load a "$SECONDS_EACH" "$RUN_DIR/pair-a.wrk" & load b "$SECONDS_EACH" "$RUN_DIR/pair-b.wrk" & wait
  for s in a b; do
    bad="$(field "$RUN_DIR/pair-$s.wrk" bad)"
    [ "${bad:-1}" = 0 ] || { echo "side $s: $bad bad responses: $(grep -o '"first_bad":.*' "$RUN_DIR/pair-$s.wrk")" >&2; exit 1; }
  done
  ra="$(field "$RUN_DIR/pair-a.wrk" ok)"; rb="$(field "$RUN_DIR/pair-b.wrk" ok)"
  pa="$(field "$RUN_DIR/pair-a.wrk" p50_us)"; pb="$(field "$RUN_DIR/pair-b.wrk" p50_us)"
  ratio="$(python3 -c "print(f'{$rb / $ra:.3f}')")"; ratios+=("$ratio")
  python3 -c "print(f'| $round | {$ra / $SECONDS_EACH:,.0f} | {$pa / 1000:.2f} | {$rb / $SECONDS_EACH:,.0f} | {$pb / 1000:.2f} | {$ratio:.1%} |')" >> "$out"
done
python3 - "${ratios[@]}" >> "$out" <<'PY'
import statistics, sys
r = [float(x) for x in sys.argv[1:]]
print(f"\nB / A: mean {statistics.mean(r):.1%}, median {statistics.median(r):.1%}, range {min(r):.1%}–{max(r):.1%}")
PY
cat "$out"
