import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { BatchJobs, type BatchOptions } from './batches.ts';
import type { StandInStats } from './call-stats.ts';
import { readConversation } from './conversation.ts';
import { type FaultSchedule, parseDirectives } from './faults.ts';
import { FileStore } from './files.ts';
import { answerInBatch } from './generate-call.ts';
import { sendJson, urlHost } from './http-io.ts';
import { googleError } from './protocol.ts';
import type { StandInQuota } from './quota.ts';
import { route } from './routes.ts';
import { StandInState } from './state.ts';

/**
 * The offline Gemini stand-in: a local HTTP server speaking the Gemini REST protocol
 * (`POST /v1beta/models/{model}:generateContent`), so the real @google/genai SDK can be pointed at
 * it with `httpOptions.baseUrl` or GOOGLE_GEMINI_BASE_URL. It renders deterministic "edited"
 * images, reports usage by the catalog's rules, injects faults, enforces a per-minute quota when
 * given one, and counts what it billed.
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
export type { QuotaLimits, QuotaStats, StandInQuota } from './quota.ts';

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
  /** Per-model IPM/RPM over a sliding window (60 s unless compressed); past it, 429s. */
  quota?: StandInQuota;
  /**
   * Answer every image with a small fixed PNG instead of rendering one (usage as the model's):
   * for throughput benches, where rendering would be the bottleneck.
   */
  placeholderImages?: boolean;
}

export interface GeminiStandIn {
  /** Base URL for the SDK (`httpOptions.baseUrl` / GOOGLE_GEMINI_BASE_URL), no trailing slash. */
  readonly url: string;
  readonly port: number;
  stats(): StandInStats;
  /** Forgets calls, usage, directive counters and the quota's windows. */
  reset(): void;
  setFaults(faults: FaultSchedule | undefined): void;
  setLatency(ms: number): void;
  setBatchTurnaround(ms: number): void;
  /** A new quota (empty windows), or none. */
  setQuota(quota: StandInQuota | undefined): void;
  /** Stops listening and destroys open sockets, hanging calls included. */
  close(): Promise<void>;
}

export async function startGeminiStandIn(
  options: GeminiStandInOptions = {},
): Promise<GeminiStandIn> {
  const state = new StandInState(options);
  let baseUrl = '';
  const files = new FileStore(() => baseUrl);
  const batches = batchJobs(state, files, options);
  const server = createServer((req, res) => {
    route(state, { batches, files }, req, res).catch((error: unknown) => {
      // A bug in the stand-in: answer like Google's 500 so the client sees a transient error.
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) sendJson(res, 500, googleError(500, `stand-in error: ${message}`));
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  baseUrl = `http://${urlHost(host)}:${port}`;
  return {
    url: baseUrl,
    port,
    stats: () => state.snapshot(),
    reset: () => state.reset(),
    setFaults: (next) => {
      state.faultSchedule = next;
    },
    setLatency: (ms) => {
      state.latencyMs = ms;
    },
    setBatchTurnaround: (ms) => {
      state.batchTurnaroundMs = ms;
    },
    setQuota: (quota) => state.setQuota(quota),
    close: () => {
      state.clearTimers();
      batches.close();
      return closeServer(server);
    },
  };
}

/** The Batch API's jobs, each request answered as a generateContent call is. */
function batchJobs(state: StandInState, files: FileStore, options: GeminiStandInOptions) {
  return new BatchJobs({
    turnaroundMs: () => state.batchTurnaroundMs,
    maxRequests: options.maxBatchRequests ?? 10_000,
    ...(options.batchFaults ? { fault: options.batchFaults } : {}),
    files,
    answer: (model, request) => answerInBatch(state, model, request),
    directiveFault: (request) => {
      try {
        return parseDirectives(readConversation(request).lastPrompt).batch;
      } catch {
        return undefined; // answered as a per-request 400 when the batch runs
      }
    },
  });
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
