import { ZERO_USAGE } from '../catalog/cost.ts';
import type { ImageModel, ModelOutcome } from '../ports/image-model.ts';
import type { Logger } from '../ports/logger.ts';

/**
 * Stops calling a model whose per-day quota ran out, until the quota resets (midnight Pacific):
 * every later request for it ends at once as the same `quota-daily` outcome, unbilled, instead of
 * burning each job's attempts on calls that cannot succeed. Logs the exhaustion once per model and
 * reset. Wraps any ImageModel, so the runner and the cloud worker compose it the same way.
 */
export function withDailyQuotaGate(
  model: ImageModel,
  log: Logger,
  now: () => Date = () => new Date(),
): ImageModel {
  const closed = new Map<string, { resetsAt: string; message: string }>();
  return {
    backend: model.backend,
    async generate(request): Promise<ModelOutcome> {
      const gate = closed.get(request.model);
      if (gate && Date.parse(gate.resetsAt) > now().getTime()) {
        return {
          kind: 'quota-daily',
          message: `Not sent: the daily quota of ${request.model} ran out earlier in this run (${gate.message}).`,
          model: request.model,
          resetsAt: gate.resetsAt,
          usage: { ...ZERO_USAGE },
          turns: [],
          modelMs: 0,
        };
      }
      const outcome = await model.generate(request);
      if (outcome.kind === 'quota-daily' && outcome.resetsAt && !closed.has(request.model)) {
        closed.set(request.model, { resetsAt: outcome.resetsAt, message: outcome.message });
        log.error('daily quota of the model ran out: no more calls to it until it resets', {
          code: 'MODEL_DAILY_QUOTA',
          model: request.model,
          resetsAt: outcome.resetsAt,
          quotaId: outcome.quotaId,
        });
      } else if (gate && outcome.kind !== 'quota-daily') {
        closed.delete(request.model);
      }
      return outcome;
    },
  };
}
