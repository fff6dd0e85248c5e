#!/usr/bin/env bash
# Runs the whole test suite against SQLite and PostgreSQL.
#
# PostgreSQL: uses $CONTACTS_TEST_PG_URL if set (an admin URL of a server where the tests may
# CREATE DATABASE); otherwise installs PostgreSQL from Debian's packages when absent, starts a
# throwaway cluster on a free loopback port under a temporary directory, and stops it after.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh scenario`).
set -euo pipefail
cd "$(dirname "$0")/.."

pg_bin_dir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

cleanup() {
  if [ -n "${PGTMP:-}" ] && [ -d "$PGTMP" ]; then
    "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PGTMP"
  fi
}

if [ -z "${CONTACTS_TEST_PG_URL:-}" ]; then
  if ! PGBIN=$(pg_bin_dir); then
    echo "==> installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq postgresql postgresql-contrib >/dev/null
    PGBIN=$(pg_bin_dir)
  fi
  PGTMP=$(mktemp -d /tmp/contacts-pg.XXXXXX)
  trap cleanup EXIT
  PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  RUNAS=()
  if [ "$(id -u)" -eq 0 ]; then
    # initdb refuses to run as root: run the cluster as the unprivileged 'postgres' user
    # (created by Debian's package) or 'nobody'.
    PGUSER_OS=postgres; id postgres >/dev/null 2>&1 || PGUSER_OS=nobody
    chown "$PGUSER_OS" "$PGTMP"
    RUNAS=(runuser -u "$PGUSER_OS" --)
  fi
  echo "==> starting a throwaway PostgreSQL cluster on 127.0.0.1:$PGPORT"
  "${RUNAS[@]}" "$PGBIN/initdb" -D "$PGTMP/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
  "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" -w \
    -o "-h 127.0.0.1 -p $PGPORT -k $PGTMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null
  export CONTACTS_TEST_PG_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
fi

# The webhook tests verify signatures with the reference implementation (PyPI's
# standardwebhooks): install it when absent.
if ! python3 -c 'import standardwebhooks' >/dev/null 2>&1; then
  echo "==> installing the standardwebhooks Python package (webhook signature reference)"
  python3 -m pip install --quiet standardwebhooks==1.1.0 \
    || python3 -m pip install --quiet --break-system-packages standardwebhooks==1.1.0
fi

echo "==> cargo test (SQLite and PostgreSQL at ${CONTACTS_TEST_PG_URL%%@*}@...)"
rc=0
cargo test --workspace "$@" || rc=$?

# Every test drops its PostgreSQL database (tests/support/mod.rs): count what is left.
PSQL=psql
[ -n "${PGBIN:-}" ] && PSQL="$PGBIN/psql"
if command -v "$PSQL" >/dev/null 2>&1; then
  left=$("$PSQL" "$CONTACTS_TEST_PG_URL" -Atc \
    "SELECT count(*) FROM pg_database WHERE datname LIKE 'contacts\_test\_%' OR datname ~ '^(test|ops|cli)_[0-9a-f]{32}$'" \
    2>/dev/null || echo "?")
  echo "==> test databases left on the PostgreSQL server: $left"
fi
exit "$rc"
