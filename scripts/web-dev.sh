#!/usr/bin/env bash
# npm run web:dev: the web app from its sources (vite, reloads on save), with the local stack's API
# proxied under the dev server's own origin (so the sign-in's default API URL is right).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ENV_FILE="${PM_LEADS_STACK_DIR:-$ROOT/.local}/stack.env"
if [ -z "${PM_LEADS_API_URL:-}" ] && [ -f "$ENV_FILE" ]; then
  PM_LEADS_API_URL="$(sed -n 's/^SUPABASE_URL=//p' "$ENV_FILE")"
fi
[ -n "${PM_LEADS_API_URL:-}" ] || echo "[web:dev] no stack.env: start the stack (npm run stack:start) or set PM_LEADS_API_URL" >&2
export PM_LEADS_API_URL="${PM_LEADS_API_URL:-}"
exec node_modules/.bin/vite web "$@"
