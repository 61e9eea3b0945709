// A real Apollo Gateway over a static supergraph (the output of compose.mjs): it never polls a
// registry, so tests start it offline and every query plan comes from Apollo's query planner.
//
//   node gateway.mjs --supergraph FILE [--port N] [--exit-on-stdin-eof]
//   (env SUPERGRAPH_PATH, PORT; the supergraph may also come on stdin with --supergraph -)
//
// Listens on 127.0.0.1 (port 0 picks a free one) and prints "READY http://127.0.0.1:PORT/" once it
// accepts queries. Gateway defaults are kept, including how it asks subgraphs for ftv1 traces.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const { values } = parseArgs({
  options: {
    supergraph: { type: "string", default: process.env.SUPERGRAPH_PATH },
    port: { type: "string", default: process.env.PORT ?? "0" },
    "exit-on-stdin-eof": { type: "boolean", default: false },
  },
});
if (!values.supergraph) {
  process.stderr.write("gateway.mjs: --supergraph FILE (or SUPERGRAPH_PATH) is required\n");
  process.exit(2);
}
if (values.supergraph === "-" && values["exit-on-stdin-eof"]) {
  process.stderr.write("gateway.mjs: --supergraph - consumes stdin, so it cannot also watch stdin for EOF\n");
  process.exit(2);
}
// Read stdin for the SDL before it becomes the parent-liveness signal below.
const supergraphSdl = readFileSync(values.supergraph === "-" ? 0 : values.supergraph, "utf8");

const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }) });
let url;
try {
  ({ url } = await startStandaloneServer(server, {
    listen: { host: "127.0.0.1", port: Number(values.port) },
  }));
} catch (error) {
  // Usually a subgraph SDL passed where the composed supergraph belongs: say so in one line.
  process.stderr.write(`gateway.mjs: cannot start from ${values.supergraph}: ${error.message}\n`);
  process.exit(1);
}

if (values["exit-on-stdin-eof"]) {
  // The parent holds our stdin open; when it dies, even by SIGKILL, we see EOF and leave: no orphans.
  process.stdin.on("end", () => server.stop().finally(() => process.exit(0)));
  process.stdin.resume();
}
process.stdout.write(`READY ${url}\n`);
