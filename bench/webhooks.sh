#!/usr/bin/env bash
# Webhook deliveries per second to a local receiver (bench/webhook_bench.rs), on SQLite and,
# when a PostgreSQL admin URL is given, on PostgreSQL:
#   bash bench/webhooks.sh [postgres://postgres@127.0.0.1:5432/postgres]
# WEBHOOK_BENCH_N sets the number of events (default 2000); PROFILE=dev skips the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=(--release)
[ "${PROFILE:-release}" = dev ] && profile=()
cargo run -q "${profile[@]}" --example webhook_bench -- sqlite
if [ -n "${1:-}" ]; then
  cargo run -q "${profile[@]}" --example webhook_bench -- "$1"
fi
