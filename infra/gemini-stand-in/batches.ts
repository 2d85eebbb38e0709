import { randomBytes } from 'node:crypto';
import type { BATCH_DIRECTIVES } from './faults.ts';
import type { FileStore } from './files.ts';
import type { WireGenerateContentRequest } from './protocol.ts';

/**
 * The stand-in's Batch API, in the REST shapes @google/genai's `batches.*` speaks (Gemini API):
 *   POST {base}/v1beta/models/{model}:batchGenerateContent
 *        body {batch: {displayName, inputConfig: {requests: {requests: [{request, metadata}]}}
 *                                              | {fileName: "files/…"}}}  → the batch operation
 *   GET  {base}/v1beta/batches/{id}            → the batch operation
 *   GET  {base}/v1beta/batches?pageSize&pageToken → {operations, nextPageToken}
 *   POST {base}/v1beta/batches/{id}:cancel     → {}
 * A batch operation is `{name, metadata: {displayName, model, state: BATCH_STATE_…, batchStats,
 * output: {inlinedResponses: {inlinedResponses: [{response | error, metadata}]}} | {responsesFile}}}`.
 * JSONL input lines are `{key, request}`; the responses file has `{key, response | error}` lines.
 *
 * Each request is answered exactly as a generateContent call would be (faults and directives
 * included), after the batch's turnaround; batch-level faults come from options or from a
 * `[standin:batch=expired|failed|cancelled|drop-key]` directive in any of its prompts.
 */

export type BatchFault = (typeof BATCH_DIRECTIVES)[number];

export type BatchState =
  | 'BATCH_STATE_PENDING'
  | 'BATCH_STATE_RUNNING'
  | 'BATCH_STATE_SUCCEEDED'
  | 'BATCH_STATE_FAILED'
  | 'BATCH_STATE_CANCELLED'
  | 'BATCH_STATE_EXPIRED';

/** One request's answer: a generateContent response, or Google's error body with its status. */
export interface BatchItemAnswer {
  status: number;
  body: unknown;
}

export interface BatchOptions {
  /** Time from creation to results, in ms (half of it PENDING, then RUNNING). */
  turnaroundMs: () => number;
  /** At most this many requests in one batch (else 400 INVALID_ARGUMENT). */
  maxRequests: number;
  /** A batch-level fault by program: what happens to the n-th batch created. */
  fault?: (batch: {
    number: number;
    displayName: string;
    requests: number;
  }) => BatchFault | undefined;
  /** Answers one request as generateContent would; `prompt` is its latest user text. */
  answer: (model: string, request: WireGenerateContentRequest) => Promise<BatchItemAnswer>;
  /** The batch faults a request's directives ask for. */
  directiveFault: (request: WireGenerateContentRequest) => BatchFault | undefined;
  files: FileStore;
}

interface Item {
  key?: string;
  metadata?: unknown;
  request: WireGenerateContentRequest;
  answer?: BatchItemAnswer;
}

interface Batch {
  id: string;
  number: number;
  displayName: string;
  model: string;
  source: 'inline' | 'file';
  items: Item[];
  state: BatchState;
  createTime: string;
  updateTime: string;
  endTime?: string;
  fault?: BatchFault;
  responsesFile?: string;
  timers: NodeJS.Timeout[];
}

/** An HTTP answer of the batch endpoints. */
export interface JsonAnswer {
  status: number;
  body: unknown;
}

const TERMINAL: readonly BatchState[] = [
  'BATCH_STATE_SUCCEEDED',
  'BATCH_STATE_FAILED',
  'BATCH_STATE_CANCELLED',
  'BATCH_STATE_EXPIRED',
];

/** The state a batch fault ends its batch in (drop-key: it succeeds, one result short). */
const ENDED_BY: Partial<Record<BatchFault, BatchState>> = {
  expired: 'BATCH_STATE_EXPIRED',
  failed: 'BATCH_STATE_FAILED',
  cancelled: 'BATCH_STATE_CANCELLED',
};

