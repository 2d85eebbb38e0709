import { type Config, geminiBackend } from '../../shared/config.ts';
import type { ImageModel } from '../../shared/ports/image-model.ts';
import { geminiModel, standInModel } from '../../shared/wiring/image-model.ts';
import { startGeminiStandIn } from '../gemini-stand-in/server.ts';

export interface ModelChoice {
  model: ImageModel;
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
  options: { standInLatencyMs?: number } = {},
): Promise<ModelChoice> {
  const backend = geminiBackend(config);
  if (backend) {
    const where =
      backend.kind === 'vertex-ai'
        ? `Vertex AI (project ${backend.project}, ${backend.location})`
        : `the Gemini API${backend.baseUrl ? ` at ${backend.baseUrl}` : ''}`;
    return {
      model: geminiModel(backend),
      offline: false,
      notice: `Calling ${where}. This spends money.`,
      close: async () => {},
    };
  }
  const standIn = await startGeminiStandIn({ port: 0, latencyMs: options.standInLatencyMs ?? 0 });
  return {
    model: standInModel(standIn.url),
    offline: true,
    notice: `No Gemini credentials (GEMINI_API_KEY, or GOOGLE_GENAI_USE_VERTEXAI + GOOGLE_CLOUD_PROJECT): using the OFFLINE STAND-IN at ${standIn.url}. Images are synthetic; costs are what Gemini would bill for the same usage.`,
    close: () => standIn.close(),
  };
}
