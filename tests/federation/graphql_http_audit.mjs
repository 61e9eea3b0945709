// The GraphQL-over-HTTP conformance audits of graphql-http (the spec's reference implementation)
// against a running server; prints one JSON line: [{id, name, status, reason}] in the audits' order.
//
//   node graphql_http_audit.mjs URL
import { auditServer } from "graphql-http";

const url = process.argv[2];
const results = await auditServer({ url, fetchFn: fetch });
const report = [];
for (const result of results) {
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== "ok") entry.reason = result.reason;
  report.push(entry);
}
process.stdout.write(JSON.stringify(report));
