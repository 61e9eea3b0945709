// The reference clients of both subscription transports against our server: graphql-ws (the
// graphql-transport-ws protocol's own library, over the `ws` WebSocket) and graphql-sse (distinct
// connections mode). Usage: node subscribe_clients.mjs WS_URL HTTP_URL API_KEY QUERY COUNT
// Prints {"ws": [results], "sse": [results]}: the first COUNT results of each.
import { createClient as createWsClient } from "graphql-ws";
import { createClient as createSseClient } from "graphql-sse";
import WebSocket from "ws";

const [wsUrl, httpUrl, key, query, count] = process.argv.slice(2);
const wanted = Number(count);

async function take(iterator, n) {
  const results = [];
  for await (const result of iterator) {
    results.push(result);
    if (results.length >= n) break;
  }
  return results;
}

const ws = createWsClient({
  url: wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: { "X-API-Key": key },
  retryAttempts: 0,
});
const sse = createSseClient({ url: httpUrl, headers: { "x-api-key": key }, retryAttempts: 0 });
try {
  const output = {
    ws: await take(ws.iterate({ query }), wanted),
    sse: await take(sse.iterate({ query }), wanted),
  };
  process.stdout.write(JSON.stringify(output) + "\n");
} finally {
  await ws.dispose();
  sse.dispose();
}
