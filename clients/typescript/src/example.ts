// The seed's scenario with the typed client: a widget visitor signs in anonymously,
// starts a request and has metadata captured; then an agent signs in and finds the
// visitor's contact by email, with its requests. Every call is checked by `tsc`
// against the operations in ../operations and the server's schema.graphql.

import { createClient, GraphQLRequestError, type Client } from './client.js';
import {
  CaptureContactMetadataDocument,
  ContactDocument,
  ContactsDocument,
  CreateRequestDocument,
  NodeDocument,
  SignInAnonymouslyDocument,
  SignInDocument,
  ViewerDocument,
  type ContactsQuery,
  type RequestStatus,
} from './gql/graphql.js';

export interface SeedScenarioOptions {
  /** e.g. `http://127.0.0.1:8000` */
  baseUrl: string;
  /** The project whose widget the visitor uses (`seed --demo` prints it). */
  projectId: string;
  /** The agent's credentials (`seed --demo` prints them). */
  agentEmail: string;
  agentPassword: string;
  /** The visitor's email captured by the widget. */
  visitorEmail?: string;
}

/** A contact found by the agent's search, with its requests. */
export type FoundContact = ContactsQuery['contacts']['nodes'][number];

export interface SeedScenarioResult {
  visitorToken: string;
  contactId: string;
  found: FoundContact[];
}

export async function runSeedScenario(options: SeedScenarioOptions): Promise<SeedScenarioResult> {
  const client: Client = createClient({ baseUrl: options.baseUrl });
  const visitorEmail = options.visitorEmail ?? 'andrea1@example.com';

  // 1. The widget signs the visitor in anonymously (a GUEST token).
  const { signInAnonymously: visitor } = await client.request(SignInAnonymouslyDocument, {
    input: { projectId: options.projectId },
  });
  const visitorToken: string = visitor.token;

  // 2. The visitor starts a request; the contact is created now, keyed by the user id.
  const { createRequest } = await client.request(
    CreateRequestDocument,
    { input: { firstText: 'Hello, I need help with my order', channel: 'CHAT_21' } },
    visitorToken,
  );
  const status: RequestStatus = createRequest.request.status; // 'UNASSIGNED'
  console.log(`request ${createRequest.request.requestId} is ${status}`);

  // 3. The widget captures metadata on the visitor's own contact.
  const { captureContactMetadata: captured } = await client.request(
    CaptureContactMetadataDocument,
    {
      input: {
        fullname: 'Andrea Sponziello',
        email: visitorEmail,
        phone: '+39 06 6988 1234',
        attributes: { plan: 'pro' },
      },
    },
    visitorToken,
  );
  console.log(`contact ${captured.id} v${captured.version}: ${captured.fullname ?? '(no name)'}`);

  // The visitor reads its own contact back through `viewer`.
  const { viewer } = await client.request(ViewerDocument, {}, visitorToken);
  console.log(`visitor role ${viewer?.role}, ${viewer?.contact?.requests.totalCount ?? 0} request(s)`);

  // 4. An agent signs in ...
  const { signIn: agent } = await client.request(SignInDocument, {
    input: { email: options.agentEmail, password: options.agentPassword },
  });

  // 5. ... and searches by email, with each contact's newest requests.
  const { contacts } = await client.request(
    ContactsDocument,
    { email: visitorEmail, withTotalCount: true, requestsFirst: 10 },
    agent.token,
  );
  console.log(`${contacts.totalCount ?? contacts.nodes.length} contact(s) with ${visitorEmail}`);
  for (const contact of contacts.nodes) {
    console.log(`- ${contact.leadId} ${contact.fullname ?? ''}: ${contact.requests.totalCount} request(s)`);
    for (const request of contact.requests.nodes) {
      console.log(`  ${request.createdAt} ${request.status} ${request.firstText}`);
    }
    if (contact.requests.pageInfo.hasNextPage) {
      console.log(`  more after ${contact.requests.pageInfo.endCursor ?? ''}`);
    }
  }

  // Contact detail, and the same contact through `node` (narrowed by `__typename`).
  const { contact } = await client.request(ContactDocument, { id: captured.id }, agent.token);
  if (contact) console.log(`detail: ${contact.email ?? ''}, tags [${contact.tags.join(', ')}]`);
  const { node } = await client.request(NodeDocument, { id: captured.id }, agent.token);
  if (node?.__typename === 'Contact') console.log(`node: Contact ${node.leadId}`);

  // Errors carry `extensions.code`: a visitor token cannot list contacts.
  try {
    await client.request(ContactsDocument, {}, visitorToken);
  } catch (error) {
    if (error instanceof GraphQLRequestError && error.hasCode('FORBIDDEN')) {
      console.log('a visitor cannot list contacts: FORBIDDEN');
    } else {
      throw error;
    }
  }

  return { visitorToken, contactId: captured.id, found: contacts.nodes };
}
