#!/usr/bin/env bash
# scripts/test-stack.sh COMMAND [ARGS...]: runs COMMAND on a stack of its own, never on the user's.
# Makes a fresh stack (scripts/stack.sh with PM_LEADS_STACK_DIR: its own cluster, ports, keys,
# stack.env, the offline world's DNS server) in a temporary folder, from the migrations, without a
# functions host (the tests start theirs); exports its stack.env; runs COMMAND; then stops and deletes the stack, also when COMMAND
# fails or is interrupted. The user's .local/ stack is only read, before and after, to prove that
# it is as it was (scripts/user-stack-check.ts).
#   npm test, npm run test:db and npm run chaos run through it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ "$#" -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

dir="$(mktemp -d "${TMPDIR:-/tmp}/pm-leads-test-stack.XXXXXX")"
# the postgres OS user (root runs PostgreSQL as postgres) must pass through it to the cluster
chmod 711 "$dir"
user_before="$dir/user-stack-before.json"
# Ports: a stack in a folder of its own takes free ones from the kernel (scripts/stack.sh
# pick_port), so that it never collides with the user's (55432 and up) or another scratch stack.
# A functions host started for the tests (scripts/stack.sh start in tests/e2e/stack.test.ts, or
# tests/helpers/functions-host.ts) never reads the developer's supabase/functions/.env: real keys.
export PM_LEADS_FUNCTIONS_ENV_FILE=/dev/null

# What COMMAND left running (a functions host orphaned by a crashed test runner, or one a test froze
# with SIGSTOP, which no Ctrl-C reaches): the processes with this stack's PM_LEADS_STACK_DIR in their
# environment, but PostgreSQL's own and the world's DNS server with its child (scripts/stack.sh stops those properly).
leftovers() {
  local file pid dns
  dns="$(cat "$dir/world-dns.pid" 2>/dev/null || true)"
  for file in $(grep -lzsxF "PM_LEADS_STACK_DIR=$dir" /proc/[0-9]*/environ); do
    pid="${file#/proc/}"; pid="${pid%/environ}"
    [ "$pid" = "$dns" ] && continue
    # nor the DNS server's own child (tsx's esbuild service, while it lives)
    [ -n "$dns" ] && [ "$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null || true)" = "$dns" ] && continue
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in postgres | pg_ctl | "") ;; *) echo "$pid" ;; esac
  done
}
stop_leftovers() {
  local pids; pids="$(leftovers)"
  [ -n "$pids" ] || return 0
  local named="" pid parent
  for pid in $pids; do
    parent="$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null || true)"
    named="$named $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120 || true); parent ${parent:-?}: $(tr '\0' ' ' <"/proc/${parent:-0}/cmdline" 2>/dev/null | cut -c1-80 || true))"
  done
  echo "[test-stack] stopping what the tests left running:$named" >&2
  # shellcheck disable=SC2086
  { kill -CONT $pids; kill -TERM $pids; } 2>/dev/null || true
  for _ in $(seq 1 50); do [ -n "$(leftovers)" ] || return 0; sleep 0.2; done
  # shellcheck disable=SC2046
  kill -KILL $(leftovers) 2>/dev/null || true
}

finish() {
  local status=$?
  trap - EXIT INT TERM
  # from here on nothing this script starts has the variable: the search finds only leftovers
  unset PM_LEADS_STACK_DIR
  stop_leftovers
  PM_LEADS_STACK_DIR="$dir" bash scripts/stack.sh reset >/dev/null 2>&1 || echo "[test-stack] could not stop the test stack in $dir" >&2
  if [ -f "$user_before" ]; then
    node_modules/.bin/tsx scripts/user-stack-check.ts compare "$user_before" || { [ "$status" != 0 ] || status=1; }
  fi
  rm -rf "$dir"
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

node_modules/.bin/tsx scripts/user-stack-check.ts snapshot "$user_before"
# the mark tests/setup/stack.ts asks for before any database test runs
echo "made by scripts/test-stack.sh for one test run; deleted after it" >"$dir/test-stack"
echo "[test-stack] a stack of its own in $dir"
PM_LEADS_STACK_DIR="$dir" bash scripts/stack.sh start --db-only
export PM_LEADS_STACK_DIR="$dir"
# every variable of the test stack, over any the shell exported (a user's SUPABASE_DB_URL included)
set -a
# shellcheck disable=SC1091
. "$dir/stack.env"
set +a
"$@"
