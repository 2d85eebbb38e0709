import { loadModelCatalog, type ModelCatalog } from '../catalog/model-catalog.ts';
import { BananaError, type ErrorCode } from '../errors.ts';
import type { ModelOutcome } from '../ports/image-model.ts';
import type { GeminiOutcomeExtras } from './classified-outcome.ts';

/**
 * Maps a model outcome that is not an image to the one error model: a stable code, a message that
 * quotes what the model said, a concrete fix, and whether a retry can help. Never carries the API
 * key or image bytes (outcome messages are already redacted by the adapter).
 */

type Failure = Extract<ModelOutcome, { message: string }> & GeminiOutcomeExtras;

/** How one kind of failure becomes an error; `message` defaults to the outcome's own. */
interface ErrorRule {
  code: ErrorCode;
  retryable: boolean;
  fix: string | ((outcome: Failure) => string);
  message?: (outcome: Failure) => string;
  /** Added to the error's details. */
  more?: Record<string, unknown>;
}

/** Every failure kind but `permanent`, which depends on the HTTP status (see `permanentRule`). */
const RULES: Record<Exclude<Failure['kind'], 'permanent'>, ErrorRule> = {
  'blocked-prompt': {
    code: 'MODEL_BLOCKED_PROMPT',
    retryable: false,
    fix: 'Rephrase the prompt (and check the input images): Gemini refused the request before generating. Retrying the same request gives the same result.',
  },
  'blocked-output': {
    code: 'MODEL_BLOCKED_OUTPUT',
    retryable: false,
    fix: 'Rephrase the prompt to steer away from what was filtered (people, logos, brands, violence are common triggers) or use other input images; retrying the same request rarely helps.',
  },
  'text-only': {
    code: 'MODEL_TEXT_ONLY',
    retryable: false,
    fix: 'The model answered in words instead of editing (often a refusal or a question). Rephrase the prompt as an explicit edit instruction, e.g. "Edit this image: make the sky orange", and check the model text in this error.',
    message: (o) =>
      o.text && !o.message.includes(o.text.slice(0, 40))
        ? `${o.message} Model text: "${o.text}"`
        : o.message,
  },
  // Answered and billed: the same request is likely to answer the same way again.
  'no-image': {
    code: 'MODEL_NO_IMAGE',
    retryable: false,
    fix: (o) =>
      o.finishReason === 'MAX_TOKENS'
        ? 'The answer ran out of tokens: shorten the prompt or the refinement turns.'
        : 'Make the prompt ask for an image explicitly, or simplify it; upload the sidecar again to retry.',
  },
  quota: {
    code: 'MODEL_QUOTA',
    retryable: true,
    fix: 'Gemini quota exhausted for now (requests or images per minute, or Vertex AI shared capacity). The job is retried after the delay; if it persists, lower the pipeline concurrency or raise the quota for the project (AI Studio / Cloud console).',
  },
  'quota-daily': {
    code: 'MODEL_DAILY_QUOTA',
    retryable: false,
    fix: (o) =>
      `The daily quota of ${o.model ?? 'this model'} ran out; it resets at ${o.resetsAt ?? 'midnight Pacific time'} (midnight Pacific). Retrying before then cannot help, so calls to this model stop for the rest of the run: run again (or upload the sidecar again) after the reset, use another model, or ask for a higher per-day quota (AI Studio / Cloud console).`,
    message: (o) =>
      `${o.message} The daily quota ran out${o.resetsAt ? `; it resets at ${o.resetsAt}` : ''}.`,
  },
  billing: {
    code: 'MODEL_BILLING',
    retryable: false,
    fix: 'The Gemini project has no money left to spend: its prepaid credits are depleted or its spend cap is reached. Add credits or raise the cap in AI Studio / Cloud Billing, then run again. Retrying cannot help until then.',
  },
  transient: {
    code: 'MODEL_TRANSIENT',
    retryable: true,
    fix: 'A temporary Gemini or network problem: the job is retried with backoff. If it persists, check https://aistudio.google.com/status.',
  },
  timeout: {
    code: 'MODEL_TIMEOUT',
    retryable: true,
    fix: 'Raise BANANAFLOW_MODEL_TIMEOUT_MS, or send smaller input images / a smaller imageSize. The timed-out call may still have been billed.',
  },
};

