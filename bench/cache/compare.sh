#!/usr/bin/env bash
# What the exact cache costs and saves on the request path, same build, same run, interleaved rounds:
#   off      no cache (switchgear-bench.yaml)
#   hit      the cache on (switchgear-cache.yaml); the load repeats one request, so every request
#            after the first is answered from the cache (streamed ones replayed as a stream)
#   refresh  the cache on, every request with 'x-switchgear-cache: refresh': looked past, sent
#            upstream, and its answer stored again (the miss path plus the fill, in settle)
#   miss     the cache on, a new question every request (BENCH_VARY=number): the lookup misses,
#            the request goes upstream and its answer is stored
#   sem-miss the semantic cache on too (switchgear-semantic.yaml), a new question every request:
#            exact miss, embedding, semantic lookup (refused by the number veto), upstream, fills
#   sem-hit  the semantic cache on, the question in a new letter case every request: exact miss,
#            embedding, semantic hit (the uncased embedder reads the same text)
# usage: bench/cache/compare.sh [ROUNDS] [run.py options]   (VARIANTS="off hit refresh miss sem-miss sem-hit")
# Writes results/cache-<variant>-<stamp>.{md,json} per round and prints a summary table.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS="${1:-3}"; shift || true
SCEN="${SCENARIOS:-gw-c1,gw-c32,gw-stream-c32}"
for round in $(seq "$ROUNDS"); do
  for variant in ${VARIANTS:-off hit refresh}; do
    cfg=switchgear-cache.yaml; extra=(); vary=""
    case "$variant" in
      off) cfg=switchgear-bench.yaml ;;
      hit) ;;
      refresh) extra=(-H "x-switchgear-cache: refresh") ;;
      miss) vary=number ;;
      sem-miss) cfg=switchgear-semantic.yaml; vary=number ;;
      sem-hit) cfg=switchgear-semantic.yaml; vary=case ;;
      *) echo "unknown variant: $variant" >&2; exit 2 ;;
    esac
    echo "== round $round: $variant"
    (cd "$HERE/.." && BENCH_VARY="$vary" CONFIG="$cfg" NAME="cache-$variant" bench/switchgear.sh run \
      --scenarios "$SCEN" --skip-direct "${extra[@]}" "$@" >/dev/null)
  done
done
"$HERE/../.venv/bin/python" "$HERE/stages/summary.py" "$HERE/results" cache ${VARIANTS:-off hit refresh}
