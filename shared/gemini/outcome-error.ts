import { loadModelCatalog, type ModelCatalog } from '../catalog/model-catalog.ts';
import { BananaError, type ErrorCode } from '../errors.ts';
import type { ModelOutcome } from '../ports/image-model.ts';

/**
 * Maps a model outcome that is not an image to the one error model: a stable code, a message that
 * quotes what the model said, a concrete fix, and whether a retry can help. Never carries the API
 * key or image bytes (outcome messages are already redacted by the adapter).
 */

/** Optional detail the Gemini adapter adds to its outcomes (see GeminiOutcomeExtras). */
interface OutcomeExtras {
  blockReason?: string;
  finishMessage?: string;
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

export function outcomeError(
  outcome: ModelOutcome & OutcomeExtras,
  catalog?: ModelCatalog,
): BananaError {
  if (outcome.kind === 'image') {
    // Callers only map failures; reaching here is a bug in the caller, not a model problem.
    return new BananaError({
      code: 'INTERNAL',
      message: 'outcomeError was called with an image outcome, which is not a failure.',
    });
  }
  const details: Record<string, unknown> = { outcome: outcome.kind };
  if (outcome.status !== undefined) details.status = outcome.status;
  if (outcome.finishReason) details.finishReason = outcome.finishReason;
  if (outcome.blockReason) details.blockReason = outcome.blockReason;
  if (outcome.modelVersion) details.modelVersion = outcome.modelVersion;
  if (outcome.turns.length > 1) details.turnsAnswered = outcome.turns.length;
  if (outcome.model) details.model = outcome.model;
  if (outcome.quotaId) details.quotaId = outcome.quotaId;
  if (outcome.resetsAt) details.resetsAt = outcome.resetsAt;

  const make = (code: ErrorCode, fix: string, retryable: boolean, message = outcome.message) =>
    new BananaError({
      code,
      message,
      fix,
      retryable,
      ...(retryable && outcome.retryAfterMs !== undefined
        ? { retryAfterMs: outcome.retryAfterMs }
        : {}),
      details,
    });

  switch (outcome.kind) {
    case 'blocked-prompt':
      return make(
        'MODEL_BLOCKED_PROMPT',
        'Rephrase the prompt (and check the input images): Gemini refused the request before generating. Retrying the same request gives the same result.',
        false,
      );
    case 'blocked-output':
      return make(
        'MODEL_BLOCKED_OUTPUT',
        'Rephrase the prompt to steer away from what was filtered (people, logos, brands, violence are common triggers) or use other input images; retrying the same request rarely helps.',
        false,
      );
    case 'text-only':
      return make(
        'MODEL_TEXT_ONLY',
        'The model answered in words instead of editing (often a refusal or a question). Rephrase the prompt as an explicit edit instruction, e.g. "Edit this image: make the sky orange", and check the model text in this error.',
        false,
        outcome.text && !outcome.message.includes(outcome.text.slice(0, 40))
          ? `${outcome.message} Model text: "${outcome.text}"`
          : outcome.message,
      );
    case 'no-image':
      // Answered and billed: the same request is likely to answer the same way again.
      return make(
        'MODEL_NO_IMAGE',
        outcome.finishReason === 'MAX_TOKENS'
          ? 'The answer ran out of tokens: shorten the prompt or the refinement turns.'
          : 'Make the prompt ask for an image explicitly, or simplify it; upload the sidecar again to retry.',
        false,
      );
    case 'quota':
      return make(
        'MODEL_QUOTA',
        'Gemini quota exhausted for now (requests or images per minute, or Vertex AI shared capacity). The job is retried after the delay; if it persists, lower the pipeline concurrency or raise the quota for the project (AI Studio / Cloud console).',
        true,
      );
    case 'quota-daily':
      return make(
        'MODEL_DAILY_QUOTA',
        `The daily quota of ${outcome.model ?? 'this model'} ran out; it resets at ${outcome.resetsAt ?? 'midnight Pacific time'} (midnight Pacific). Retrying before then cannot help, so calls to this model stop for the rest of the run: run again (or upload the sidecar again) after the reset, use another model, or ask for a higher per-day quota (AI Studio / Cloud console).`,
        false,
        `${outcome.message} The daily quota ran out${outcome.resetsAt ? `; it resets at ${outcome.resetsAt}` : ''}.`,
      );
    case 'billing':
      return make(
        'MODEL_BILLING',
        'The Gemini project has no money left to spend: its prepaid credits are depleted or its spend cap is reached. Add credits or raise the cap in AI Studio / Cloud Billing, then run again. Retrying cannot help until then.',
        false,
      );
    case 'transient':
      return make(
        'MODEL_TRANSIENT',
        'A temporary Gemini or network problem: the job is retried with backoff. If it persists, check https://aistudio.google.com/status.',
        true,
      );
    case 'timeout':
      return make(
        'MODEL_TIMEOUT',
        'Raise BANANAFLOW_MODEL_TIMEOUT_MS, or send smaller input images / a smaller imageSize. The timed-out call may still have been billed.',
        true,
      );
    case 'permanent': {
      const status = outcome.status;
      if (status === 401 || status === 403) {
        return make(
          'MODEL_AUTH',
          "Check GEMINI_API_KEY (GOOGLE_API_KEY wins when both are set) and that the key's project has the Gemini API enabled with billing; for Vertex AI check the credentials (ADC / service account) and their IAM role on GOOGLE_CLOUD_PROJECT.",
          false,
        );
      }
      if (status === 404) {
        const { fix, replacement } = notFoundFix(outcome.model, catalog);
        if (replacement) details.replacement = replacement;
        return make('MODEL_NOT_FOUND', fix, false);
      }
      return make(
        'MODEL_REJECTED',
        'Gemini rejected the request as invalid: check aspectRatio and imageSize against the model (imageSize is "512"/"1K"/"2K"/"4K", a string; see `bananaflow models`), the number and type of input images, and the request size; the API message above names the field.',
        false,
      );
    }
  }
}
