// Apollo Server 4 + pg + DataLoader: a hand-written peer over the project's tables.
// Reads mirror PostGraphile's shape (allLeads / leadById / requestsByLead: queries/apollo/*), with
// the nested requests batched by DataLoader into one window query per level. Writes mirror
// contacts-server's visitor API (signInAnonymously, createRequest, captureContactMetadata), each in
// one transaction with the same get-or-create of the lead; the "token" is "<user id>:<project id>",
// unsigned (no JWT, no password hashing: the peer has no real auth). PORT, DATABASE_URL, PG_POOL from env.
import { randomBytes, randomUUID } from "node:crypto";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import DataLoader from "dataloader";
import { GraphQLError, GraphQLScalarType } from "graphql";
import pg from "pg";

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:54339/bench_1000000",
  max: Number(process.env.PG_POOL ?? 16),
});

const typeDefs = `#graphql
  scalar JSON
  scalar UUID
  scalar Datetime
  input LeadCondition { projectId: UUID, emailKey: String, status: Int }
  enum LeadsOrderBy { CREATED_AT_DESC ID_DESC }
  enum RequestsOrderBy { CREATED_AT_DESC ID_DESC }
  type Query {
    allLeads(condition: LeadCondition, orderBy: [LeadsOrderBy!], first: Int): LeadsConnection!
    leadById(id: UUID!): Lead
  }
  type LeadsConnection { nodes: [Lead!]! }
  type Lead {
    id: UUID! projectId: UUID! leadId: String! fullname: String email: String emailKey: String
    attributes: JSON! status: Int! version: Int! createdAt: Datetime! updatedAt: Datetime!
    requestsByLead(orderBy: [RequestsOrderBy!], first: Int): RequestsConnection!
  }
  type RequestsConnection { nodes: [Request!]! }
  type Request { id: UUID! requestId: String! lead: UUID! firstText: String! status: Int! channel: String! createdAt: Datetime! }
  input SignInAnonymouslyInput { projectId: ID! }
  input CreateRequestInput { firstText: String! }
  input CaptureContactMetadataInput { fullname: String, email: String }
  type User { id: ID! }
  type AuthPayload { token: String! user: User! }
  type CreateRequestPayload { request: Request! contact: Lead! }
  type Mutation {
    signInAnonymously(input: SignInAnonymouslyInput!): AuthPayload!
    createRequest(input: CreateRequestInput!): CreateRequestPayload!
    captureContactMetadata(input: CaptureContactMetadataInput!): Lead!
  }
`;

const mapLead = (r) => ({ id: r.id, projectId: r.project_id, leadId: r.lead_id, fullname: r.fullname, email: r.email,
  emailKey: r.email_key, attributes: r.attributes, status: r.status, version: r.version, createdAt: r.created_at,
  updatedAt: r.updated_at });
const mapReq = (r) => ({ id: r.id, requestId: r.request_id, lead: r.lead, firstText: r.first_text, status: r.status,
  channel: r.channel, createdAt: r.created_at });
const LEAD_COLS = { projectId: "project_id", emailKey: "email_key", status: "status" };

function visitor(ctx) {
  const [uid, pid] = (ctx.token ?? "").split(":");
  if (!uid || !pid) throw new GraphQLError("authentication required", { extensions: { code: "UNAUTHENTICATED" } });
  return { uid, pid };
}
async function tx(fn) {
  const c = await pool.connect();
  try { await c.query("begin"); const out = await fn(c); await c.query("commit"); return out; }
  catch (e) { await c.query("rollback").catch(() => {}); throw e; }
  finally { c.release(); }
}
async function getOrCreateLead(c, uid, pid) {
  const find = () => c.query("select * from lead where project_id = $1 and lead_id = $2 for update", [pid, uid]);
  let { rows } = await find();
  if (rows.length) return rows[0];
  const u = (await c.query('select * from "user" where id = $1', [uid])).rows[0];
  if (!u) throw new GraphQLError("the visitor no longer exists", { extensions: { code: "UNAUTHENTICATED" } });
  await c.query(`insert into lead (id, project_id, lead_id, fullname, email, email_key, attributes, tags, status, version,
      created_at, updated_at) values ($1, $2, $3, $4, $5::text, lower($5::text), $6, '[]', 100, 1, now(), now())
      on conflict (project_id, lead_id) do nothing`, [randomUUID(), pid, uid, u.fullname, u.email, u.attributes ?? {}]);
  ({ rows } = await find());
  return rows[0];
}

