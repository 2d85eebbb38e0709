import type { ModelCatalog, ModelInfo } from '../../shared/catalog/model-catalog.ts';
import { type PreparedRequest, prepareRequest } from './answers.ts';
import {
  BadRequestError,
  type Conversation,
  missingSignature,
  readConversation,
} from './conversation.ts';
import {
  DirectiveError,
  type DirectiveFaults,
  type Fault,
  type FaultSchedule,
  parseDirectives,
  type RequestInfo,
  requestKey,
  scheduledFault,
} from './faults.ts';
import { MAX_BODY_BYTES } from './http-io.ts';
import { isServed } from './model-list.ts';
import { googleError, type WireGenerateContentRequest } from './protocol.ts';
import type { QuotaWindows } from './quota.ts';
import {
  badRequest,
  errorReply,
  faultReply,
  outcomeReply,
  quotaReply,
  type Reply,
} from './reply.ts';

/** What deciding an answer reads from the running stand-in. */
export interface DecideContext {
  catalog: ModelCatalog;
  directiveFaults: DirectiveFaults;
  faults(): FaultSchedule | undefined;
  /** The per-minute quota of direct calls, if one is set. */
  quota(): QuotaWindows | undefined;
  /** Answer images with a small fixed one instead of rendering (throughput benches). */
  readonly placeholderImages?: boolean;
}

/** One generateContent request as it arrived, direct or inside a batch. */
export interface CallInput {
  /** The body; undefined when it was over the size limit. */
  raw: Buffer | undefined;
  model: string;
  hasKey: boolean;
  /** A request inside a batch job counts against no per-minute quota (batches have their own). */
  via: 'direct' | 'batch';
  /** Told what the request is once it is read; returns what fault schedules see of it. */
  identify: (known: { requestKey: string; prompt: string; tier?: string }) => RequestInfo;
}

type Checked<T> = { value: T } | { reply: Reply };

interface ParsedCall {
  body: WireGenerateContentRequest;
  conversation: Conversation;
}

/**
 * Decides (and renders) the answer to one generateContent request, checking what the real API
 * checks in its order: body, key, model, service tier, faults, request options, quota.
 */
export async function decide(context: DecideContext, call: CallInput): Promise<Reply> {
  const parsed = parseCall(call.raw);
  if ('reply' in parsed) return parsed.reply;
  const { body, conversation } = parsed.value;
  const info = call.identify({
    requestKey: requestKey(call.model, conversation.texts),
    prompt: conversation.lastPrompt,
    ...(body.serviceTier ? { tier: body.serviceTier } : {}),
  });
  if (!call.hasKey) return errorReply(403, googleError(403));
  const scheduled = scheduledFault(context.faults(), info);
  const modelInfo = servedModel(context.catalog, call.model);
  if (!scheduled && !modelInfo) return modelNotFound(call.model, true);
  const tierProblem = modelInfo ? serviceTierProblem(modelInfo, body.serviceTier) : undefined;
  if (tierProblem) return badRequest(tierProblem);
  const fault = scheduled ? { value: scheduled } : directedFault(context, info, call.model);
  if ('reply' in fault) return fault.reply;
  if (fault.value && 'status' in fault.value) return faultReply(fault.value, call.model);
  // A scheduled outcome for a model the catalog does not know: nothing to render it with.
  if (!modelInfo) return modelNotFound(call.model, false);
  const prepared = await prepare(modelInfo, parsed.value);
  if ('reply' in prepared) return prepared.reply;
  const violation =
    call.via === 'direct'
      ? context.quota()?.admit(call.model, prepared.value.wantsImage ? 1 : 0)
      : undefined;
  if (violation) return quotaReply(call.model, violation);
  const outcome = fault.value?.outcome ?? (prepared.value.wantsImage ? 'image' : 'text-only');
  const placeholder = context.placeholderImages === true;
  return outcomeReply(outcome, { ...prepared.value, ...(placeholder ? { placeholder } : {}) });
}

function parseCall(raw: Buffer | undefined): Checked<ParsedCall> {
  if (raw === undefined) {
    return {
      reply: badRequest(`Request payload size exceeds the limit: ${MAX_BODY_BYTES} bytes.`),
    };
  }
  try {
    const body = JSON.parse(raw.toString('utf8')) as WireGenerateContentRequest;
    return { value: { body, conversation: readConversation(body) } };
  } catch (error) {
    const message =
      error instanceof BadRequestError ? error.message : 'Invalid JSON payload received.';
    return { reply: badRequest(message) };
  }
}

/** The catalog's model if it is served; a shut-down id is gone, as on the real API. */
function servedModel(catalog: ModelCatalog, model: string): ModelInfo | undefined {
  const known = catalog.has(model) ? catalog.resolve(model) : undefined;
  return isServed(known) ? known : undefined;
}

function modelNotFound(model: string, forGenerate: boolean): Reply {
  const detail = forGenerate
    ? ', or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.'
    : '.';
  return errorReply(
    404,
    googleError(404, `models/${model} is not found for API version v1beta${detail}`),
  );
}

/** The fault the prompt's directives ask for (a misspelt directive is a 400). */
function directedFault(
  context: DecideContext,
  info: RequestInfo,
  model: string,
): Checked<Fault | undefined> {
  try {
    const directives = parseDirectives(info.prompt);
    return { value: context.directiveFaults.faultFor(info.requestKey, directives, model) };
  } catch (error) {
    if (error instanceof DirectiveError) return { reply: badRequest(error.message) };
    throw error;
  }
}

/** Checks the request's options and decodes its images; a problem is a 400. */
async function prepare(model: ModelInfo, call: ParsedCall): Promise<Checked<PreparedRequest>> {
  try {
    const prepared = await prepareRequest(model, call.body, call.conversation);
    const missing = model.thinking ? missingSignature(call.conversation) : undefined;
    if (missing) throw new BadRequestError(missing);
    return { value: prepared };
  } catch (error) {
    if (error instanceof BadRequestError) return { reply: badRequest(error.message) };
    throw error;
  }
}

/** Why the request's serviceTier cannot be served for this model (catalog data), if it cannot. */
function serviceTierProblem(model: ModelInfo, serviceTier: string | undefined): string | undefined {
  if (serviceTier === undefined || serviceTier === 'standard' || serviceTier === 'unspecified')
    return undefined;
  if (serviceTier !== 'flex') return `Invalid value at 'service_tier': "${serviceTier}".`;
  return model.flex ? undefined : `Service tier flex is not supported for models/${model.id}.`;
}
