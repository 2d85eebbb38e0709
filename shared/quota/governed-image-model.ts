import type { ConversationCheckpoint, ImageModel, ModelOutcome } from '../ports/image-model.ts';
import type { ModelGovernors } from './model-governors.ts';
import type { Permit } from './rate-governor.ts';

export interface GovernedModelOptions {
  governors: ModelGovernors;
  /**
   * How long one job may be held through per-minute 429s (their retry delays summed) before the
   * 429 is handed back as the outcome (a retry of the delivery). Holding costs no delivery attempt.
   */
  maxHoldMs: number;
}

/**
 * The ImageModel port with the rate governor in front: every model call (each refinement turn)
 * waits for its model's slot; a per-minute 429 gives the slot back, pauses the model's every slot
 * until its retry time, and is tried again here, from the last answered turn, while the hold
 * budget lasts. Both the embedded runner and the cloud worker build their model through this.
 */
export function governImageModel(inner: ImageModel, options: GovernedModelOptions): ImageModel {
  return {
    backend: inner.backend,
    async generate(request) {
      const governor = options.governors.for(request.model);
      let heldMs = 0;
      let resume = request.resume;
      for (;;) {
        let checkpoint = resume;
        let permit: Permit = await governor.acquire();
        const outcome = await inner.generate({
          ...request,
          ...(resume ? { resume } : {}),
          onTurn: async (turn, index, next) => {
            await request.onTurn?.(turn, index, next);
            if (next) checkpoint = next;
            // The next turn is another call: it waits for its slot too.
            if (index + 1 < request.turns.length) permit = await governor.acquire();
          },
        });
        // A delay past both the hold budget and the window is no per-minute quota: no pause.
        const delayMs = retryDelayOf(outcome, governor.defaultPauseMs);
        const perMinute = Math.max(options.maxHoldMs, governor.windowMs);
        if (delayMs === undefined || delayMs > perMinute) return outcome;
        // Paused even when the job is not held: whatever runs next waits for the retry time.
        governor.throttled(permit, delayMs);
        heldMs += delayMs;
        if (heldMs > options.maxHoldMs) return outcome;
        // Turns answered before the 429 are not asked (or paid) again.
        resume = resumable(checkpoint, request.turns.length);
      }
    },
  };
}

/**
 * How long a per-minute quota asks to wait (its RetryInfo; Vertex AI's shared pool names none: a
 * default pause); undefined for every other outcome (a per-day quota, spent credits, ...).
 */
function retryDelayOf(outcome: ModelOutcome, defaultPauseMs: number): number | undefined {
  if (outcome.kind !== 'quota') return undefined;
  return outcome.retryAfterMs ?? defaultPauseMs;
}

function resumable(
  checkpoint: ConversationCheckpoint | undefined,
  turns: number,
): ConversationCheckpoint | undefined {
  return checkpoint && checkpoint.turns.length < turns ? checkpoint : undefined;
}
