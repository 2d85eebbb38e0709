import { z } from 'zod';
import { manifestJobSchema } from '../sidecar/sidecar-schema.ts';

/**
 * Request message v1: what another system publishes on the requests topic to have one job planned
 * (schema/request.v1.json is generated from this). It holds exactly what a manifest job holds, taken
 * from the manifest job schema's fields (so a field added there arrives here too), except that
 * `inputs` and `references` name objects of the input bucket instead of paths beside a sidecar.
 */

export const REQUEST_VERSION = 1;

/** Safe as a Pub/Sub attribute value, in a subscription filter and in an object name. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const requestIdSchema = z
  .string()
  .regex(
    REQUEST_ID_PATTERN,
    'use 1-128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit',
  )
  .describe(
    'Your id for this request, echoed on every result event (attribute and body) and record. Default: derived from the content, so the same message gives the same id.',
  );

const GS_URI = /^gs:\/\/([^/]+)\/(.+)$/;

/**
 * An object of the input bucket: its name (`cats/tom.png`) or `gs://<input bucket>/cats/tom.png`.
 * Whether a gs:// URI names the input bucket is checked when the request is planned (only the
 * deployment knows its bucket).
 */
export const objectNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(1100, 'must be at most 1100 characters')
  .refine((p) => GS_URI.test(p) || !/^[a-z][a-z0-9+.-]*:/i.test(p), {
    message: 'must be an object name of the input bucket or a gs:// URI, not another kind of URL',
  })
  .refine((p) => !objectNameOf(p).startsWith('/'), {
    message: 'must be an object name (no leading "/")',
  })
  .refine((p) => !objectNameOf(p).split('/').includes('..'), {
    message: 'must not contain ".." segments',
  });

function objectNameOf(value: string): string {
  return GS_URI.exec(value)?.[2] ?? value;
}

/** Splits `gs://bucket/name` into its parts; a plain name has no bucket. */
export function parseObjectName(value: string): { bucket?: string; name: string } {
  const match = GS_URI.exec(value);
  return match?.[1] && match[2] ? { bucket: match[1], name: match[2] } : { name: value };
}

const objectNames = (what: string) =>
  z
    .array(objectNameSchema)
    .max(14)
    .optional()
    .describe(`${what} Object names of the input bucket, or gs:// URIs of it.`);

// A keyframe sequence chains frames on names planned under a manifest's folder: manifests only.
const { frames: _frames, preview: _preview, ...jobFields } = manifestJobSchema.shape;

export const requestSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors.'),
    version: z
      .literal(REQUEST_VERSION)
      .optional()
      .describe('Request format version; only 1 exists.'),
    requestId: requestIdSchema.optional(),
    ...jobFields,
    inputs: objectNames('Images to edit or compose; none = text-to-image.'),
    references: objectNames(
      'Extra images sent after the inputs: a style to transfer, parts to compose, a character to keep consistent.',
    ),
  })
  .refine((r) => r.prompt !== undefined || r.steps !== undefined, {
    message: 'give a "prompt" or "steps"',
    path: ['prompt'],
  })
  .refine((r) => !(r.prompt !== undefined && r.steps !== undefined), {
    message: 'give either "prompt" or "steps", not both',
    path: ['steps'],
  });
export type EditRequest = z.infer<typeof requestSchema>;
