// An agents' live dashboard with the `graphql-ws` npm package: subscribes to `contactEvents`
// over a WebSocket to `/graphql` (the token in `connection_init`'s payload, as the server
// wants it), hands each event to `onEvent`, and after a disconnect (a server restart, a
// network cut, a slow-consumer close) subscribes again with `after:` set to the last
// `position` seen, so the server replays what was missed from its event log: nothing lost,
// nothing twice. The operation is ../operations/contactEvents.graphql, checked by codegen
// against the server's schema.graphql; `tsc` checks the variables and the event's type.
//
// Run as a script (compiled by check.sh, which runs it against a real server):
//   CONTACTS_URL=http://127.0.0.1:8000 CONTACTS_TOKEN=<agent token> [CONTACTS_AFTER=<position>] \
//     node subscribe-example.js
// It prints `connected`, `event <position> <kind> <contactId>` per event, `resuming after
// <position> ...` on a reconnect, and `stopped after <position>` on SIGINT/SIGTERM (exit 0;
// exit 1 on a fatal error such as a bad token).

import { print } from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';

import { GraphQLRequestError, type GraphQLErrorEntry } from './client.js';
import {
  ContactEventsDocument,
  type ContactEventKind,
  type ContactEventsSubscription,
  type ContactEventsSubscriptionVariables,
} from './gql/graphql.js';

/** One event of `contactEvents`, typed from the operation. */
export type ContactEvent = ContactEventsSubscription['contactEvents'];

export interface WatchContactEventsOptions {
  /** Where the server runs, e.g. `http://127.0.0.1:8000` (→ `ws://127.0.0.1:8000/graphql`). */
  baseUrl: string;
  /** An agent's token (`signIn`/`signUp`), sent as `{"Authorization": "Bearer …"}` in `connection_init`. */
  token: string;
  /** Resume after this `position` (one you stored); `"0"` replays the whole log; absent: only new events. */
  after?: string | null;
  /** Only these kinds. */
  kinds?: ContactEventKind[];
  /** Only this contact's events. */
  contactId?: string;
  /** Called once per event, in position order; the next event waits for it. */
  onEvent: (event: ContactEvent) => void | Promise<void>;
  /** Connection news (`connected`, `resuming after …`), for logs. */
  onStatus?: (message: string) => void;
  /** Ends the subscription (the promise then resolves). */
  signal?: AbortSignal;
  /** First reconnect delay in ms, doubled per failed attempt up to 30 s (default 1000). */
  retryDelayMs?: number;
  /** A WebSocket implementation: the `ws` package by default (Node 20 has no global WebSocket). */
  webSocketImpl?: unknown;
}

/**
 * Close codes after which reconnecting cannot help: 4403 (no, a bad or an expired token:
 * sign in again), 4400 (a malformed message). Any other close (1001 server shutdown, 1006
 * network, 1013 slow consumer, 4408 init timeout, 4429 too many connections) and a socket
 * error (server unreachable) are retried.
 */
const FATAL_CLOSE_CODES = new Set([4400, 4403]);

interface CloseLike {
  code: number;
  reason: string;
}

function isCloseEvent(err: unknown): err is CloseLike {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number' && 'reason' in err;
}

/** A socket error (the `ws` package's ErrorEvent: connection refused, DNS, TLS, ...). */
function isSocketError(err: unknown): err is { message: string } {
  return typeof err === 'object' && err !== null && 'type' in err && err.type === 'error' && 'message' in err;
}

/** Why the socket went away, for logs. */
function describe(err: unknown): string {
  if (isCloseEvent(err)) return `closed ${err.code} ${err.reason}`.trim();
  if (isSocketError(err)) return `socket error: ${err.message}`;
  // graphql-ws rejects with the server's `error` message payload: an array of GraphQL errors.
  if (Array.isArray(err)) return `GraphQL errors: ${JSON.stringify(err)}`;
  return String(err);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/**
 * Watches the project's contact events until `signal` aborts. Resolves to the last
 * `position` handed to `onEvent` (store it and pass it as `after` next time), `null` if
 * none. Rejects with `GraphQLRequestError` when the server refuses the subscription
 * (`UNAUTHENTICATED`, `FORBIDDEN` for a visitor token, `BAD_USER_INPUT`,
 * `TOO_MANY_SUBSCRIPTIONS`), with the close event of a fatal close (4403, 4400), or with
 * what `onEvent` throws.
 */
export async function watchContactEvents(options: WatchContactEventsOptions): Promise<string | null> {
  const url = `${options.baseUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}/graphql`;
  const { signal } = options;
  const status = options.onStatus ?? (() => {});
  let after = options.after ?? null;
  let failures = 0;
  // No retries inside graphql-ws: it would subscribe again with the first variables (the
  // first `after`). Here each reconnect is a new subscription from the last position.
  const client: WsClient = createClient({
    url,
    connectionParams: { Authorization: `Bearer ${options.token}` },
    webSocketImpl: options.webSocketImpl ?? WebSocket,
    lazy: true,
    retryAttempts: 0,
    on: {
      connected: () => {
        failures = 0;
        status('connected');
      },
    },
  });
  const query = print(ContactEventsDocument);
  try {
    while (!signal?.aborted) {
      const variables: ContactEventsSubscriptionVariables = { after };
      if (options.kinds) variables.kinds = options.kinds;
      if (options.contactId) variables.contactId = options.contactId;
      const events = client.iterate<ContactEventsSubscription>({ query, variables });
      const stop = () => void events.return?.();
      signal?.addEventListener('abort', stop, { once: true });
      try {
        for await (const result of events) {
          const errors = (result.errors ?? []) as ReadonlyArray<GraphQLErrorEntry>;
          if (errors.length > 0 || !result.data) {
            throw new GraphQLRequestError({
              errors,
              status: 200,
              operationName: 'ContactEvents',
              fallbackCode: 'BAD_RESPONSE',
            });
          }
          const event = result.data.contactEvents;
          await options.onEvent(event);
          after = event.position;
        }
        if (!signal?.aborted) status('the server completed the subscription');
        break;
      } catch (err) {
        if (signal?.aborted) break;
        const retry = isCloseEvent(err) ? !FATAL_CLOSE_CODES.has(err.code) : isSocketError(err);
        if (!retry) throw err;
        failures += 1;
        const delay = Math.min((options.retryDelayMs ?? 1000) * 2 ** (failures - 1), 30_000);
        status(`disconnected (${describe(err)}); resuming after ${after ?? '(live only)'} in ${delay} ms`);
        await sleep(delay, signal);
      } finally {
        signal?.removeEventListener('abort', stop);
      }
    }
  } finally {
    await client.dispose();
  }
  return after;
}

/** The script: watches with the environment's URL and token, printing one line per event. */
async function main(): Promise<void> {
  const baseUrl = process.env['CONTACTS_URL'];
  const token = process.env['CONTACTS_TOKEN'];
  if (!baseUrl || !token) throw new Error('set CONTACTS_URL and CONTACTS_TOKEN');
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort());
  const retry = Number(process.env['CONTACTS_RETRY_MS'] ?? '1000');
  const last = await watchContactEvents({
    baseUrl,
    token,
    after: process.env['CONTACTS_AFTER'] ?? null,
    signal: controller.signal,
    retryDelayMs: retry,
    onStatus: (message) => console.log(message),
    onEvent: (event) => console.log(`event ${event.position} ${event.kind} ${event.contactId}`),
  });
  console.log(`stopped after ${last ?? '(none)'}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`subscribe-example: ${describe(err)}`);
    process.exit(1);
  });
}
