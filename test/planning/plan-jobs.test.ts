import { describe, expect, it } from 'vitest';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { type PlanContext, planSidecarJobs } from '../../shared/planning/plan-jobs.ts';
import type { ParsedSidecar } from '../../shared/sidecar/parse-sidecar.ts';
import { parseSidecar } from '../../shared/sidecar/parse-sidecar.ts';

const catalog = loadModelCatalog();

function ctx(names: string[], overrides: Partial<PlanContext> = {}): PlanContext {
  return {
    inputBucket: 'in',
    outputBucket: 'out',
    catalog,
    runId: 'run-1',
    now: new Date('2026-11-25T00:00:00Z'),
    objects: new Map(names.map((name) => [name, { name, generation: '1' }])),
    missingInputs: 'error',
    ...overrides,
  };
}

function sidecar(
  name: string,
  kind: 'image' | 'folder' | 'manifest',
  spec: unknown,
): ParsedSidecar {
  const result = parseSidecar(name, kind, Buffer.from(JSON.stringify(spec)), 1 << 20);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.sidecar;
}

const plan = (
  name: string,
  kind: 'image' | 'folder' | 'manifest',
  spec: unknown,
  context: PlanContext,
  generation = '7',
) => planSidecarJobs({ name, generation, parsed: sidecar(name, kind, spec) }, context);

