// Mounts GraphiQL on #graphiql (served by contacts-server from /graphiql/assets/, no CDN).
// The endpoint is this server's /graphql; the preloaded example tabs are the JSON data block
// #graphiql-tabs, which the server makes from assets/graphiql/examples/*.graphql
// (src/graphiql.rs). Subscriptions run over a WebSocket to the same /graphql (ws:, or wss:
// on an https page) with the vendored graphql-ws client (global graphqlWs), the Headers
// editor's Authorization going in connection_init's payload. An external file, not an inline
// script: the page's Content-Security-Policy allows scripts from 'self' only (its
// connect-src 'self' also allows this origin's ws:/wss:).
(function () {
  'use strict';
  // The style nonce of this response's CSP (on this script's tag): GraphiQL's dialogs add a
  // <style> element for their scroll lock and take its nonce from __webpack_nonce__.
  window.__webpack_nonce__ = document.currentScript.nonce;
  var tabs = JSON.parse(document.getElementById('graphiql-tabs').textContent);
  var subscriptionUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql';

  // The Authorization value of the Headers editor (a parsed JSON object; any letter case),
  // '' for none.
  function authorization(headers) {
    for (var name in headers || {}) {
      if (name.toLowerCase() === 'authorization') return String(headers[name]);
    }
    return '';
  }

  // One GraphiQL fetcher per Authorization value: HTTP for queries and mutations, and a
  // graphql-ws client for subscriptions whose connection_init payload carries that value
  // ({"Authorization": "Bearer …"}; the server's only way to authenticate a socket). The
  // client is lazy (a socket only while a subscription runs) and does not retry: a closed
  // socket ends the subscription with GraphiQL's "Socket closed with event 4403 ..." (a
  // bad or expired token; 1013 a slow consumer, 1001 a server shutdown), and
  // running it again (with `after:` set to the last `position` seen) resumes it.
  var clients = {};
  var fetchers = {};
  function clientFor(auth) {
    if (!clients[auth]) {
      clients[auth] = graphqlWs.createClient({
        url: subscriptionUrl,
        connectionParams: auth ? { Authorization: auth } : {},
        lazy: true,
        retryAttempts: 0,
      });
    }
    return clients[auth];
  }
  function fetcherFor(auth) {
    if (!fetchers[auth]) {
      fetchers[auth] = GraphiQL.createFetcher({ url: '/graphql', wsClient: clientFor(auth) });
    }
    return fetchers[auth];
  }

  // The results of a subscription over `client`, as the async iterator GraphiQL consumes:
  // its stop button calls `return` (graphql-ws then sends `complete`), and a closed socket
  // ends it with GraphiQL's own wording ("Socket closed with event 4403 token expired").
  function subscribe(client, payload) {
    var results = client.iterate(payload);
    function closed(err) {
      if (err && typeof err.code === 'number') {
        throw new Error('Socket closed with event ' + err.code + (err.reason ? ' ' + err.reason : ''));
      }
      throw err;
    }
    var iterator = {
      next: function () { return results.next().catch(closed); },
      return: function (value) { return results.return(value); },
    };
    iterator[Symbol.asyncIterator] = function () { return iterator; };
    return iterator;
  }

  // The operations a document defines, `{kind, name}` (comments and strings skipped).
  function operations(query) {
    var text = String(query || '').replace(/"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*/g, ' ');
    var re = /(?:^|[^_0-9A-Za-z$])(query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/g;
    var ops = [];
    var m;
    while ((m = re.exec(text)) !== null) ops.push({ kind: m[1], name: m[2] });
    return ops;
  }

  // GraphiQL 3 can send the operation name of the tab open before (switch from the
  // AgentSignUp tab to VisitorSignIn and run: "Unknown operation named AgentSignUp"; upstream
  // issue graphql/graphiql#3632), or none right after a tab switch. An operation name the
  // document does not define, or a missing one, is replaced by the document's only
  // operation's name (dropped when it defines several). A subscription goes to the WebSocket
  // client here: GraphiQL's own fetcher tells one only from the parsed document it passes,
  // which it sometimes has not parsed yet after a tab switch, and then sends the subscription
  // over HTTP ("Subscriptions are not supported on this transport").
  function fetcher(params, opts) {
    var ops = operations(params.query);
    var names = ops.map(function (o) { return o.name; });
    if (!params.operationName || names.indexOf(params.operationName) < 0) {
      params = Object.assign({}, params, { operationName: names.length === 1 ? names[0] : undefined });
    }
    var auth = authorization(opts && opts.headers);
    var op = ops.filter(function (o) { return o.name === params.operationName; })[0];
    if (op && op.kind === 'subscription') {
      return subscribe(clientFor(auth), {
        query: params.query,
        variables: params.variables || {},
        operationName: params.operationName,
      });
    }
    return fetcherFor(auth)(params, opts);
  }
  var container = document.getElementById('graphiql');
  container.textContent = '';
  ReactDOM.createRoot(container).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: tabs,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: true,
    }),
  );
})();
