// Apollo's own persisted-query manifest generator (@apollo/generate-persisted-query-manifest) over a
// folder of .graphql files; prints the manifest as JSON on stdout.
//
//   node apollo_manifest.mjs FOLDER
import { generatePersistedQueryManifest } from "@apollo/generate-persisted-query-manifest";

const folder = process.argv[2];
const manifest = await generatePersistedQueryManifest({ documents: [`${folder}/*.graphql`] }, undefined);
process.stdout.write(JSON.stringify(manifest));
