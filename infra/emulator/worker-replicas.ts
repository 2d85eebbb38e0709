import type { FunctionProcess } from './function-process.ts';
import { freePort } from './pubsub-emulator.ts';
import { type RoundRobin, startRoundRobin } from './round-robin.ts';
import { type OnFunctionLine, startStackFunction } from './stack-functions.ts';

/**
 * More than one worker process, as a cloud deployment runs several worker instances: the extra
 * processes (the first is the stack's own worker) and the round-robin balancer the jobs
 * subscription pushes to. Each process has its own rate governor, so each is told its share of
 * the quota (BANANAFLOW_IPM in `env`), as Terraform tells each instance.
 */
export interface WorkerReplicas {
  /** Where the jobs subscription pushes: the balancer, or the one worker. */
  pushUrl: string;
  /** The worker processes beyond the first. */
  extra: FunctionProcess[];
  balancer?: RoundRobin;
  stop(): Promise<void>;
}

export async function startWorkerReplicas(
  first: FunctionProcess,
  count: number,
  env: NodeJS.ProcessEnv,
  onLine: OnFunctionLine,
): Promise<WorkerReplicas> {
  if (count <= 1) return { pushUrl: first.url, extra: [], stop: async () => {} };
  const extra = await Promise.all(
    Array.from({ length: count - 1 }, async () =>
      startStackFunction('worker', await freePort(), env, onLine),
    ),
  );
  const balancer = await startRoundRobin([first.url, ...extra.map((w) => w.url)]);
  return {
    pushUrl: balancer.url,
    extra,
    balancer,
    stop: async () => {
      await balancer.close();
      await Promise.all(extra.map((w) => w.stop()));
    },
  };
}
