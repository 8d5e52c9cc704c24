#!/usr/bin/env bash
# What the structured PII guardrail costs on the request path, same build, same run, interleaved:
#   off   no guardrail (switchgear-bench.yaml)
#   pii   the `pii` policy on input and output (switchgear-guardrails.yaml): the prompt decoded and
#         checked at admit, the answer decoded, checked and encoded again (no byte passthrough)
# usage: bench/guardrails/compare.sh [ROUNDS] [run.py options]   (VARIANTS="off pii")
# Writes results/guardrails-<variant>-<stamp>.{md,json} per round and prints a summary table.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS="${1:-3}"; shift || true
SCEN="${SCENARIOS:-gw-c1,gw-c32,gw-stream-c32}"
for round in $(seq "$ROUNDS"); do
  for variant in ${VARIANTS:-off pii}; do
    cfg=switchgear-guardrails.yaml
    [ "$variant" = off ] && cfg=switchgear-bench.yaml
    echo "== round $round: $variant"
    (cd "$HERE/.." && CONFIG="$cfg" NAME="guardrails-$variant" bench/switchgear.sh run \
      --scenarios "$SCEN" --skip-direct "$@" >/dev/null)
  done
done
"$HERE/../.venv/bin/python" "$HERE/stages/summary.py" "$HERE/results" guardrails ${VARIANTS:-off pii}
