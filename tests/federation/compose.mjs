// Composes subgraph SDLs into a supergraph with Apollo's own composer, so our tests judge our SDL
// by the same rules Apollo Router / Gateway / Rover apply.
//
//   node compose.mjs subgraphs.json        # [{"name", "url", "sdlFile" | "sdl"}, ...] (sdlFile relative to the JSON)
//   node compose.mjs -                     # the same JSON on stdin
//   node compose.mjs NAME URL SDL_FILE [NAME URL SDL_FILE ...]
//
// Success: the supergraph SDL on stdout, exit 0 (hints, if any, as {"hints": [...]} on stderr).
// Failure: {"errors": [{"message", "code"}, ...]} on stderr, exit 1. Bad usage: exit 2.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

function usage(message) {
  process.stderr.write(`compose.mjs: ${message}\n`);
  process.stderr.write("usage: node compose.mjs <subgraphs.json | - | NAME URL SDL_FILE ...>\n");
  process.exit(2);
}

function readDefinitions(argv) {
  if (argv.length === 1) {
    const source = argv[0];
    const text = source === "-" ? readFileSync(0, "utf8") : readFileSync(source, "utf8");
    const base = source === "-" ? process.cwd() : dirname(resolve(source));
    const list = JSON.parse(text);
    if (!Array.isArray(list)) usage("the JSON must be a list of {name, url, sdl | sdlFile}");
    return list.map((entry) => ({
      name: entry.name,
      url: entry.url,
      sdl: entry.sdl ?? readFileSync(resolve(base, entry.sdlFile), "utf8"),
    }));
  }
  if (argv.length === 0 || argv.length % 3 !== 0) usage("expected a JSON file, '-', or NAME URL SDL_FILE triples");
  const definitions = [];
  for (let i = 0; i < argv.length; i += 3) {
    definitions.push({ name: argv[i], url: argv[i + 1], sdl: readFileSync(argv[i + 2], "utf8") });
  }
  return definitions;
}

function fail(errors) {
  process.stderr.write(JSON.stringify({ errors }) + "\n");
  process.exit(1);
}

const definitions = readDefinitions(process.argv.slice(2));
const services = [];
const parseErrors = [];
for (const { name, url, sdl } of definitions) {
  if (typeof name !== "string" || typeof sdl !== "string") usage("every subgraph needs a name and an SDL");
  try {
    services.push({ name, url, typeDefs: parse(sdl) });
  } catch (error) {
    // A syntax error is not a composition error, but the caller wants one shape for both.
    parseErrors.push({ message: `[${name}] ${error.message}`, code: "INVALID_GRAPHQL" });
  }
}
if (parseErrors.length > 0) fail(parseErrors);

const result = composeServices(services);
if (result.errors) {
  fail(result.errors.map((error) => ({ message: error.message, code: error.extensions?.code ?? null })));
}
if (result.hints.length > 0) {
  const hints = result.hints.map((hint) => ({ message: hint.message, code: hint.definition.code }));
  process.stderr.write(JSON.stringify({ hints }) + "\n");
}
process.stdout.write(result.supergraphSdl);
