import type { ModelCatalog } from '../catalog/model-catalog.ts';
import type { Tier } from '../catalog/tiers.ts';
import type { BananaError } from '../errors.ts';
import type { ParsedSidecar } from '../sidecar/parse-sidecar.ts';
import type { Mode, PreviewSpec } from '../sidecar/sidecar-schema.ts';
import type { Job } from './job.ts';

/** What planning reads and returns: shared by the planner's steps (see plan-jobs.ts). */

/** An object of the drop, as listed from the input bucket or folder. */
export interface DropObject {
  name: string;
  generation: string;
}

export interface PlanContext {
  inputBucket: string;
  outputBucket: string;
  catalog: ModelCatalog;
  /** Model of jobs that name none; unset = the catalog's default model. */
  defaultModel?: string | undefined;
  /** Tier of jobs whose sidecar names none (`run --tier`, BANANAFLOW_TIER); default standard. */
  defaultTier?: Tier | undefined;
  /** Tiers this platform can run (default all): a cloud deployment without the batch path refuses batch. */
  availableTiers?: readonly Tier[] | undefined;
  runId: string;
  now: Date;
  /** Objects a sidecar may reference: at least everything under the sidecar's folder. */
  objects: ReadonlyMap<string, DropObject>;
  /** Pixel size of an image when known (read from its header); estimates assume the worst otherwise. */
  imageSize?: (name: string) => { width: number; height: number } | undefined;
  /** 'error' when the whole drop is known (CLI); 'wait' when an input may still be uploading (cloud). */
  missingInputs: 'error' | 'wait';
}

export interface SidecarToPlan {
  name: string;
  generation: string;
  parsed: ParsedSidecar;
  /** Publish only the jobs that use this object (the upload that triggered planning). */
  onlyInvolving?: string;
}

export interface PlanResult {
  jobs: Job[];
  /** Problems that stop a job (or the whole sidecar); each becomes an error record. */
  problems: BananaError[];
  /** Jobs that wait for inputs not uploaded yet (cloud only). */
  waitingFor: string[];
  /** Planned anyway, but worth saying (a deprecated model): also in each job's records. */
  warnings: string[];
  estimatedCostUsd: number;
  /** The same jobs at standard (list) prices, whatever their tier. */
  standardCostUsd: number;
}

/** One job of a sidecar before variants: the spec merged with defaults and its inputs named. */
export interface JobSpec {
  jobIndex: number;
  /** Field prefix for error messages, e.g. "jobs[3]." */
  at: string;
  inputs: string[];
  references: string[];
  turns: string[];
  model?: string;
  aspectRatio?: string;
  imageSize?: string;
  thinkingLevel?: string;
  grounding?: string;
  variants: number;
  output: Partial<Job['output']>;
  tags: Record<string, string>;
  mode?: Mode;
  tier?: Tier | undefined;
  maxCostUsd?: number;
  folder: string;
  stem: string;
  label: string;
  /** A keyframe sequence: one prompt per frame (`turns` holds the first). */
  frames?: string[];
  preview?: Partial<PreviewSpec>;
}

/** One spec planned: its jobs and their estimate (at the job's tier, and at standard prices). */
export interface PlannedSpec {
  spec: JobSpec;
  jobs: Job[];
  estimate: number;
  standard: number;
}
