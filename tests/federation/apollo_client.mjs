// Apollo Client 4 with its persisted-queries link, as a partner's frontend or service runs it: reads
// .graphql files, runs each operation through `createPersistedQueryLink` and `HttpLink` (Node's
// fetch), and prints what came back as JSON on stdout.
//
//   node apollo_client.mjs < request.json
//   request: {"url": "http://127.0.0.1:PORT/graphql", "headers": {...},
//             "ids": "link" | "sorted",
//             "runs": [{"file": "a.graphql", "variables": {...}}, ...]}
//   output:  [{"operation": "Name", "data": {...} | null, "error": "message" | null}, ...]
//
// ids "link": the link's own ids, sha256 of graphql-js `print` of the document Apollo Client sends
// (its cache adds __typename); "sorted": `generatePersistedQueryIdsAtRuntime` of
// @apollo/persisted-query-lists, which sorts the definitions first, as Apollo's manifest generator.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ApolloClient, HttpLink, InMemoryCache } from "@apollo/client";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { generatePersistedQueryIdsAtRuntime } from "@apollo/persisted-query-lists";
import { parse } from "graphql";

const request = JSON.parse(readFileSync(0, "utf8"));
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const persisted = createPersistedQueryLink(
  request.ids === "sorted" ? generatePersistedQueryIdsAtRuntime({ sha256 }) : { sha256 },
);
const client = new ApolloClient({
  cache: new InMemoryCache(),
  link: persisted.concat(new HttpLink({ uri: request.url, headers: request.headers ?? {} })),
});

const results = [];
for (const run of request.runs) {
  const query = parse(readFileSync(run.file, "utf8"));
  const operation = query.definitions.find((d) => d.kind === "OperationDefinition").name.value;
  try {
    const result = await client.query({ query, variables: run.variables ?? {}, fetchPolicy: "no-cache" });
    results.push({ operation, data: result.data ?? null, error: result.error?.message ?? null });
  } catch (error) {
    results.push({ operation, data: null, error: String(error?.message ?? error) });
  }
}
process.stdout.write(JSON.stringify(results));
