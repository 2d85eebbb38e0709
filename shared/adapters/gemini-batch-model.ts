import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BatchJob,
  type Content,
  GoogleGenAI,
  type InlinedResponse,
  JobState,
} from '@google/genai';
import { addUsage, usageFromMetadata, ZERO_USAGE } from '../catalog/cost.ts';
import type { GeminiBackend } from '../config.ts';
import { answeredOutcome, errorFields, turnFields } from '../gemini/classified-outcome.ts';
import { classifyError, classifyResponse, type ResponseLike } from '../gemini/classify-outcome.ts';
import { outcomeError } from '../gemini/outcome-error.ts';
import type {
  BatchImageModel,
  BatchItem,
  BatchState,
  BatchStatus,
} from '../ports/batch-image-model.ts';
import type { BatchAnswer, ConversationCheckpoint, ModelOutcome } from '../ports/image-model.ts';

/**
 * The BatchImageModel port over @google/genai's Batch API (Gemini API only): `batches.create`
 * with inlined requests (keys in `metadata.key`) or, when they are too big to send inline, a JSONL
 * file (`{key, request}` lines in REST field names) uploaded with `files.upload`; `batches.get`,
 * `batches.list` (to find a batch by display name after a crash) and the results from
 * `dest.inlinedResponses` or the `dest.fileName` responses file (`files.download`).
 *
 * Vertex AI batch prediction takes its input only from gs:// or BigQuery and writes to gs://, and
 * Google does not document it for the image models: not supported (see README, Tiers).
 */

export interface GeminiBatchModelOptions {
  backend: GeminiBackend;
  /** Recorded as the backend (e.g. 'offline-stand-in'); default the backend kind. */
  label?: string;
  /** Inline while the batch stays under this many bytes (the API takes at most 20 MB a request). */
  inlineMaxBytes: number;
}

/** The Gemini batch model, or undefined on Vertex AI (which this adapter does not support). */
export function createGeminiBatchModel(
  options: GeminiBatchModelOptions,
): BatchImageModel | undefined {
  const { backend } = options;
  if (backend.kind !== 'gemini-api') return undefined;
  const ai = new GoogleGenAI({
    apiKey: backend.apiKey,
    ...(backend.baseUrl ? { httpOptions: { baseUrl: backend.baseUrl } } : {}),
  });
  const secrets = [backend.apiKey];
  const call = <T>(what: string, run: () => Promise<T>) => guarded(what, run, secrets);

  return {
    backend: options.label ?? backend.kind,
    sizeOf,
    submit: (batch) =>
      call('create a batch job', async () => {
        const bytes = batch.items.reduce((sum, item) => sum + sizeOf(item), 0);
        const inline = bytes <= options.inlineMaxBytes;
        const src = inline
          ? batch.items.map((item) => ({
              contents: contentsOf(item),
              config: configOf(item),
              metadata: { key: item.key },
            }))
          : await uploadJsonl(ai, batch.displayName, batch.items);
        const job = await ai.batches.create({
          model: batch.model,
          src,
          config: { displayName: batch.displayName },
        });
        return { ...statusOf(job), via: inline ? 'inline' : 'file' };
      }),
    find: (displayName) =>
      call('list batch jobs', async () => {
        for await (const job of await ai.batches.list({ config: { pageSize: 100 } })) {
          if (job.displayName === displayName) return statusOf(job);
        }
        return undefined;
      }),
    status: (name) =>
      call('read a batch job', async () => statusOf(await ai.batches.get({ name }))),
    results: (name) => call('read batch results', () => resultsOf(ai, name, secrets)),
    continueConversation,
  };
}

/** Wire size of one request: base64 images plus the prompt and some JSON. */
function sizeOf(item: BatchItem): number {
  const images = item.request.images.reduce((s, i) => s + Math.ceil(i.bytes.length / 3) * 4, 0);
  return images + Buffer.byteLength(item.request.turns.join('')) + item.key.length + 400;
}

/**
 * The request's contents: the first turn (images, then the prompt), or for a refinement round the
 * checkpoint's history (thought signatures kept) plus the next prompt.
 */
function contentsOf(item: BatchItem): Content[] {
  const { images, turns, resume } = item.request;
  if (resume) {
    const history = resume.conversation as Content[];
    return [...history, { role: 'user', parts: [{ text: turns[resume.turns.length] ?? '' }] }];
  }
  const parts = [
    ...images.map((i) => ({
      inlineData: { mimeType: i.mimeType, data: i.bytes.toString('base64') },
    })),
    { text: turns[0] ?? '' },
  ];
  return [{ role: 'user', parts }];
}

/** The history after a round: what was sent, then the model's answer as it came (signatures too). */
function continueConversation(item: BatchItem, answer: ModelOutcome): ConversationCheckpoint {
  const content = (answer as ModelOutcome & BatchExtras).modelContent;
  if (answer.kind !== 'image' || !content) {
    throw new Error('Only a batch answer with an image can be continued.');
  }
  const before = item.request.resume;
  return {
    turns: [...(before?.turns ?? []), ...answer.turns],
    usage: before ? addUsage(before.usage, answer.usage) : answer.usage,
    ...(answer.modelVersion ? { modelVersion: answer.modelVersion } : {}),
    conversation: [...contentsOf(item), content],
  };
}

/** What the adapter keeps on an outcome beyond the port's fields: the model's raw answer. */
interface BatchExtras {
  modelContent?: Content;
}

