// End-to-end test of the GraphiQL page in headless Chromium (run by run.sh beside it).
//
// Starts the real server binary ($CONTACTS_SERVER_BIN) on SQLite in a temp dir, on a free
// port, opens /graphql in Debian's chromium driven by playwright-core, with every request to a
// host other than this machine aborted (a CDN dependency fails the test), and checks:
//   - GraphiQL renders, with the example tabs preloaded, and its introspection succeeds (the
//     docs explorer shows Query and Mutation);
//   - an agent signs up over HTTP (from this script); then in the page the VisitorSignIn tab
//     runs signInAnonymously with that project id, the visitor token goes into the Headers
//     editor of the VisitorCreateRequest and VisitorViewer tabs, both run, and the result
//     pane shows the visitor's own data (role GUEST, its user id, its request);
//   - the AgentContactEvents tab (a subscription) runs over a WebSocket to the same
//     /graphql, with the agent token of the Headers editor in connection_init's payload:
//     it replays the log (`after: "0"`, the visitor's request shows), then a contact created
//     over HTTP from this script shows live in the result pane (its id, kind CREATED);
//   - the page requested nothing outside localhost (WebSockets included), broke no Content-Security-Policy rule
//     and threw no error.
// Saves a screenshot ($ARTIFACTS_DIR/graphiql.png, graphiql-failure.png on failure) and ends
// with `browser: N passed, N failed`.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const SERVER_BIN = process.env.CONTACTS_SERVER_BIN;
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ARTIFACTS = process.env.ARTIFACTS_DIR || join(process.cwd(), 'browser-artifacts');
const TIMEOUT_MS = 30_000;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

const started = Date.now();
let passed = 0;
let failed = 0;
const log = (msg) => console.log(`browser: ${msg}`);

