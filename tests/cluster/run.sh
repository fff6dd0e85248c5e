#!/usr/bin/env bash
# The cluster test in one command: a PostgreSQL 15 primary, a streaming replica of it
# (pg_basebackup -R), PgBouncer in session mode and three contacts-server instances on loopback,
# then tests/cluster/cluster.py's checks: mixed load with one instance killed (kill -9) and
# restarted, the shared anonymous sign-in budget, read-your-writes with the replica's replay
# paused, a subscriber seeing the other instances' events once, the database's integrity.
#
# Builds the server (`cargo build --bin contacts-server`) unless CONTACTS_SERVER_BIN names a
# binary; installs PostgreSQL and PgBouncer from Debian's packages when absent; shares the
# Python venv of tests/abuse (tests/abuse/.venv, from tests/abuse/requirements.txt). Ends with
# `cluster: N passed, M failed` (exit 1 when M > 0); a failed run keeps its logs and databases
# in the /tmp/contacts-cluster.* directory it names. About 40 s on the 2-core machine (warm
# build). Knob: CLUSTER_LOAD_SECS (default 24), the length of the load of check 1.
set -uo pipefail
cd "$(dirname "$0")/../.."
ABUSE=tests/abuse
started=$(date +%s)

setup_failed() {
  echo "==> setup failed: $1" >&2
  echo "==> cluster test took $(( $(date +%s) - started ))s"
  echo "cluster: 0 passed, 1 failed"
  exit 1
}

if [ -z "${CONTACTS_SERVER_BIN:-}" ]; then
  echo "==> cargo build --bin contacts-server"
  cargo build --bin contacts-server || setup_failed "cargo build"
  export CONTACTS_SERVER_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/contacts-server"
fi
[ -x "$CONTACTS_SERVER_BIN" ] || setup_failed "no server binary at $CONTACTS_SERVER_BIN"

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_updated=""
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then
    $SUDO apt-get update -qq || return 1
    apt_updated=1
  fi
  $SUDO apt-get install -y -qq "$@" >/dev/null
}
if [ ! -x /usr/lib/postgresql/15/bin/initdb ] && [ -z "${PG_BIN:-}" ]; then
  echo "==> installing PostgreSQL 15 from Debian's packages"
  apt_install postgresql-15 || apt_install postgresql postgresql-contrib || setup_failed "apt-get install postgresql"
fi
if [ ! -x /usr/sbin/pgbouncer ]; then
  echo "==> installing PgBouncer from Debian's packages"
  apt_install pgbouncer || setup_failed "apt-get install pgbouncer"
fi
# Debian's package enables a system pgbouncer service; where systemd runs, it may have been
# started on port 6432. The test starts its own on a free port and never uses that one.

. tests/abuse/venv.sh
abuse_python

echo
echo "==> setup took $(( $(date +%s) - started ))s"
exec "$PY" tests/cluster/cluster.py --load-secs "${CLUSTER_LOAD_SECS:-24}"
