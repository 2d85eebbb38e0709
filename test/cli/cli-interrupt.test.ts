import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, hasScript, OFFLINE_ENV, runCli, startCliInTerminal } from '../support/cli-process.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/** Issue 16 point 1: Ctrl-C during `run` (the real CLI, signalled as a terminal would). */

let root: string;
let drop: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-sigint-'));
  drop = join(root, 'drop');
  const files: Record<string, Buffer | object> = { '_edit.json': { prompt: 'warm light' } };
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) files[`${name}.png`] = await tinyImage();
  await writeDrop(drop, files);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A running `bananaflow run`, its stderr so far, and its exit. */
function startRun(args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'run', drop, ...args], {
    env: OFFLINE_ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk) => {
    output.stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output.stderr += chunk;
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output, exit };
}

async function claimFiles(out: string): Promise<string[]> {
  const jobs = join(out, '_bananaflow', 'jobs');
  const ids = await readdir(jobs).catch(() => [] as string[]);
  const found: string[] = [];
  for (const id of ids) {
    if ((await readdir(join(jobs, id))).includes('claim.json')) found.push(id);
  }
  return found;
}

const SLOW = ['--concurrency', '2', '--stand-in-latency-ms', '1500'];

describe('Ctrl-C during run', () => {
  it('stops starting jobs, lets those in flight finish, writes the summary and exits 130', async () => {
    const out = join(root, 'out-graceful');
    const run = startRun(['--out', out, ...SLOW]);
    await expect.poll(() => run.output.stderr, { timeout: 60_000 }).toMatch(/^\[1\/6\]/m);
    run.child.kill('SIGINT');
    expect(await run.exit, run.output.stderr).toBe(130);
    expect(run.output.stderr).toContain('Stopping: no new jobs start');
    const [, done, left] =
      /Interrupted: (\d+) done, (\d+) left; run again to resume/.exec(run.output.stderr) ?? [];
    expect(Number(done) + Number(left)).toBe(6);
    expect(Number(left)).toBeGreaterThan(0);
    expect(await claimFiles(out)).toEqual([]);
    const runs = await readdir(join(out, '_runs'));
    const summary = JSON.parse(
      await readFile(join(out, '_runs', runs[0] ?? '', 'summary.json'), 'utf8'),
    );
    expect(summary).toMatchObject({ interrupted: true, jobs: 6, failed: 0 });
    expect(summary.rows).toHaveLength(Number(done));
  });

  it.skipIf(!hasScript())(
    'Ctrl-C typed on a terminal: the bar ends with the last count, then the summary and exit 130',
    async () => {
      const out = join(root, 'out-tty');
      const run = startCliInTerminal(['run', drop, '--out', out, ...SLOW], { columns: 80 });
      try {
        await expect.poll(() => run.screen.text, { timeout: 60_000 }).toMatch(/ok 1 /);
        run.type('\x03');
        expect(await run.exit, run.screen.text).toBe(130);
      } finally {
        run.kill();
      }
      const screen = stripVTControlCharacters(run.screen.text);
      expect(screen).toContain('Stopping: no new jobs start');
      const [, done] =
        /Interrupted: (\d+) done, (\d+) left; run again to resume/.exec(screen) ?? [];
      // The bar's last drawing counts every job that finished, as the summary does.
      const bars = screen.split(/\r|\n/).filter((l) => /\d\/6 {2}ok/.test(l));
      expect(bars.at(-1)).toContain(`${done}/6`);
      expect(screen).toMatch(new RegExp(`succeeded\\s+${done}\\r?\\n`));
      expect(await claimFiles(out)).toEqual([]);
    },
  );

  it('a second Ctrl-C aborts the calls in flight, releases their claims, and a rerun goes on at once', async () => {
    const out = join(root, 'out-abort');
    const run = startRun(['--out', out, '--concurrency', '2', '--stand-in-latency-ms', '20000']);
    // Both first calls are in flight (claimed) once the model has been called twice.
    await expect.poll(() => claimFiles(out), { timeout: 60_000 }).toHaveLength(2);
    run.child.kill('SIGINT');
    await expect.poll(() => run.output.stderr, { timeout: 30_000 }).toContain('Stopping');
    run.child.kill('SIGINT');
    expect(await run.exit, run.output.stderr).toBe(130);
    expect(run.output.stderr).toContain('Aborting');
    expect(run.output.stderr).toContain('Interrupted: 0 done, 6 left; run again to resume');
    expect(await claimFiles(out)).toEqual([]);

    const again = await runCli(['run', drop, '--out', out, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('Waiting for');
    expect(JSON.parse(again.stdout)).toMatchObject({ jobs: 6, succeeded: 6, retries: 0 });
  });

  it('takes over at once a claim whose process is gone; says which jobs wait for a live one, and until when', async () => {
    const out = join(root, 'out-claims');
    const estimate = await runCli(['estimate', drop, '--json']);
    const jobs: Array<{ jobId: string; inputs: Array<{ name: string }> }> = JSON.parse(
      estimate.stdout,
    ).jobs;
    const claim = async (jobId: string, owner: string) => {
      const folder = join(out, '_bananaflow', 'jobs', jobId);
      await mkdir(folder, { recursive: true });
      const now = Date.now();
      const body = {
        owner,
        messageId: 'm',
        attempt: 1,
        claimedAt: new Date(now).toISOString(),
        // An hour's lease: only the owner's exit can free these in the test's time.
        leaseUntil: new Date(now + 3_600_000).toISOString(),
      };
      await writeFile(join(folder, 'claim.json'), JSON.stringify(body));
    };
    const [first, second, third] = jobs;
    if (!first || !second || !third) throw new Error('expected 6 jobs');
    // Gone: taken over at once, in both the new and the old owner form.
    await claim(first.jobId, `local-${await exitedPid()}@${hostname()}`);
    await claim(second.jobId, `local-${await exitedPid()}`);
    // Alive (another run, still working): the run waits and says which job, and until when.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)']);
    await claim(third.jobId, `local-${other.pid}@${hostname()}`);

    const run = startRun(['--out', out, '--json']);
    try {
      await expect
        .poll(() => run.output.stderr, { timeout: 60_000 })
        .toMatch(/Waiting for 1 job another run is still working on/);
      const waitLine = run.output.stderr
        .split('\n')
        .find((l) => l.includes(third.inputs[0]?.name ?? '?'));
      expect(waitLine).toMatch(
        new RegExp(
          `held by local-${other.pid}@.+ until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC`,
        ),
      );
      expect(run.output.stderr).not.toContain(first.inputs[0]?.name);
      expect(run.output.stderr).not.toContain(second.inputs[0]?.name);
    } finally {
      // The other run ends: its claim is free at once, and this run finishes.
      other.kill();
    }
    expect(await run.exit, run.output.stderr).toBe(0);
    expect(JSON.parse(run.output.stdout)).toMatchObject({ jobs: 6, succeeded: 6, failed: 0 });
    expect(await claimFiles(out)).toEqual([]);
  });
});

/** The pid of a process that has exited (so no process has it, barring reuse). */
function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  return new Promise((resolve) => child.on('exit', () => resolve(child.pid ?? 0)));
}
