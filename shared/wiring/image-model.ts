import { createGeminiBatchModel } from '../adapters/gemini-batch-model.ts';
import { createGeminiImageModel } from '../adapters/gemini-image-model.ts';
import { type Config, type GeminiBackend, geminiBackend } from '../config.ts';
import { BananaError } from '../errors.ts';
import type { BatchImageModel } from '../ports/batch-image-model.ts';
import type { ImageModel } from '../ports/image-model.ts';

/**
 * The composition root's model half. Kept apart from worker-deps.ts so that only what needs a
 * model loads @google/genai (ingest and dead-letter cold starts stay small).
 */

/** The label records carry in `model.backend`: a base URL (the stand-in, a proxy) is named. */
export function backendLabel(backend: GeminiBackend): string {
  return backend.baseUrl ? `${backend.kind} at ${backend.baseUrl}` : backend.kind;
}

/** Gemini through @google/genai, labelled so records never pass a stand-in's images as Gemini's. */
export function geminiModel(backend: GeminiBackend, label = backendLabel(backend)): ImageModel {
  return createGeminiImageModel({ backend, label });
}

/** The Batch API of a backend (Gemini API only: undefined on Vertex AI, see the adapter). */
export function geminiBatchModel(
  backend: GeminiBackend,
  inlineMaxBytes: number,
  label = backendLabel(backend),
): BatchImageModel | undefined {
  return createGeminiBatchModel({ backend, label, inlineMaxBytes });
}

/** The offline stand-in's endpoint, as a Gemini API backend. */
export function standInBackend(url: string): GeminiBackend {
  return { kind: 'gemini-api', apiKey: 'offline-stand-in', baseUrl: url };
}

/** The offline stand-in at `url`, through the same SDK and REST protocol as Gemini. */
export function standInModel(url: string): ImageModel {
  return geminiModel(
    { kind: 'gemini-api', apiKey: 'offline-stand-in', baseUrl: url },
    'offline-stand-in',
  );
}

/**
 * Gemini from the config's credentials. A function never falls back to the offline stand-in:
 * without credentials it refuses to start.
 */
export function requireGeminiModel(config: Config): ImageModel {
  const backend = geminiBackend(config);
  if (!backend) {
    throw new BananaError({
      code: 'CONFIG_INVALID',
      message: 'The worker has no Gemini credentials.',
      fix: 'Set GEMINI_API_KEY (Gemini API; from Secret Manager in the cloud), or GOOGLE_GENAI_USE_VERTEXAI=true with GOOGLE_CLOUD_PROJECT (and GOOGLE_CLOUD_LOCATION) for Vertex AI. Locally, `npm run stack` sets GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY for the offline stand-in.',
    });
  }
  return geminiModel(backend);
}
