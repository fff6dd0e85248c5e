#!/usr/bin/env bash
# CI check of the TypeScript client: install the pinned toolchain (when node_modules is
# missing or was installed from another package-lock.json), regenerate src/gql/ from
# ../../schema.graphql and operations/*.graphql (codegen validates every operation against
# the schema), check that the operations cover every root field of the schema, then
# type-check the client and the examples with `tsc --noEmit`; then compile them (tsc, into a
# temp dir here, so Node finds node_modules and `"type": "module"`) and run the subscription
# example against the real server (scripts/subscribe-check.mjs: live event, a server restart,
# resume with `after:`). The server is $CONTACTS_SERVER_BIN when set, else `cargo build`
# (debug, whatever CARGO_TARGET_DIR says). Exits non-zero on any failure.
#
#   bash clients/typescript/check.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
start=$SECONDS

fail() { echo "typescript client: FAILED: $*" >&2; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null \
  || fail "node and npm are needed (Node 20 or newer; on Debian: apt-get install nodejs npm)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || fail "Node 20 or newer is needed, found $(node --version)"

# Install exactly what package-lock.json pins, unless node_modules already holds that.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.check-sh-lock-sha256
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$lock_sum" ]; then
  echo "typescript client: npm ci"
  # --loglevel=error: on Node 20, npm warns (EBADENGINE) about @whatwg-node/* packages that
  # codegen's URL/GitHub schema loaders pull in; they want Node 22 but are not used here.
  npm ci --no-audit --no-fund --loglevel=error || fail "npm ci"
  echo "$lock_sum" > "$stamp"
fi

echo "typescript client: codegen"
rm -rf src/gql
node_modules/.bin/graphql-codegen --config codegen.ts \
  || fail "codegen: an operation in operations/ does not match ../../schema.graphql (see above)"

echo "typescript client: coverage of the schema's root fields"
node scripts/coverage.mjs || fail "operations/ misses root fields of ../../schema.graphql (see above)"

echo "typescript client: tsc --noEmit"
node_modules/.bin/tsc --noEmit -p tsconfig.json || fail "tsc --noEmit (see above)"

echo "typescript client: tsc (compile) + run the subscription example against the server"
if [ -z "${CONTACTS_SERVER_BIN:-}" ]; then
  # The binary's path as cargo reports it (whatever target dir is configured).
  CONTACTS_SERVER_BIN=$(cd ../.. && cargo build --bin contacts-server --message-format=json-render-diagnostics \
    | node -e 'let out = ""; process.stdin.on("data", (d) => (out += d)).on("end", () => {
        for (const line of out.split("\n")) {
          try { const m = JSON.parse(line); if (m.executable && m.target?.name === "contacts-server") console.log(m.executable); } catch {}
        }
      })') || fail "cargo build"
  [ -x "$CONTACTS_SERVER_BIN" ] || fail "cargo build did not report the contacts-server binary"
fi
build=$(mktemp -d "$PWD/.build.XXXXXX")
trap 'rm -rf "$build"' EXIT
node_modules/.bin/tsc -p tsconfig.json --noEmit false --outDir "$build" || fail "tsc (compile, see above)"
CONTACTS_SERVER_BIN=$CONTACTS_SERVER_BIN EXAMPLE_JS="$build/subscribe-example.js" node scripts/subscribe-check.mjs \
  || fail "the subscription example against the server (see above)"

n=$(cat operations/*.graphql | grep -cE '^(query|mutation|subscription)\b')
echo "typescript client: $n operations, codegen + tsc ok, subscription example ran ($((SECONDS - start)) s)"
