import type { CodegenConfig } from '@graphql-codegen/cli';

// Generates src/gql/ (git-ignored, rebuilt by `npm run codegen` and check.sh) from the
// server's checked-in schema and the operations in operations/. Validation is strict: an
// operation that selects a field, passes an argument or uses a type the schema does not
// have fails codegen with a non-zero exit.
const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['operations/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        // Fragments in operations/ are spread for reuse, not for colocation: keep their
        // fields visible on the result types.
        fragmentMasking: false,
      },
      config: {
        strictScalars: true,
        scalars: {
          ID: 'string',
          DateTime: 'string',
          // Outputs of type JSON are always objects (custom attributes); inputs may also be
          // a JSON scalar (`AttributeFilter.equals`: a string, number or boolean).
          JSON: { input: 'unknown', output: 'Record<string, unknown>' },
        },
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: false,
        skipTypename: false,
        nonOptionalTypename: false,
        dedupeFragments: true,
      },
    },
  },
};

export default config;
