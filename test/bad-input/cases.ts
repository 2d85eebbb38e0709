import sharp from 'sharp';
import type { ErrorCode } from '../../shared/errors.ts';
import { animated, encoded, pngBomb, solid, truncate } from '../imaging/generated-images.ts';

/**
 * The bad-input corpus: small drops, generated in code (no binary fixtures), each with what must
 * come of it. A case's files live in a folder named after the case (paths below are relative to
 * it), except for a case with `folder: ''`, whose files sit at the drop's root.
 *
 * Outcomes:
 *  - `sidecar-error`: planning refuses the sidecar; its record `NAME.edit.error.json` (or
 *    `.jobs.error.json`) in the output lists these problems, each with its field when it has one.
 *  - `job-error`: a job is planned and fails at the worker; its record `….error.json` names the input.
 *  - `success`: awkward but valid; the job succeeds and its metadata record says what was converted.
 *  - `never-processed`: no job, no record, no reference anywhere (pipeline files, outputs).
 */

/** Sidecar size limit the tests run with (BANANAFLOW_MAX_SIDECAR_BYTES); the huge case is above it. */
export const MAX_SIDECAR_BYTES = 32 * 1024;

export type FileContent = Buffer | string | object;

export interface Size {
  width: number;
  height: number;
}

export type Expected =
  | {
      outcome: 'sidecar-error';
      /** The sidecar, relative to the case folder. */
      sidecar: string;
      /** Problems the record must list; it lists no other error codes. */
      problems: Array<{ code: ErrorCode; field?: string }>;
    }
  | { outcome: 'job-error'; input: string; code: ErrorCode }
  | {
      outcome: 'success';
      /** The job's first input; or, for a text-to-image job, `output` names its output prefix. */
      input?: string;
      output?: string;
      /** Each must match one of the input's recorded conversions; [] = sent untouched. */
      conversions?: RegExp[];
      /** Recorded size as stored (before EXIF orientation) and as sent. */
      original?: Size;
      sent?: Size;
    }
  | { outcome: 'never-processed'; file: string };

export interface BadInputCase {
  name: string;
  /** Folder of the case inside the drop; default its name. */
  folder?: string;
  /** What the case is, for docs/reliability.md. */
  about: string;
  files: () => Promise<Record<string, FileContent>>;
  /** Files written with the output tag (`bananaflow-output: 1` custom metadata). */
  taggedAsOutput?: Record<string, () => Promise<Buffer>>;
  expect: Expected[];
  /** Also driven through the ingest use case (upload events). */
  ingest?: boolean;
}

const photo = (width = 64, height = 48) => encoded(width, height, (i) => i.png());
const jpeg = (width = 64, height = 48) => encoded(width, height, (i) => i.jpeg());

/** A JPEG with real entropy-coded data (a pattern), so cutting it short cuts into the scan. */
async function patternedJpeg(): Promise<Buffer> {
  const width = 96;
  const height = 64;
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37 + Math.floor(i / 97) * 11) % 256;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

const longCjkStem = '写真'.repeat(41); // 82 characters, 246 bytes in UTF-8: the file name fits in 255 bytes
const longAsciiStem = `holiday-${'a'.repeat(190)}`;