describe('planning jobs from sidecars', () => {
  const drop = [
    'a/cat.jpg',
    'a/dog.png',
    'a/style.png',
    'a/cat.jpg.edit.json',
    'a/b/deep.png',
    'char.png',
  ];

  it.each([
    ['text-to-image', 'm.jobs.json', 'manifest', { jobs: [{ prompt: 'a banana' }] }],
    ['edit', 'a/cat.jpg.edit.json', 'image', { prompt: 'blue' }],
    [
      'style-transfer',
      'a/cat.jpg.edit.json',
      'image',
      { prompt: 'like the style', references: ['style.png'] },
    ],
    [
      'composition',
      'm.jobs.json',
      'manifest',
      { jobs: [{ prompt: 'both', inputs: ['a/cat.jpg', 'a/dog.png'] }] },
    ],
    ['refinement', 'a/cat.jpg.edit.json', 'image', { steps: ['one', 'two'] }],
    [
      'character-series',
      'm.jobs.json',
      'manifest',
      { defaults: { references: ['char.png'] }, jobs: [{ prompt: 'at sea' }] },
    ],
  ] as const)('derives the %s mode', (mode, name, kind, spec) => {
    const result = plan(name, kind, spec, ctx(drop));
    expect(result.problems).toEqual([]);
    expect(result.jobs.map((j) => j.mode)).toEqual([mode]);
  });

  it('plans the same drop twice with the same ids, and new ids when an input or the sidecar changes', () => {
    const spec = { prompt: 'blue', variants: 2 };
    const first = plan('a/cat.jpg.edit.json', 'image', spec, ctx(drop));
    const again = plan('a/cat.jpg.edit.json', 'image', spec, ctx(drop, { runId: 'other-run' }));
    expect(again.jobs.map((j) => j.jobId)).toEqual(first.jobs.map((j) => j.jobId));
    expect(new Set(first.jobs.map((j) => j.jobId)).size).toBe(2);

    const changedInput = ctx(drop);
    (changedInput.objects as Map<string, { name: string; generation: string }>).set('a/cat.jpg', {
      name: 'a/cat.jpg',
      generation: '2',
    });
    const newInput = plan('a/cat.jpg.edit.json', 'image', spec, changedInput);
    const newSidecar = plan('a/cat.jpg.edit.json', 'image', spec, ctx(drop), '8');
    for (const other of [newInput, newSidecar]) {
      expect(
        other.jobs.map((j) => j.jobId).some((id) => first.jobs.some((f) => f.jobId === id)),
      ).toBe(false);
    }
  });

  it('gives a folder sidecar every image directly in its folder except those with their own sidecar and its references', () => {
    const result = plan(
      'a/_edit.json',
      'folder',
      { prompt: 'x', references: ['style.png'] },
      ctx(drop),
    );
    expect(result.jobs.map((j) => j.inputs.map((i) => i.name))).toEqual([
      ['a/dog.png', 'a/style.png'],
    ]);
    expect(result.jobs[0]?.output.base).toMatch(/^a\/dog\.edit\.[a-f0-9]{8}$/);
  });

  it('names outputs after the input, label, variant and job id, mirroring folders', () => {
    const result = plan(
      'a/cat.jpg.edit.json',
      'image',
      { prompt: 'x', variants: 2, name: 'summer', output: { format: 'jpeg' } },
      ctx(drop),
    );
    expect(result.jobs.map((j) => j.output.base)).toEqual([
      expect.stringMatching(/^a\/cat\.summer\.v1\.[a-f0-9]{8}$/),
      expect.stringMatching(/^a\/cat\.summer\.v2\.[a-f0-9]{8}$/),
    ]);
    const manifest = plan(
      'a/shoot.jobs.json',
      'manifest',
      { jobs: [{ prompt: 'x' }, { name: 'hero', prompt: 'y' }] },
      ctx(drop),
    );
    expect(manifest.jobs.map((j) => j.output.base)).toEqual([
      expect.stringMatching(/^a\/shoot\/job-001\.[a-f0-9]{8}$/),
      expect.stringMatching(/^a\/shoot\/hero\.[a-f0-9]{8}$/),
    ]);
  });

  it.each([
    [
      'more images than the model takes',
      {
        jobs: [
          {
            prompt: 'x',
            model: 'gemini-2.5-flash-image',
            inputs: ['a/cat.jpg', 'a/dog.png', 'a/style.png', 'char.png'],
          },
        ],
      },
      'TOO_MANY_IMAGES',
      'jobs[0].inputs',
    ],
    [
      'an unknown model',
      { jobs: [{ prompt: 'x', model: 'gemini-9-ultra' }] },
      'MODEL_UNKNOWN',
      'jobs[0].model',
    ],
    [
      'an unsupported aspect ratio',
      { jobs: [{ prompt: 'x', aspectRatio: '7:3' }] },
      'MODEL_OPTION_UNSUPPORTED',
      'jobs[0].aspectRatio',
    ],
    [
      'imageSize on a fixed-size model',
      { jobs: [{ prompt: 'x', model: 'gemini-2.5-flash-image', imageSize: '2K' }] },
      'MODEL_OPTION_UNSUPPORTED',
      'jobs[0].imageSize',
    ],
    [
      'a missing input',
      { jobs: [{ prompt: 'x', inputs: ['nope.png'] }] },
      'INPUT_MISSING',
      'jobs[0].inputs[0]',
    ],
    [
      'a sidecar as input',
      { jobs: [{ prompt: 'x', inputs: ['a/cat.jpg.edit.json'] }] },
      'INPUT_NOT_IMAGE',
      'jobs[0].inputs[0]',
    ],
    [
      'itself as input',
      { jobs: [{ prompt: 'x', inputs: ['m.jobs.json'] }] },
      'INPUT_NOT_IMAGE',
      'jobs[0].inputs[0]',
    ],
    [
      'a pipeline file as input',
      { jobs: [{ prompt: 'x', inputs: ['_bananaflow/jobs/x/model-output.png'] }] },
      'INPUT_NOT_IMAGE',
      'jobs[0].inputs[0]',
    ],
    [
      'a mode that does not fit',
      { jobs: [{ prompt: 'x', mode: 'composition', inputs: ['a/cat.jpg'] }] },
      'SIDECAR_INVALID',
      'jobs[0].mode',
    ],
  ])('reports %s with the file and field, and plans the other jobs', (_, spec, code, field) => {
    const withGood = { ...spec, jobs: [...spec.jobs, { prompt: 'fine' }] };
    const result = plan('m.jobs.json', 'manifest', withGood, ctx(drop));
    expect(result.problems.map((p) => [p.code, p.details.field])).toEqual([[code, field]]);
    expect(result.problems[0]?.message).toContain('m.jobs.json');
    expect(result.problems[0]?.fix).toBeTruthy();
    expect(result.jobs).toHaveLength(1);
  });

  it('accepts Pro options: 14 images, imageSize 4K', () => {
    const many = Array.from({ length: 14 }, (_, i) => `p${i}.png`);
    const result = plan(
      'm.jobs.json',
      'manifest',
      { jobs: [{ prompt: 'x', inputs: many, model: 'gemini-3-pro-image', imageSize: '4K' }] },
      ctx(many),
    );
    expect(result.problems).toEqual([]);
    expect(result.jobs[0]?.model).toBe('gemini-3-pro-image');
    expect(result.jobs[0]?.requestedModel).toBe('gemini-3-pro-image');
  });

  it('waits for inputs that may still be uploading instead of failing (cloud ingest)', () => {
    const result = plan(
      'm.jobs.json',
      'manifest',
      { jobs: [{ prompt: 'x', inputs: ['later.png'] }, { prompt: 'y' }] },
      ctx(drop, { missingInputs: 'wait' }),
    );
    expect(result.problems).toEqual([]);
    expect(result.waitingFor).toEqual(['later.png']);
    expect(result.jobs).toHaveLength(1);
  });

  it('refuses the whole sidecar when its estimate exceeds maxCostUsd, and splits the cap over the jobs otherwise', () => {
    const over = plan(
      'a/_edit.json',
      'folder',
      { prompt: 'x', variants: 8, maxCostUsd: 0.1 },
      ctx(drop),
    );
    expect(over.jobs).toEqual([]);
    expect(over.problems.map((p) => p.code)).toEqual(['COST_CAP_EXCEEDED']);
    const under = plan(
      'a/_edit.json',
      'folder',
      { prompt: 'x', variants: 2, maxCostUsd: 1 },
      ctx(drop),
    );
    expect(under.jobs).toHaveLength(4);
    const caps = under.jobs.map((j) => j.maxCostUsd ?? 0);
    expect(caps.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    for (const job of under.jobs)
      expect(job.maxCostUsd).toBeGreaterThanOrEqual(job.estimatedCostUsd);
  });

  it("applies a manifest's defaults.maxCostUsd per job, and refuses at planning a job over its own cap", () => {
    const result = plan(
      'm.jobs.json',
      'manifest',
      {
        defaults: { maxCostUsd: 0.5 },
        jobs: [
          { prompt: 'x', variants: 2 },
          { prompt: 'y', maxCostUsd: 0.001 },
          { prompt: 'z', maxCostUsd: 0.3 },
        ],
      },
      ctx(drop),
    );
    // Job 2's own cap is below its estimate: refused now, naming the field; the others go on.
    expect(result.problems.map((p) => [p.code, p.details.field])).toEqual([
      ['COST_CAP_EXCEEDED', 'jobs[1].maxCostUsd'],
    ]);
    expect(result.jobs.map((j) => j.maxCostUsd)).toEqual([0.25, 0.25, 0.3]);
  });

  it('publishes only the jobs that use the upload that triggered planning', () => {
    const result = planSidecarJobs(
      {
        name: 'a/_edit.json',
        generation: '1',
        parsed: sidecar('a/_edit.json', 'folder', { prompt: 'x' }),
        onlyInvolving: 'a/dog.png',
      },
      ctx(drop),
    );
    expect(result.jobs.map((j) => j.inputs[0]?.name)).toEqual(['a/dog.png']);
  });

  it('estimates more for bigger inputs and for every refinement step', () => {
    const small = plan(
      'a/cat.jpg.edit.json',
      'image',
      { prompt: 'x', model: 'gemini-2.5-flash-image' },
      ctx(drop, { imageSize: () => ({ width: 300, height: 300 }) }),
    );
    const big = plan(
      'a/cat.jpg.edit.json',
      'image',
      { prompt: 'x', model: 'gemini-2.5-flash-image' },
      ctx(drop, { imageSize: () => ({ width: 4000, height: 3000 }) }),
    );
    const steps = plan(
      'a/cat.jpg.edit.json',
      'image',
      { steps: ['x', 'y', 'z'], model: 'gemini-2.5-flash-image' },
      ctx(drop, { imageSize: () => ({ width: 300, height: 300 }) }),
    );
    const [s, b, t] = [small, big, steps].map((r) => r.jobs[0]?.estimatedCostUsd ?? 0);
    expect(b).toBeGreaterThan(s as number);
    expect(t).toBeGreaterThan(3 * (s as number));
  });

  it("uses the catalog's default model when nothing names one, and the configured one over it", () => {
    const byCatalog = plan('a/cat.jpg.edit.json', 'image', { prompt: 'x' }, ctx(drop));
    expect(byCatalog.jobs[0]?.model).toBe(catalog.defaultModel.id);
    expect(byCatalog.jobs[0]?.model).toBe('gemini-nano-banana-2.1');
    const configured = plan(
      'a/cat.jpg.edit.json',
      'image',
      { prompt: 'x' },
      ctx(drop, { defaultModel: 'gemini-3-pro-image' }),
    );
    expect(configured.jobs[0]?.model).toBe('gemini-3-pro-image');
    const sidecarWins = plan(
      'a/cat.jpg.edit.json',
      'image',
      { prompt: 'x', model: 'gemini-3.1-flash-lite-image' },
      ctx(drop, { defaultModel: 'gemini-3-pro-image' }),
    );
    expect(sidecarWins.jobs[0]?.model).toBe('gemini-3.1-flash-lite-image');
  });

  it.each([
    ['gemini-3-pro-image-preview', '2026-06-25', 'gemini-3-pro-image'],
    ['gemini-3.1-flash-image-preview', '2026-06-25', 'gemini-nano-banana-2.1'],
    ['gemini-2.5-flash-image-preview', '2026-01', 'gemini-nano-banana-2.1'],
  ])('refuses shut-down %s before any call, naming %s and a live replacement', (id, date, to) => {
    const result = plan('a/cat.jpg.edit.json', 'image', { prompt: 'x', model: id }, ctx(drop));
    expect(result.jobs).toEqual([]);
    const [problem] = result.problems;
    expect(problem).toMatchObject({
      code: 'MODEL_RETIRED',
      details: { field: 'model', shutdown: date, replacement: to },
    });
    expect(problem?.message).toContain(date);
    expect(problem?.fix).toContain(to);
  });

  it.each([
    ['gemini-3.1-flash-image', '2026-10-29'],
    ['gemini-2.5-flash-image', '2026-10-02'],
  ])('plans deprecated %s with a warning naming the replacement and shutdown %s', (id, date) => {
    const result = plan('a/cat.jpg.edit.json', 'image', { prompt: 'x', model: id }, ctx(drop));
    expect(result.problems).toEqual([]);
    expect(result.jobs).toHaveLength(1);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain(date);
    expect(result.warnings[0]).toContain('gemini-nano-banana-2.1');
    expect(result.jobs[0]?.warnings).toEqual([expect.stringContaining('deprecated')]);
    const fine = plan('a/cat.jpg.edit.json', 'image', { prompt: 'x' }, ctx(drop));
    expect(fine.warnings).toEqual([]);
    expect(fine.jobs[0]?.warnings).toBeUndefined();
  });

  it.each([
    ['imageSize', { model: 'gemini-nano-banana-2.1', imageSize: '512' }, ['1K', '2K', '4K']],
    ['imageSize', { model: 'gemini-3.1-flash-lite-image', imageSize: '2K' }, ['1K']],
    ['aspectRatio', { model: 'gemini-3-pro-image', aspectRatio: '8:1' }, ['21:9']],
    [
      'thinkingLevel',
      { model: 'gemini-3.1-flash-image', thinkingLevel: 'medium' },
      ['minimal', 'high'],
    ],
    ['thinkingLevel', { model: 'gemini-2.5-flash-image', thinkingLevel: 'high' }, []],
    ['grounding', { model: 'gemini-3.1-flash-lite-image', grounding: 'google-search' }, []],
  ])(
    "refuses an unsupported %s, naming the field and the model's allowed values",
    (field, options, allowed) => {
      const result = plan('a/cat.jpg.edit.json', 'image', { prompt: 'x', ...options }, ctx(drop));
      expect(result.jobs).toEqual([]);
      const [problem] = result.problems;
      expect(problem).toMatchObject({ code: 'MODEL_OPTION_UNSUPPORTED', details: { field } });
      expect(problem?.message).toContain(options.model);
      for (const value of allowed) expect(problem?.fix).toContain(value);
    },
  );

  it.each([
    { model: 'gemini-3.1-flash-image', imageSize: '512', aspectRatio: '1:8' },
    {
      model: 'gemini-nano-banana-2.1',
      imageSize: '4K',
      thinkingLevel: 'medium',
      aspectRatio: '4:1',
    },
    { model: 'gemini-3-pro-image', imageSize: '2K', grounding: 'google-search' },
    { model: 'gemini-3.1-flash-lite-image', aspectRatio: '8:1', thinkingLevel: 'high' },
  ])('plans the new options where the model supports them: %j', (options) => {
    const result = plan('a/cat.jpg.edit.json', 'image', { prompt: 'x', ...options }, ctx(drop));
    expect(result.problems).toEqual([]);
    expect(result.jobs[0]).toMatchObject(options);
  });

  it('takes up to 14 images on the 2.1 default and refuses 15, naming the limit', () => {
    const names = Array.from({ length: 15 }, (_, i) => `p${i}.png`);
    const ok = plan(
      'm.jobs.json',
      'manifest',
      { jobs: [{ prompt: 'x', inputs: names.slice(0, 14) }] },
      ctx(names),
    );
    expect(ok.problems).toEqual([]);
    const over = plan(
      'm.jobs.json',
      'manifest',
      { jobs: [{ prompt: 'x', inputs: names.slice(0, 14), references: ['p14.png'] }] },
      ctx(names),
    );
    expect(over.problems[0]).toMatchObject({ code: 'TOO_MANY_IMAGES', details: { max: 14 } });
  });

  it("estimates with the model's token schedule for the size, plus the grounding fee", () => {
    const at = (options: Record<string, string>) =>
      plan('a/cat.jpg.edit.json', 'image', { prompt: 'x', ...options }, ctx(drop)).jobs[0]
        ?.estimatedCostUsd ?? 0;
    const model = catalog.resolve('gemini-nano-banana-2.1');
    const rate = model.pricesPerMillionTokens.outputImage / 1e6;
    const k1 = at({ imageSize: '1K' });
    const k4 = at({ imageSize: '4K' });
    expect(k4 - k1).toBeCloseTo((3780 - 1120) * rate, 6);
    const grounded = at({ imageSize: '1K', grounding: 'google-search' });
    expect(grounded - k1).toBeCloseTo(model.groundingUsdPerRequest, 6);
  });
});
