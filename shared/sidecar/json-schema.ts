import { z } from 'zod';
import { requestSchema } from '../requests/request-schema.ts';
import { editSidecarSchema, manifestSchema } from './sidecar-schema.ts';

/** JSON Schemas generated from the zod schemas (sidecars and the request message), keyed by file name under schema/. */
export function sidecarJsonSchemas(): Record<string, unknown> {
  const generate = (schema: z.ZodType, id: string, title: string) => ({
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
    $id: `https://bananaflow.dev/schema/${id}`,
    title,
  });
  return {
    'edit.v1.json': generate(
      editSidecarSchema,
      'edit.v1.json',
      'bananaflow sidecar v1: IMAGE.edit.json (one image) or _edit.json (every image in the folder)',
    ),
    'jobs.v1.json': generate(
      manifestSchema,
      'jobs.v1.json',
      'bananaflow manifest v1: NAME.jobs.json',
    ),
    'request.v1.json': generate(
      requestSchema,
      'request.v1.json',
      'bananaflow request message v1: one job, published on the requests topic',
    ),
  };
}
