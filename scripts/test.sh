#!/usr/bin/env bash
# npm test: starts the local stack if it is not running, runs every test, stops what it started.
#   scripts/test.sh        all: schema lint, pgTAP, deno check (also per function, as deployed), tsc, vitest
#   scripts/test.sh db     only the database: lint and pgTAP
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/node_modules/.bin"

started=0
host_paused=0
# The end-to-end tests start functions hosts of their own (with faults, short leases, to kill), and
# expect theirs to be the only ones working the queue: a stack this script starts runs without a
# host, and the host of a stack already running is stopped for the tests and started again after.
if ! bash scripts/stack.sh status -q >/dev/null 2>&1; then
  bash scripts/stack.sh start --db-only
  started=1
else
  if [ -f .local/functions.pid ] && kill -0 "$(cat .local/functions.pid)" 2>/dev/null; then
    echo "[test] stopping the running stack's functions host for the tests (it is started again afterwards)"
    bash scripts/stack.sh stop
    host_paused=1
  fi
  bash scripts/stack.sh start --db-only   # applies any new migration
fi
restore_stack() {
  if [ "$started" = 1 ]; then bash scripts/stack.sh stop; fi
  if [ "$host_paused" = 1 ]; then bash scripts/stack.sh start; fi
}
trap restore_stack EXIT

# shellcheck disable=SC1091
set -a; . "$ROOT/.local/stack.env"; set +a

echo "== supabase db lint (plpgsql_check) on pm_pipeline"
"$BIN/supabase" db lint --db-url "$SUPABASE_DB_URL" -s pm_pipeline --level warning --fail-on warning

echo "== pgTAP: supabase/tests"
pg_prove --dbname postgres --host "$PGHOST" --port "$PGPORT" --username "$PGUSER" supabase/tests/*.sql

[ "${1:-}" = db ] && exit 0

echo "== deno check (the pinned Deno of the Edge Runtime): shared/, every function, the functions host"
"$BIN/deno" check --quiet shared/ supabase/functions/*/index.ts scripts/functions-host.ts

echo "== deno check of each function with only its own deno.json, as supabase functions deploy bundles it"
# (npm: packages come from the registry into .local/deno; the system's CA store is the one npm trusts)
for fn in supabase/functions/*/; do
  DENO_DIR="$ROOT/.local/deno" DENO_TLS_CA_STORE=system "$BIN/deno" check --quiet --no-lock --config "$fn/deno.json" "$fn/index.ts"
done

echo "== tsc (Node's side: tests, the CLI, benchmarks)"
"$BIN/tsc" -p tsconfig.json

echo "== vitest"
"$BIN/vitest" run