const resolvers = {
  JSON: new GraphQLScalarType({ name: "JSON", serialize: (v) => v, parseValue: (v) => v }),
  UUID: new GraphQLScalarType({ name: "UUID", serialize: (v) => v, parseValue: (v) => v }),
  Datetime: new GraphQLScalarType({ name: "Datetime", serialize: (v) => (v instanceof Date ? v.toISOString() : v),
    parseValue: (v) => v }),
  Query: {
    async allLeads(_, { condition, first }) {
      const where = [], args = [];
      for (const [k, v] of Object.entries(condition ?? {})) {
        if (v != null && LEAD_COLS[k]) { args.push(v); where.push(`${LEAD_COLS[k]} = $${args.length}`); }
      }
      let sql = "select * from lead" + (where.length ? " where " + where.join(" and ") : "") + " order by created_at desc, id desc";
      if (first != null) { args.push(first); sql += ` limit $${args.length}`; }
      const { rows } = await pool.query(sql, args);
      return { nodes: rows.map(mapLead) };
    },
    async leadById(_, { id }) {
      const { rows } = await pool.query("select * from lead where id = $1", [id]);
      return rows.length ? mapLead(rows[0]) : null;
    },
  },
  Lead: {
    async requestsByLead(lead, { first }, ctx) {
      return { nodes: await ctx.requestsByLead(first ?? 100).load(lead.id) };
    },
  },
  Mutation: {
    async signInAnonymously(_, { input }) {
      const pid = input.projectId, uid = randomUUID();
      return tx(async (c) => {
        const p = await c.query("select id from project where id = $1", [pid]);
        if (!p.rows.length) throw new GraphQLError("project not found", { extensions: { code: "NOT_FOUND" } });
        await c.query(`insert into "user" (id, kind, attributes, created_at) values ($1, 'ANONYMOUS', '{}', now())`, [uid]);
        await c.query(`insert into project_member (project_id, user_id, role, created_at) values ($1, $2, 'GUEST', now())`, [pid, uid]);
        return { token: `${uid}:${pid}`, user: { id: uid } };
      });
    },
    async createRequest(_, { input }, ctx) {
      const { uid, pid } = visitor(ctx);
      const text = input.firstText.trim();
      if (!text) throw new GraphQLError("firstText is required", { extensions: { code: "BAD_USER_INPUT" } });
      return tx(async (c) => {
        const lead = await getOrCreateLead(c, uid, pid);
        const { rows } = await c.query(`insert into request (id, request_id, project_id, lead, requester_id, first_text, status,
            channel, attributes, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, 100, 'chat21', '{}', now(), now())
            returning *`, [randomUUID(), `support-group-${pid}-${randomBytes(16).toString("hex")}`, pid, lead.id, uid, text]);
        return { request: mapReq(rows[0]), contact: mapLead(lead) };
      });
    },
    async captureContactMetadata(_, { input }, ctx) {
      const { uid, pid } = visitor(ctx);
      const fullname = input.fullname?.trim().normalize("NFC") || null;
      const email = input.email?.trim().normalize("NFC") || null;
      return tx(async (c) => {
        const lead = await getOrCreateLead(c, uid, pid);
        const { rows } = await c.query(`update lead set fullname = coalesce($2, fullname), email = coalesce($3, email),
            email_key = coalesce($4, email_key), version = version + 1, updated_at = now() where id = $1 returning *`,
          [lead.id, fullname, email, email ? email.toLowerCase() : null]);
        return mapLead(rows[0]);
      });
    },
  },
};

const server = new ApolloServer({ typeDefs, resolvers });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(process.env.PORT ?? 5104) },
  context: async ({ req }) => {
    const auth = req.headers.authorization ?? "";
    const loaders = new Map();
    return {
      token: auth.startsWith("Bearer ") ? auth.slice(7) : null,
      // one DataLoader per page size: one window query per nesting level and batch
      requestsByLead: (first) => {
        if (!loaders.has(first)) loaders.set(first, new DataLoader(async (ids) => {
          const { rows } = await pool.query(`select * from (select r.*, row_number() over (partition by r.lead
              order by r.created_at desc, r.id desc) as rn from request r where r.lead = any($1::uuid[])) x
              where rn <= $2 order by lead, rn`, [ids, first]);
          const by = new Map(ids.map((i) => [i, []]));
          for (const r of rows) by.get(r.lead).push(mapReq(r));
          return ids.map((i) => by.get(i));
        }));
        return loaders.get(first);
      },
    };
  },
});
console.log(`Apollo Server 4 ready at ${url}`);
