#!/usr/bin/env bash
# The stage seam's cost, same machine, same hour, interleaved rounds (so drift hits every variant):
#   base   a checkout of the build before the stages (BASE=path, with its own .venv)
#   none   this build, no stage at all (access log off)
#   noop   this build, five no-op stages (one at each point) + a settle consumer that only counts
#   log    the access log on, at --log-level warning (records built, not written)
#   info   the access log on and written (--log-level info, to run/switchgear.log): as shipped
# usage: BASE=/path/to/old/checkout bench/stages/compare.sh [ROUNDS] [run.py options]
# Writes results/stages-<variant>-<stamp>.{md,json} per round and prints a summary table.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS="${1:-3}"; shift || true
: "${BASE:?set BASE to a checkout of the build before the stages}"
SCEN="${SCENARIOS:-gw-c1,gw-c32,gw-stream-c32}"
for round in $(seq "$ROUNDS"); do
  for variant in ${VARIANTS:-base none noop log info}; do
    case "$variant" in
      base) dir="$BASE"; cfg=switchgear-bench.yaml; log=false ;;
      none) dir="$HERE/.."; cfg=switchgear-bench.yaml; log=false ;;
      noop) dir="$HERE/.."; cfg=switchgear-stages.yaml; log=false ;;
      log)  dir="$HERE/.."; cfg=switchgear-bench.yaml; log=true ;;
      info) dir="$HERE/.."; cfg=switchgear-bench.yaml; log=true ;;
    esac
    level=warning; [ "$variant" = info ] && level=info
    echo "== round $round: $variant"
    (cd "$dir" && CONFIG="$cfg" ACCESS_LOG="$log" LOG_LEVEL="$level" NAME="stages-$variant" bench/switchgear.sh run \
      --scenarios "$SCEN" --skip-direct "$@" >/dev/null)
    if [ "$dir" != "$HERE/.." ]; then cp "$dir"/bench/results/stages-"$variant"-*.json "$HERE/results/" 2>/dev/null || true; fi
  done
done
"$HERE/../.venv/bin/python" "$HERE/stages/summary.py" "$HERE/results"
