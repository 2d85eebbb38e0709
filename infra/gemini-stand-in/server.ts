import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  loadModelCatalog,
  type ModelCatalog,
  type ModelInfo,
} from '../../shared/catalog/model-catalog.ts';
import {
  blockedOutputAnswer,
  blockedPromptAnswer,
  emptyCandidatesAnswer,
  imageAnswer,
  type PreparedRequest,
  prepareRequest,
  textOnlyAnswer,
} from './answers.ts';
import { routeBatchApi } from './batch-routes.ts';
import { BatchJobs, type BatchOptions } from './batches.ts';
import { type CallOutcome, CallStats, type StandInStats } from './call-stats.ts';
import { BadRequestError, missingSignature, readConversation } from './conversation.ts';
import {
  DirectiveError,
  DirectiveFaults,
  type Fault,
  type FaultSchedule,
  parseDirectives,
  type RequestInfo,
  requestKey,
  scheduledFault,
} from './faults.ts';
import { FileStore } from './files.ts';
import { DEFAULT_EXTRA_MODELS, isServed, listPage, servedModels } from './model-list.ts';
import {
  creditsDepletedError,
  dailyQuotaError,
  type GoogleErrorBody,
  googleError,
  quotaError,
  type WireGenerateContentRequest,
  type WireGenerateContentResponse,
} from './protocol.ts';

/**
 * The offline Gemini stand-in: a local HTTP server speaking the Gemini REST protocol
 * (`POST /v1beta/models/{model}:generateContent`), so the real @google/genai SDK can be pointed at
 * it with `httpOptions.baseUrl` or GOOGLE_GEMINI_BASE_URL. It renders deterministic "edited"
 * images, reports usage by the catalog's rules, injects faults, and counts what it billed.
 */

export type { CallOutcome, CallRecord, StandInStats } from './call-stats.ts';
export {
  everyNthCall,
  FAULT_OUTCOMES,
  type Fault,
  type FaultOutcome,
  type FaultSchedule,
  type RequestInfo,
  requestKey,
} from './faults.ts';

export interface GeminiStandInOptions {
  /** 0 (default) = a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Time from a request's arrival to its answer, in ms (default 0); rendering happens within it. */
  latencyMs?: number;
  faults?: FaultSchedule;
  /** Catalog deciding which models exist; default the shipped one. */
  catalog?: ModelCatalog;
  /** Batch API: time from a batch's creation to its results, in ms (default 1000). */
  batchTurnaroundMs?: number;
  /** Batch API: most requests one batch may hold (default 10,000); more is 400. */
  maxBatchRequests?: number;
  /** Batch API: a fault for the n-th batch created (expired, failed, cancelled, drop-key). */
  batchFaults?: BatchOptions['fault'];
  /** Also listed by GET /v1beta/models (not callable): default two text models. */
  extraModels?: readonly string[];
  /** Models per page of GET /v1beta/models when the client names no pageSize (default 4). */
  modelsPageSize?: number;
}

export interface GeminiStandIn {
  /** Base URL for the SDK (`httpOptions.baseUrl` / GOOGLE_GEMINI_BASE_URL), no trailing slash. */
  readonly url: string;
  readonly port: number;
  stats(): StandInStats;
  /** Forgets calls, usage and directive counters. */
  reset(): void;
  setFaults(faults: FaultSchedule | undefined): void;
  setLatency(ms: number): void;
  setBatchTurnaround(ms: number): void;
  /** Stops listening and destroys open sockets, hanging calls included. */
  close(): Promise<void>;
}

type Usage = WireGenerateContentResponse['usageMetadata'];

/** What the stand-in answers one call with, decided before the latency has passed. */
interface Reply {
  outcome: CallOutcome;
  status: number;
  /** Billed when the answer is sent. */
  usage?: Usage;
  /** Writes the answer; absent for a hang, which never answers. */
  send?: (res: ServerResponse) => void;
  /** The JSON answer (a response or Google's error body); absent for hang/truncated/malformed. */
  body?: unknown;
}