export const CASES: BadInputCase[] = [
  {
    name: 'good',
    about:
      'A plain image with its sidecar and a text-to-image manifest, in the same drop as all the bad input',
    files: async () => ({
      'photo.png': await photo(),
      'photo.png.edit.json': { prompt: 'make it warmer' },
      'poster.jobs.json': { jobs: [{ name: 'poster', prompt: 'a banana poster' }] },
    }),
    expect: [
      { outcome: 'success', input: 'photo.png', conversions: [] },
      { outcome: 'success', output: 'poster/poster.' },
    ],
  },
  {
    name: 'malformed-json',
    about: 'Sidecar that is not valid JSON',
    files: async () => ({
      'photo.png': await photo(),
      'photo.png.edit.json': '{ "prompt": "warm", ',
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'photo.png.edit.json',
        problems: [{ code: 'SIDECAR_INVALID_JSON' }],
      },
    ],
    ingest: true,
  },
  {
    name: 'wrong-types',
    about: 'Fields of the wrong type (number for text, text for a number)',
    files: async () => ({
      'photo.png': await photo(),
      'photo.png.edit.json': { prompt: 42, variants: 'two', output: { quality: 'high' } },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'photo.png.edit.json',
        problems: [
          { code: 'SIDECAR_INVALID', field: 'prompt' },
          { code: 'SIDECAR_INVALID', field: 'variants' },
          { code: 'SIDECAR_INVALID', field: 'output.quality' },
        ],
      },
    ],
    ingest: true,
  },
  {
    name: 'unknown-fields',
    about: 'Unknown (misspelt) fields, top level and nested',
    files: async () => ({
      'photo.png': await photo(),
      'photo.png.edit.json': { prompt: 'x', colour: 'red', output: { fromat: 'png' } },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'photo.png.edit.json',
        problems: [
          { code: 'SIDECAR_INVALID', field: 'colour' },
          { code: 'SIDECAR_INVALID', field: 'output.fromat' },
        ],
      },
    ],
    ingest: true,
  },
  {
    name: 'huge-sidecar',
    about: `Sidecar over BANANAFLOW_MAX_SIDECAR_BYTES (valid JSON, ${MAX_SIDECAR_BYTES + 8 * 1024} bytes): refused before it is read`,
    files: async () => ({
      'photo.png': await photo(),
      'photo.png.edit.json': `{ "prompt": "x"${' '.repeat(MAX_SIDECAR_BYTES + 8 * 1024)}}`,
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'photo.png.edit.json',
        problems: [{ code: 'SIDECAR_TOO_LARGE' }],
      },
    ],
    ingest: true,
  },
  {
    name: 'prompt-missing',
    about: 'No prompt (nor steps), in an image sidecar and in a manifest job',
    files: async () => ({
      'photo.png': await photo(),
      'photo.png.edit.json': { variants: 1 },
      'set.jobs.json': { jobs: [{ name: 'a', prompt: 'fine' }, { name: 'b' }] },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'photo.png.edit.json',
        problems: [{ code: 'SIDECAR_INVALID', field: 'prompt' }],
      },
      {
        outcome: 'sidecar-error',
        sidecar: 'set.jobs.json',
        problems: [{ code: 'SIDECAR_INVALID', field: 'jobs[1].prompt' }],
      },
    ],
    ingest: true,
  },
  {
    name: 'prompt-empty',
    about: 'Prompt that is empty or only whitespace',
    files: async () => ({
      'photo.png': await photo(),
      'photo.png.edit.json': { prompt: '  \n\t ' },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'photo.png.edit.json',
        problems: [{ code: 'SIDECAR_INVALID', field: 'prompt' }],
      },
    ],
    ingest: true,
  },
  {
    name: 'prompt-too-long',
    about: 'Prompt over 20,000 characters (and a refinement step over it)',
    files: async () => ({
      'photo.png': await photo(),
      'photo.png.edit.json': { prompt: 'x'.repeat(20_001) },
      'other.png': await photo(),
      'other.png.edit.json': { steps: ['short', 'y'.repeat(20_001)] },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'photo.png.edit.json',
        problems: [{ code: 'SIDECAR_INVALID', field: 'prompt' }],
      },
      {
        outcome: 'sidecar-error',
        sidecar: 'other.png.edit.json',
        problems: [{ code: 'SIDECAR_INVALID', field: 'steps[1]' }],
      },
    ],
    ingest: true,
  },
  {
    name: 'too-many-references',
    about:
      'More images than the model takes (2.5 Flash Image: 3), as references and as manifest inputs',
    files: async () => ({
      'photo.png': await photo(),
      'r1.png': await photo(),
      'r2.png': await photo(),
      'r3.png': await photo(),
      'photo.png.edit.json': {
        prompt: 'x',
        model: 'gemini-2.5-flash-image',
        references: ['r1.png', 'r2.png', 'r3.png'],
      },
      'collage.jobs.json': {
        defaults: { model: 'gemini-2.5-flash-image' },
        jobs: [{ prompt: 'x', inputs: ['photo.png', 'r1.png', 'r2.png', 'r3.png'] }],
      },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'photo.png.edit.json',
        problems: [{ code: 'TOO_MANY_IMAGES', field: 'references' }],
      },
      {
        outcome: 'sidecar-error',
        sidecar: 'collage.jobs.json',
        problems: [{ code: 'TOO_MANY_IMAGES', field: 'jobs[0].inputs' }],
      },
    ],
    ingest: true,
  },
  {
    name: 'path-dot-dot',
    about: 'Paths with ".." (leaving the drop is refused; moving within it is fine)',
    files: async () => ({
      'photo.png': await photo(),
      'photo.png.edit.json': { prompt: 'x', references: ['sub/../../../photo.png'] },
      'escape.jobs.json': { jobs: [{ prompt: 'x', inputs: ['../../../etc/passwd.png'] }] },
      'sub/inside.png': await photo(),
      'sub/inside.png.edit.json': { prompt: 'x', references: ['../photo.png'] },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'photo.png.edit.json',
        problems: [{ code: 'INPUT_PATH_OUTSIDE_DROP', field: 'references[0]' }],
      },
      {
        outcome: 'sidecar-error',
        sidecar: 'escape.jobs.json',
        problems: [{ code: 'INPUT_PATH_OUTSIDE_DROP', field: 'jobs[0].inputs[0]' }],
      },
      { outcome: 'success', input: 'sub/inside.png' },
    ],
    ingest: true,
  },
  {
    name: 'path-absolute',
    about: 'Absolute paths (POSIX and Windows)',
    files: async () => ({
      'abs.jobs.json': {
        jobs: [{ prompt: 'x', inputs: ['/etc/passwd.png', '\\\\server\\share\\a.png'] }],
      },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'abs.jobs.json',
        problems: [
          { code: 'SIDECAR_INVALID', field: 'jobs[0].inputs[0]' },
          { code: 'SIDECAR_INVALID', field: 'jobs[0].inputs[1]' },
        ],
      },
    ],
    ingest: true,
  },
  {
    name: 'path-url',
    about: 'URLs as paths (https:, file:, data:)',
    files: async () => ({
      'url.jobs.json': {
        jobs: [
          {
            prompt: 'x',
            inputs: ['https://example.com/cat.png', 'file:///etc/hosts.png'],
            references: ['data:image/png;base64,iVBORw0KGgo='],
          },
        ],
      },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'url.jobs.json',
        problems: [
          { code: 'SIDECAR_INVALID', field: 'jobs[0].inputs[0]' },
          { code: 'SIDECAR_INVALID', field: 'jobs[0].inputs[1]' },
          { code: 'SIDECAR_INVALID', field: 'jobs[0].references[0]' },
        ],
      },
    ],
    ingest: true,
  },
  {
    name: 'path-other-bucket',
    about: 'Another bucket (gs://other/...)',
    files: async () => ({
      'photo.png': await photo(),
      'photo.png.edit.json': { prompt: 'x', references: ['gs://someone-elses-bucket/style.png'] },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'photo.png.edit.json',
        problems: [{ code: 'SIDECAR_INVALID', field: 'references[0]' }],
      },
    ],
    ingest: true,
  },
  {
    name: 'not-an-image',
    about: 'Text bytes named .jpg',
    files: async () => ({
      'fake.jpg': 'this is a shopping list, not a photo\n',
      'fake.jpg.edit.json': { prompt: 'x' },
    }),
    expect: [{ outcome: 'job-error', input: 'fake.jpg', code: 'INPUT_NOT_IMAGE' }],
  },
  {
    name: 'zero-bytes',
    about: 'Zero-byte image file',
    files: async () => ({
      'empty.png': Buffer.alloc(0),
      'empty.png.edit.json': { prompt: 'x' },
    }),
    expect: [{ outcome: 'job-error', input: 'empty.png', code: 'INPUT_EMPTY' }],
  },
  {
    name: 'truncated-jpeg',
    about: 'JPEG cut short in its image data (an interrupted upload)',
    files: async () => ({
      'cut.jpg': truncate(await patternedJpeg(), 0.6),
      'cut.jpg.edit.json': { prompt: 'x' },
    }),
    expect: [{ outcome: 'job-error', input: 'cut.jpg', code: 'INPUT_CORRUPT' }],
  },
  {
    name: 'decompression-bomb',
    about:
      'PNG of a few bytes declaring 30000x30000 (900 MP): refused from its header, never decoded',
    files: async () => ({
      'bomb.png': await pngBomb(30_000, 30_000),
      'bomb.png.edit.json': { prompt: 'x' },
    }),
    expect: [{ outcome: 'job-error', input: 'bomb.png', code: 'INPUT_TOO_MANY_PIXELS' }],
  },
  {
    name: 'animated-gif',
    about: 'Animated GIF (3 frames): the first frame is sent, re-encoded for the model',
    files: async () => ({
      'anim.gif': await animated('gif', 40, 20),
      'anim.gif.edit.json': { prompt: 'x' },
    }),
    expect: [
      {
        outcome: 'success',
        input: 'anim.gif',
        conversions: [/first frame of an animated GIF \(3 frames\)/, /re-encoded gif/],
        sent: { width: 40, height: 20 },
      },
    ],
  },
  {
    name: 'cmyk-jpeg',
    about: 'CMYK JPEG (print export): converted to sRGB',
    files: async () => ({
      'print.jpg': await encoded(64, 48, (i) => i.toColourspace('cmyk').jpeg()),
      'print.jpg.edit.json': { prompt: 'x' },
    }),
    expect: [{ outcome: 'success', input: 'print.jpg', conversions: [/converted CMYK to sRGB/] }],
  },
  {
    name: 'png-16-bit',
    about: '16-bit PNG: reduced to 8-bit',
    files: async () => ({
      'deep.png': await encoded(64, 48, (i) => i.toColourspace('rgb16').png()),
      'deep.png.edit.json': { prompt: 'x' },
    }),
    expect: [{ outcome: 'success', input: 'deep.png', conversions: [/16-bit reduced to 8-bit/] }],
  },
  {
    name: 'png-alpha',
    about: 'PNG with an alpha channel: sent as it is',
    files: async () => ({
      'cutout.png': await encoded(64, 48, (i) => i.png(), true),
      'cutout.png.edit.json': { prompt: 'x' },
    }),
    expect: [{ outcome: 'success', input: 'cutout.png', conversions: [] }],
  },
  {
    name: 'exif-rotated',
    about: 'JPEG stored landscape with EXIF orientation 6 (a portrait phone photo): sent upright',
    files: async () => ({
      'phone.jpg': await encoded(64, 32, (i) => i.jpeg().withMetadata({ orientation: 6 })),
      'phone.jpg.edit.json': { prompt: 'x' },
    }),
    expect: [
      {
        outcome: 'success',
        input: 'phone.jpg',
        conversions: [/auto-oriented from EXIF 6/],
        original: { width: 64, height: 32 },
        sent: { width: 32, height: 64 },
      },
    ],
  },
  {
    name: 'awkward-names',
    about:
      'Unicode, very long (246-byte CJK, 198-character ASCII), space- and control-character names: succeed, output names sanitised and within limits',
    files: async () => ({
      'фото кошки.png': await photo(),
      'my photo (1).jpg': await jpeg(),
      [`${longCjkStem}.png`]: await photo(),
      [`${longAsciiStem}.png`]: await photo(),
      'tab\tand\u0007bell.png': await photo(),
      'e\u0301clair-nfd.png': await photo(),
      '_edit.json': { prompt: 'x' },
    }),
    expect: [
      { outcome: 'success', input: 'фото кошки.png' },
      { outcome: 'success', input: 'my photo (1).jpg' },
      { outcome: 'success', input: `${longCjkStem}.png` },
      { outcome: 'success', input: `${longAsciiStem}.png` },
      { outcome: 'success', input: 'tab\tand\u0007bell.png' },
      { outcome: 'success', input: 'e\u0301clair-nfd.png' },
    ],
  },
  {
    name: 'sidecar-twice',
    about:
      'The same sidecar uploaded a second time: a new generation, so new job ids; the first outputs stay, nothing is overwritten',
    files: async () => ({
      'photo.png': await photo(),
      'photo.png.edit.json': { prompt: 'make it warmer' },
    }),
    expect: [{ outcome: 'success', input: 'photo.png' }],
    ingest: true,
  },
  {
    name: 'self-reference',
    about:
      'A sidecar naming itself, another sidecar or an output metadata record (*.png.json) as an image',
    files: async () => ({
      'photo.png': await photo(),
      'photo.png.edit.json': { prompt: 'x', references: ['photo.png.edit.json'] },
      'self.jobs.json': { jobs: [{ prompt: 'x', inputs: ['self.jobs.json'] }] },
      'record.jobs.json': {
        jobs: [{ prompt: 'x', inputs: ['photo.png', 'photo.edit.0123abcd.png.json'] }],
      },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'photo.png.edit.json',
        problems: [{ code: 'INPUT_NOT_IMAGE', field: 'references[0]' }],
      },
      {
        outcome: 'sidecar-error',
        sidecar: 'self.jobs.json',
        problems: [{ code: 'INPUT_NOT_IMAGE', field: 'jobs[0].inputs[0]' }],
      },
      {
        outcome: 'sidecar-error',
        sidecar: 'record.jobs.json',
        problems: [{ code: 'INPUT_NOT_IMAGE', field: 'jobs[0].inputs[1]' }],
      },
    ],
    ingest: true,
  },
  {
    name: 'pipeline-state',
    folder: '',
    about:
      'A manifest naming a pipeline file (_bananaflow/...) that exists in the drop: never an input; the file itself is never processed',
    files: async () => ({
      '_bananaflow/jobs/0123456789abcdef0123/model-output.png': await photo(),
      'pipeline-state.jobs.json': {
        jobs: [{ prompt: 'x', inputs: ['_bananaflow/jobs/0123456789abcdef0123/model-output.png'] }],
      },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'pipeline-state.jobs.json',
        problems: [{ code: 'INPUT_NOT_IMAGE', field: 'jobs[0].inputs[0]' }],
      },
      {
        outcome: 'never-processed',
        file: '_bananaflow/jobs/0123456789abcdef0123/model-output.png',
      },
    ],
    ingest: true,
  },
  {
    name: 'output-in-input',
    about:
      'An output written into the input bucket by mistake (custom metadata bananaflow-output: 1), beside a folder sidecar: never processed; the real image beside it is',
    files: async () => ({
      'photo.png': await photo(),
      '_edit.json': { prompt: 'x' },
    }),
    taggedAsOutput: {
      'photo.edit.0123abcd.png': () => solid(64, 48, { r: 1, g: 2, b: 3 }),
    },
    expect: [
      { outcome: 'success', input: 'photo.png' },
      { outcome: 'never-processed', file: 'photo.edit.0123abcd.png' },
    ],
    ingest: true,
  },
  {
    name: 'keyframes-bad-frames',
    about:
      'Keyframe jobs with no frames, 101 frames, frames with steps, frames with variants: each named',
    files: async () => ({
      'seq.jobs.json': {
        jobs: [
          { frames: [] },
          { frames: Array.from({ length: 101 }, (_, i) => `frame ${i}`) },
          { frames: ['a', 'b'], steps: ['c'] },
          { frames: ['a', 'b'], variants: 2 },
        ],
      },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'seq.jobs.json',
        problems: [
          { code: 'SIDECAR_INVALID', field: 'jobs[0].frames' },
          { code: 'SIDECAR_INVALID', field: 'jobs[1].frames' },
          { code: 'SIDECAR_INVALID', field: 'jobs[2].steps' },
          { code: 'SIDECAR_INVALID', field: 'jobs[3].variants' },
        ],
      },
    ],
    ingest: true,
  },
  {
    name: 'keyframes-over-input-cap',
    about:
      'Keyframes with 3 references on a 3-image model: they fit frame 1, not beside the previous frame (planning names the cap)',
    files: async () => ({
      'a.png': await photo(),
      'b.png': await photo(40, 40),
      'c.png': await photo(48, 32),
      'seq.jobs.json': {
        jobs: [
          {
            frames: ['one', 'two'],
            model: 'gemini-2.5-flash-image',
            references: ['a.png', 'b.png', 'c.png'],
          },
        ],
      },
    }),
    expect: [
      {
        outcome: 'sidecar-error',
        sidecar: 'seq.jobs.json',
        problems: [{ code: 'TOO_MANY_IMAGES', field: 'jobs[0].references' }],
      },
    ],
  },
];

/** A case's file name as a drop-relative object name. */
export function inDrop(testCase: BadInputCase, name: string): string {
  const folder = testCase.folder ?? testCase.name;
  return folder ? `${folder}/${name}` : name;
}
