#!/usr/bin/env bash
# What governance costs on the request path, same build, same run, interleaved rounds:
#   off      governance.enabled: false, the master key (switchgear-bench.yaml)
#   sqlite   governance on: a virtual key with a budget, rpm and tpm limits; memory state; the spend
#            log written to a SQLite file (switchgear-governance.yaml)
#   nolog    sqlite without the spend log (governance.spend_log.enabled: false): what the log costs
#   full     sqlite on a database that already holds 1,000,000 logged requests (PREFILLED, a SQLite file
#            filled once by bench/governance/spend_report.py, default /tmp/switchgear-1m.db)
#   pgredis  the same on PostgreSQL (PG_URL, default the local server's database "switchgear_bench",
#            created if absent) and Redis (REDIS_URL, default redis://127.0.0.1:6379/15, flushed first)
# usage: bench/governance/compare.sh [ROUNDS] [run.py options]   (VARIANTS="off sqlite pgredis")
# Writes results/governance-<variant>-<stamp>.{md,json} per round and prints a summary table.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
source "$HERE/lib/proc.sh"
ROUNDS="${1:-3}"; shift || true
SCEN="${SCENARIOS:-gw-c1,gw-c32,gw-stream-c32}"
PG_URL="${PG_URL:-postgresql://postgres@127.0.0.1:5432/switchgear_bench}"
BENCH_REDIS="${BENCH_REDIS:-redis://127.0.0.1:6379/15}"
PORT="${BENCH_PORT:-14100}"
MASTER=sk-bench-0123456789
export DATA_DIR="$RUN_DIR/governance-data"
PREFILLED="${PREFILLED:-/tmp/switchgear-1m.db}"
case " ${VARIANTS:-} " in *" full "*)
  [ -f "$PREFILLED" ] || "$HERE/../.venv/bin/python" "$HERE/governance/spend_report.py" --db sqlite \
    --path "$PREFILLED" --keep --runs 1 --sweep '' --no-http --out "$RUN_DIR" >/dev/null ;;
esac

make_key() {  # a key whose limits a benchmark never reaches, but which are checked on every request
  curl -sf -X POST "http://127.0.0.1:$PORT/admin/keys" -H "authorization: Bearer $MASTER" \
    -H 'content-type: application/json' \
    -d '{"name":"bench","models":["fake-*"],"max_budget":"1000000","budget_duration":"30d",
         "rpm_limit":100000000,"tpm_limit":100000000000,"max_parallel_requests":100000}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}

trap '"$HERE/switchgear.sh" stop >/dev/null 2>&1 || true; "$HERE/upstream/upstream.sh" stop >/dev/null 2>&1 || true' EXIT
"$HERE/upstream/upstream.sh" start >/dev/null
for round in $(seq "$ROUNDS"); do
  for variant in ${VARIANTS:-off sqlite pgredis}; do
    echo "== round $round: $variant"
    rm -rf "$DATA_DIR"; mkdir -p "$DATA_DIR"
    unset DATABASE_URL REDIS_URL; export SPEND_LOG=true
    cfg=switchgear-governance.yaml
    case "$variant" in
      off) cfg=switchgear-bench.yaml ;;
      sqlite) ;;
      nolog) export SPEND_LOG=false ;;
      full) cp "$PREFILLED" "$DATA_DIR/switchgear.db" ;;
      pgredis)
        psql "${PG_URL%/*}/postgres" -qtAc "DROP DATABASE IF EXISTS ${PG_URL##*/}" >/dev/null
        psql "${PG_URL%/*}/postgres" -qtAc "CREATE DATABASE ${PG_URL##*/}" >/dev/null
        redis-cli -u "$BENCH_REDIS" flushdb >/dev/null
        export DATABASE_URL="$PG_URL" REDIS_URL="$BENCH_REDIS" ;;
    esac
    CONFIG="$cfg" "$HERE/switchgear.sh" start >/dev/null
    key="$MASTER"; [ "$variant" = off ] || key="$(make_key)"
    (cd "$HERE" && ./run.sh --name "governance-$variant" --url "http://127.0.0.1:$PORT" --key "$key" \
      --model fake-fast --stream-model fake-stream --slow-model fake-slow --gw-pidfile run/switchgear.pid \
      --note "switchgear $("$HERE/../.venv/bin/switchgear" version), governance $variant" \
      --scenarios "$SCEN" --skip-direct "$@" >/dev/null)
    "$HERE/switchgear.sh" stop >/dev/null
    case "$variant" in  # the spend log's rows after the drain: every admitted request, or the drops
      sqlite|nolog|full) rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from spend_log').fetchone()[0])" "$DATA_DIR/switchgear.db") ;;
      pgredis) rows=$(psql "$PG_URL" -qtAc "select count(*) from spend_log") ;;
      *) rows=- ;;
    esac
    echo "   spend_log rows: $rows"
  done
done
"$HERE/../.venv/bin/python" "$HERE/stages/summary.py" "$HERE/results" governance ${VARIANTS:-off sqlite pgredis}
