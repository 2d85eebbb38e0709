import { describe, expect, it } from 'vitest';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { type PlanContext, planSidecarJobs } from '../../shared/planning/plan-jobs.ts';
import { parseSidecar } from '../../shared/sidecar/parse-sidecar.ts';

/** Tiers at planning: where they come from, what they cost, and what is refused. */

// A model that offers batch but not flex, like Nano Banana 2 Lite (catalog data, not code).
const catalog = loadModelCatalog([
  {
    id: 'lite-test-image',
    pricesPerMillionTokens: { inputText: 0.25, inputImage: 0.25, outputText: 1.5, outputImage: 30 },
    batch: true,
    batchDiscount: 0.5,
    flex: false,
  },
]);

function ctx(overrides: Partial<PlanContext> = {}): PlanContext {
  return {
    inputBucket: 'in',
    outputBucket: 'out',
    catalog,
    defaultModel: 'gemini-nano-banana-2.1',
    runId: 'run-1',
    now: new Date('2026-12-02T00:00:00Z'),
    objects: new Map([['cat.jpg', { name: 'cat.jpg', generation: '1' }]]),
    missingInputs: 'error',
    ...overrides,
  };
}

function planManifest(spec: unknown, context = ctx()) {
  const parsed = parseSidecar(
    'm.jobs.json',
    'manifest',
    Buffer.from(JSON.stringify(spec)),
    1 << 20,
  );
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
  return planSidecarJobs({ name: 'm.jobs.json', generation: '3', parsed: parsed.sidecar }, context);
}

describe('tiers at planning', () => {
  it('takes the tier from the job, then the defaults, then the run; standard when none', () => {
    const spec = {
      defaults: { tier: 'flex' },
      jobs: [{ prompt: 'a', tier: 'batch' }, { prompt: 'b' }],
    };
    const viaDefaults = planManifest(spec);
    expect(viaDefaults.problems).toEqual([]);
    expect(viaDefaults.jobs.map((j) => j.tier)).toEqual(['batch', 'flex']);

    const viaRun = planManifest({ jobs: [{ prompt: 'a' }] }, ctx({ defaultTier: 'batch' }));
    expect(viaRun.jobs[0]?.tier).toBe('batch');
    const none = planManifest({ jobs: [{ prompt: 'a' }] });
    expect(none.jobs[0]?.tier).toBeUndefined();
  });

  it.each(['batch', 'flex'] as const)(
    'estimates the %s tier at exactly the discounted price, and reports the standard price too',
    (tier) => {
      const spec = { jobs: [{ prompt: 'a banana', inputs: ['cat.jpg'], variants: 3 }] };
      const standard = planManifest(spec);
      const discounted = planManifest(spec, ctx({ defaultTier: tier }));
      const model = catalog.resolve('gemini-nano-banana-2.1');
      const discount = tier === 'batch' ? model.batchDiscount : model.flexDiscount;
      expect(discount).toBeGreaterThan(0);
      expect(discounted.estimatedCostUsd).toBeCloseTo(
        standard.estimatedCostUsd * (1 - discount),
        9,
      );
      expect(discounted.standardCostUsd).toBeCloseTo(standard.estimatedCostUsd, 9);
      expect(standard.standardCostUsd).toBeCloseTo(standard.estimatedCostUsd, 9);
    },
  );

  it("refuses a tier the model does not offer, naming the model's tiers", () => {
    const result = planManifest({
      jobs: [{ prompt: 'a', model: 'lite-test-image', tier: 'flex' }],
    });
    expect(result.jobs).toEqual([]);
    const [problem] = result.problems;
    expect(problem?.code).toBe('MODEL_OPTION_UNSUPPORTED');
    expect(problem?.details.field).toBe('jobs[0].tier');
    expect(problem?.message).toContain('lite-test-image does not offer the flex tier');
    expect(problem?.message).toContain('standard, batch');
  });

  it('says when the refused tier came from the run, not the sidecar', () => {
    const result = planManifest(
      { jobs: [{ prompt: 'a', model: 'lite-test-image' }] },
      ctx({ defaultTier: 'flex' }),
    );
    expect(result.problems[0]?.message).toContain("the run's default tier");
  });

  it('plans a refinement in the batch tier (one batch round per step)', () => {
    const result = planManifest({
      jobs: [{ prompt: 'x' }, { steps: ['one', 'two'], tier: 'batch' }],
    });
    expect(result.problems).toEqual([]);
    expect(result.jobs.map((j) => [j.tier, j.turns.length])).toEqual([
      [undefined, 1],
      ['batch', 2],
    ]);
  });

  it('refuses a tier the platform does not run (a cloud deployment without the batch path)', () => {
    const result = planManifest(
      { jobs: [{ prompt: 'a', tier: 'batch' }] },
      ctx({ availableTiers: ['standard', 'flex'] }),
    );
    expect(result.problems[0]?.message).toContain('does not run here');
    expect(result.problems[0]?.fix).toContain('bananaflow run --tier batch');
  });

  it('rejects an unknown tier, naming the allowed ones', () => {
    const parsed = parseSidecar(
      'cat.jpg.edit.json',
      'image',
      Buffer.from(JSON.stringify({ prompt: 'a', tier: 'cheap' })),
      1 << 20,
    );
    expect(parsed.ok).toBe(false);
    const message = parsed.ok ? '' : parsed.errors.map((e) => e.message).join('\n');
    expect(message).toContain('"tier"');
    for (const tier of ['standard', 'batch', 'flex']) expect(message).toContain(tier);
  });
});
