#!/usr/bin/env bash
# What a tiering decision costs on the request path, same gateway, same run, interleaved rounds:
#   off   model fake-fast (a plain model)
#   on    model fake-auto (tiered: the shipped classifier decides between fake-fast and fake-strong
#         for every request; same fake upstream behind both tiers)
# usage: bench/tiering/compare.sh [ROUNDS] [run.py options]   (VARIANTS="off on")
# Writes results/tiering-<variant>-<stamp>.{md,json} per round and prints a summary table.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS="${1:-3}"; shift || true
SCEN="${SCENARIOS:-gw-c1,gw-c32}"  # the decision is made before the upstream: whole answers show it
for round in $(seq "$ROUNDS"); do
  for variant in ${VARIANTS:-off on}; do
    model=fake-fast; [ "$variant" = on ] && model=fake-auto
    echo "== round $round: $variant"
    (cd "$HERE/.." && CONFIG=switchgear-tiering.yaml NAME="tiering-$variant" bench/switchgear.sh run \
      --scenarios "$SCEN" --skip-direct --model "$model" "$@" >/dev/null)
  done
done
"$HERE/../.venv/bin/python" "$HERE/stages/summary.py" "$HERE/results" tiering ${VARIANTS:-off on}