function configOf(item: BatchItem) {
  const { aspectRatio, imageSize } = item.request;
  const imageConfig = {
    ...(aspectRatio ? { aspectRatio } : {}),
    ...(imageSize ? { imageSize } : {}),
  };
  return {
    responseModalities: ['IMAGE', 'TEXT'],
    ...(Object.keys(imageConfig).length > 0 ? { imageConfig } : {}),
  };
}

/** The JSONL file of a batch too big to send inline; REST field names (`generationConfig`). */
async function uploadJsonl(ai: GoogleGenAI, displayName: string, items: readonly BatchItem[]) {
  const lines = items.map((item) =>
    JSON.stringify({
      key: item.key,
      request: { contents: contentsOf(item), generationConfig: configOf(item) },
    }),
  );
  const file = await ai.files.upload({
    file: new Blob([`${lines.join('\n')}\n`], { type: 'application/jsonl' }),
    config: { mimeType: 'application/jsonl', displayName: `${displayName}-requests` },
  });
  if (!file.name) throw new Error('files.upload returned no file name');
  return file.name;
}

const STATES: Partial<Record<string, BatchState>> = {
  [JobState.JOB_STATE_PENDING]: 'pending',
  [JobState.JOB_STATE_QUEUED]: 'pending',
  [JobState.JOB_STATE_RUNNING]: 'running',
  [JobState.JOB_STATE_SUCCEEDED]: 'succeeded',
  [JobState.JOB_STATE_FAILED]: 'failed',
  [JobState.JOB_STATE_CANCELLED]: 'cancelled',
  [JobState.JOB_STATE_EXPIRED]: 'expired',
};

function statusOf(job: BatchJob): BatchStatus {
  return {
    name: job.name ?? '',
    displayName: job.displayName ?? '',
    state: STATES[job.state ?? ''] ?? 'pending',
  };
}

async function resultsOf(
  ai: GoogleGenAI,
  name: string,
  secrets: readonly string[],
): Promise<Map<string, ModelOutcome>> {
  const job = await ai.batches.get({ name });
  const modelMs = elapsedMs(job);
  const answers = new Map<string, ModelOutcome>();
  const add = (key: unknown, result: { response?: unknown; error?: unknown }) => {
    if (typeof key !== 'string') return;
    const batch: BatchAnswer = { name, displayName: job.displayName ?? '', key };
    answers.set(key, outcomeOf(result, batch, modelMs, secrets));
  };
  if (job.dest?.inlinedResponses) {
    for (const item of job.dest.inlinedResponses as InlinedResponse[]) {
      add((item.metadata as { key?: unknown } | undefined)?.key, item);
    }
  } else if (job.dest?.fileName) {
    for (const line of (await download(ai, job.dest.fileName)).split('\n')) {
      if (line.trim() === '') continue;
      const parsed = JSON.parse(line) as { key?: unknown; response?: unknown; error?: unknown };
      add(parsed.key, parsed);
    }
  }
  return answers;
}

async function download(ai: GoogleGenAI, fileName: string): Promise<string> {
  // files.download writes to a path (Node); read it back and remove it.
  const dir = await mkdtemp(join(tmpdir(), 'bananaflow-batch-'));
  try {
    const downloadPath = join(dir, 'responses.jsonl');
    await ai.files.download({ file: fileName, downloadPath });
    return await readFile(downloadPath, 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One request's answer as the port's outcome: classified exactly as a direct call's would be. */
function outcomeOf(
  result: { response?: unknown; error?: unknown },
  batch: BatchAnswer,
  modelMs: number,
  secrets: readonly string[],
): ModelOutcome {
  if (!result.response) {
    const failure = classifyError(asApiError(result.error), secrets);
    return { ...errorFields(failure), usage: { ...ZERO_USAGE }, turns: [], modelMs, batch };
  }
  const response = result.response as ResponseLike & {
    candidates?: Array<{ content?: Content }>;
  };
  const c = classifyResponse(response);
  const usage = usageFromMetadata(response.usageMetadata);
  const outcome = answeredOutcome(c, {
    usage,
    turns: [{ usage, ...turnFields(c) }],
    modelVersion: response.modelVersion,
    modelMs,
    batch,
  });
  const content = response.candidates?.[0]?.content;
  if (outcome.kind !== 'image' || !content) return outcome;
  const withContent: ModelOutcome & BatchExtras = { ...outcome, modelContent: content };
  return withContent;
}

/** A request's error body as the ApiError a direct call would throw (status, RetryInfo, quota id). */
function asApiError(body: unknown): Error {
  const error = (body ?? {}) as { code?: number };
  return Object.assign(new Error(JSON.stringify({ error: body ?? {} })), {
    name: 'ApiError',
    status: typeof error.code === 'number' ? error.code : 500,
  });
}

function elapsedMs(job: BatchJob): number {
  const start = job.createTime ? Date.parse(job.createTime) : Number.NaN;
  const end = job.endTime ? Date.parse(job.endTime) : Number.NaN;
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : 0;
}

/** Runs an SDK call; its failure becomes the one error model (quota/5xx retryable, 4xx not). */
async function guarded<T>(
  what: string,
  run: () => Promise<T>,
  secrets: readonly string[],
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const failure = classifyError(error, secrets);
    throw outcomeError({
      ...errorFields(failure),
      message: `Could not ${what}: ${failure.message}`,
      usage: { ...ZERO_USAGE },
      turns: [],
      modelMs: 0,
    });
  }
}
