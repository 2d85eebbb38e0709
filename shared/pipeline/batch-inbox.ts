import { hasErrorCode } from '../errors.ts';
import { mapLimit } from '../map-limit.ts';
import { type Job, jobSchema } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import type { JobQueue } from '../ports/job-queue.ts';
import { type ObjectStore, readJsonIfExists, writeIfAbsent } from '../ports/object-store.ts';
import { PIPELINE_PREFIX } from '../sidecar/drop-files.ts';
import { JobState } from './job-state.ts';

/**
 * The cloud's batch path starts here: a batch-tier job is not published to the jobs topic but
 * left as a pending marker in the output bucket,
 *   _bananaflow/batch/pending/<jobId>.json   (the job; custom metadata: model, estimated bytes)
 * written create-only, so a redelivered upload event adds nothing. The batch tick (batch-tick.ts)
 * collects markers into batch jobs and removes a marker once its job is answered (handed to the
 * worker) or recorded: a job is always in exactly one place, its marker, its persisted answer or
 * its record.
 */

export const BATCH_PENDING_PREFIX = `${PIPELINE_PREFIX}batch/pending/`;

/** A pending job as listed (no read): what the batch window decides on. */
export interface PendingJob {
  jobId: string;
  model: string;
  /** Estimated bytes of its request (inputs as base64 plus the prompt). */
  bytes: number;
  /** When the marker was written. */
  since: Date;
  /** The marker's generation: a marker written again is a new submission. */
  generation: string;
}

const markerName = (jobId: string) => `${BATCH_PENDING_PREFIX}${jobId}.json`;

export class BatchInbox {
  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
  ) {}

  /** Leaves a pending marker per job (create-only); returns how many were new. */
  async add(jobs: readonly Job[]): Promise<number> {
    const added = await mapLimit(jobs, 8, async (job) => {
      const bytes = await this.estimateBytes(job);
      const body = Buffer.from(`${JSON.stringify(job)}\n`);
      const metadata = { model: job.model, bytes: String(bytes) };
      const options = { contentType: 'application/json', metadata };
      return writeIfAbsent(this.store, this.bucket, markerName(job.jobId), body, options);
    });
    return added.filter(Boolean).length;
  }

  /**
   * A batch-tier job that reached the worker (a keyframe's next frame, a job published by hand):
   * taken into the batch path unless it was answered or recorded already. True when taken.
   */
  async adopt(job: Job): Promise<boolean> {
    if (job.tier !== 'batch') return false;
    const names = outputNames(job.output.base, job.output.format);
    const [metadata, error] = await Promise.all(
      [names.metadata, names.error].map((n) => this.store.stat(job.output.bucket, n)),
    );
    if (metadata || error) return false;
    const state = new JobState(this.store, job.output.bucket, job.jobId);
    if (await state.loadModelResultRecord()) return false;
    await this.add([job]);
    return true;
  }

  async list(): Promise<PendingJob[]> {
    const listed = await this.store.list(this.bucket, BATCH_PENDING_PREFIX);
    return listed.flatMap((info) => {
      const jobId = info.name.slice(BATCH_PENDING_PREFIX.length).replace(/\.json$/, '');
      if (!/^[a-f0-9]{20}$/.test(jobId)) return [];
      const bytes = Number(info.metadata.bytes);
      return [
        {
          jobId,
          model: info.metadata.model ?? '',
          bytes: Number.isFinite(bytes) ? bytes : 0,
          since: new Date(info.updated),
          generation: info.generation,
        },
      ];
    });
  }

  /** The pending job, or undefined once its marker is gone (answered or recorded). */
  read(jobId: string): Promise<Job | undefined> {
    return readJsonIfExists(this.store, this.bucket, markerName(jobId), jobSchema);
  }

  async remove(jobId: string): Promise<void> {
    await this.store.delete(this.bucket, markerName(jobId));
  }

  /** Inputs as base64 plus the prompt: what the window counts towards BANANAFLOW_BATCH_MAX_BYTES. */
  private async estimateBytes(job: Job): Promise<number> {
    let bytes = Buffer.byteLength(job.turns.join('')) + 400;
    for (const input of job.inputs) {
      const info = await this.store.stat(input.bucket, input.name).catch((error: unknown) => {
        if (hasErrorCode(error, 'STORAGE_NOT_FOUND')) return undefined;
        throw error;
      });
      bytes += Math.ceil((info?.size ?? 0) / 3) * 4;
    }
    return bytes;
  }
}

/**
 * The jobs queue as ingest and the requests function see it: batch-tier jobs go to the batch
 * path's inbox, every other job to the jobs topic.
 */
export function routeBatchTier(queue: JobQueue, inbox: BatchInbox): JobQueue {
  return {
    publishJobs: async (jobs) => {
      const batch = jobs.filter((job) => job.tier === 'batch');
      if (batch.length > 0) await inbox.add(batch);
      const rest = batch.length > 0 ? jobs.filter((job) => job.tier !== 'batch') : jobs;
      if (rest.length > 0 || batch.length === 0) await queue.publishJobs(rest);
    },
    publishResult: (event) => queue.publishResult(event),
  };
}
