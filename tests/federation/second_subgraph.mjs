// A second, independent federation v2 subgraph that adds fields to OUR entities by key. A gateway
// query starting at its root field must fetch the rest from our subgraph through `_entities`.
//
//   node second_subgraph.mjs [--port N] [--invoice-ids JSON] [--customer-ids JSON] [--exit-on-stdin-eof]
//   (env PORT, INVOICE_IDS, CUSTOMER_IDS; ids are JSON lists of strings, default [])
//
// Listens on 127.0.0.1 (port 0 picks a free one) and prints "READY http://127.0.0.1:PORT/".
// Its values derive from the id alone (see tests/federation/harness.py, which mirrors them), so a
// test can predict them for any id.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";

// One SDL file serves this server and harness.py (which composes it without starting us).
const SDL = readFileSync(new URL("./second_subgraph.graphql", import.meta.url), "utf8");

const LOYALTY_TIERS = ["bronze", "silver", "gold"];

/** Sum of the id's UTF-16 code units: stable, and trivially mirrored in Python for ASCII ids. */
function codeSum(id) {
  let sum = 0;
  for (let i = 0; i < id.length; i += 1) sum += id.charCodeAt(i);
  return sum;
}

const resolvers = {
  Query: {
    collectionQueue: (_parent, _args, context) => context.invoiceIds.map((id) => ({ id })),
    loyaltyMembers: (_parent, _args, context) => context.customerIds.map((id) => ({ id })),
  },
  Invoice: {
    __resolveReference: (reference) => ({ id: String(reference.id) }),
    riskScore: (invoice) => codeSum(invoice.id) % 100,
    collectionNotes: (invoice) => [`Call about invoice ${invoice.id}`],
  },
  Customer: {
    __resolveReference: (reference) => ({ id: String(reference.id) }),
    loyaltyTier: (customer) => LOYALTY_TIERS[codeSum(customer.id) % LOYALTY_TIERS.length],
  },
};

function idList(text, what) {
  const ids = JSON.parse(text ?? "[]");
  if (!Array.isArray(ids)) throw new Error(`${what} must be a JSON list, got ${text}`);
  return ids.map(String);
}

const { values } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT ?? "0" },
    "invoice-ids": { type: "string", default: process.env.INVOICE_IDS },
    "customer-ids": { type: "string", default: process.env.CUSTOMER_IDS },
    "exit-on-stdin-eof": { type: "boolean", default: false },
  },
});
const invoiceIds = idList(values["invoice-ids"], "--invoice-ids");
const customerIds = idList(values["customer-ids"], "--customer-ids");

const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs: parse(SDL), resolvers }) });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(values.port) },
  context: async () => ({ invoiceIds, customerIds }),
});

if (values["exit-on-stdin-eof"]) {
  // The parent holds our stdin open; when it dies, even by SIGKILL, we see EOF and leave: no orphans.
  process.stdin.on("end", () => server.stop().finally(() => process.exit(0)));
  process.stdin.resume();
}
process.stdout.write(`READY ${url}\n`);
