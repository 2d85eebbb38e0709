import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sidecarJsonSchemas } from '../../shared/sidecar/json-schema.ts';

/** Writes schema/*.json from the zod schemas (npm run schema); a test checks they are current. */
const root = fileURLToPath(new URL('../../', import.meta.url));
for (const [file, schema] of Object.entries(sidecarJsonSchemas())) {
  await writeFile(`${root}schema/${file}`, `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote schema/${file}`);
}
