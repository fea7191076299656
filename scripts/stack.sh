#!/usr/bin/env bash
# The local Supabase stack, built from real parts because `supabase start` needs Docker:
# a private PostgreSQL 15 cluster with pg_cron under .local/, the roles and schemas a Supabase
# database has, and our migrations applied by the real Supabase CLI.
#
#   scripts/stack.sh start [--db-only]
#                             idempotent: installs what is missing, starts PostgreSQL, migrates, starts the
#                             offline world's DNS server and the functions host (not with --db-only),
#                             writes .local/stack.env
#   scripts/stack.sh stop     stops the functions host, the DNS server and the cluster (data is kept under .local/)
#   scripts/stack.sh status   exit 0 when the cluster answers; prints the migrations
#   scripts/stack.sh reset    stop and delete the cluster
#
# PM_LEADS_STACK_DIR (default .local/) is where a stack keeps its cluster, ports, keys and stack.env:
# another folder is another stack, independent of the first (the tests run on one of their own).
# PM_LEADS_SCHEMA_SOURCE=schemas builds the database from supabase/schemas/ (the declarative
# schema, in config.toml's order) instead of supabase/migrations/; the schema check diffs the two.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="${PM_LEADS_STACK_DIR:-$ROOT/.local}"
PG_LINK="$LOCAL/pg"           # the cluster's folder (may be a link, see pg_home)
# the cluster's real folder: the postgres OS user runs its programs there, and may not be able to
# pass through the folder that holds the link
pg_dir() { readlink -f "$PG_LINK"; }
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
SUPABASE="$ROOT/node_modules/.bin/supabase"
ENV_FILE="$LOCAL/stack.env"
SECRETS_FILE="$LOCAL/secrets.env"
# the Deno binary itself: node_modules/.bin/deno is a Node wrapper, and signals sent to a wrapper
# would not reach the host process
deno_binary() { node -e 'process.stdout.write(require(process.argv[1]).runInstall())' "$ROOT/node_modules/deno/install_api.cjs"; }
FUNCTIONS_PID="$LOCAL/functions.pid"
FUNCTIONS_LOG="$LOCAL/functions.log"
# Ports 54322 and 54320 make the Supabase CLI assume its own Docker database: never use them.
DEFAULT_PORT="${PM_LEADS_DB_PORT:-55432}"
DB_PASSWORD=postgres
APT_PACKAGES=(postgresql-15 postgresql-15-cron postgresql-15-pgtap postgresql-15-plpgsql-check libtap-parser-sourcehandler-pgtap-perl)

say() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# Postgres refuses to run as root: as root, run its programs as the postgres OS user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

missing_packages() {
  local missing=()
  [ -x "$PGBIN/initdb" ] || missing+=(postgresql-15)
  [ -f /usr/lib/postgresql/15/lib/pg_cron.so ] || missing+=(postgresql-15-cron)
  [ -f /usr/share/postgresql/15/extension/pgtap.control ] || missing+=(postgresql-15-pgtap)
  [ -f /usr/lib/postgresql/15/lib/plpgsql_check.so ] || missing+=(postgresql-15-plpgsql-check)
  command -v pg_prove >/dev/null || missing+=(libtap-parser-sourcehandler-pgtap-perl)
  echo "${missing[@]:-}"
}

ensure_packages() {
  local missing; missing="$(missing_packages)"
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    die "missing Debian packages: $missing
  install them with:  sudo apt-get update && sudo apt-get install -y ${APT_PACKAGES[*]}"
  fi
  say "installing Debian packages: $missing"
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null \
    || die "apt-get could not install: $missing (is the Debian mirror reachable?)"
  [ -z "$(missing_packages)" ] || die "still missing after apt-get: $(missing_packages)"
  [ -x "$SUPABASE" ] || die "node_modules is missing: run 'npm ci' first"
}

