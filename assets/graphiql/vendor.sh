#!/usr/bin/env bash
# Refreshes the vendored GraphiQL build in this directory from the npm registry: `npm pack`s
# the pinned versions below into a temp dir and copies the browser (UMD) builds here,
# byte for byte, then prints their sha256 and total size. The server embeds these files at
# compile time (src/graphiql.rs) and serves them itself: the GraphiQL page needs no CDN.
#
#   bash assets/graphiql/vendor.sh      # then update README.md here if a version changed
#
# GraphiQL 3.x is the last line that ships a UMD build (globals React, ReactDOM, GraphiQL);
# it supports React 16.8-18, and React 18 is the last React with UMD builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

GRAPHIQL_VERSION=3.9.0
REACT_VERSION=18.3.1
# The GraphQL-over-WebSocket client GraphiQL runs subscriptions with (UMD build; global
# graphqlWs); init.js hands GraphiQL one client per Authorization header.
GRAPHQL_WS_VERSION=6.4.2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" \
  "react-dom@$REACT_VERSION" "graphql-ws@$GRAPHQL_WS_VERSION" >/dev/null)
for pkg in "graphiql-$GRAPHIQL_VERSION" "react-$REACT_VERSION" "react-dom-$REACT_VERSION" \
  "graphql-ws-$GRAPHQL_WS_VERSION"; do
  mkdir -p "$tmp/$pkg"
  tar -xzf "$tmp/$pkg.tgz" -C "$tmp/$pkg"
done

cp "$tmp/graphiql-$GRAPHIQL_VERSION/package/graphiql.min.js" graphiql.min.js
cp "$tmp/graphiql-$GRAPHIQL_VERSION/package/graphiql.min.css" graphiql.min.css
cp "$tmp/react-$REACT_VERSION/package/umd/react.production.min.js" react.production.min.js
cp "$tmp/react-dom-$REACT_VERSION/package/umd/react-dom.production.min.js" react-dom.production.min.js
cp "$tmp/graphql-ws-$GRAPHQL_WS_VERSION/package/umd/graphql-ws.min.js" graphql-ws.min.js
mkdir -p licenses
cp "$tmp/graphiql-$GRAPHIQL_VERSION/package/LICENSE" licenses/graphiql.LICENSE
cp "$tmp/react-$REACT_VERSION/package/LICENSE" licenses/react.LICENSE
cp "$tmp/react-dom-$REACT_VERSION/package/LICENSE" licenses/react-dom.LICENSE
cp "$tmp/graphql-ws-$GRAPHQL_WS_VERSION/package/LICENSE.md" licenses/graphql-ws.LICENSE

echo "vendored graphiql@$GRAPHIQL_VERSION, react@$REACT_VERSION, react-dom@$REACT_VERSION," \
  "graphql-ws@$GRAPHQL_WS_VERSION:"
files=(graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js
  graphql-ws.min.js)
sha256sum "${files[@]}"
echo "total: $(cat "${files[@]}" | wc -c) bytes"
