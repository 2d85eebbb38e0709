import { loadModelCatalog } from '../catalog/model-catalog.ts';
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

function currentModelIds(): string {
  try {
    return loadModelCatalog()
      .models.map((m) => m.id)
      .join(', ');
  } catch {
    return 'a current id from the model catalog';
  }
}

export function outcomeError(outcome: ModelOutcome & OutcomeExtras): BananaError {
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
        'Gemini quota exhausted (requests or images per minute/day, or the spend cap). The job is retried after the delay; if it persists, lower the pipeline concurrency or raise the quota for the project (AI Studio / Cloud console).',
        true,
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
        return make(
          'MODEL_REJECTED',
          `The model id may be retired or misspelt: set model (in the sidecar, or BANANAFLOW_MODEL) to a current one such as ${currentModelIds()}.`,
          false,
        );
      }
      return make(
        'MODEL_REJECTED',
        'Gemini rejected the request as invalid: check aspectRatio and imageSize against the model (imageSize is "1K"/"2K"/"4K", uppercase), the number and type of input images, and the request size; the API message above names the field.',
        false,
      );
    }
  }
}
