import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type DropStatus, dropStatus } from '../../../shared/pipeline/drop-status.ts';
import {
  type JobResultEvent,
  jobResultEventSchema,
} from '../../../shared/pipeline/result-event.ts';
import { table, usd } from '../render.ts';
import type { CloudCommandContext } from './cloud-io.ts';
import { type CloudTarget, openCloudTarget } from './cloud-target.ts';

/**
 * `bananaflow status gs://OUTPUT[/prefix] [--watch] [--json]`: how far the drops under the prefix
 * have got and what they cost, from the records and working state in the output bucket. --watch
 * follows the results topic through a temporary pull subscription, deleted on exit (Ctrl-C too).
 */
export async function statusCommand({ args, env, io }: CloudCommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      watch: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const target = await openCloudTarget(
    positionals[0],
    'status <gs://OUTPUT[/prefix]>',
    env,
    'output',
  );
  try {
    const show = async () => {
      const status = await dropStatus(target.store, target.bucket, target.prefix, new Date());
      io.out.write(values.json ? `${JSON.stringify(status)}\n` : `${statusText(target, status)}\n`);
      return status;
    };
    const status = await show();
    if (values.watch) await watch(target, io, show);
    return status.failed > 0 || status.deadLettered > 0 ? 1 : 0;
  } finally {
    await target.close();
  }
}

export function statusText(target: CloudTarget, s: DropStatus): string {
  const failures = Object.entries(s.failedByCode)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const rows = [
    ['sidecars', String(s.sidecars), ''],
    ['planned', String(s.planned), ''],
    ['succeeded', String(s.succeeded), ''],
    ['failed', String(s.failed), failures],
    ['dead-lettered', String(s.deadLettered), s.deadLettered ? 'retryable failures ran out' : ''],
    ['in progress', String(s.inProgress), ''],
    ['held', String(s.held), s.held ? 'spending paused: `bananaflow resume` releases them' : ''],
    ['queued', String(s.queued), ''],
    ['cost so far', usd(s.costUsd), ''],
    ['remaining', `~${usd(s.remainingEstimateUsd)}`, 'estimate for jobs without a record'],
  ];
  const lines = [
    `gs://${target.bucket}/${target.prefix} (project ${target.marker.project})`,
    table(rows.map((r) => [`  ${r[0]}`, r[1] ?? '', r[2] ?? ''])),
  ];
  if (s.paused) {
    lines.push(
      `  PAUSED (${s.paused.reason}) since ${s.paused.since}: ${s.paused.message}${s.paused.until ? ` Lifts at ${s.paused.until}.` : ''} Lift with: bananaflow resume gs://${target.bucket}`,
    );
  }
  if (s.unreadable.length > 0) lines.push(`  unreadable: ${s.unreadable.join(', ')}`);
  if (s.planned === 0) lines.push('  Nothing planned under this prefix yet.');
  return lines.join('\n');
}

/** Prints each result event of this prefix until nothing is left to do, or Ctrl-C. */
async function watch(
  target: CloudTarget,
  io: CloudCommandContext['io'],
  show: () => Promise<DropStatus>,
): Promise<void> {
  const pubsub = await target.pubsub();
  const name = `${target.marker.namePrefix ?? 'bananaflow'}-watch-${randomBytes(4).toString('hex')}`;
  const [subscription] = await pubsub.topic(target.marker.topics.results).createSubscription(name, {
    // A killed CLI cannot delete it: it expires by itself after a day without use.
    expirationPolicy: { ttl: { seconds: 86_400 } },
    messageRetentionDuration: { seconds: 600 },
  });
  io.err.write(
    `Watching ${target.marker.topics.results} (temporary subscription ${name}); Ctrl-C stops.\n`,
  );
  const within = `gs://${target.bucket}/${target.prefix}`;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const onSignal = () => finish();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let refreshing = false;
  subscription.on('message', (message) => {
    message.ack();
    const event = resultEventIn(message.data, within);
    if (!event) return;
    io.out.write(
      `${event.status === 'succeeded' ? '✓' : '✗'} ${event.jobId.slice(0, 8)} ${usd(event.costUsd)} ${event.errorCode ?? event.outputUri ?? ''}\n`,
    );
    if (refreshing) return;
    refreshing = true;
    void show()
      .then((s) => {
        if (s.planned > 0 && s.queued + s.inProgress + s.held === 0) finish();
      })
      .finally(() => {
        refreshing = false;
      });
  });
  subscription.on('error', (error) => {
    io.err.write(`watch: ${error.message}\n`);
    finish();
  });
  try {
    await done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await subscription.close().catch(() => undefined);
    await subscription.delete().catch(() => undefined);
    io.err.write(`Deleted the temporary subscription ${name}.\n`);
  }
}

/** The result event in a message, when it is one about a record under `within`. */
function resultEventIn(data: Buffer, within: string): JobResultEvent | undefined {
  try {
    const event = jobResultEventSchema.safeParse(JSON.parse(data.toString('utf8')));
    return event.success && event.data.recordUri.startsWith(within) ? event.data : undefined;
  } catch {
    return undefined;
  }
}
