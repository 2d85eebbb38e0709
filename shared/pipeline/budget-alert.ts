import { z } from 'zod';
import type { Logger } from '../ports/logger.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { type Pause, pauseSpending, readPause } from './spend-guard.ts';

/**
 * A Cloud Billing budget notification (schema version 1.0), as published on the budget topic:
 * https://cloud.google.com/billing/docs/how-to/budgets-programmatic-notifications. Only the fields
 * the kill switch reads; others are allowed (Google adds fields).
 */
export const budgetNotificationSchema = z.object({
  budgetDisplayName: z.string(),
  costAmount: z.number(),
  budgetAmount: z.number(),
  currencyCode: z.string(),
  alertThresholdExceeded: z.number().optional(),
  costIntervalStart: z.string().optional(),
});
export type BudgetNotification = z.infer<typeof budgetNotificationSchema>;

export type BudgetAlertResult =
  | { status: 'ignored'; reason: string }
  | { status: 'below'; ratio: number }
  | { status: 'paused'; pause: Pause }
  | { status: 'already-paused'; pause: Pause };

/**
 * The kill switch's use case: one budget notification. Spending pauses once the cost reached
 * `pauseAtFraction` of the budget. A message in an unknown shape is logged and ignored (acked),
 * never thrown: Pub/Sub would redeliver it forever.
 */
export async function handleBudgetAlert(
  deps: { store: ObjectStore; bucket: string; log: Logger; now: () => Date },
  data: unknown,
  pauseAtFraction: number,
): Promise<BudgetAlertResult> {
  const parsed = budgetNotificationSchema.safeParse(data);
  if (!parsed.success) {
    deps.log.warn('budget message in an unknown format: ignored', {
      problems: z.prettifyError(parsed.error),
    });
    return { status: 'ignored', reason: 'unknown format' };
  }
  const alert = parsed.data;
  if (alert.budgetAmount <= 0) return { status: 'ignored', reason: 'budget amount is 0' };
  const ratio = alert.costAmount / alert.budgetAmount;
  if (ratio < pauseAtFraction) return { status: 'below', ratio };
  const now = deps.now();
  const current = await readPause(deps.store, deps.bucket, now);
  if (current?.reason === 'budget') return { status: 'already-paused', pause: current };
  const pause: Pause = {
    reason: 'budget',
    since: now.toISOString(),
    message: `Budget "${alert.budgetDisplayName}": ${alert.costAmount.toFixed(2)} ${alert.currencyCode} of ${alert.budgetAmount.toFixed(2)} spent (${Math.round(ratio * 100)}%, pause at ${Math.round(pauseAtFraction * 100)}%).`,
  };
  await pauseSpending(deps.store, deps.bucket, pause);
  deps.log.error('budget reached: spending paused; workers hold jobs until `bananaflow resume`', {
    costAmount: alert.costAmount,
    budgetAmount: alert.budgetAmount,
  });
  return { status: 'paused', pause };
}
