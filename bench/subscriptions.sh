#!/usr/bin/env bash
# Subscriptions benchmark: two release servers (A, B) over one PostgreSQL database, then
# bench/subscriptions_bench.rs: commit-to-subscriber latency B -> A, A's RSS and CPU with
# SUBSCRIBERS subscribers idle and at RATE events/s, deliveries per second. Prints numbers.
#
#   DATABASE_URL=postgres://user@host:port/db bash bench/subscriptions.sh
#   (SUBSCRIBERS=1000 RATE=100 DURATION=10 seconds; SERVER_BIN=<a release binary> to skip the build)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL database (it gets the schema)}"
SUBSCRIBERS=${SUBSCRIBERS:-1000}; RATE=${RATE:-100}; DURATION=${DURATION:-10}
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
if [ -z "${SERVER_BIN:-}" ]; then
  cargo build --release -q --bin contacts-server
  SERVER_BIN="$TARGET_DIR/release/contacts-server"
fi
cargo build --release -q --example subscriptions_bench
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PA=$(port); PB=$(port)
# 1,000 subscribers are 1,000 sockets on each side.
ulimit -n 65536 2>/dev/null || true
start() {
  DATABASE_URL=$DATABASE_URL BIND=127.0.0.1:$1 JWT_SECRET=bench-secret-bench-secret-bench-secret-0123 \
  WS_MAX_CONNECTIONS_PER_TOKEN=$((SUBSCRIBERS + 10)) RATE_LIMIT_MUTATIONS_PER_MIN=0 \
  RATE_LIMIT_SIGN_IN_PER_MIN=0 RATE_LIMIT_ANONYMOUS_PER_MIN=0 DB_MAX_CONNECTIONS=20 RUST_LOG=warn \
  "$SERVER_BIN" >/dev/null 2>&1 &
  echo $!
}
A=$(start "$PA"); B=$(start "$PB")
trap 'kill $A $B 2>/dev/null || true' EXIT
for p in "$PA" "$PB"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/ready" >/dev/null && break; sleep 0.1; done
done
"$TARGET_DIR/release/examples/subscriptions_bench" "http://127.0.0.1:$PA" "http://127.0.0.1:$PB" "$A" \
  "$SUBSCRIBERS" "$RATE" "$DURATION"
