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

/**
 * Points on the batch path where a crash matters for "submitted once, nothing lost" (crash tests
 * stop there; in the cloud, BANANAFLOW_BATCH_FAILPOINT kills the batch tick there).
 *   batch-recorded      a batch's manifest is written; the batch job is not created yet
 *   batch-submitted     the batch job is created; its name is not in the manifest yet
 *   batch-named         the manifest holds the batch job's name
 *   batch-job-recorded  one job of a finished batch is collected; the others may not be
 */
export const BATCH_STAGES = [
  'batch-recorded',
  'batch-submitted',
  'batch-named',
  'batch-job-recorded',
] as const;
export type BatchStage = (typeof BATCH_STAGES)[number];
