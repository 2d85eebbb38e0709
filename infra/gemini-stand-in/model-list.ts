import type { ModelCatalog, ModelInfo } from '../../shared/catalog/model-catalog.ts';

/**
 * The stand-in's model registry, as the real API shows it: `GET /v1beta/models` (paginated with
 * pageSize / pageToken / nextPageToken) and `GET /v1beta/models/{id}`. Every catalog model that is
 * not shut down is served; shut-down ids are gone (404), as on the real API. `extraModels` are
 * listed too (models the catalog does not know yet, or text models) but cannot be called.
 */

export interface WireModel {
  name: string;
  baseModelId: string;
  version: string;
  displayName: string;
  description: string;
  inputTokenLimit: number;
  outputTokenLimit: number;
  supportedGenerationMethods: string[];
  thinking?: boolean;
}

/** Text models the real list also shows: an image-model filter must skip them. */
export const DEFAULT_EXTRA_MODELS = ['gemini-2.5-flash', 'gemini-3-flash'];

/** True when the catalog says the model still answers (anything but shut down). */
export function isServed(model: ModelInfo | undefined): model is ModelInfo {
  return model !== undefined && model.lifecycle.status !== 'shut-down';
}

export function servedModels(catalog: ModelCatalog, extra: readonly string[]): WireModel[] {
  const fromCatalog = catalog.models.filter(isServed).map((m) => wireModel(m.id, m));
  const known = new Set(fromCatalog.map((m) => m.baseModelId));
  const others = extra.filter((id) => !known.has(id)).map((id) => wireModel(id, undefined));
  return [...fromCatalog, ...others];
}

function wireModel(id: string, model: ModelInfo | undefined): WireModel {
  return {
    name: `models/${id}`,
    baseModelId: id,
    version: '001',
    displayName: model?.displayName ?? id,
    description: model ? `Stand-in for ${model.displayName ?? id}.` : `Stand-in listing of ${id}.`,
    inputTokenLimit: 65_536,
    outputTokenLimit: 32_768,
    supportedGenerationMethods: ['generateContent', 'countTokens', 'batchGenerateContent'],
    ...(model?.thinking ? { thinking: true } : {}),
  };
}

/** One page of the list; the page token is the offset of the next page. */
export function listPage(
  models: readonly WireModel[],
  query: URLSearchParams,
  defaultPageSize: number,
): { models: WireModel[]; nextPageToken?: string } {
  const asked = Number(query.get('pageSize') ?? defaultPageSize);
  const size = Number.isInteger(asked) && asked > 0 ? Math.min(asked, 1000) : defaultPageSize;
  const token = query.get('pageToken');
  const start = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) || 0 : 0;
  const page = models.slice(start, start + size);
  const next = start + size;
  return {
    models: page,
    ...(next < models.length
      ? { nextPageToken: Buffer.from(String(next), 'utf8').toString('base64url') }
      : {}),
  };
}
