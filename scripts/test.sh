#!/usr/bin/env bash
# npm test: every test, on a stack of its own (scripts/test-stack.sh makes it in a temporary folder
# and deletes it after); the user's .local/ stack is never used, stopped or changed.
#   scripts/test.sh                    all: schema lint, pgTAP, deno check (also per function, as deployed), tsc,
#                                      vitest (unit, integration, e2e, browser), then the check that the user's stack is unchanged
#   scripts/test.sh db                 only the database: lint and pgTAP
#   scripts/test.sh vitest [ARGS...]   only vitest, with ARGS (e.g. a file: tests/e2e/chaos.test.ts)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/node_modules/.bin"

# The browser tests drive Debian's Chromium (tests/helpers/browser.ts): installed as stack.sh installs
# the Postgres packages, with apt-get when we are root, else named for the user to install.
ensure_browser() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "== installing Chromium for the browser tests (apt-get install chromium)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
  else
    echo "the browser tests need /usr/bin/chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
}
ensure_browser

# the same mark tests/setup/stack.ts asks for: outside a test stack, make one and come back in it
if [ ! -f "${PM_LEADS_STACK_DIR:-/nonexistent}/test-stack" ]; then
  exec bash scripts/test-stack.sh bash scripts/test.sh "$@"
fi

if [ "${1:-}" = vitest ]; then
  shift
  exec "$BIN/vitest" run "$@"
fi

echo "== supabase db lint (plpgsql_check) on pm_pipeline"
"$BIN/supabase" db lint --db-url "$SUPABASE_DB_URL" -s pm_pipeline --level warning --fail-on warning

echo "== pgTAP: supabase/tests"
pg_prove --dbname postgres --host "$PGHOST" --port "$PGPORT" --username "$PGUSER" supabase/tests/*.sql

[ "${1:-}" = db ] && exit 0

echo "== deno check (the pinned Deno of the Edge Runtime): shared/, every function, the functions host"
"$BIN/deno" check --quiet shared/ supabase/functions/*/index.ts scripts/functions-host.ts

echo "== deno check of each function with only its own deno.json, as supabase functions deploy bundles it"
# (npm: packages come from the registry into a Deno cache that outlives the test stack, in
# .local/deno: a download cache, no part of the user's stack; the system's CA store is the one npm trusts)
for fn in supabase/functions/*/; do
  DENO_DIR="$ROOT/.local/deno" DENO_TLS_CA_STORE=system "$BIN/deno" check --quiet --no-lock --config "$fn/deno.json" "$fn/index.ts"
done

echo "== tsc (Node's side: tests, the CLI, benchmarks)"
"$BIN/tsc" -p tsconfig.json

echo "== tsc (the web app)"
"$BIN/tsc" -p web/tsconfig.json

echo "== vitest: unit, integration, e2e, browser"
"$BIN/vitest" run
