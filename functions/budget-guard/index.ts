import type { CloudEvent } from '@google-cloud/functions-framework';
import * as functions from '@google-cloud/functions-framework';
import { handleBudgetAlert } from '../../shared/pipeline/budget-alert.ts';
import { requireBuckets } from '../../shared/wiring/worker-deps.ts';
import { decodePubSubEvent } from '../pubsub-message.ts';
import { createRuntime, once } from '../runtime.ts';

/**
 * The spend kill switch: a Cloud Billing budget notifies the budget topic, and once the cost
 * reached BANANAFLOW_PAUSE_AT_BUDGET_FRACTION of the budget this function pauses spending (writes
 * _bananaflow/pause.json in the output bucket). Workers then hold jobs instead of calling Gemini;
 * `bananaflow resume` lifts it. A message in any other shape is logged and acknowledged, never
 * retried: a crash loop on a budget message would help no one.
 */

const deps = once(async () => {
  const runtime = await createRuntime('budgetGuard');
  return { runtime, bucket: requireBuckets(runtime.config, 'budget guard').output };
});

functions.cloudEvent('budgetGuard', async (event: CloudEvent<unknown>) => {
  const { runtime, bucket } = await deps();
  const decoded = decodePubSubEvent(event);
  if (!decoded.ok) {
    runtime.log.warn(`budget message acknowledged unread: ${decoded.problem}`, {
      eventId: event.id,
    });
    return;
  }
  const result = await handleBudgetAlert(
    { store: runtime.store, bucket, log: runtime.log, now: runtime.now },
    decoded.message.body,
    runtime.config.BANANAFLOW_PAUSE_AT_BUDGET_FRACTION,
  );
  runtime.log.info('budget notification handled', { result: result.status });
});
