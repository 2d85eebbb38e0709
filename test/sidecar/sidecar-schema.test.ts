import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { sidecarJsonSchemas } from '../../shared/sidecar/json-schema.ts';
import { parseSidecar } from '../../shared/sidecar/parse-sidecar.ts';

const parse = (kind: 'image' | 'folder' | 'manifest', value: unknown, name = 'a.jpg.edit.json') =>
  parseSidecar(
    name,
    kind,
    Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    1 << 20,
  );

describe('sidecar v1 schema', () => {
  it.each([
    ['a prompt', { prompt: 'make it blue' }],
    ['steps', { steps: ['make it blue', 'add a hat'] }],
    [
      'every option',
      {
        $schema: '../schema/edit.v1.json',
        version: 1,
        prompt: 'x',
        references: ['style/ref.png'],
        model: 'gemini-3-pro-image',
        aspectRatio: '16:9',
        imageSize: '2K',
        variants: 3,
        output: { format: 'avif', quality: 50, renditions: [256] },
        maxCostUsd: 2,
        tags: { team: 'a' },
        mode: 'style-transfer',
        name: 'hero',
      },
    ],
  ])('accepts %s', (_, value) => {
    expect(parse('image', value).ok).toBe(true);
  });

  it.each([
    ['malformed JSON', '{"prompt": ', 'SIDECAR_INVALID_JSON', undefined],
    ['no prompt', {}, 'SIDECAR_INVALID', 'prompt'],
    ['an empty prompt', { prompt: '   ' }, 'SIDECAR_INVALID', 'prompt'],
    ['a too long prompt', { prompt: 'x'.repeat(20_001) }, 'SIDECAR_INVALID', 'prompt'],
    ['prompt and steps', { prompt: 'a', steps: ['b'] }, 'SIDECAR_INVALID', 'steps'],
    ['a wrong type', { prompt: 42 }, 'SIDECAR_INVALID', 'prompt'],
    ['an unknown field', { prompt: 'a', colour: 'red' }, 'SIDECAR_INVALID', 'colour'],
    [
      'an unknown nested field',
      { prompt: 'a', output: { fmt: 'png' } },
      'SIDECAR_INVALID',
      'output.fmt',
    ],
    [
      'a bad format',
      { prompt: 'a', output: { format: 'bmp' } },
      'SIDECAR_INVALID',
      'output.format',
    ],
    ['lowercase imageSize', { prompt: 'a', imageSize: '2k' }, 'SIDECAR_INVALID', 'imageSize'],
    [
      'an absolute path',
      { prompt: 'a', references: ['/etc/passwd.png'] },
      'SIDECAR_INVALID',
      'references[0]',
    ],
    [
      'a URL',
      { prompt: 'a', references: ['https://example.com/x.png'] },
      'SIDECAR_INVALID',
      'references[0]',
    ],
    [
      'another bucket',
      { prompt: 'a', references: ['gs://other-bucket/x.png'] },
      'SIDECAR_INVALID',
      'references[0]',
    ],
    ['too many variants', { prompt: 'a', variants: 9 }, 'SIDECAR_INVALID', 'variants'],
    ['a negative cap', { prompt: 'a', maxCostUsd: -1 }, 'SIDECAR_INVALID', 'maxCostUsd'],
    ['version 2', { prompt: 'a', version: 2 }, 'SIDECAR_INVALID', 'version'],
  ])('rejects %s, naming the field', (_, value, code, field) => {
    const result = parse('image', value);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const [first] = result.errors;
    expect(first?.code).toBe(code);
    expect(first?.message).toContain('a.jpg.edit.json');
    expect(first?.fix).toBeTruthy();
    if (field) expect(result.errors.map((e) => e.details.field)).toContain(field);
  });

  it('reports every problem at once', () => {
    const result = parse('image', { prompt: '', colour: 1, variants: 0 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses a huge sidecar before parsing it', () => {
    const result = parseSidecar('big.jobs.json', 'manifest', Buffer.alloc(2048, 32), 1024);
    expect(result.ok ? undefined : result.errors[0]?.code).toBe('SIDECAR_TOO_LARGE');
  });

  it('validates manifests job by job', () => {
    const result = parse(
      'manifest',
      {
        defaults: { model: 'gemini-2.5-flash-image' },
        jobs: [{ prompt: 'ok' }, { inputs: ['a.png'] }],
      },
      'x.jobs.json',
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]?.details.field).toBe('jobs[1].prompt');
  });

  it('lets a manifest job take its prompt from defaults', () => {
    expect(
      parse(
        'manifest',
        { defaults: { prompt: 'p' }, jobs: [{}, { inputs: ['a.png'] }] },
        'x.jobs.json',
      ).ok,
    ).toBe(true);
  });

  it('has committed JSON Schemas that match the zod schemas (run `npm run schema`)', async () => {
    for (const [file, schema] of Object.entries(sidecarJsonSchemas())) {
      const committed = JSON.parse(
        await readFile(new URL(`../../schema/${file}`, import.meta.url), 'utf8'),
      );
      expect(committed, file).toEqual(JSON.parse(JSON.stringify(schema)));
    }
  });
});

describe('keyframe sequences in a manifest (frames)', () => {
  const manifest = (job: object) => parse('manifest', { jobs: [job] }, 'seq.jobs.json');
  const frames = (n: number) => Array.from({ length: n }, (_, i) => `frame ${i + 1}`);

  it.each([
    ['2 frames', { frames: frames(2) }],
    ['100 frames', { frames: frames(100) }],
    [
      'frames with mode, references, inputs and a preview',
      {
        frames: frames(3),
        mode: 'keyframes',
        inputs: ['start.png'],
        references: ['hero.png'],
        preview: { fps: 6, gif: true },
      },
    ],
  ])('accepts %s', (_, job) => {
    expect(manifest(job).ok).toBe(true);
  });

  it.each([
    ['empty frames', { frames: [] }, 'jobs[0].frames', /2 to 100 frame prompts/],
    ['one frame', { frames: frames(1) }, 'jobs[0].frames', /2 to 100/],
    ['101 frames', { frames: frames(101) }, 'jobs[0].frames', /at most 100 frames/],
    ['an empty frame prompt', { frames: ['a', ' '] }, 'jobs[0].frames[1]', /empty/],
    [
      'frames with steps',
      { frames: frames(2), steps: ['a'] },
      'jobs[0].steps',
      /"frames" or "steps"/,
    ],
    ['frames with a prompt', { frames: frames(2), prompt: 'a' }, 'jobs[0].prompt', /not both/],
    ['frames with variants', { frames: frames(2), variants: 2 }, 'jobs[0].variants', /variants/],
    ['frames with another mode', { frames: frames(2), mode: 'edit' }, 'jobs[0].mode', /keyframes/],
    [
      'keyframes without frames',
      { prompt: 'a', mode: 'keyframes' },
      'jobs[0].mode',
      /needs "frames"/,
    ],
    ['a preview without frames', { prompt: 'a', preview: { fps: 2 } }, 'jobs[0].preview', /only/],
    [
      'a preview fps of 0',
      { frames: frames(2), preview: { fps: 0 } },
      'jobs[0].preview.fps',
      /0\.1/,
    ],
  ])('rejects %s, naming the field', (_, job, field, message) => {
    const result = manifest(job);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const problem = result.errors.find((e) => e.details.field === field);
    expect(problem, result.errors.map((e) => e.message).join('\n')).toBeDefined();
    expect(problem?.message).toMatch(message);
    expect(problem?.message).toContain('seq.jobs.json');
  });

  it('takes frames only on a manifest job, not in defaults or an edit sidecar', () => {
    const inDefaults = parse(
      'manifest',
      { defaults: { frames: frames(2) }, jobs: [{ prompt: 'a' }] },
      'seq.jobs.json',
    );
    expect(inDefaults.ok).toBe(false);
    expect(parse('image', { frames: frames(2) }).ok).toBe(false);
  });
});
