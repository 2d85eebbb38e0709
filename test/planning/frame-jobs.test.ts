import { describe, expect, it } from 'vitest';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import {
  chainStarts,
  frameOutputNames,
  nextFrameJob,
  previousFrameName,
  sequenceFileNames,
} from '../../shared/planning/frame-jobs.ts';
import { jobSchema } from '../../shared/planning/job.ts';
import { type PlanContext, planSidecarJobs } from '../../shared/planning/plan-jobs.ts';
import { parseSidecar } from '../../shared/sidecar/parse-sidecar.ts';

/** Planning a keyframe sequence: one job per frame, each derivable from the one before. */

const catalog = loadModelCatalog();
const drop = ['shots/start.png', 'shots/hero.png', 'shots/style.png', 'shots/extra.png'];

function ctx(overrides: Partial<PlanContext> = {}): PlanContext {
  return {
    inputBucket: 'in',
    outputBucket: 'out',
    catalog,
    defaultModel: 'gemini-2.5-flash-image',
    runId: 'run-1',
    now: new Date('2026-12-01T00:00:00Z'),
    objects: new Map(drop.map((name) => [name, { name, generation: '1' }])),
    imageSize: () => ({ width: 1024, height: 576 }),
    missingInputs: 'error',
    ...overrides,
  };
}

function plan(spec: object, context = ctx(), generation = '7') {
  const name = 'shots/walk.jobs.json';
  const parsed = parseSidecar(name, 'manifest', Buffer.from(JSON.stringify(spec)), 1 << 20);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
  return planSidecarJobs({ name, generation, parsed: parsed.sidecar }, context);
}

const prompts = ['she stands at the door', 'she steps outside', 'she looks at the sky'];

