import type { IncomingMessage, ServerResponse } from 'node:http';
import { type BatchApi, routeBatchApi } from './batch-routes.ts';
import { answerGenerate } from './generate-call.ts';
import { apiKeyOf, sendJson } from './http-io.ts';
import { listPage, servedModels } from './model-list.ts';
import { googleError } from './protocol.ts';
import type { StandInState } from './state.ts';

const GENERATE_PATH = /\/models\/([^/:]+):generateContent$/;
const MODEL_PATH = /^\/v1beta\/models\/([^/:]+)$/;

/** Every route of the stand-in: its own admin endpoints, the model list, batches, generateContent. */
export async function route(
  state: StandInState,
  api: Omit<BatchApi, 'hasKey'>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://stand-in');
  if (routeAdmin(state, req, res, url.pathname)) return;
  if (routeModels(state, req, res, url)) return;
  const hasKey = apiKeyOf(req) !== undefined;
  if (await routeBatchApi(req, res, url, { ...api, hasKey })) return;
  const match = GENERATE_PATH.exec(url.pathname);
  if (req.method === 'POST' && match?.[1]) {
    return answerGenerate(state, req, res, decodeURIComponent(match[1]));
  }
  req.resume();
  sendJson(
    res,
    404,
    googleError(404, `The stand-in does not serve ${req.method} ${url.pathname}.`),
  );
}

/** GET /__standin/stats and POST /__standin/reset. */
function routeAdmin(
  state: StandInState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): boolean {
  if (req.method === 'GET' && path === '/__standin/stats') {
    sendJson(res, 200, state.snapshot());
    return true;
  }
  if (req.method === 'POST' && path === '/__standin/reset') {
    state.reset();
    sendJson(res, 200, { ok: true });
    return true;
  }
  return false;
}

/** GET /v1beta/models (paged) and GET /v1beta/models/{id}. */
function routeModels(
  state: StandInState,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): boolean {
  if (req.method !== 'GET') return false;
  const served = () => servedModels(state.catalog, state.extraModels);
  if (url.pathname === '/v1beta/models') {
    sendJson(res, 200, listPage(served(), url.searchParams, state.modelsPageSize));
    return true;
  }
  const one = MODEL_PATH.exec(url.pathname);
  if (!one?.[1]) return false;
  const id = decodeURIComponent(one[1]);
  const found = served().find((m) => m.baseModelId === id);
  if (found) sendJson(res, 200, found);
  else sendJson(res, 404, googleError(404, `models/${id} is not found for API version v1beta.`));
  return true;
}
