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
  var fetchers = {};
  function fetcherFor(auth) {
    if (!fetchers[auth]) {
      var wsClient = graphqlWs.createClient({
        url: subscriptionUrl,
        connectionParams: auth ? { Authorization: auth } : {},
        lazy: true,
        retryAttempts: 0,
      });
      fetchers[auth] = GraphiQL.createFetcher({ url: '/graphql', wsClient: wsClient });
    }
    return fetchers[auth];
  }

  // The names of the operations a document defines (comments and strings skipped).
  function operationNames(query) {
    var text = String(query || '').replace(/"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*/g, ' ');
    var re = /(?:^|[^_0-9A-Za-z$])(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/g;
    var names = [];
    var m;
    while ((m = re.exec(text)) !== null) names.push(m[1]);
    return names;
  }

  // GraphiQL 3 can send the operation name of the tab open before (switch from the
  // AgentSignUp tab to VisitorSignIn and run: "Unknown operation named AgentSignUp"; upstream
  // issue graphql/graphiql#3632). An operation name the document does not define is replaced
  // by its only operation's name, or dropped.
  function fetcher(params, opts) {
    var names = operationNames(params.query);
    if (params.operationName && names.indexOf(params.operationName) < 0) {
      params = Object.assign({}, params, { operationName: names.length === 1 ? names[0] : undefined });
    }
    return fetcherFor(authorization(opts && opts.headers))(params, opts);
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
