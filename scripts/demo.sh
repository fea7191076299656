#!/usr/bin/env bash
# npm run demo: the main job on the local stack with the offline provider. Starts the stack
# (PostgreSQL, migrations, functions host), then the pm-leads CLI asks the run API (the `runs`
# function) for 10 Buildium companies in Texas with 1-3 decision makers each, waits for the
# workers and writes the two CSVs to ./exports, then the run's HubSpot and Salesforce import files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PM_LEADS_PROVIDER="${PM_LEADS_PROVIDER:-offline}"   # the demo needs no key and no network
bash scripts/stack.sh start
id="$(node bin/pm-leads.mjs run --criteria '{"pms":"Buildium","state":"TX"}' --quantity 10 --no-wait)"
node bin/pm-leads.mjs status "$id" --wait --output-dir ./exports
# the same run for the CRMs: HubSpot's one-file import and Salesforce's lead import (docs/exports.md)
for format in hubspot salesforce; do node bin/pm-leads.mjs export "$id" --format "$format" --output-dir ./exports; done
echo
port="$(sed -n 's/^PM_LEADS_FUNCTIONS_PORT=//p' "${PM_LEADS_STACK_DIR:-.local}/stack.env")"
echo "The run in the web app: http://127.0.0.1:$port/app/ (sign in with SUPABASE_SERVICE_ROLE_KEY of .local/stack.env, or a key"
echo "from: npx pm-leads keys create --name you --role operator)."
echo "The local stack keeps running (psql: . .local/stack.env && psql \"\$SUPABASE_DB_URL\"); stop it with: npm run stack:stop"