/** Starts the server on SQLite in `dir`; resolves to { child, base, output() }. */
function startServer(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(SERVER_BIN, [], {
      env: {
        ...process.env,
        DATABASE_URL: `sqlite://${dir}/contacts.db?mode=rwc`,
        BIND: '127.0.0.1:0',
        JWT_SECRET: 'browser-test-secret-browser-test-secret-0123',
        RUST_LOG: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = [];
    child.stderr.on('data', (chunk) => lines.push(chunk.toString()));
    const timer = setTimeout(() => reject(new Error('the server did not start in 30 s')), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}): ${lines.join('')}`));
    });
    // Never leave the server behind, whatever ends this process.
    process.on('exit', () => child.kill('SIGKILL'));
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      clearTimeout(timer);
      // "contacts-server listening on http://127.0.0.1:PORT (GraphiQL: ...)"
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (!match) return reject(new Error(`unexpected first line: ${line}`));
      resolve({ child, base: match[1], output: () => lines.join('') });
    });
  });
}

/** POSTs a GraphQL operation to the server; returns `data`, throwing on errors. */
async function gql(base, query, variables, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const resp = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await resp.json();
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

/**
 * Sets the text of the active tab's Variables or Headers editor (`which`): opens that editor
 * tab, then sets the visible CodeMirror 5 editor's value (typing into CodeMirror fights its
 * bracket auto-closing).
 */
async function setEditor(page, which, text) {
  await page.click(`.graphiql-editor-tools button:has-text("${which}")`);
  const selector = `section.graphiql-editor-tool[aria-label="${which}"] .graphiql-editor:not(.hidden) .CodeMirror`;
  await page.waitForSelector(selector);
  await page.evaluate(
    ([sel, value]) => {
      const editors = document.querySelectorAll(sel);
      if (editors.length !== 1) throw new Error(`${editors.length} editors match ${sel}`);
      editors[0].CodeMirror.setValue(value);
    },
    [selector, text],
  );
}

/** Opens the tab whose title is `name` and waits until it is the active one. */
async function openTab(page, name) {
  const tab = page.locator('.graphiql-tab', { hasText: name });
  await tab.locator('button.graphiql-tab-button').click();
  await page.waitForSelector(`.graphiql-tab-active:has-text("${name}")`);
}

/**
 * Runs the active tab's operation with the execute button and returns the result pane's JSON
 * once it holds a new result (the pane is emptied first, so a stale result cannot pass).
 */
async function runActiveTab(page) {
  await page.evaluate(() => document.querySelector('.result-window .CodeMirror').CodeMirror.setValue(''));
  await page.click('.graphiql-execute-button');
  const handle = await page.waitForFunction(
    () => {
      const text = document.querySelector('.result-window .CodeMirror').CodeMirror.getValue();
      return text.trim().length > 0 ? text : null;
    },
    null,
    { timeout: TIMEOUT_MS },
  );
  return JSON.parse(await handle.jsonValue());
}

async function main() {
  check(SERVER_BIN, 'CONTACTS_SERVER_BIN names the server binary');
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const old of ['graphiql.png', 'graphiql-failure.png']) rmSync(join(ARTIFACTS, old), { force: true });
  const dir = mkdtempSync(join(tmpdir(), 'contacts-browser-'));
  const server = await startServer(dir);
  log(`server on ${server.base}`);
  const outside = [];
  const problems = [];
  let browser;
  let page;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    // Offline: only this machine answers; anything else is aborted and recorded.
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol) && !LOCAL_HOSTS.has(url.hostname)) {
        outside.push(url.href);
        return route.abort('blockedbyclient');
      }
      return route.continue();
    });
    page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol) && !LOCAL_HOSTS.has(url.hostname)) {
        outside.push(url.href);
      }
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
    });
    page.on('response', (resp) => {
      if (resp.status() >= 400) problems.push(`HTTP ${resp.status()} for ${resp.url()}`);
    });
    const sockets = [];
    page.on('websocket', (ws) => {
      const socket = { url: ws.url(), sent: [], received: [] };
      sockets.push(socket);
      const url = new URL(ws.url());
      if (!LOCAL_HOSTS.has(url.hostname)) outside.push(url.href);
      ws.on('framesent', (f) => socket.sent.push(String(f.payload)));
      ws.on('framereceived', (f) => socket.received.push(String(f.payload)));
    });
    page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} (${req.failure()?.errorText})`));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`),
      );
    });

    // 1. The page renders GraphiQL, with the example tabs, and introspection succeeds.
    const introspection = page.waitForResponse(
      (r) => r.url().endsWith('/graphql') && r.request().method() === 'POST' && (r.request().postData() || '').includes('__schema'),
    ).catch((err) => err);
    const resp = await page.goto(`${server.base}/graphql`);
    check(resp.status() === 200, `GET /graphql is ${resp.status()}`);
    check((resp.headers()['content-security-policy'] || '').includes("script-src 'self'"), 'the page has a CSP');
    const schemaResp = await introspection;
    check(!(schemaResp instanceof Error), `GraphiQL fetched the schema: ${schemaResp}`);
    check(schemaResp.status() === 200, `introspection answered ${schemaResp.status()}`);
    const schemaBody = await schemaResp.json();
    check(schemaBody.data?.__schema?.queryType?.name === 'Query', `introspection result: ${JSON.stringify(schemaBody).slice(0, 300)}`);
    await page.waitForSelector('.graphiql-container .graphiql-execute-button');
    const titles = await page.locator('.graphiql-tab').allInnerTexts();
    const expected = ['AgentSignUp', 'VisitorSignIn', 'VisitorCreateRequest', 'VisitorCaptureMetadata', 'AgentSearchByEmail', 'AgentContactDetail', 'VisitorViewer', 'AgentContactEvents', 'AgentAssignAndNote', 'AgentCompany', 'AgentDefineAttribute', 'AgentSaveSegment', 'AgentTagSegment', 'AgentBulkJob'];
    for (const name of expected) {
      check(titles.some((t) => t.includes(name)), `a tab "${name}" among ${JSON.stringify(titles)}`);
    }
    log(`GraphiQL rendered with ${titles.length} example tabs; introspection 200`);

    // 2. The docs explorer (fed by introspection) shows the root types.
    await page.click('button[aria-label="Show Documentation Explorer"]');
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByText('Query', { exact: true }).first().waitFor();
    await docs.getByText('Mutation', { exact: true }).first().waitFor();
    await docs.getByText('Subscription', { exact: true }).first().waitFor();
    log('docs explorer shows Query, Mutation and Subscription');

    // 3. An agent signs up over HTTP: the project the visitor signs in to.
    const signUp = await gql(
      server.base,
      'mutation($input: SignUpInput!) { signUp(input: $input) { token project { id name } } }',
      { input: { email: 'agent@example.com', password: 'correct horse', fullname: 'Agent Smith', projectName: 'Acme support' } },
    );
    const projectId = signUp.signUp.project.id;

    // 4. In the page: signInAnonymously from its preloaded tab.
    await openTab(page, 'VisitorSignIn');
    await setEditor(page, 'Variables', JSON.stringify({ projectId }, null, 2));
    const signIn = await runActiveTab(page);
    check(!signIn.errors, `signInAnonymously errors: ${JSON.stringify(signIn.errors)}`);
    const visitor = signIn.data.signInAnonymously;
    check(visitor.token && visitor.user.id && visitor.project.id === projectId, `signInAnonymously result: ${JSON.stringify(signIn)}`);
    log(`signInAnonymously in the page: visitor ${visitor.user.id}`);
    const headers = JSON.stringify({ Authorization: `Bearer ${visitor.token}` }, null, 2);

    // 5. The visitor's first request, with the token in the Headers editor.
    await openTab(page, 'VisitorCreateRequest');
    await setEditor(page, 'Headers', headers);
    const created = await runActiveTab(page);
    check(!created.errors, `createRequest errors: ${JSON.stringify(created.errors)}`);
    check(created.data.createRequest.request.status, `createRequest result: ${JSON.stringify(created)}`);

    // 6. viewer with the visitor token: the result pane shows the visitor's own data.
    await openTab(page, 'VisitorViewer');
    await setEditor(page, 'Headers', headers);
    const viewer = await runActiveTab(page);
    check(!viewer.errors, `viewer errors: ${JSON.stringify(viewer.errors)}`);
    const v = viewer.data.viewer;
    check(v && v.role === 'GUEST', `viewer role: ${JSON.stringify(viewer)}`);
    check(v.user.id === visitor.user.id, `viewer is the visitor: ${JSON.stringify(viewer)}`);
    check(v.project.id === projectId, `viewer project: ${JSON.stringify(viewer)}`);
    check(
      v.contact?.requests?.nodes?.[0]?.firstText === 'Hello, I need help with my order',
      `viewer contact and request: ${JSON.stringify(viewer)}`,
    );
    // What a person sees: the rendered result pane, not only the editor's model.
    const shown = await page.locator('.result-window').innerText();
    for (const text of ['GUEST', visitor.user.id, 'Hello, I need help with my order']) {
      check(shown.includes(text), `the result pane shows ${text}: ${shown.slice(0, 500)}`);
    }
    log('viewer in the page shows the visitor (GUEST, its user id, its request)');

    // 7. The live tab: contactEvents over a WebSocket, the agent token in the Headers editor.
    const agentToken = signUp.signUp.token;
    const requestId = created.data.createRequest.request.id;
    await openTab(page, 'AgentContactEvents');
    await setEditor(page, 'Headers', JSON.stringify({ Authorization: `Bearer ${agentToken}` }, null, 2));
    const pane = () => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue();
    await page.evaluate(() => document.querySelector('.result-window .CodeMirror').CodeMirror.setValue(''));
    await page.click('.graphiql-execute-button');
    // The replay (`after: "0"`) reaches the visitor's request: the subscription is live now.
    await page.waitForFunction((id) => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue().includes(id), requestId).catch(async (err) => {
      throw new Error(`the replay did not show request ${requestId}: ${err.message}; pane: ${await page.evaluate(pane)}`);
    });
    const made = await gql(server.base, 'mutation($input: CreateContactInput!) { createContact(input: $input) { id } }', { input: { fullname: 'Live Contact' } }, agentToken);
    const liveId = made.createContact.id;
    await page.waitForFunction((id) => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue().includes(id), liveId).catch(async (err) => {
      throw new Error(`the live event of ${liveId} did not show: ${err.message}; pane: ${await page.evaluate(pane)}`);
    });
    const live = JSON.parse(await page.evaluate(pane));
    check(!live.errors, `contactEvents errors: ${JSON.stringify(live.errors)}`);
    check(live.data?.contactEvents?.kind === 'CREATED' && live.data.contactEvents.contactId === liveId, `the live event: ${JSON.stringify(live)}`);
    const shownLive = await page.locator('.result-window').innerText();
    check(shownLive.includes(liveId) && shownLive.includes('CREATED'), `the result pane shows the event: ${shownLive.slice(0, 500)}`);
    // It came over a same-origin WebSocket, authenticated by the Headers editor's token.
    const wsUrl = server.base.replace('http://', 'ws://') + '/graphql';
    const socket = sockets.find((s) => s.url === wsUrl);
    check(socket, `a WebSocket to ${wsUrl}: ${JSON.stringify(sockets.map((s) => s.url))}`);
    const init = socket.sent.map((f) => JSON.parse(f)).find((m) => m.type === 'connection_init');
    check(init?.payload?.Authorization === `Bearer ${agentToken}`, `connection_init carries the agent token: ${JSON.stringify(init)}`);
    check(socket.received.some((f) => f.includes(liveId)), 'the event arrived on that socket');
    // The stop button ends the subscription (the socket's `complete`).
    await page.click('.graphiql-execute-button');
    for (let i = 0; i < 100 && !socket.sent.some((f) => JSON.parse(f).type === 'complete'); i += 1) {
      await new Promise((r) => setTimeout(r, 50));
    }
    check(socket.sent.some((f) => JSON.parse(f).type === 'complete'), 'the stop button sent `complete`');
    log(`subscription in the page: the live event CREATED ${liveId} shown, over ${wsUrl}`);

    // The settings dialog opens and closes (its scroll lock injects a <style> element, which
    // a stricter style-src would refuse).
    await page.click('button[aria-label="Open settings dialog"]');
    await page.waitForSelector('[role="dialog"]');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[role="dialog"]', { state: 'detached' });

    const shot = join(ARTIFACTS, 'graphiql.png');
    await page.screenshot({ path: shot });
    log(`screenshot: ${shot}`);

    // 7. Nothing left this machine, nothing broke.
    check(outside.length === 0, `requests outside localhost: ${JSON.stringify([...new Set(outside)])}`);
    check(problems.length === 0, `page problems:\n  ${problems.join('\n  ')}`);
    log('no request outside localhost, no CSP violation, no page error');
    passed += 1;
  } catch (err) {
    failed += 1;
    console.error(`browser: FAILED: ${err.stack || err}`);
    if (outside.length) console.error(`browser: requests outside localhost: ${[...new Set(outside)].join(', ')}`);
    if (problems.length) console.error(`browser: page problems:\n  ${problems.join('\n  ')}`);
    if (page) {
      const shot = join(ARTIFACTS, 'graphiql-failure.png');
      await page.screenshot({ path: shot }).catch(() => {});
      console.error(`browser: failure screenshot: ${shot}`);
    }
    console.error(`browser: server log:\n${server.output()}`);
  } finally {
    if (browser) await browser.close();
    server.child.removeAllListeners('exit');
    server.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  log(`took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(`browser: FAILED: ${err.stack || err}`);
  console.log(`browser: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
