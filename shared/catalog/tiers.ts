import type { ModelInfo } from './model-catalog.ts';

/**
 * Service tiers: how a request is sent and what it costs.
 *   standard  a normal generateContent call, list price
 *   batch     the Batch API: requests grouped into a batch job, up to 24 h turnaround, discounted
 *   flex      a normal call with `serviceTier: "flex"`: 1-15 min target latency, best effort, discounted
 * Which models offer which tier (`batch`, `flex`) and at what discount (`batchDiscount`,
 * `flexDiscount`) is catalog data (models.json).
 */
export const TIERS = ['standard', 'batch', 'flex'] as const;
export type Tier = (typeof TIERS)[number];

/** The discount of a tier on a model (0 for standard); undefined when the model does not offer it. */
export function tierDiscount(model: ModelInfo, tier: Tier): number | undefined {
  if (tier === 'standard') return 0;
  if (tier === 'batch') return model.batch ? model.batchDiscount : undefined;
  return model.flex ? model.flexDiscount : undefined;
}

/** The tiers a model offers, standard first. */
export function tiersOf(model: ModelInfo): Tier[] {
  return TIERS.filter((tier) => tierDiscount(model, tier) !== undefined);
}

/** Price multiplier of a tier (1 for standard, 0.5 for a 50% discount). */
export function tierPriceFactor(model: ModelInfo, tier: Tier = 'standard'): number {
  return 1 - (tierDiscount(model, tier) ?? 0);
}
