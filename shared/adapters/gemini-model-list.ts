import { GoogleGenAI } from '@google/genai';
import type { GeminiBackend } from '../config.ts';
import { BananaError } from '../errors.ts';
import { classifyError } from '../gemini/classify-outcome.ts';

/** One model the backend lists, by bare id (`gemini-3-pro-image`, not `models/...`). */
export interface LiveModel {
  id: string;
  displayName?: string;
  supportedActions: string[];
}

/**
 * Every base model the configured backend serves (Gemini API, Vertex AI, or any server speaking
 * the Gemini REST protocol such as the stand-in), through the SDK's `ai.models.list()`, following
 * every page. Throws a BananaError (auth, network) saying what to check.
 */
export async function listLiveModels(
  backend: GeminiBackend,
): Promise<{ models: LiveModel[]; pages: number }> {
  const httpOptions = backend.baseUrl ? { httpOptions: { baseUrl: backend.baseUrl } } : {};
  const ai =
    backend.kind === 'gemini-api'
      ? new GoogleGenAI({ apiKey: backend.apiKey, ...httpOptions })
      : new GoogleGenAI({
          vertexai: true,
          project: backend.project,
          location: backend.location,
          ...httpOptions,
        });
  try {
    const pager = await ai.models.list({ config: { queryBase: true } });
    const models: LiveModel[] = [];
    let pages = 1;
    let page = pager.page;
    for (;;) {
      for (const m of page) {
        const id = (m.name ?? '').replace(/^(publishers\/google\/)?models\//, '');
        if (!id) continue;
        models.push({
          id,
          ...(m.displayName ? { displayName: m.displayName } : {}),
          supportedActions: m.supportedActions ?? [],
        });
      }
      if (!pager.hasNextPage()) break;
      page = await pager.nextPage();
      pages++;
    }
    return { models, pages };
  } catch (error) {
    const failure = classifyError(error, backend.kind === 'gemini-api' ? [backend.apiKey] : []);
    throw new BananaError({
      code: failure.status === 401 || failure.status === 403 ? 'MODEL_AUTH' : 'MODEL_TRANSIENT',
      message: `Listing the backend's models failed: ${failure.message}`,
      fix: 'Check the credentials (GEMINI_API_KEY, or Vertex AI settings) and the network, then try again.',
      retryable: failure.kind !== 'permanent',
    });
  }
}
