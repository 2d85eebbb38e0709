import type { Job } from '../planning/job.ts';

/** The request options a job carries beyond ratio and size: sent to the model as they are. */
export function requestOptionsOf(job: Pick<Job, 'thinkingLevel' | 'grounding'>): {
  thinkingLevel?: string;
  grounding?: string;
} {
  return {
    ...(job.thinkingLevel ? { thinkingLevel: job.thinkingLevel } : {}),
    ...(job.grounding ? { grounding: job.grounding } : {}),
  };
}

/** What the job's metadata record says about its options: those sent, and planning's warnings. */
export function recordedOptionsOf(job: Pick<Job, 'thinkingLevel' | 'grounding' | 'warnings'>) {
  return {
    ...requestOptionsOf(job),
    ...(job.warnings && job.warnings.length > 0 ? { warnings: job.warnings } : {}),
  };
}
