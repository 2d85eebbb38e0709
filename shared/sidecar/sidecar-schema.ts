import { z } from 'zod';
import { GROUNDING_TOOLS, THINKING_LEVELS } from '../catalog/model-catalog.ts';
import { TIERS } from '../catalog/tiers.ts';

/**
 * Sidecar format v1: the instruction files a team drops beside its images.
 *   photo.jpg.edit.json  edits photo.jpg                      (per image)
 *   _edit.json           edits every image in its folder       (per folder, unless a per-image one exists)
 *   NAME.jobs.json       lists jobs, each with its own inputs  (manifest; no inputs = text-to-image)
 * Defined once here; the JSON Schemas in schema/ are generated from these (npm run schema).
 */

export const SIDECAR_VERSION = 1;
export const MAX_PROMPT_CHARS = 20_000;
export const MAX_STEPS = 10;
export const MAX_VARIANTS = 8;
export const MAX_MANIFEST_JOBS = 10_000;
/** A keyframe sequence: 2 to 100 frames, each its own job chained on the one before. */
export const MIN_FRAMES = 2;
export const MAX_FRAMES = 100;
export const DEFAULT_FPS = 2;

export const OUTPUT_FORMATS = ['png', 'jpeg', 'webp', 'avif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export const OUTPUT_MIME_TYPES = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  avif: 'image/avif',
} as const satisfies Record<OutputFormat, string>;
export const OUTPUT_EXTENSIONS = {
  png: 'png',
  jpeg: 'jpg',
  webp: 'webp',
  avif: 'avif',
} as const satisfies Record<OutputFormat, string>;

/** What the job is for; derived from its shape when absent, checked against it when given. */
export const MODES = [
  'text-to-image',
  'edit',
  'composition',
  'style-transfer',
  'refinement',
  'character-series',
  'keyframes',
] as const;
export type Mode = (typeof MODES)[number];

const prompt = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_PROMPT_CHARS, `must be at most ${MAX_PROMPT_CHARS} characters`);

/**
 * A path relative to the sidecar's folder. ".." is fine while the path stays inside the drop;
 * where it resolves is checked when jobs are planned (INPUT_PATH_OUTSIDE_DROP).
 */
export const relativePath = z
  .string()
  .min(1, 'must not be empty')
  .max(1024, 'must be at most 1024 characters')
  .refine((p) => !/^[a-z][a-z0-9+.-]*:/i.test(p), {
    message: 'must be a path relative to the sidecar, not a URL or another bucket',
  })
  .refine((p) => !p.startsWith('/') && !p.startsWith('\\'), {
    message: 'must be relative to the sidecar, not absolute',
  })
  .refine((p) => !p.includes('\\'), { message: 'must use / as the folder separator' });

const label = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use 1-64 letters, digits, ".", "_" or "-"');

export const outputSpec = z.strictObject({
  format: z.enum(OUTPUT_FORMATS).default('png').describe('Encoding of the output image.'),
  quality: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(90)
    .describe('Quality for jpeg, webp and avif (1-100).'),
  renditions: z
    .array(z.number().int().min(16).max(8192))
    .max(8)
    .default([])
    .describe('Extra downscaled copies, by width in pixels (never upscaled).'),
});
export type OutputSpec = z.infer<typeof outputSpec>;

/** Fields any job can set; in a manifest also its `defaults`. */
const editFields = {
  prompt: prompt.optional().describe('What to do. Required unless `steps` is given.'),
  steps: z
    .array(prompt)
    .min(1)
    .max(MAX_STEPS)
    .optional()
    .describe('Iterative refinement: each step edits the previous result, in one conversation.'),
  references: z
    .array(relativePath)
    .max(14)
    .optional()
    .describe(
      'Extra images sent after the inputs: a style to transfer, parts to compose, a character to keep consistent.',
    ),
  model: z.string().min(1).optional().describe('Model id or alias from the catalog.'),
  aspectRatio: z
    .string()
    .regex(/^\d{1,2}:\d{1,2}$/, 'must look like "16:9"')
    .optional()
    .describe('Output aspect ratio; by default the output follows the input image, else 1:1.'),
  imageSize: z
    .string()
    .regex(/^(512|1K|2K|4K)$/, 'must be "512", "1K", "2K" or "4K" (a string, uppercase K)')
    .optional()
    .describe(
      "Output resolution, where the model supports it (`bananaflow models` lists each model's sizes).",
    ),
  thinkingLevel: z
    .enum(THINKING_LEVELS)
    .optional()
    .describe('How much the model thinks before drawing, where it supports it; billed as output.'),
  grounding: z
    .enum(GROUNDING_TOOLS)
    .optional()
    .describe('"google-search": ground the image in Google Search results (billed per request).'),
  variants: z
    .number()
    .int()
    .min(1)
    .max(MAX_VARIANTS)
    .optional()
    .describe('Independent samples; each is its own request and its own cost.'),
  output: outputSpec.partial().optional(),
  maxCostUsd: z
    .number()
    .positive()
    .optional()
    .describe(
      'Refuse to run when the estimated cost of what this sidecar plans exceeds this (USD).',
    ),
  tags: z
    .record(z.string().max(64), z.string().max(256))
    .refine((t) => Object.keys(t).length <= 32, 'at most 32 tags')
    .optional()
    .describe('Free-form labels copied into every output metadata record.'),
  mode: z.enum(MODES).optional(),
  tier: z
    .enum(TIERS)
    .optional()
    .describe(
      'standard (default), batch (Batch API: half price, up to 24 h) or flex (half price, 1-15 min, best effort), where the model offers it.',
    ),
  name: label.optional().describe('Label used in output file names.'),
};