# The postgres OS user must reach the data folder. When the checkout lives under a folder it
# cannot enter (a private temp dir, a home folder), keep the cluster in /tmp and link to it.
pg_home() {
  if [ -e "$PG_LINK" ]; then pg_dir; return; fi
  mkdir -p "$LOCAL"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$LOCAL"; then
    local dir; dir="$(mktemp -d /tmp/pm-leads-pg.XXXXXX)"
    ln -s "$dir" "$PG_LINK"
  else
    mkdir -p "$PG_LINK"
  fi
  [ "$(id -u)" = 0 ] && chown postgres: "$(pg_dir)"
  pg_dir
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port the kernel has free right now (it never hands out one that is listening).
kernel_port() { node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }

# The default stack keeps its well-known port (55432, or the next free one); a stack in a folder
# of its own (tests, scratch databases) takes whatever the kernel has free, so that stacks that
# come and go never collide on each other's ports.
pick_port() {
  if [ -n "${PM_LEADS_STACK_DIR:-}" ] && [ -z "${PM_LEADS_DB_PORT:-}" ]; then kernel_port; return; fi
  local port=${1:-$DEFAULT_PORT}
  while port_in_use "$port"; do
    port=$((port + 1))
    [ "$port" -lt $((${1:-$DEFAULT_PORT} + 100)) ] || die "no free port below $port"
  done
  echo "$port"
}

db_url() { echo "postgresql://postgres:$DB_PASSWORD@127.0.0.1:$(cat "$PG_LINK/port")/postgres?sslmode=disable"; }
# The functions connect as pm_pipeline_worker (it may only execute the SQL API; the migrations
# create it without login), with a password made once per checkout.
WORKER_DB_PASSWORD_FILE="$LOCAL/worker-db.password"
worker_db_url() { echo "postgresql://pm_pipeline_worker:$(cat "$WORKER_DB_PASSWORD_FILE")@127.0.0.1:$(cat "$PG_LINK/port")/postgres?sslmode=disable"; }
worker_login() {
  [ -f "$WORKER_DB_PASSWORD_FILE" ] || (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORKER_DB_PASSWORD_FILE")
  psql -q -X -v ON_ERROR_STOP=1 "$(db_url)" \
    -c "alter role pm_pipeline_worker login password '$(cat "$WORKER_DB_PASSWORD_FILE")'" >/dev/null \
    || die "could not give pm_pipeline_worker its password"
}

running() { [ -f "$PG_LINK/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$(pg_dir)/data" status >/dev/null 2>&1; }

init_cluster() {
  local home; home="$(pg_home)"
  [ -f "$home/data/PG_VERSION" ] && return 0
  say "creating a PostgreSQL 15 cluster in $home/data"
  local port; port="$(pick_port)"
  echo "$port" > "$home/port"
  printf '%s\n' "$DB_PASSWORD" > "$home/pwfile"
  [ "$(id -u)" = 0 ] && chown postgres: "$home/port" "$home/pwfile"
  as_pg "$PGBIN/initdb" -D "$home/data" -U postgres --pwfile="$home/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$home/initdb.log" \
    || die "initdb failed, see $home/initdb.log"
  rm -f "$home/pwfile"
  cat >>"$home/data/postgresql.conf" <<EOF

# --- pm-leads local stack ---
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = ''          # TCP only: checkout paths can exceed the socket path limit
max_connections = 200                 # tests and benchmarks open many connections
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on      # as on hosted Supabase: jobs need no password
max_worker_processes = 32
timezone = 'UTC'
EOF
}

# What a Supabase database has before any migration of ours: its API roles and the extensions schema.
bootstrap_sql() {
  cat <<'SQL'
do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end $$;
grant anon, authenticated, service_role to postgres;
create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;
alter database postgres set search_path = "$user", public, extensions;
SQL
}

# Local keys, made once per checkout: the worker secret the functions check, and a service key.
ensure_secrets() {
  [ -f "$SECRETS_FILE" ] && return 0
  local worker service
  worker="local-worker-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  service="local-service-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  (umask 077; printf 'PM_LEADS_WORKER_SECRET=%s\nSUPABASE_SERVICE_ROLE_KEY=%s\n' "$worker" "$service" >"$SECRETS_FILE")
}

functions_port() {
  [ -f "$LOCAL/functions.port" ] || pick_port $(($(cat "$PG_LINK/port") + 1)) >"$LOCAL/functions.port"
  cat "$LOCAL/functions.port"
}

functions_running() { [ -f "$FUNCTIONS_PID" ] && kill -0 "$(cat "$FUNCTIONS_PID")" 2>/dev/null; }

# The pid that answers GET /_health on a port as our functions host does (empty: nothing, or
# something else). A port that merely accepts connections may be any program's.
health_pid() {
  node -e 'fetch(`http://127.0.0.1:${process.argv[1]}/_health`, { signal: AbortSignal.timeout(2000) })
    .then((r) => r.json()).then((j) => Array.isArray(j.functions) && console.log(j.pid ?? "")).catch(() => {})' "$1" 2>/dev/null || true
}

host_is_ours() { functions_running && [ "$(health_pid "$(functions_port)")" = "$(cat "$FUNCTIONS_PID")" ]; }

# Before the port goes into stack.env: one that another program holds is given up for a free one.
claim_functions_port() {
  host_is_ours && return 0
  local port; port="$(functions_port)"
  if port_in_use "$port"; then
    pick_port $((port + 1)) >"$LOCAL/functions.port"
    say "port $port is taken by another program (it is not this stack's functions host): using $(functions_port) instead"
  fi
}

start_functions() {
  host_is_ours && return 0
  rm -f "$FUNCTIONS_PID"
  say "starting the functions host on http://127.0.0.1:$(functions_port)/functions/v1/"
  # stack.env and this shell's variables; the host adds the function secrets of
  # supabase/functions/.env itself (under these), as `supabase functions serve` loads them
  (
    set -a; . "$ENV_FILE"; set +a
    cd "$ROOT"
    PM_LEADS_DB_POOL="${PM_LEADS_DB_POOL:-10}" nohup "$(deno_binary)" run --allow-all --quiet scripts/functions-host.ts \
      >"$FUNCTIONS_LOG" 2>&1 &
    echo $! >"$FUNCTIONS_PID"
  )
  for _ in $(seq 1 100); do
    if host_is_ours; then return 0; fi
    functions_running || break
    sleep 0.2
  done
  tail -20 "$FUNCTIONS_LOG" >&2
  stop_functions >/dev/null 2>&1 || true
  die "the functions host did not start on port $(functions_port), or another program answers there (log: $FUNCTIONS_LOG)"
}

stop_functions() {
  functions_running || { rm -f "$FUNCTIONS_PID"; return 0; }
  local pid; pid="$(cat "$FUNCTIONS_PID")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$FUNCTIONS_PID"
  say "stopped the functions host"
}

# The offline world's DNS (scripts/world-dns.ts) on a UDP port of loopback the kernel hands out:
# the functions find it through PM_LEADS_DNS_SERVER in stack.env. Kept while it runs, so that a
# functions host already running keeps asking the same address.
DNS_PID="$LOCAL/world-dns.pid"
DNS_ADDRESS="$LOCAL/world-dns.address"
DNS_LOG="$LOCAL/world-dns.log"
dns_running() { [ -f "$DNS_PID" ] && [ -f "$DNS_ADDRESS" ] && kill -0 "$(cat "$DNS_PID")" 2>/dev/null; }

start_dns() {
  dns_running && return 0
  rm -f "$DNS_PID" "$DNS_ADDRESS"
  # node with tsx's loader: one process, the pid that is stopped (the tsx command would be a parent)
  (
    cd "$ROOT"
    nohup node --import tsx scripts/world-dns.ts 0 >"$DNS_LOG" 2>&1 </dev/null &
    echo $! >"$DNS_PID"
  )
  for _ in $(seq 1 50); do
    local address; address="$(sed -n 's/^{"dns":"\([^"]*\)".*/\1/p' "$DNS_LOG" 2>/dev/null)"
    if [ -n "$address" ]; then echo "$address" >"$DNS_ADDRESS"; say "the offline world's DNS answers on $address (udp)"; return 0; fi
    kill -0 "$(cat "$DNS_PID")" 2>/dev/null || break
    sleep 0.2
  done
  cat "$DNS_LOG" >&2
  die "the offline world's DNS server did not start (log: $DNS_LOG)"
}

stop_dns() {
  if [ -f "$DNS_PID" ] && kill -0 "$(cat "$DNS_PID")" 2>/dev/null; then
    local pid; pid="$(cat "$DNS_PID")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    say "stopped the offline world's DNS"
  fi
  rm -f "$DNS_PID" "$DNS_ADDRESS"
}

# The web app's build (served by the functions host at /app/): made when web/dist is missing or
# older than any source of it (web/, shared/api, shared/domain).
build_web() {
  if [ -f "$ROOT/web/dist/index.html" ] && [ -z "$(find "$ROOT/web" "$ROOT/shared/api" "$ROOT/shared/domain" -path "$ROOT/web/dist" -prune -o -type f -newer "$ROOT/web/dist/index.html" -print -quit)" ]; then
    return 0
  fi
  say "building the web app (web/dist)"
  (cd "$ROOT" && "$ROOT/node_modules/.bin/vite" build web --logLevel warn) >&2 || die "the web app did not build (npm run web:build)"
}

write_env() {
  local port; port="$(cat "$PG_LINK/port")"
  ensure_secrets
  cat >"$ENV_FILE" <<EOF
# Written by scripts/stack.sh start; read by the tests, the benchmarks, the CLI and the functions host.
SUPABASE_URL=http://127.0.0.1:$(functions_port)
PM_LEADS_FUNCTIONS_PORT=$(functions_port)
$(cat "$SECRETS_FILE")
SUPABASE_DB_URL=$(db_url)
PM_LEADS_DB_URL=$(worker_db_url)
PM_LEADS_DNS_SERVER=$(cat "$DNS_ADDRESS")
PGHOST=127.0.0.1
PGPORT=$port
PGUSER=postgres
PGPASSWORD=$DB_PASSWORD
PGDATABASE=postgres
EOF
}

migrate() {
  if [ "${PM_LEADS_SCHEMA_SOURCE:-migrations}" = schemas ]; then
    # the order of config.toml's schema_paths ("./schemas/*.sql"): file names sorted
    say "applying the declarative schema (supabase/schemas/)"
    : >"$LOCAL/migrate.log"
    local file
    for file in $(LC_ALL=C ls "$ROOT"/supabase/schemas/*.sql); do
      PGOPTIONS='-c client_min_messages=warning' psql -q -X -v ON_ERROR_STOP=1 -f "$file" "$(db_url)" >>"$LOCAL/migrate.log" 2>&1 \
        || { tail -20 "$LOCAL/migrate.log" >&2; die "applying $file failed"; }
    done
    return 0
  fi
  say "applying migrations with the Supabase CLI"
  if ! (cd "$ROOT" && "$SUPABASE" db push --db-url "$(db_url)" --yes) >"$LOCAL/migrate.log" 2>&1; then
    cat "$LOCAL/migrate.log" >&2
    if grep -q "Remote migration versions not found" "$LOCAL/migrate.log"; then
      die "this database was built from migrations that are no longer in supabase/migrations/ (on 2026-12-02 they were squashed into one baseline): delete it with 'npm run stack:reset' (its runs are lost) and start again"
    fi
    die "supabase db push failed"
  fi
}

start() {
  ensure_packages
  init_cluster
  if ! running; then
    say "starting PostgreSQL on 127.0.0.1:$(cat "$PG_LINK/port")"
    as_pg "$PGBIN/pg_ctl" -D "$(pg_dir)/data" -l "$(pg_dir)/postgres.log" -w -t 60 start >/dev/null \
      || { tail -20 "$PG_LINK/postgres.log" >&2; die "PostgreSQL did not start"; }
  fi
  bootstrap_sql | PGOPTIONS='-c client_min_messages=warning' psql -q -X -v ON_ERROR_STOP=1 "$(db_url)" >/dev/null \
    || die "bootstrap SQL failed"
  migrate
  worker_login
  claim_functions_port
  local dns_was_running=1
  dns_running || dns_was_running=0
  start_dns
  write_env
  if [ "${1:-}" = "--db-only" ]; then
    say "ready: $(db_url)   (env: $ENV_FILE)"
  else
    build_web
    # a host started before this DNS server asks an address that is gone (or none): it starts again
    if [ "$dns_was_running" = 0 ] && host_is_ours; then
      say "restarting the functions host: the offline world's DNS has a new address"
      stop_functions
    fi
    start_functions
    say "ready: $(db_url)   app: http://127.0.0.1:$(functions_port)/app/   (env: $ENV_FILE)"
  fi
}

stop() {
  stop_functions
  stop_dns
  if [ -e "$PG_LINK/data" ] && running; then
    as_pg "$PGBIN/pg_ctl" -D "$(pg_dir)/data" -m fast -w stop >/dev/null
    say "stopped"
  else
    say "not running"
  fi
}

status() {
  if [ -e "$PG_LINK/data" ] && running; then
    say "PostgreSQL is running: $(db_url)"
    if host_is_ours; then say "functions host is running: http://127.0.0.1:$(functions_port)/functions/v1/"; else say "functions host is not running"; fi
    if dns_running; then say "the offline world's DNS is running: $(cat "$DNS_ADDRESS") (udp)"; else say "the offline world's DNS is not running"; fi
    [ "${1:-}" = "-q" ] || (cd "$ROOT" && "$SUPABASE" migration list --db-url "$(db_url)" 2>/dev/null) || true
    return 0
  fi
  say "not running"
  return 1
}

reset() {
  stop || true
  if [ -L "$PG_LINK" ]; then rm -rf "$(pg_dir)"; fi
  rm -rf "$PG_LINK" "$ENV_FILE" "$LOCAL/functions.port"
  say "deleted the local cluster"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) shift; status "$@" ;;
  reset) reset ;;
  *) echo "usage: $0 start [--db-only]|stop|status [-q]|reset" >&2; exit 2 ;;
esac
