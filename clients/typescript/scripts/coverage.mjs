// Checks that operations/*.graphql cover every root field of ../../schema.graphql: each
// field of Query, Mutation (and Subscription, should the schema get one) must be selected
// at the top level of at least one operation. Exits 1 naming the missing fields, so a
// root field added to the server without an operation here fails `check.sh`.
// (Whether the operations are valid against the schema is codegen's job.)
//
// Prints `operations: N (Q queries, M mutations, S subscriptions); root fields: K/K covered`.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, Kind, parse } from 'graphql';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const schema = buildSchema(readFileSync(join(here, '../../schema.graphql'), 'utf8'));

const opsDir = join(here, 'operations');
const definitions = readdirSync(opsDir)
  .filter((f) => f.endsWith('.graphql'))
  .sort()
  .flatMap((f) => parse(readFileSync(join(opsDir, f), 'utf8')).definitions.map((d) => ({ file: f, d })));

const fragments = new Map(
  definitions.filter(({ d }) => d.kind === Kind.FRAGMENT_DEFINITION).map(({ d }) => [d.name.value, d]),
);
const operations = definitions.filter(({ d }) => d.kind === Kind.OPERATION_DEFINITION);

/** Field names selected at the top of a selection set, through fragments. */
function topFields(selectionSet, seen = new Set()) {
  const names = [];
  for (const s of selectionSet.selections) {
    if (s.kind === Kind.FIELD) names.push(s.name.value);
    else if (s.kind === Kind.INLINE_FRAGMENT) names.push(...topFields(s.selectionSet, seen));
    else if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
      seen.add(s.name.value);
      const f = fragments.get(s.name.value);
      if (f) names.push(...topFields(f.selectionSet, seen));
    }
  }
  return names;
}

const roots = {
  query: schema.getQueryType(),
  mutation: schema.getMutationType(),
  subscription: schema.getSubscriptionType(),
};
const covered = { query: new Set(), mutation: new Set(), subscription: new Set() };
const counts = { query: 0, mutation: 0, subscription: 0 };
for (const { d } of operations) {
  counts[d.operation] += 1;
  for (const name of topFields(d.selectionSet)) covered[d.operation].add(name);
}

const missing = [];
let total = 0;
for (const [operation, type] of Object.entries(roots)) {
  if (!type) continue;
  for (const name of Object.keys(type.getFields())) {
    total += 1;
    if (!covered[operation].has(name)) missing.push(`${operation} ${type.name}.${name}`);
  }
}

if (missing.length > 0) {
  console.error(`schema root fields without an operation in operations/ (${missing.length}):`);
  for (const m of missing) console.error(`  - ${m}`);
  console.error('add an operation document for each (see README.md), then run check.sh again');
  process.exit(1);
}
console.log(
  `operations: ${operations.length} (${counts.query} queries, ${counts.mutation} mutations, ` +
    `${counts.subscription} subscriptions); root fields: ${total}/${total} covered`,
);