const schemaRef = z.string().optional().describe('Path or URL of this JSON Schema, for editors.');
const version = z
  .literal(SIDECAR_VERSION)
  .optional()
  .describe('Sidecar format version; only 1 exists.');

/** photo.jpg.edit.json and _edit.json */
export const editSidecarSchema = z
  .strictObject({ $schema: schemaRef, version, ...editFields })
  .refine((s) => s.prompt !== undefined || s.steps !== undefined, {
    message: 'give a "prompt" or "steps"',
    path: ['prompt'],
  })
  .refine((s) => !(s.prompt !== undefined && s.steps !== undefined), {
    message: 'give either "prompt" or "steps", not both',
    path: ['steps'],
  });
export type EditSidecar = z.infer<typeof editSidecarSchema>;

/** How a keyframe sequence's animated preview plays. */
export const previewSpec = z.strictObject({
  fps: z
    .number()
    .min(0.1)
    .max(30)
    .default(DEFAULT_FPS)
    .describe(`Frames per second of the animated preview (default ${DEFAULT_FPS}).`),
  gif: z.boolean().default(false).describe('Also write an animated GIF beside the animated WebP.'),
});
export type PreviewSpec = z.infer<typeof previewSpec>;

/** Fields only a manifest job has (not `defaults`): a keyframe sequence is one job's own. */
const sequenceFields = {
  frames: z
    .array(prompt)
    .min(
      MIN_FRAMES,
      `give ${MIN_FRAMES} to ${MAX_FRAMES} frame prompts (for one image, use "prompt")`,
    )
    .max(MAX_FRAMES, `at most ${MAX_FRAMES} frames; split a longer sequence over several jobs`)
    .optional()
    .describe(
      'Keyframes: one prompt per frame. Frame 1 starts from the inputs (or text alone), each later frame from the frame before, plus the references.',
    ),
  preview: previewSpec
    .partial()
    .optional()
    .describe('Animated preview of a keyframe sequence (only with "frames").'),
};

export const manifestJobSchema = z
  .strictObject({
    ...editFields,
    ...sequenceFields,
    inputs: z
      .array(relativePath)
      .max(14)
      .optional()
      .describe('Images to edit or compose; none = text-to-image.'),
  })
  .refine((s) => !(s.prompt !== undefined && s.steps !== undefined), {
    message: 'give either "prompt" or "steps", not both',
    path: ['steps'],
  })
  .superRefine((job, ctx) => {
    const conflict = (field: string, message: string) =>
      ctx.addIssue({ code: 'custom', message, path: [field] });
    if (job.frames === undefined) {
      if (job.preview !== undefined) conflict('preview', 'applies only to a job with "frames"');
      if (job.mode === 'keyframes') conflict('mode', 'mode "keyframes" needs "frames"');
      return;
    }
    if (job.steps !== undefined) {
      conflict('steps', 'give either "frames" or "steps", not both (each frame is one prompt)');
    }
    if (job.prompt !== undefined) conflict('prompt', 'give either "frames" or "prompt", not both');
    if (job.variants !== undefined && job.variants !== 1) {
      conflict('variants', '"frames" cannot have variants (each frame follows the one before)');
    }
    if (job.mode !== undefined && job.mode !== 'keyframes') {
      conflict('mode', `"frames" make a "keyframes" job, not "${job.mode}"`);
    }
  });
export type ManifestJob = z.infer<typeof manifestJobSchema>;

/** NAME.jobs.json */
export const manifestSchema = z
  .strictObject({
    $schema: schemaRef,
    version,
    defaults: z
      .strictObject({ ...editFields, inputs: z.array(relativePath).max(14).optional() })
      .optional()
      .describe('Applied to every job; a job overrides field by field.'),
    maxCostUsd: editFields.maxCostUsd,
    jobs: z.array(manifestJobSchema).min(1).max(MAX_MANIFEST_JOBS),
  })
  .superRefine((manifest, ctx) => {
    manifest.jobs.forEach((job, index) => {
      const hasPrompt =
        job.prompt ??
        job.steps ??
        job.frames ??
        manifest.defaults?.prompt ??
        manifest.defaults?.steps;
      if (hasPrompt === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'give a "prompt" or "steps" (here or in "defaults")',
          path: ['jobs', index, 'prompt'],
        });
      }
    });
  });
export type Manifest = z.infer<typeof manifestSchema>;
