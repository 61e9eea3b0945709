// GraphQL Mesh over Kickserv's OpenAPI description (kickserv-openapi.yaml): the bench composes it
// against its sandbox (KICKSERV_API_URL, KICKSERV_BASIC) and serves it with Hive Gateway.
// Nested fields are Mesh's own @resolveTo: one upstream call per parent, as Mesh resolves them.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Kickserv', {
        source: './kickserv-openapi.yaml',
        endpoint: process.env.KICKSERV_API_URL,
        operationHeaders: { Authorization: `Basic ${process.env.KICKSERV_BASIC}` },
      }),
    },
  ],
  additionalTypeDefs: /* GraphQL */ `
    extend type Customer {
      jobs_page(per_page: Int): JobPage
        @resolveTo(
          sourceName: "Kickserv"
          sourceTypeName: "Query"
          sourceFieldName: "customer_jobs"
          requiredSelectionSet: "{ customer_number }"
          sourceArgs: { customer_number: "{root.customer_number}", per_page: "{args.per_page}" }
        )
    }
    extend type ChildCustomer {
      record: Customer
        @resolveTo(
          sourceName: "Kickserv"
          sourceTypeName: "Query"
          sourceFieldName: "customer"
          requiredSelectionSet: "{ customer_number }"
          sourceArgs: { customer_number: "{root.customer_number}" }
        )
    }
    extend type Job {
      task_page: TaskPage
        @resolveTo(
          sourceName: "Kickserv"
          sourceTypeName: "Query"
          sourceFieldName: "tasks"
          requiredSelectionSet: "{ id }"
          sourceArgs: { job_id: "{root.id}", per_page: 100 }
        )
    }
  `,
});
