import type { CloudEvent } from '@google-cloud/functions-framework';
import * as functions from '@google-cloud/functions-framework';
import { toBananaError } from '../../shared/errors.ts';
import { runBatchTick } from '../../shared/pipeline/batch-tick.ts';
import { unwrapPubSubEvent } from '../pubsub-message.ts';
import { createRuntime, once } from '../runtime.ts';
import { batchTickDeps } from './batch-tick-deps.ts';

/**
 * The batch tick: Cloud Scheduler publishes to the batch-tick topic every few minutes and its push
 * subscription delivers here. One tick collects finished Gemini batch jobs (answers handed to the
 * worker through the jobs topic; unanswered jobs recorded) and submits the pending batch-tier jobs
 * whose window is over (shared/pipeline/batch-tick.ts). The message carries nothing: a tick is a
 * tick, and a duplicate one finds the lease taken or nothing to do.
 *
 * Throwing (a retryable failure: storage, network, the API's 5xx) makes Pub/Sub deliver it again;
 * a permanent failure is logged and acknowledged, since the next scheduled tick tries anyway.
 */

const deps = once(async () => batchTickDeps(await createRuntime('batchTick')));

functions.cloudEvent('batchTick', async (event: CloudEvent<unknown>) => {
  const tick = await deps();
  const unwrapped = unwrapPubSubEvent(event);
  if (!unwrapped.ok) {
    tick.deps.log.warn(`not a Pub/Sub message, ticking anyway: ${unwrapped.problem}`, {
      eventId: event.id,
    });
  }
  try {
    await runBatchTick(tick.deps, tick.options);
  } catch (error) {
    const failure = toBananaError(error);
    if (failure.retryable) {
      tick.deps.log.warn('retryable failure: the tick will be delivered again', {
        code: failure.code,
        error: failure.message,
      });
      throw failure;
    }
    tick.deps.log.error('batch tick failed; the next scheduled tick tries again', {
      code: failure.code,
      error: failure.message,
      ...(failure.fix ? { fix: failure.fix } : {}),
    });
  }
});
