import { hostname } from 'node:os';
import type { HeldClaim } from '../../shared/pipeline/job-state.ts';
import { JobState } from '../../shared/pipeline/job-state.ts';
import type { Job } from '../../shared/planning/job.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';
import { PIPELINE_PREFIX } from '../../shared/sidecar/drop-files.ts';

/**
 * The embedded runner's claims: owned by `local-<pid>@<host>`, so a claim whose process is gone
 * (same host, pid not alive) is free at once instead of after its lease. A claim of another host,
 * or of the cloud, waits for its lease as before.
 */

export function localWorkerId(pid = process.pid, host = hostname()): string {
  return `local-${pid}@${host}`;
}

const LOCAL_OWNER = /^local-(\d+)(?:@(.+))?$/;

/**
 * True when `owner` is a local process of this host that is no longer running. An owner without
 * a host (`local-<pid>`, written by earlier versions) is taken to be of this host: the runner's
 * output folder is a local folder.
 */
export function localOwnerGone(owner: string, host = hostname()): boolean {
  const match = LOCAL_OWNER.exec(owner);
  if (!match) return false;
  const pid = Number(match[1]);
  if (match[2] !== undefined && match[2] !== host) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Claims of `jobs` held by someone still at work: a run must wait for these. */
export async function liveClaims(
  store: ObjectStore,
  jobs: readonly Job[],
  now: Date,
): Promise<HeldClaim[]> {
  const held = await Promise.all(
    jobs.map((job) =>
      new JobState(store, job.output.bucket, job.jobId).heldClaim().catch(() => undefined),
    ),
  );
  return held.filter(
    (claim): claim is HeldClaim =>
      claim !== undefined &&
      Date.parse(claim.leaseUntil) > now.getTime() &&
      !localOwnerGone(claim.owner),
  );
}

/** Deletes every claim `owner` (this process) still holds in `bucket`; returns how many. */
export async function releaseClaimsOf(
  store: ObjectStore,
  bucket: string,
  owner: string,
): Promise<number> {
  const claims = (await store.list(bucket, `${PIPELINE_PREFIX}jobs/`)).filter((o) =>
    o.name.endsWith('/claim.json'),
  );
  let released = 0;
  for (const claim of claims) {
    const jobId = claim.name.split('/').at(-2) ?? '';
    const state = new JobState(store, bucket, jobId);
    const held = await state.heldClaim().catch(() => undefined);
    if (held?.owner !== owner) continue;
    await state.releaseAny().catch(() => undefined);
    released++;
  }
  return released;
}
