#!/usr/bin/env bash
# The abuse tests in one command: builds the server, sets up a Python venv (tests/abuse/.venv,
# from requirements.txt) and PostgreSQL (installed from Debian's packages when absent; each
# test starts its own throwaway cluster on a free loopback port), then runs
#   fuzz.py    on SQLite and on PostgreSQL (short: FUZZ_SECONDS each, default 25)
#   crash.py   on SQLite and on PostgreSQL (kill -9 under write load, CRASH_SECONDS, default 10)
#   db_down.py on PostgreSQL (stop and restart PostgreSQL under a running server)
# and ends with the line `abuse: N passed, M failed` (exit 1 when M > 0).
# Logs, databases and fuzz reproducers of a failed run are kept in the directory it names.
set -uo pipefail
cd "$(dirname "$0")/../.."
HERE=tests/abuse
FUZZ_SECONDS=${FUZZ_SECONDS:-25}
CRASH_SECONDS=${CRASH_SECONDS:-10}
OUT=$(mktemp -d /tmp/contacts-abuse.XXXXXX)
passed=0
failed=0
failed_names=()
started=$(date +%s)

finish() {
  local rc=$1
  if [ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]; then
    rm -rf "$OUT"
  else
    echo "==> logs, databases and reproducers kept in $OUT"
  fi
  echo "==> abuse tests took $(( $(date +%s) - started ))s${failed_names[*]:+; failed: ${failed_names[*]}}"
  echo "abuse: $passed passed, $failed failed"
}

setup_failed() {
  echo "==> setup failed: $1" >&2
  failed=$((failed + 1))
  failed_names+=("setup")
  finish 1
  exit 1
}

echo "==> cargo build --bin contacts-server"
cargo build --bin contacts-server || setup_failed "cargo build"
export CONTACTS_SERVER_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/contacts-server"

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${PG_BIN:-}" ]; then
  echo "==> installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq postgresql postgresql-contrib >/dev/null; } \
    || setup_failed "apt-get install postgresql"
fi

. tests/abuse/venv.sh
abuse_python

run_test() {
  local name=$1; shift
  echo
  echo "==> $name"
  local t0=$(date +%s)
  if "$@"; then
    passed=$((passed + 1))
    echo "==> $name: ok ($(( $(date +%s) - t0 ))s)"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    echo "==> $name: FAILED ($(( $(date +%s) - t0 ))s)"
  fi
}

run_test "fuzz sqlite"   "$PY" "$HERE/fuzz.py"  --db sqlite   --seconds "$FUZZ_SECONDS" --out "$OUT/fuzz-sqlite"
run_test "fuzz postgres" "$PY" "$HERE/fuzz.py"  --db postgres --seconds "$FUZZ_SECONDS" --out "$OUT/fuzz-postgres"
run_test "crash sqlite"   "$PY" "$HERE/crash.py" --db sqlite   --seconds "$CRASH_SECONDS" --out "$OUT/crash-sqlite"
run_test "crash postgres" "$PY" "$HERE/crash.py" --db postgres --seconds "$CRASH_SECONDS" --out "$OUT/crash-postgres"
run_test "db_down postgres" "$PY" "$HERE/db_down.py" --out "$OUT/db_down"

echo
finish 0
[ "$failed" -eq 0 ]
