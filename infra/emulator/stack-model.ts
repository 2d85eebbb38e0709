import { type Config, geminiBackend } from '../../shared/config.ts';
import {
  type GeminiStandIn,
  type GeminiStandInOptions,
  startGeminiStandIn,
} from '../gemini-stand-in/server.ts';

/** What answers the stack's worker: Gemini from the environment, or the offline stand-in. */
export interface StackModel {
  /** The Gemini stand-in, when no credentials were found. */
  standIn?: GeminiStandIn;
  /** Environment the functions get on top of the user's (the stand-in's URL and key). */
  env: NodeJS.ProcessEnv;
  /** The project under Vertex AI (the emulator's topics then live in it), else undefined. */
  vertexProject?: string;
  /** One line for the banner: which Gemini, and what it costs. */
  notice: string;
}

/**
 * Real Gemini when the config has credentials, else the stand-in on a free port (with the `quota`
 * and placeholder images the options ask for: every worker process shares the one stand-in). The stand-in's
 * images are synthetic, but its usage (and so the records' costs) is what Gemini would bill.
 */
export async function startStackModel(
  config: Config,
  options: Pick<GeminiStandInOptions, 'quota' | 'placeholderImages'> = {},
): Promise<StackModel> {
  const backend = geminiBackend(config);
  if (backend) {
    const which =
      backend.kind === 'vertex-ai' ? `Vertex AI (project ${backend.project})` : 'Gemini API';
    return {
      env: {},
      ...(backend.kind === 'vertex-ai' ? { vertexProject: backend.project } : {}),
      notice: `Gemini: REAL ${which} from your environment. Every job spends money.`,
    };
  }
  const standIn = await startGeminiStandIn({ port: 0, ...options });
  return {
    standIn,
    env: { GOOGLE_GEMINI_BASE_URL: standIn.url, GEMINI_API_KEY: 'offline-stand-in' },
    notice: `Gemini: no credentials (GEMINI_API_KEY, or GOOGLE_GENAI_USE_VERTEXAI + GOOGLE_CLOUD_PROJECT), so the OFFLINE STAND-IN answers at ${standIn.url}: synthetic images, nothing is spent; records carry what Gemini would bill for the same usage.`,
  };
}
