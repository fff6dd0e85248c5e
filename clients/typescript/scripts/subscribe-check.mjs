// Runs the compiled subscription example (src/subscribe-example.ts) against the real server,
// for check.sh: starts $CONTACTS_SERVER_BIN on SQLite in a temp dir on a free port, signs an
// agent up over HTTP, starts the example (`node $EXAMPLE_JS`, from position 0), then:
//   1. creates a contact over HTTP: the example must print its CREATED event;
//   2. stops the server (SIGTERM: the socket closes 1001) and starts it again on the same
//      port and database, and at once, while the example waits to reconnect, creates a
//      second contact: the example must print `resuming after <last position>` and then
//      that contact's CREATED event (replayed from the log by `after:`, since it committed
//      before the example was back), with every position printed once, in increasing order;
//   3. SIGINT: the example must exit 0 with `stopped after <its last position>`;
//   4. with a forged token it must give up at once: exit 1 naming the 4403 close.
// Exits non-zero with the example's and the server's output on any failure.
//
//   CONTACTS_SERVER_BIN=... EXAMPLE_JS=... node scripts/subscribe-check.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const SERVER_BIN = process.env.CONTACTS_SERVER_BIN;
const EXAMPLE_JS = process.env.EXAMPLE_JS;
const WAIT_MS = 15_000;
const started = Date.now();

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A port free right now on 127.0.0.1 (the server needs a known port to restart on). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Spawns a process whose stdout lines are kept; `waitFor(re)` resolves to the first match at or after `from`. */
function run(cmd, args, env) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines = [];
  const errors = [];
  const waiters = new Set();
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
      for (const w of waiters) w.check();
    }),
  );
  child.stderr.on('data', (chunk) => errors.push(chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters) w.check();
  });
  return {
    child,
    lines,
    exited,
    output: () => `${lines.join('\n')}\n${errors.join('')}`,
    waitFor(re, from = 0, what = String(re)) {
      return new Promise((resolve, reject) => {
        const w = {
          check() {
            const i = lines.findIndex((l, n) => n >= from && re.test(l));
            if (i >= 0) return done(() => resolve({ index: i, match: re.exec(lines[i]) }));
            if (child.exitCode !== null || child.signalCode !== null) {
              return done(() => reject(new Error(`${cmd} exited before printing ${what}`)));
            }
            return undefined;
          },
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no ${what} within ${WAIT_MS} ms`))), WAIT_MS);
        function done(f) {
          clearTimeout(timer);
          waiters.delete(w);
          f();
        }
        waiters.add(w);
        w.check();
      });
    },
  };
}

function startServer(dir, port) {
  const server = run(SERVER_BIN, [], {
    DATABASE_URL: `sqlite://${dir}/contacts.db?mode=rwc`,
    BIND: `127.0.0.1:${port}`,
    JWT_SECRET: 'typescript-client-check-secret-0123456789abcdef',
    RUST_LOG: 'warn',
  });
  return server.waitFor(/listening on http:\/\//, 0, 'the listening line').then(() => server);
}

async function gql(base, query, variables, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const resp = await fetch(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await resp.json();
  if (body.errors || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body)}`);
  return body.data;
}

function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

const CREATE = 'mutation($input: CreateContactInput!) { createContact(input: $input) { id } }';

async function main() {
  check(SERVER_BIN && EXAMPLE_JS, 'CONTACTS_SERVER_BIN and EXAMPLE_JS are set');
  const dir = mkdtempSync(join(tmpdir(), 'contacts-ts-subscribe-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server;
  let example;
  try {
    server = await startServer(dir, port);
    const { signUp } = await gql(base, 'mutation($input: SignUpInput!) { signUp(input: $input) { token } }', {
      input: { email: 'agent@example.com', password: 'correct horse', fullname: 'Agent', projectName: 'Live' },
    });
    example = run(process.execPath, [EXAMPLE_JS], {
      CONTACTS_URL: base,
      CONTACTS_TOKEN: signUp.token,
      CONTACTS_AFTER: '0',
      CONTACTS_RETRY_MS: '1500',
    });
    await example.waitFor(/^connected$/, 0, '"connected"');

    // 1. Live: a contact created over HTTP arrives as its CREATED event.
    const one = (await gql(base, CREATE, { input: { fullname: 'Live One' } }, signUp.token)).createContact.id;
    const first = await example.waitFor(new RegExp(`^event (\\d+) CREATED ${one}$`), 0, `the CREATED event of ${one}`);
    const p1 = first.match[1];
    console.log(`typescript client: the example printed ${example.lines[first.index]}`);

    // 2. The server restarts; a change lands while the example waits to reconnect.
    server.child.kill('SIGTERM');
    await server.exited;
    const gone = await example.waitFor(/^disconnected \(closed (\d+) .*resuming after (\S+)/, first.index, 'a resume line');
    check(gone.match[2] === p1, `resumes after the last position ${p1}: ${example.lines[gone.index]}`);
    server = await startServer(dir, port);
    const two = (await gql(base, CREATE, { input: { fullname: 'Live Two' } }, signUp.token)).createContact.id;
    const reconnected = example.lines.findIndex((l, n) => n > gone.index && l === 'connected');
    check(reconnected < 0, 'the second contact committed before the example reconnected (so it is a replay)');
    const second = await example.waitFor(new RegExp(`^event (\\d+) CREATED ${two}$`), gone.index, `the CREATED event of ${two}`);
    console.log(`typescript client: after a restart (closed ${gone.match[1]}) it resumed after ${p1} and printed ${example.lines[second.index]}`);

    // Every position once, increasing.
    const positions = example.lines.filter((l) => l.startsWith('event ')).map((l) => Number(l.split(' ')[1]));
    check(positions.every((p, i) => i === 0 || p > positions[i - 1]), `positions increase, none twice: ${positions}`);

    // 3. SIGINT ends it cleanly with its last position.
    example.child.kill('SIGINT');
    const { code } = await example.exited;
    check(code === 0, `the example exits 0 on SIGINT (got ${code})`);
    const last = positions[positions.length - 1];
    check(example.lines.includes(`stopped after ${last}`), `"stopped after ${last}" printed`);

    // 4. A bad token is fatal (4403), not retried.
    const forged = run(process.execPath, [EXAMPLE_JS], { CONTACTS_URL: base, CONTACTS_TOKEN: 'forged', CONTACTS_RETRY_MS: '100' });
    const timer = setTimeout(() => forged.child.kill('SIGKILL'), WAIT_MS);
    const refused = await forged.exited;
    clearTimeout(timer);
    check(refused.code === 1 && /closed 4403/.test(forged.output()), `a forged token: exit 1 with 4403 (got ${JSON.stringify(refused)}: ${forged.output()})`);
    check(!forged.lines.some((l) => l.startsWith('disconnected')), `a forged token is not retried: ${forged.output()}`);
    console.log(`typescript client: subscription example ok, ${positions.length} events (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (err) {
    console.error(`typescript client: FAILED: subscription example: ${err.stack || err}`);
    if (example) console.error(`--- example output:\n${example.output()}`);
    if (server) console.error(`--- server output:\n${server.output()}`);
    process.exitCode = 1;
  } finally {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
