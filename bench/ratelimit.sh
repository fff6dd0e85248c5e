#!/usr/bin/env bash
# The shared rate-limit store's cost: one budget check per sign-in and per mutation. Measures
# checks per second and latency at 1 and 32 clients, on loopback, for
#   - PostgreSQL: the server's own statement (src/ratelimit/postgres.rs) through pgbench, over
#     KEYS distinct keys, on the UNLOGGED table of migration 8;
#   - Redis (the alternative the issue names): the same GCRA as a Lua script (EVAL) through
#     redis-benchmark, on Debian's redis-server.
#   bash bench/ratelimit.sh postgres://postgres@127.0.0.1:5432/postgres
# DURATION (seconds per run, default 10), KEYS (default 1000). Starts its own redis-server on
# a free port (installed from Debian's packages when absent) and a scratch database on the
# given PostgreSQL server; removes both after.
set -euo pipefail
cd "$(dirname "$0")/.."
ADMIN_URL=${1:?usage: bench/ratelimit.sh POSTGRES_ADMIN_URL}
DURATION=${DURATION:-10}
KEYS=${KEYS:-1000}
if ! command -v redis-server >/dev/null || ! command -v pgbench >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq redis-server postgresql-contrib >/dev/null
fi
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | head -1)
TMP=$(mktemp -d /tmp/contacts-ratelimit.XXXXXX)
DB=contacts_ratelimit_bench
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cleanup() {
  [ -n "${RPID:-}" ] && kill "$RPID" 2>/dev/null || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null 2>&1
URL="${ADMIN_URL%/*}/$DB"
# The table as migration 8 makes it (m20261202_000008_rate_limits.rs).
psql -q "$URL" -c "CREATE UNLOGGED TABLE rate_limit_bucket (key bytea PRIMARY KEY, tat timestamptz NOT NULL)"
# The statement exactly as the server sends it (its string constant, $2 = one cell of 60/min).
python3 - "$TMP/spend.sql" "$KEYS" <<'PY'
import re, sys
src = open("src/ratelimit/postgres.rs").read()
body = re.search(r'const SPEND: &str = "(.*?)";', src, re.S).group(1)
sql = re.sub(r'\\\s*\n\s*', '', body).replace('\\"', '"')
sql = sql.replace("$1", "decode(md5(:k::text), 'hex')").replace("$2", "1000000")
open(sys.argv[1], "w").write(f"\\set k random(1, {sys.argv[2]})\n{sql};\n")
PY
redis-server --port "$RPORT" --save '' --appendonly no --daemonize no >"$TMP/redis.log" 2>&1 &
RPID=$!
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
# GCRA in Lua (the redis-cell algorithm): tat in microseconds, 1 cell = 1 s, burst 60 s.
LUA='local now = redis.call("TIME"); local t = now[1]*1000000 + now[2]; local tat = tonumber(redis.call("GET", KEYS[1]) or t); if tat < t then tat = t end; local new = tat + 1000000; if new - t > 60000000 then return 0 end; redis.call("SET", KEYS[1], new, "PX", 61000); return 1'
printf '%-12s %8s %12s %12s\n' store clients checks/s "mean ms"
for c in 1 32; do
  out=$("$PGBENCH" -n -T "$DURATION" -c "$c" -j "$(( c < 2 ? 1 : 2 ))" -f "$TMP/spend.sql" "$URL" 2>&1)
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
  printf '%-12s %8s %12.0f %12s\n' postgres "$c" "$tps" "$lat"
  n=$(python3 -c "print(max(1000, int(float('$tps') * $DURATION)))")
  r=$(redis-benchmark -p "$RPORT" -q -n "$n" -c "$c" -r "$KEYS" EVAL "$LUA" 1 "rl:__rand_int__" 2>&1 | tr '\r' '\n' | grep -E 'requests per second' | tail -1)
  rps=$(sed -E 's/.*: ([0-9.]+) requests per second.*/\1/' <<<"$r")
  p50=$(sed -nE 's/.*p50=([0-9.]+) msec.*/\1/p' <<<"$r")
  printf '%-12s %8s %12.0f %12s\n' redis "$c" "$rps" "${p50:-?} (p50)"
done