export class BatchJobs {
  private readonly batches = new Map<string, Batch>();
  private created = 0;

  constructor(private readonly options: BatchOptions) {}

  /** POST models/{model}:batchGenerateContent */
  create(model: string, body: unknown): JsonAnswer {
    const batch = (body as { batch?: BatchBody } | undefined)?.batch;
    const input = batch?.inputConfig;
    let items: Item[];
    let source: Batch['source'];
    if (input?.requests?.requests) {
      source = 'inline';
      items = input.requests.requests.map((r) => ({
        request: r.request ?? {},
        ...(r.metadata === undefined ? {} : { metadata: r.metadata }),
      }));
    } else if (input?.fileName) {
      const file = this.options.files.get(input.fileName);
      if (!file) return error(404, `File ${input.fileName} not found.`);
      source = 'file';
      try {
        items = parseJsonl(file.bytes.toString('utf8'));
      } catch (e) {
        return error(400, `The input file is not valid JSONL: ${(e as Error).message}`);
      }
    } else {
      return error(400, 'batch.inputConfig needs requests or fileName.');
    }
    if (items.length === 0) return error(400, 'A batch needs at least one request.');
    if (items.length > this.options.maxRequests) {
      return error(
        400,
        `A batch holds at most ${this.options.maxRequests} requests; this one has ${items.length}.`,
      );
    }
    const now = new Date().toISOString();
    const entry: Batch = {
      id: randomBytes(8).toString('hex'),
      number: ++this.created,
      displayName: batch?.displayName ?? '',
      model,
      source,
      items,
      state: 'BATCH_STATE_PENDING',
      createTime: now,
      updateTime: now,
      timers: [],
    };
    const fault =
      this.options.fault?.({
        number: entry.number,
        displayName: entry.displayName,
        requests: items.length,
      }) ?? items.map((i) => this.options.directiveFault(i.request)).find((f) => f);
    if (fault) entry.fault = fault;
    this.batches.set(entry.id, entry);
    this.schedule(entry);
    return { status: 200, body: operationOf(entry) };
  }

  get(id: string): JsonAnswer {
    const batch = this.batches.get(id);
    return batch
      ? { status: 200, body: operationOf(batch) }
      : error(404, `batches/${id} not found.`);
  }

  list(pageSize: number, pageToken: string | undefined): JsonAnswer {
    const all = [...this.batches.values()].reverse();
    const start = pageToken ? Number(pageToken) : 0;
    const page = all.slice(start, start + pageSize);
    const next = start + pageSize < all.length ? String(start + pageSize) : undefined;
    return {
      status: 200,
      body: { operations: page.map(operationOf), ...(next ? { nextPageToken: next } : {}) },
    };
  }

  cancel(id: string): JsonAnswer {
    const batch = this.batches.get(id);
    if (!batch) return error(404, `batches/${id} not found.`);
    if (!TERMINAL.includes(batch.state)) this.finish(batch, 'BATCH_STATE_CANCELLED');
    return { status: 200, body: {} };
  }

  /** Stops every pending timer (the stand-in is closing). */
  close(): void {
    for (const batch of this.batches.values()) for (const t of batch.timers) clearTimeout(t);
  }

  private schedule(batch: Batch): void {
    const turnaround = this.options.turnaroundMs();
    batch.timers.push(
      setTimeout(
        () => {
          if (batch.state !== 'BATCH_STATE_PENDING') return;
          batch.state = 'BATCH_STATE_RUNNING';
          batch.updateTime = new Date().toISOString();
          // Answering starts now; the results are published when the turnaround is over.
          const answered = this.answerAll(batch);
          batch.timers.push(
            setTimeout(
              () => {
                void answered.then(() => this.complete(batch));
              },
              turnaround - Math.floor(turnaround / 2),
            ),
          );
        },
        Math.floor(turnaround / 2),
      ),
    );
  }