function errorReply(status: number, body: GoogleErrorBody): Reply {
  return { outcome: `http-${status}`, status, body, send: (res) => sendJson(res, status, body) };
}

/** Google's front end rejects bigger request bodies. */
const MAX_BODY_BYTES = 20 * 1024 * 1024;
const GENERATE_PATH = /\/models\/([^/:]+):generateContent$/;
const MODEL_PATH = /^\/v1beta\/models\/([^/:]+)$/;

/** The error body of a scheduled or directed HTTP fault (429s by their quota kind). */
function faultBody(
  fault: { status: number; retryDelay?: string; message?: string; quota?: string },
  model: string,
): GoogleErrorBody {
  if (fault.status !== 429) return googleError(fault.status, fault.message);
  if (fault.quota === 'per-day') return dailyQuotaError(model);
  if (fault.quota === 'credits') return creditsDepletedError();
  return quotaError(model, fault.retryDelay ?? '1s');
}

export async function startGeminiStandIn(
  options: GeminiStandInOptions = {},
): Promise<GeminiStandIn> {
  const catalog = options.catalog ?? loadModelCatalog();
  const extraModels = options.extraModels ?? DEFAULT_EXTRA_MODELS;
  const modelsPageSize = options.modelsPageSize ?? 4;
  const stats = new CallStats();
  const directiveFaults = new DirectiveFaults();
  let faults = options.faults;
  let latencyMs = options.latencyMs ?? 0;
  let batchTurnaroundMs = options.batchTurnaroundMs ?? 1000;
  let baseUrl = '';
  const files = new FileStore(() => baseUrl);
  const batches = new BatchJobs({
    turnaroundMs: () => batchTurnaroundMs,
    maxRequests: options.maxBatchRequests ?? 10_000,
    ...(options.batchFaults ? { fault: options.batchFaults } : {}),
    files,
    answer: answerInBatch,
    directiveFault: (request) => {
      try {
        return parseDirectives(readConversation(request).lastPrompt).batch;
      } catch {
        return undefined; // answered as a per-request 400 when the batch runs
      }
    },
  });

  /** One request of a batch, answered as a generateContent call is and counted as tier "batch". */
  async function answerInBatch(model: string, request: WireGenerateContentRequest) {
    const callNumber = stats.nextCallNumber();
    let info: RequestInfo = { callNumber, model, requestKey: requestKey(model, []), prompt: '' };
    const reply = await decide(Buffer.from(JSON.stringify(request)), model, true, (known) => {
      info = { callNumber, model, requestKey: known.requestKey, prompt: known.prompt };
      return info;
    });
    const served = reply.body !== undefined;
    const status = served ? reply.status : 500;
    stats.record(
      {
        callNumber,
        model,
        requestKey: info.requestKey,
        prompt: info.prompt,
        outcome: served ? reply.outcome : 'http-500',
        status,
        tier: 'batch',
      },
      served ? reply.usage : undefined,
    );
    return { status, body: reply.body };
  }
  const timers = new Set<NodeJS.Timeout>();

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0) return resolve();
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  /**
   * One generateContent call. The answer is decided (and rendered) as soon as the request has
   * arrived and sent when `latencyMs` has passed since then: the latency is the model's time to
   * answer, generation included, as a remote model's would be.
   */
  async function handleGenerate(req: IncomingMessage, res: ServerResponse, model: string) {
    const answerAt = Date.now() + latencyMs;
    const raw = await readBody(req);
    const callNumber = stats.nextCallNumber();
    let info: RequestInfo = { callNumber, model, requestKey: requestKey(model, []), prompt: '' };
    let tier: string | undefined;
    const reply = await decide(raw, model, apiKeyOf(req) !== undefined, (known) => {
      info = { callNumber, model, requestKey: known.requestKey, prompt: known.prompt };
      tier = known.tier;
      return info;
    });
    await wait(answerAt - Date.now());
    const record = (outcome: CallOutcome, status: number, usage?: Usage) =>
      stats.record(
        {
          callNumber,
          model,
          requestKey: info.requestKey,
          prompt: info.prompt,
          outcome,
          status,
          ...(tier ? { tier } : {}),
        },
        usage,
      );
    // The client gave up (timeout, abort) before the answer was due: nothing is served or billed.
    if (reply.send && res.destroyed) return record('http-499', 499);
    record(reply.outcome, reply.status, reply.usage);
    reply.send?.(res);
  }

  /** Decides (and renders) the answer to one generateContent request, direct or in a batch. */
  async function decide(
    raw: Buffer | undefined,
    model: string,
    hasKey: boolean,
    identify: (known: { requestKey: string; prompt: string; tier?: string }) => RequestInfo,
  ): Promise<Reply> {
    if (raw === undefined) {
      return errorReply(
        400,
        googleError(400, `Request payload size exceeds the limit: ${MAX_BODY_BYTES} bytes.`),
      );
    }
    let body: WireGenerateContentRequest;
    let conversation: ReturnType<typeof readConversation>;
    try {
      body = JSON.parse(raw.toString('utf8')) as WireGenerateContentRequest;
      conversation = readConversation(body);
    } catch (error) {
      const message =
        error instanceof BadRequestError ? error.message : 'Invalid JSON payload received.';
      return errorReply(400, googleError(400, message));
    }
    const info = identify({
      requestKey: requestKey(model, conversation.texts),
      prompt: conversation.lastPrompt,
      ...(body.serviceTier ? { tier: body.serviceTier } : {}),
    });

    if (!hasKey) return errorReply(403, googleError(403));
    let fault: Fault | undefined = scheduledFault(faults, info);
    const known = catalog.has(model) ? catalog.resolve(model) : undefined;
    // A shut-down id is gone, as on the real API: 404 on generateContent too.
    const modelInfo = isServed(known) ? known : undefined;
    if (!fault && !modelInfo) {
      return errorReply(
        404,
        googleError(
          404,
          `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`,
        ),
      );
    }
    const tierProblem = modelInfo ? serviceTierProblem(modelInfo, body.serviceTier) : undefined;
    if (tierProblem) return errorReply(400, googleError(400, tierProblem));
    if (!fault) {
      try {
        fault = directiveFaults.faultFor(
          info.requestKey,
          parseDirectives(conversation.lastPrompt),
          model,
        );
      } catch (error) {
        if (error instanceof DirectiveError)
          return errorReply(400, googleError(400, error.message));
        throw error;
      }
    }
    if (fault && 'status' in fault) {
      const status = fault.status;
      return errorReply(status, faultBody(fault, model));
    }
    if (!modelInfo) {
      // A scheduled outcome for a model the catalog does not know: nothing to render it with.
      return errorReply(
        404,
        googleError(404, `models/${model} is not found for API version v1beta.`),
      );
    }
    let prepared: PreparedRequest;
    try {
      prepared = await prepareRequest(modelInfo, body, conversation);
      if (modelInfo.thinking) {
        const missing = missingSignature(conversation);
        if (missing) throw new BadRequestError(missing);
      }
    } catch (error) {
      if (error instanceof BadRequestError) return errorReply(400, googleError(400, error.message));
      throw error;
    }

    const outcome = fault?.outcome ?? (prepared.wantsImage ? 'image' : 'text-only');
    switch (outcome) {
      case 'hang':
        // Never answer: the client's timeout (or close()) ends it.
        return { outcome: 'hang', status: 200 };
      case 'malformed':
        return {
          outcome: 'malformed',
          status: 200,
          send: (out) => {
            out.writeHead(200, { 'content-type': 'text/html; charset=UTF-8' });
            out.end(
              '<html><body>upstream connect error or disconnect/reset before headers</body></html>',
            );
          },
        };
      case 'truncated': {
        const text = JSON.stringify(await imageAnswer(prepared));
        return {
          outcome: 'truncated',
          status: 200,
          send: (out) => {
            out.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
            out.end(text.slice(0, Math.floor(text.length / 2)));
          },
        };
      }
      default: {
        const answer = await answerFor(outcome, prepared);
        return {
          outcome,
          status: 200,
          usage: answer.usageMetadata,
          body: answer,
          send: (out) => sendJson(out, 200, answer),
        };
      }
    }
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      // A bug in the stand-in: answer like Google's 500 so the client sees a transient error.
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) sendJson(res, 500, googleError(500, `stand-in error: ${message}`));
      else res.destroy();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://stand-in').pathname;
    if (req.method === 'GET' && path === '/__standin/stats')
      return sendJson(res, 200, stats.snapshot());
    if (req.method === 'POST' && path === '/__standin/reset') {
      reset();
      return sendJson(res, 200, { ok: true });
    }
    if (req.method === 'GET' && path === '/v1beta/models') {
      const page = listPage(
        servedModels(catalog, extraModels),
        new URL(req.url ?? '/', 'http://stand-in').searchParams,
        modelsPageSize,
      );
      return sendJson(res, 200, page);
    }
    const one = MODEL_PATH.exec(path);
    if (req.method === 'GET' && one?.[1]) {
      const id = decodeURIComponent(one[1]);
      const found = servedModels(catalog, extraModels).find((m) => m.baseModelId === id);
      return found
        ? sendJson(res, 200, found)
        : sendJson(res, 404, googleError(404, `models/${id} is not found for API version v1beta.`));
    }
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const hasKey = apiKeyOf(req) !== undefined;
    if (await routeBatchApi(req, res, url, { batches, files, hasKey })) return;
    const match = GENERATE_PATH.exec(path);
    if (req.method === 'POST' && match?.[1]) {
      return handleGenerate(req, res, decodeURIComponent(match[1]));
    }
    req.resume();
    sendJson(res, 404, googleError(404, `The stand-in does not serve ${req.method} ${path}.`));
  }

  function reset() {
    stats.reset();
    directiveFaults.reset();
  }

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const batchHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  baseUrl = `http://${batchHost}:${port}`;
  const urlHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    stats: () => stats.snapshot(),
    reset,
    setFaults: (next) => {
      faults = next;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    setBatchTurnaround: (ms) => {
      batchTurnaroundMs = ms;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        batches.close();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Why the request's serviceTier cannot be served for this model (catalog data), if it cannot. */
function serviceTierProblem(model: ModelInfo, serviceTier: string | undefined): string | undefined {
  if (serviceTier === undefined || serviceTier === 'standard' || serviceTier === 'unspecified')
    return undefined;
  if (serviceTier !== 'flex') return `Invalid value at 'service_tier': "${serviceTier}".`;
  return model.flex ? undefined : `Service tier flex is not supported for models/${model.id}.`;
}

async function answerFor(
  outcome: 'image' | 'blocked-prompt' | 'blocked-output' | 'text-only' | 'empty-candidates',
  request: PreparedRequest,
): Promise<WireGenerateContentResponse> {
  switch (outcome) {
    case 'image':
      return imageAnswer(request);
    case 'blocked-prompt':
      return blockedPromptAnswer(request);
    case 'blocked-output':
      return blockedOutputAnswer(request);
    case 'text-only':
      return textOnlyAnswer(request);
    case 'empty-candidates':
      return emptyCandidatesAnswer(request);
  }
}

/** The API key from any place Google accepts it; Vertex-style bearer tokens count too. */
function apiKeyOf(req: IncomingMessage): string | undefined {
  const header = req.headers['x-goog-api-key'];
  const key = Array.isArray(header) ? header[0] : header;
  if (key) return key;
  const query = new URL(req.url ?? '/', 'http://stand-in').searchParams.get('key');
  if (query) return query;
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') && auth.length > 7 ? auth : undefined;
}

/** The body, or undefined when it is over the size limit. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) tooBig = true;
    else chunks.push(buffer);
  }
  return tooBig ? undefined : Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
