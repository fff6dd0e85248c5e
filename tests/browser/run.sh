#!/usr/bin/env bash
# The browser test of the self-hosted GraphiQL page, in one command: installs Debian's
# chromium when /usr/bin/chromium is missing (apt-get, like scripts/test.sh does for
# PostgreSQL), installs playwright-core from package-lock.json (npm ci, skipped when
# node_modules already holds that lock), builds the server (debug; or set CONTACTS_SERVER_BIN
# to a built binary), then runs graphiql.test.mjs (see its header for what it checks). Ends
# with `browser: N passed, N failed`; the screenshot goes to
# target/browser-artifacts/graphiql.png.
#
#   bash tests/browser/run.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
HERE=$PWD
ROOT=$(cd ../.. && pwd)
start=$SECONDS

fail() { echo "browser: FAILED: $*" >&2; echo "browser: 0 passed, 1 failed"; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null \
  || fail "node and npm are needed (Node 20 or newer; on Debian: apt-get install nodejs npm)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || fail "Node 20 or newer is needed, found $(node --version)"

CHROMIUM_BIN=${CHROMIUM_BIN:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM_BIN" ]; then
  echo "browser: installing chromium from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; } \
    || fail "apt-get install chromium"
fi
export CHROMIUM_BIN
echo "browser: $("$CHROMIUM_BIN" --version 2>/dev/null || echo "$CHROMIUM_BIN")"

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.run-sh-lock-sha256
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$lock_sum" ]; then
  echo "browser: npm ci"
  npm ci --no-audit --no-fund --loglevel=error || fail "npm ci"
  echo "$lock_sum" > "$stamp"
fi

if [ -z "${CONTACTS_SERVER_BIN:-}" ]; then
  echo "browser: cargo build --bin contacts-server"
  # The binary's path as cargo reports it (whatever target dir is configured).
  CONTACTS_SERVER_BIN=$(cd "$ROOT" && cargo build --bin contacts-server --message-format=json-render-diagnostics \
    | node -e 'let out = ""; process.stdin.on("data", (d) => (out += d)).on("end", () => {
        for (const line of out.split("\n")) {
          try { const m = JSON.parse(line); if (m.executable && m.target?.name === "contacts-server") console.log(m.executable); } catch {}
        }
      })') || fail "cargo build"
  [ -x "$CONTACTS_SERVER_BIN" ] || fail "cargo build did not report the contacts-server binary"
fi
export CONTACTS_SERVER_BIN
export ARTIFACTS_DIR="$ROOT/target/browser-artifacts"

node "$HERE/graphiql.test.mjs"
echo "browser: run.sh took $((SECONDS - start)) s"
