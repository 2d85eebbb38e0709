import type { ModelCatalog } from '../catalog/model-catalog.ts';
import type { JobSite } from '../pipeline/fix-wording.ts';
import type { JobStage } from '../pipeline/job-stages.ts';
import type { Pause } from '../pipeline/spend-guard.ts';
import type { Job } from '../planning/job.ts';
import type { ImageModel } from './image-model.ts';
import type { JobQueue } from './job-queue.ts';
import type { Logger } from './logger.ts';
import type { ObjectStore } from './object-store.ts';

/**
 * What the worker use case needs, built once per instance by the composition root
 * (`shared/wiring/worker-deps.ts`) for the Cloud Function, the embedded runner and the stack.
 */
export interface WorkerDeps {
  store: ObjectStore;
  model: ImageModel;
  queue: JobQueue;
  catalog: ModelCatalog;
  log: Logger;
  now: () => Date;
  /** How records name an object (gs://bucket/name in the cloud, a file path locally). */
  uriOf: (bucket: string, name: string) => string;
  workerId: string;
  /**
   * The buckets this deployment owns: a job naming any other is refused (a forged or misrouted
   * message must not make the worker read or write elsewhere).
   */
  buckets?: { input: string; output: string };
  /** Called at each stage of a job; crash tests kill the process there. */
  failpoint?: (stage: JobStage) => void;
  limits: WorkerLimits;
  /** The spend kill switch (cloud worker): jobs are held, not run, while spending is paused. */
  spending?: SpendControl;
  /**
   * Tells that a claim's holder is gone, so its claim is free before its lease ends (the
   * embedded runner: a local process that exited). The cloud has none: the lease decides.
   */
  claimOwnerGone?: (owner: string) => boolean;
  /**
   * The cloud's batch path: a batch-tier job that reaches the worker without an answer (a
   * keyframe's next frame, a job published by hand) is taken into it instead of called directly.
   */
  batchInbox?: { adopt(job: Job): Promise<boolean> };
  /** Where jobs run: the fixes in error records are worded for it (default: the cloud). */
  site?: JobSite;
}

/** What the worker asks of the spend kill switch (shared/pipeline/spend-guard.ts). */
export interface SpendControl {
  /** The pause in force, if any. */
  check(): Promise<Pause | undefined>;
  /** Counts what a finished job cost towards the daily cap. */
  record(costUsd: number): Promise<void>;
}

export interface WorkerLimits {
  maxInputBytes: number;
  maxInputPixels: number;
  modelTimeoutMs: number;
  /** Per flex-tier request (flex targets 1-15 min); default modelTimeoutMs. */
  flexTimeoutMs?: number;
  leaseMs: number;
  /**
   * How many times a job still over the per-minute quota after its in-process hold is published
   * again (a fresh message) instead of retried (default 0: retried, using up an attempt).
   */
  maxQuotaDeferrals?: number;
}

/** The per-request timeout of a job's model calls: flex is slow by design. */
export function modelTimeoutFor(limits: WorkerLimits, job: { tier?: string | undefined }): number {
  if (job.tier !== 'flex') return limits.modelTimeoutMs;
  return Math.max(limits.modelTimeoutMs, limits.flexTimeoutMs ?? 0);
}

/** What writing records needs (the dead-letter function has no model and loads no sharp). */
export type RecordDeps = Pick<
  WorkerDeps,
  'store' | 'queue' | 'uriOf' | 'log' | 'now' | 'catalog' | 'claimOwnerGone' | 'site'
>;