  private async answerAll(batch: Batch): Promise<void> {
    if (batch.fault && batch.fault !== 'drop-key') return; // nothing is processed, nothing billed
    let next = 0;
    const worker = async () => {
      while (next < batch.items.length && batch.state === 'BATCH_STATE_RUNNING') {
        const item = batch.items[next++];
        if (item) item.answer = await this.options.answer(batch.model, item.request);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
  }

  private complete(batch: Batch): void {
    if (batch.state !== 'BATCH_STATE_RUNNING') return;
    const fault = batch.fault;
    const ended = fault ? ENDED_BY[fault] : undefined;
    if (ended) {
      this.finish(batch, ended);
      return;
    }
    if (fault === 'drop-key') {
      // The first item's result goes missing: the client must notice, not skip it silently.
      batch.items[0] = { ...(batch.items[0] as Item), answer: undefined };
    }
    if (batch.source === 'file') {
      const lines = batch.items
        .filter((i) => i.answer)
        .map((i) => JSON.stringify({ key: i.key, ...resultOf(i.answer as BatchItemAnswer) }));
      const file = this.options.files.put(
        Buffer.from(`${lines.join('\n')}\n`),
        'application/jsonl',
        `${batch.displayName}-responses`,
      );
      batch.responsesFile = file.name;
    }
    this.finish(batch, 'BATCH_STATE_SUCCEEDED');
  }

  private finish(batch: Batch, state: BatchState): void {
    batch.state = state;
    batch.updateTime = new Date().toISOString();
    batch.endTime = batch.updateTime;
    for (const t of batch.timers) clearTimeout(t);
  }
}

interface BatchBody {
  displayName?: string;
  inputConfig?: {
    requests?: { requests?: Array<{ request?: WireGenerateContentRequest; metadata?: unknown }> };
    fileName?: string;
  };
}

function parseJsonl(text: string): Item[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      const parsed = JSON.parse(line) as { key?: unknown; request?: WireGenerateContentRequest };
      if (typeof parsed.key !== 'string' || !parsed.request) {
        throw new Error(`line ${index + 1} needs "key" (a string) and "request"`);
      }
      return { key: parsed.key, request: parsed.request };
    });
}

/** A request's result as the API writes it: the response, or the error (google.rpc.Status). */
function resultOf(answer: BatchItemAnswer): { response: unknown } | { error: unknown } {
  if (answer.status === 200 && answer.body) return { response: answer.body };
  const body = answer.body as { error?: unknown } | undefined;
  return {
    error: body?.error ?? { code: 500, message: 'The request failed.', status: 'INTERNAL' },
  };
}

function operationOf(batch: Batch) {
  const answered = batch.items.filter((i) => i.answer);
  const failed = answered.filter((i) => i.answer?.status !== 200).length;
  const done = TERMINAL.includes(batch.state);
  const output =
    batch.state !== 'BATCH_STATE_SUCCEEDED'
      ? undefined
      : batch.source === 'file'
        ? { responsesFile: batch.responsesFile }
        : {
            inlinedResponses: {
              inlinedResponses: batch.items
                .filter((i) => i.answer)
                .map((i) => ({
                  ...resultOf(i.answer as BatchItemAnswer),
                  ...(i.metadata === undefined ? {} : { metadata: i.metadata }),
                })),
            },
          };
  const metadata = {
    '@type': 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch',
    name: `batches/${batch.id}`,
    model: `models/${batch.model}`,
    displayName: batch.displayName,
    createTime: batch.createTime,
    updateTime: batch.updateTime,
    ...(batch.endTime ? { endTime: batch.endTime } : {}),
    state: batch.state,
    batchStats: {
      requestCount: String(batch.items.length),
      pendingRequestCount: String(batch.items.length - answered.length),
      successfulRequestCount: String(answered.length - failed),
      failedRequestCount: String(failed),
    },
    ...(output ? { output } : {}),
  };
  return { name: `batches/${batch.id}`, metadata, ...(done ? { done: true } : {}) };
}

function error(code: number, message: string): JsonAnswer {
  const status = code === 404 ? 'NOT_FOUND' : 'INVALID_ARGUMENT';
  return { status: code, body: { error: { code, message, status } } };
}
