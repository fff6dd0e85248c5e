// A small typed GraphQL-over-HTTP client for contacts-server, built on `fetch`.
//
// Pass it a document generated into ./gql/graphql.ts (e.g. `ContactsDocument`): the
// variables are checked against the operation's variables type and the result comes back
// typed as the operation's result type. Errors come back as `GraphQLRequestError`, whose
// `code` is the server's `extensions.code` (`UNAUTHENTICATED`, `FORBIDDEN`,
// `BAD_USER_INPUT`, `NOT_FOUND`, `CONFLICT`, ...).

import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Kind, print, type DocumentNode } from 'graphql';

/** One entry of a GraphQL response's `errors`. */
export interface GraphQLErrorEntry {
  message: string;
  locations?: ReadonlyArray<{ line: number; column: number }>;
  path?: ReadonlyArray<string | number>;
  /** `code` plus error-specific details such as `field` or `existingId`. */
  extensions?: { code?: string; field?: string; [key: string]: unknown };
}

/** A GraphQL response body. */
export interface GraphQLResponse<TResult> {
  data?: TResult | null;
  errors?: ReadonlyArray<GraphQLErrorEntry>;
  extensions?: Record<string, unknown>;
}

/**
 * A request that failed: GraphQL errors in the response, a non-2xx HTTP status, or a
 * body that is not a GraphQL response. `code` is the first error's `extensions.code`
 * (`HTTP_<status>` or `BAD_RESPONSE` when the server sent no GraphQL error).
 */
export class GraphQLRequestError<TResult = unknown> extends Error {
  override readonly name = 'GraphQLRequestError';
  /** `extensions.code` of the first error. */
  readonly code: string;
  /** `extensions.field` of the first error (set with `BAD_USER_INPUT`), if any. */
  readonly field: string | undefined;
  /** Every error of the response. */
  readonly errors: ReadonlyArray<GraphQLErrorEntry>;
  /** The HTTP status of the response. */
  readonly status: number;
  /** The operation's name, when the document names it. */
  readonly operationName: string | undefined;
  /** Whatever data came along with the errors (partial results), if any. */
  readonly data: TResult | null | undefined;

  constructor(args: {
    errors: ReadonlyArray<GraphQLErrorEntry>;
    status: number;
    operationName: string | undefined;
    data?: TResult | null | undefined;
    fallbackCode: string;
  }) {
    const first = args.errors[0];
    const code = first?.extensions?.code ?? args.fallbackCode;
    const where = args.operationName ? `${args.operationName}: ` : '';
    super(`${where}${code}: ${first?.message ?? `HTTP ${args.status}`}`);
    this.code = code;
    this.field = first?.extensions?.field;
    this.errors = args.errors;
    this.status = args.status;
    this.operationName = args.operationName;
    this.data = args.data;
  }

  /** Whether any of the errors carries `extensions.code` equal to `code`. */
  hasCode(code: string): boolean {
    return this.code === code || this.errors.some((e) => e.extensions?.code === code);
  }
}

export interface ClientOptions {
  /** Where the server runs, e.g. `http://127.0.0.1:8000`; requests go to `${baseUrl}/graphql`. */
  baseUrl: string;
  /** A `fetch` implementation; the global one by default. */
  fetch?: typeof fetch;
  /** Headers sent with every request (e.g. a request id). */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  /** Aborts the request (e.g. `AbortSignal.timeout(10_000)`). */
  signal?: AbortSignal;
  /** Extra headers for this request. */
  headers?: Record<string, string>;
}

export interface Client {
  /**
   * Runs one operation. `token` (an agent's or a visitor's, from `signIn`, `signUp` or
   * `signInAnonymously`) is sent as `Authorization: Bearer <token>`. Resolves to the
   * operation's typed `data`; rejects with `GraphQLRequestError` when the response has
   * any error.
   */
  request<TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: NoInfer<TVariables>,
    token?: string | null,
    options?: RequestOptions,
  ): Promise<TResult>;
}

const printed = new WeakMap<DocumentNode, { query: string; operationName: string | undefined }>();

function printDocument(document: DocumentNode): { query: string; operationName: string | undefined } {
  let entry = printed.get(document);
  if (!entry) {
    const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    entry = { query: print(document), operationName: operation?.name?.value };
    printed.set(document, entry);
  }
  return entry;
}

function isGraphQLResponse(body: unknown): body is GraphQLResponse<unknown> {
  return typeof body === 'object' && body !== null && ('data' in body || 'errors' in body);
}

export function createClient(options: ClientOptions): Client {
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/graphql`;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);

  return {
    async request<TResult, TVariables extends Record<string, unknown>>(
      document: TypedDocumentNode<TResult, TVariables>,
      variables: NoInfer<TVariables>,
      token?: string | null,
      requestOptions?: RequestOptions,
    ): Promise<TResult> {
      const { query, operationName } = printDocument(document);
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        Accept: 'application/graphql-response+json, application/json;q=0.9',
        ...options.headers,
        ...requestOptions?.headers,
      };
      if (token) headers['Authorization'] = `Bearer ${token}`;

      const init: RequestInit = {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables, operationName }),
      };
      if (requestOptions?.signal) init.signal = requestOptions.signal;
      const response = await doFetch(endpoint, init);

      const text = await response.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }

      if (!isGraphQLResponse(body)) {
        throw new GraphQLRequestError<TResult>({
          errors: [{ message: `not a GraphQL response (HTTP ${response.status}): ${text.slice(0, 200)}` }],
          status: response.status,
          operationName,
          fallbackCode: response.ok ? 'BAD_RESPONSE' : `HTTP_${response.status}`,
        });
      }
      const result = body as GraphQLResponse<TResult>;
      if ((result.errors && result.errors.length > 0) || !response.ok || result.data == null) {
        throw new GraphQLRequestError<TResult>({
          errors: result.errors ?? [],
          status: response.status,
          operationName,
          data: result.data,
          fallbackCode: response.ok ? 'BAD_RESPONSE' : `HTTP_${response.status}`,
        });
      }
      return result.data;
    },
  };
}
