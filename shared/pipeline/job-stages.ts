/**
 * Points in a worker's handling of a job where a crash matters for "paid once". The worker reports
 * each to `WorkerDeps.failpoint` (crash tests kill the process there; see BANANAFLOW_FAILPOINT).
 *   claimed         the job is claimed; the model has not been called
 *   step-answered   a refinement step's answer is persisted as a checkpoint; more steps to go
 *   model-answered  the model's answer is persisted; no output written yet
 *   output-written  the output image is written; its metadata record (the commit point) is not
 *   recorded        the metadata record is written and announced; a keyframe's next step (the next
 *                   frame published, or the sequence's files) is not done yet
 */
export const JOB_STAGES = [
  'claimed',
  'step-answered',
  'model-answered',
  'output-written',
  'recorded',
] as const;
export type JobStage = (typeof JOB_STAGES)[number];