const AUTH_RULE: ErrorRule = {
  code: 'MODEL_AUTH',
  retryable: false,
  fix: "Check GEMINI_API_KEY (GOOGLE_API_KEY wins when both are set) and that the key's project has the Gemini API enabled with billing; for Vertex AI check the credentials (ADC / service account) and their IAM role on GOOGLE_CLOUD_PROJECT.",
};

const REJECTED_RULE: ErrorRule = {
  code: 'MODEL_REJECTED',
  retryable: false,
  fix: 'Gemini rejected the request as invalid: check aspectRatio and imageSize against the model (imageSize is "512"/"1K"/"2K"/"4K", a string; see `bananaflow models`), the number and type of input images, and the request size; the API message above names the field.',
};

/** A permanent failure by its status: auth (401/403), the model gone (404), else a bad request. */
function permanentRule(outcome: Failure, catalog: ModelCatalog | undefined): ErrorRule {
  const { status } = outcome;
  if (status === 401 || status === 403) return AUTH_RULE;
  if (status !== 404) return REJECTED_RULE;
  const { fix, replacement } = notFoundFix(outcome.model, catalog);
  return {
    code: 'MODEL_NOT_FOUND',
    retryable: false,
    fix,
    more: replacement ? { replacement } : {},
  };
}

/**
 * The fix for a 404 on a model: the catalog's live replacement when the catalog knows the model
 * (never a retired id), else the default; and where to see what the backend serves today.
 */
function notFoundFix(
  model: string | undefined,
  catalog: ModelCatalog | undefined,
): { fix: string; replacement?: string } {
  let shipped: ModelCatalog | undefined = catalog;
  try {
    shipped ??= loadModelCatalog();
  } catch {
    shipped = undefined;
  }
  const known = model && shipped?.has(model) ? shipped.resolve(model) : undefined;
  const instead = known ? shipped?.liveReplacement(known) : shipped?.defaultModel;
  const use = instead ? `"${instead.id}"` : 'a current model id';
  const fix = `Google no longer serves ${model ? `"${model}"` : 'this model'} to this project (retired, restricted to older projects, or misspelt): set model (in the sidecar, --model or BANANAFLOW_MODEL) to ${use}, and run \`bananaflow models --live\` to see what the backend serves today. Retrying cannot help.`;
  return { fix, ...(instead ? { replacement: instead.id } : {}) };
}

/** What the outcome tells about itself, for the error's details. */
function detailsOf(outcome: Failure): Record<string, unknown> {
  const details: Record<string, unknown> = { outcome: outcome.kind };
  if (outcome.status !== undefined) details.status = outcome.status;
  if (outcome.finishReason) details.finishReason = outcome.finishReason;
  if (outcome.blockReason) details.blockReason = outcome.blockReason;
  if (outcome.modelVersion) details.modelVersion = outcome.modelVersion;
  if (outcome.turns.length > 1) details.turnsAnswered = outcome.turns.length;
  if (outcome.model) details.model = outcome.model;
  if (outcome.quotaId) details.quotaId = outcome.quotaId;
  if (outcome.resetsAt) details.resetsAt = outcome.resetsAt;
  return details;
}

/** The error a failed outcome maps to: its kind's rule (a permanent one's by status). */
export function outcomeError(
  outcome: ModelOutcome & GeminiOutcomeExtras,
  catalog?: ModelCatalog,
): BananaError {
  if (outcome.kind === 'image') {
    // Callers only map failures; reaching here is a bug in the caller, not a model problem.
    return new BananaError({
      code: 'INTERNAL',
      message: 'outcomeError was called with an image outcome, which is not a failure.',
    });
  }
  const rule = outcome.kind === 'permanent' ? permanentRule(outcome, catalog) : RULES[outcome.kind];
  return new BananaError({
    code: rule.code,
    message: rule.message?.(outcome) ?? outcome.message,
    fix: typeof rule.fix === 'string' ? rule.fix : rule.fix(outcome),
    retryable: rule.retryable,
    ...(rule.retryable && outcome.retryAfterMs !== undefined
      ? { retryAfterMs: outcome.retryAfterMs }
      : {}),
    details: { ...detailsOf(outcome), ...rule.more },
  });
}
