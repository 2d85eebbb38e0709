import { createHash } from 'node:crypto';
import { type Job, jobSchema } from '../../shared/planning/job.ts';

/**
 * A valid Job for tests (checked against jobSchema, so a schema change breaks here first, not in
 * some distant assertion). `index` makes distinct jobs with distinct, stable 20-hex-char ids.
 */
export function makeJob(index = 0, overrides: Partial<Job> = {}): Job {
  const jobId = createHash('sha256').update(`test-job-${index}`).digest('hex').slice(0, 20);
  return jobSchema.parse({
    schemaVersion: 1,
    jobId,
    runId: 'run-test',
    mode: 'edit',
    sidecar: { bucket: 'drop', name: 'shoot/cat.png.json', generation: '1', kind: 'image' },
    jobIndex: index,
    variant: 1,
    variants: 1,
    inputs: [{ bucket: 'drop', name: 'shoot/cat.png', generation: '1', role: 'input' }],
    turns: ['make the cat wear a tiny hat'],
    model: 'gemini-2.5-flash-image',
    requestedModel: 'nano-banana',
    output: {
      bucket: 'out',
      base: `shoot/cat.${index}`,
      format: 'png',
      quality: 90,
      renditions: [],
    },
    estimatedCostUsd: 0.039,
    tags: { test: 'true' },
    plannedAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  });
}
