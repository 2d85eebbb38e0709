import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withIpmFlag } from '../../infra/cli/ipm-flag.ts';
import { loadConfig } from '../../shared/config.ts';
import { runCli } from '../support/cli-process.ts';
import { writeDrop } from '../support/pipeline-harness.ts';

/** `bananaflow run --ipm` and BANANAFLOW_IPM: the quota the run's rate governor holds to. */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-ipm-'));
  await writeDrop(join(root, 'drop'), { 'a.jobs.json': { jobs: [{ prompt: 'x' }] } });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('--ipm', () => {
  it.each([
    ['120', { '*': 120 }],
    ['gemini-2.5-flash-image=500,*=20', { 'gemini-2.5-flash-image': 500, '*': 20 }],
  ])('--ipm %s overrides BANANAFLOW_IPM', (flag, expected) => {
    const config = loadConfig({ BANANAFLOW_IPM: '7' });
    expect(config.BANANAFLOW_IPM).toEqual({ '*': 7 });
    expect(withIpmFlag(config, flag).BANANAFLOW_IPM).toEqual(expected);
    expect(withIpmFlag(config, undefined).BANANAFLOW_IPM).toEqual({ '*': 7 });
  });

  it.each(['0', '-5', 'lots', '2.5', ''])(
    '--ipm "%s" is a usage error (exit 2) naming the flag, before anything starts',
    async (value) => {
      const result = await runCli(['run', join(root, 'drop'), `--ipm=${value}`]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--ipm must be a whole number of images per minute > 0');
      expect(result.stderr).not.toContain('STAND-IN');
    },
  );

  it('--ipm -5 (the value taken for an option) is a usage error naming the flag too', async () => {
    const result = await runCli(['run', join(root, 'drop'), '--ipm', '-5']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--ipm needs a value');
  });

  it('a bad BANANAFLOW_IPM is a config error naming the variable', () => {
    expect(() => loadConfig({ BANANAFLOW_IPM: '0' })).toThrow(/BANANAFLOW_IPM/);
    expect(loadConfig({}).BANANAFLOW_IPM).toBeUndefined();
  });
});