describe('planning a keyframe sequence', () => {
  it('plans one job per frame, in order, under <job name>/frame-NNNN.<id>, every one a valid job message', () => {
    const result = plan({
      jobs: [{ name: 'walk', frames: prompts, inputs: ['start.png'], references: ['hero.png'] }],
    });
    expect(result.problems).toEqual([]);
    const jobs = result.jobs;
    expect(jobs.map((j) => j.sequence?.frame)).toEqual([1, 2, 3]);
    expect(jobs.map((j) => j.turns)).toEqual(prompts.map((p) => [p]));
    expect(jobs.map((j) => j.mode)).toEqual(['keyframes', 'keyframes', 'keyframes']);
    for (const [index, job] of jobs.entries()) {
      expect(jobSchema.parse(job)).toEqual(job);
      expect(job.output.base).toBe(
        `shots/walk/walk/frame-000${index + 1}.${job.jobId.slice(0, 8)}`,
      );
    }
    expect(new Set(jobs.map((j) => j.jobId)).size).toBe(3);
    // Frame 1 starts from the inputs and references; later frames keep only the references.
    expect(jobs.map((j) => j.inputs.map((i) => `${i.role}:${i.name}`))).toEqual([
      ['input:shots/start.png', 'reference:shots/hero.png'],
      ['reference:shots/hero.png'],
      ['reference:shots/hero.png'],
    ]);
    expect(jobs.map(previousFrameName)).toEqual([
      undefined,
      `${jobs[0]?.output.base}.png`,
      `${jobs[1]?.output.base}.png`,
    ]);
    expect(chainStarts(jobs)).toEqual([jobs[0]]);
    // Of the frames still to do (a backfill), a sequence starts at the lowest one.
    expect(chainStarts(jobs.slice(1))).toEqual([jobs[1]]);
  });

  it('gives frame k+1 the job the planner planned for it, from frame k alone (what the worker publishes)', () => {
    const jobs = plan({
      defaults: { maxCostUsd: 1 },
      jobs: [{ name: 'walk', frames: prompts, references: ['hero.png'] }],
    }).jobs;
    expect(nextFrameJob(jobs[0] as (typeof jobs)[0])).toEqual(jobs[1]);
    expect(nextFrameJob(jobs[1] as (typeof jobs)[0])).toEqual(jobs[2]);
    expect(nextFrameJob(jobs[2] as (typeof jobs)[0])).toBeUndefined();
  });

  it('plans the same ids again, and new ones when the manifest or an input changes', () => {
    const spec = { jobs: [{ name: 'walk', frames: prompts, inputs: ['start.png'] }] };
    const ids = (r: ReturnType<typeof plan>) => r.jobs.map((j) => j.jobId);
    const first = plan(spec);
    expect(ids(plan(spec))).toEqual(ids(first));
    expect(ids(plan(spec, ctx(), '8'))).not.toEqual(ids(first));
    const changed = ctx();
    (changed.objects as Map<string, { name: string; generation: string }>).set('shots/start.png', {
      name: 'shots/start.png',
      generation: '2',
    });
    expect(ids(plan(spec, changed))).not.toEqual(ids(first));
  });

  it('starts frame 1 from text alone when there are no inputs or references', () => {
    const jobs = plan({ jobs: [{ frames: prompts.slice(0, 2) }] }).jobs;
    expect(jobs.map((j) => j.inputs)).toEqual([[], []]);
    expect(jobs[0]?.output.base).toMatch(/^shots\/walk\/job-001\/frame-0001\./);
  });

  it('estimates the whole sequence: every frame, a later one paying for the frame before as input', () => {
    const result = plan({ jobs: [{ frames: prompts, inputs: ['start.png'] }] });
    const [first, second, third] = result.jobs.map((j) => j.estimatedCostUsd);
    expect(result.estimatedCostUsd).toBeCloseTo((first ?? 0) + (second ?? 0) + (third ?? 0), 12);
    expect(second).toBeGreaterThan(0);
    expect(third).toBeCloseTo(second ?? 0, 4);
    const plain = plan({ jobs: [{ prompt: prompts[0] }] }).estimatedCostUsd;
    // A later frame sends an image (the frame before); a text-only prompt sends none.
    expect(second).toBeGreaterThan(plain);
    // The plan every frame carries lists all estimates.
    expect(result.jobs[2]?.sequence?.plan.map((p) => p.estimatedCostUsd)).toEqual([
      first,
      second,
      third,
    ]);
  });

  it('holds maxCostUsd to the whole sequence, and splits it over the frames by estimate', () => {
    const total = plan({ jobs: [{ frames: prompts, inputs: ['start.png'] }] }).estimatedCostUsd;
    const over = plan({
      jobs: [{ frames: prompts, inputs: ['start.png'], maxCostUsd: total * 0.9 }],
    });
    expect(over.jobs).toEqual([]);
    expect(over.problems.map((p) => [p.code, p.details.field])).toEqual([
      ['COST_CAP_EXCEEDED', 'jobs[0].maxCostUsd'],
    ]);
    const cap = total * 2;
    const under = plan({ jobs: [{ frames: prompts, inputs: ['start.png'], maxCostUsd: cap }] });
    const caps = under.jobs.map((j) => j.maxCostUsd ?? 0);
    expect(caps.reduce((a, b) => a + b, 0)).toBeCloseTo(cap, 9);
    for (const job of under.jobs) {
      expect(job.maxCostUsd).toBeCloseTo(job.estimatedCostUsd * 2, 9);
      // The worker's next frame keeps its cap: every frame's plan lists them all.
      expect(job.sequence?.plan.map((p) => p.maxCostUsd)).toEqual(caps);
    }
  });

  it('refuses, naming the cap, references that do not fit beside the previous frame', () => {
    // gemini-2.5-flash-image takes 3 images: 3 references fit frame 1, not the previous frame too.
    const result = plan({
      jobs: [{ frames: prompts, references: ['hero.png', 'style.png', 'extra.png'] }],
    });
    expect(result.jobs).toEqual([]);
    expect(result.problems.map((p) => [p.code, p.details.field])).toEqual([
      ['TOO_MANY_IMAGES', 'jobs[0].references'],
    ]);
    expect(result.problems[0]?.message).toMatch(/previous frame.*at most 3 \(its input cap\)/);
    const pro = plan({
      jobs: [
        {
          frames: prompts,
          model: 'gemini-3-pro-image',
          references: ['hero.png', 'style.png', 'extra.png'],
        },
      ],
    });
    expect(pro.problems).toEqual([]);
  });

  it.each([
    [
      'variants from defaults',
      { defaults: { variants: 2 } },
      'jobs[0].variants',
      'SIDECAR_INVALID',
    ],
    ['mode from defaults', { defaults: { mode: 'edit' } }, 'jobs[0].mode', 'SIDECAR_INVALID'],
  ])('refuses %s on a frames job, naming the field', (_, extra, field, code) => {
    const result = plan({ ...extra, jobs: [{ frames: prompts }] });
    expect(result.problems.map((p) => [p.code, p.details.field])).toEqual([[code, field]]);
  });

  it('lets a job set variants 1 over defaults, and other jobs of the manifest keep their variants', () => {
    const result = plan({
      defaults: { variants: 2 },
      jobs: [{ frames: prompts, variants: 1 }, { prompt: 'a poster' }],
    });
    expect(result.problems).toEqual([]);
    expect(result.jobs.map((j) => j.sequence?.frame ?? `v${j.variant}`)).toEqual([
      1,
      2,
      3,
      'v1',
      'v2',
    ]);
  });

  it('names the sequence files beside the frames, by the sequence id; the preview defaults to 2 fps', () => {
    const [first] = plan({ jobs: [{ name: 'walk', frames: prompts }] }).jobs;
    const sequence = first?.sequence;
    if (!first || !sequence) throw new Error('no sequence planned');
    expect(sequence.preview).toEqual({ fps: 2, gif: false });
    const id = sequence.id.slice(0, 8);
    expect(sequenceFileNames(sequence)).toEqual({
      summary: `shots/walk/walk/sequence.${id}.json`,
      webp: `shots/walk/walk/preview.${id}.webp`,
      gif: `shots/walk/walk/preview.${id}.gif`,
      contactStrip: `shots/walk/walk/contact-strip.${id}.png`,
    });
    expect(frameOutputNames({ ...first, sequence }, 3).metadata).toMatch(
      /^shots\/walk\/walk\/frame-0003\.[a-f0-9]{8}\.png\.json$/,
    );
  });
});
