import { type Config, geminiBackend } from '../../shared/config.ts';
import type { BatchImageModel } from '../../shared/ports/batch-image-model.ts';
import type { ImageModel } from '../../shared/ports/image-model.ts';
import {
  geminiBatchModel,
  geminiModel,
  standInBackend,
  standInModel,
} from '../../shared/wiring/image-model.ts';
import { startGeminiStandIn } from '../gemini-stand-in/server.ts';

export interface ModelChoice {
  model: ImageModel;
  /** The Batch API (Gemini API only; undefined on Vertex AI, whose batch tier is not supported). */
  batchModel: BatchImageModel | undefined;
  /** How often to poll batch jobs: the configured interval, or fast for the local stand-in. */
  batchPollMs: number;
  /** True when no credentials were found and the offline stand-in answers instead of Gemini. */
  offline: boolean;
  notice: string;
  close(): Promise<void>;
}

/**
 * Real Gemini when the environment has credentials (API key, or Vertex AI settings), else the
 * offline stand-in on a free local port, reached through the same SDK and REST protocol.
 */
export async function imageModelForEnv(
  config: Config,
  options: { standInLatencyMs?: number; standInBatchTurnaroundMs?: number } = {},
): Promise<ModelChoice> {
  const inlineMaxBytes = config.BANANAFLOW_BATCH_INLINE_MAX_BYTES;
  const backend = geminiBackend(config);
  if (backend) {
    const where =
      backend.kind === 'vertex-ai'
        ? `Vertex AI (project ${backend.project}, ${backend.location})`
        : `the Gemini API${backend.baseUrl ? ` at ${backend.baseUrl}` : ''}`;
    return {
      model: geminiModel(backend),
      batchModel: geminiBatchModel(backend, inlineMaxBytes),
      batchPollMs: config.BANANAFLOW_BATCH_POLL_MS,
      offline: false,
      notice: `Calling ${where}. This spends money.`,
      close: async () => {},
    };
  }
  const standIn = await startGeminiStandIn({
    port: 0,
    latencyMs: options.standInLatencyMs ?? 0,
    batchTurnaroundMs: options.standInBatchTurnaroundMs ?? 1000,
  });
  return {
    model: standInModel(standIn.url),
    batchModel: geminiBatchModel(standInBackend(standIn.url), inlineMaxBytes, 'offline-stand-in'),
    batchPollMs: 200,
    offline: true,
    notice: `No Gemini credentials (GEMINI_API_KEY, or GOOGLE_GENAI_USE_VERTEXAI + GOOGLE_CLOUD_PROJECT): using the OFFLINE STAND-IN at ${standIn.url}. Images are synthetic; costs are what Gemini would bill for the same usage.`,
    close: () => standIn.close(),
  };
}
