import type { Usage } from '../catalog/cost.ts';
import type { WorkerDeps } from '../ports/worker-deps.ts';
import type { Billed } from './billing-ledger.ts';
import type { WrittenOutput } from './encode-and-write.ts';
import { frameRecordFields } from './frame-record.ts';
import type { JobRun } from './job-run.ts';
import type { LoadedInput } from './load-inputs.ts';
import type { ModelAnswer } from './model-answer.ts';
import { type InputRecord, type MetadataRecord, WATERMARK_NOTE } from './records.ts';
import { recordedOptionsOf } from './request-options.ts';

/** What a succeeded job's metadata record is built from. */
export interface SuccessFacts {
  inputs: LoadedInput[];
  answer: ModelAnswer;
  output: WrittenOutput;
  billed: Billed & { retried: Usage };
  finishedAt: Date;
}

/** The metadata record X.json beside a succeeded job's output X (see records.ts for fields). */
export function buildMetadataRecord(run: JobRun, facts: SuccessFacts): MetadataRecord {
  const { deps, job, startedAt } = run;
  const { outcome } = facts.answer;
  return {
    schemaVersion: 1,
    jobId: job.jobId,
    runId: job.runId,
    ...(job.requestId ? { requestId: job.requestId } : {}),
    status: 'succeeded',
    mode: job.mode,
    model: {
      requested: job.requestedModel,
      id: job.model,
      ...(outcome.modelVersion ? { version: outcome.modelVersion } : {}),
      backend: deps.model.backend,
    },
    ...(job.tier ? { tier: job.tier } : {}),
    ...(outcome.batch ? { batch: outcome.batch } : {}),
    prompt: job.turns[job.turns.length - 1] ?? '',
    ...(job.turns.length > 1 ? { steps: job.turns } : {}),
    sidecar: {
      uri: deps.uriOf(job.sidecar.bucket, job.sidecar.name),
      generation: job.sidecar.generation,
      kind: job.sidecar.kind,
    },
    inputs: inputRecords(deps, facts.inputs),
    output: facts.output,
    ...(job.aspectRatio ? { aspectRatio: job.aspectRatio } : {}),
    ...(job.imageSize ? { imageSize: job.imageSize } : {}),
    ...recordedOptionsOf(job),
    usage: facts.billed.usage,
    ...(facts.billed.retried.totalTokens > 0 ? { retriedUsage: facts.billed.retried } : {}),
    cost: facts.billed.cost,
    estimatedCostUsd: job.estimatedCostUsd,
    timing: {
      plannedAt: job.plannedAt,
      startedAt: startedAt.toISOString(),
      finishedAt: facts.finishedAt.toISOString(),
      modelMs: outcome.modelMs,
      totalMs: facts.finishedAt.getTime() - startedAt.getTime(),
    },
    attempts: run.delivery.attempt,
    modelResultReused: facts.answer.reused,
    ...(facts.answer.resumedAfterStep ? { resumedAfterStep: facts.answer.resumedAfterStep } : {}),
    ...(outcome.finishReason ? { finishReason: outcome.finishReason } : {}),
    ...(outcome.text ? { modelText: outcome.text } : {}),
    tags: job.tags,
    ...frameRecordFields(job, deps.uriOf),
    watermark: WATERMARK_NOTE,
  };
}

function inputRecords(deps: Pick<WorkerDeps, 'uriOf'>, inputs: LoadedInput[]): InputRecord[] {
  return inputs.map(({ ref, prepared }) => ({
    uri: deps.uriOf(ref.bucket, ref.name),
    role: ref.role,
    generation: ref.generation,
    type: prepared.original.mimeType || prepared.original.format,
    bytes: prepared.original.bytes,
    width: prepared.original.width,
    height: prepared.original.height,
    conversions: prepared.conversions,
    sentWidth: prepared.width,
    sentHeight: prepared.height,
  }));
}
