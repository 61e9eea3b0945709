// Apollo Client 4 with its BatchHttpLink, as a frontend runs it with batching on: sends the given
// operations at once (the link gathers them into JSON-array POSTs of at most `batchMax`) and prints
// what came back as JSON on stdout, in the order given.
//
//   node apollo_batch_client.mjs < request.json
//   request: {"url": "http://127.0.0.1:PORT/graphql", "batchMax": 4,
//             "runs": [{"query": "query A { ... }", "variables": {...}}, ...]}
//   output:  [{"data": {...} | null, "error": "message" | null}, ...]
import { readFileSync } from "node:fs";
import { ApolloClient, InMemoryCache } from "@apollo/client";
import { BatchHttpLink } from "@apollo/client/link/batch-http";
import { parse } from "graphql";

const request = JSON.parse(readFileSync(0, "utf8"));
const client = new ApolloClient({
  cache: new InMemoryCache(),
  link: new BatchHttpLink({ uri: request.url, batchMax: request.batchMax, batchInterval: 20 }),
});

const results = await Promise.all(
  request.runs.map(async (run) => {
    try {
      const result = await client.query({
        query: parse(run.query),
        variables: run.variables ?? {},
        fetchPolicy: "no-cache",
        errorPolicy: "all",
      });
      return { data: result.data ?? null, error: result.error?.message ?? null };
    } catch (error) {
      return { data: null, error: String(error?.message ?? error) };
    }
  }),
);
process.stdout.write(JSON.stringify(results));
