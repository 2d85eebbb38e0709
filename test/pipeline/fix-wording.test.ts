import { describe, expect, it } from 'vitest';
import { fixFor } from '../../shared/pipeline/fix-wording.ts';

/** Fixes are worded for where the job ran: the runner's say what to do locally. */
describe('fixFor', () => {
  it.each([
    [
      'Check the last failure above; once it is fixed, upload the sidecar again to re-plan the job.',
      'Check the last failure above; once it is fixed, run the drop again (`bananaflow run`).',
    ],
    [
      'Retry the job by uploading the sidecar again; report it if it persists.',
      'Retry the job by running the drop again (`bananaflow run`); report it if it persists.',
    ],
    [
      'The Gemini quota was exhausted: lower worker concurrency or max instances, or raise the quota, then upload the sidecar again.',
      'The Gemini quota was exhausted: lower --concurrency, or raise the quota, then run the drop again (`bananaflow run`).',
    ],
    [
      'calls to this model stop for the rest of the run: run again (or upload the sidecar again) after the reset',
      'calls to this model stop for the rest of the run: run again after the reset',
    ],
    [
      'The input was replaced or deleted after planning; a new upload plans a new job.',
      'The input was replaced or deleted after planning; the next `bananaflow run` plans a new job.',
    ],
  ])('local: %s', (cloud, local) => {
    expect(fixFor(cloud, 'local')).toBe(local);
    expect(fixFor(cloud, 'cloud')).toBe(cloud);
    expect(fixFor(cloud, undefined)).toBe(cloud);
  });
});
