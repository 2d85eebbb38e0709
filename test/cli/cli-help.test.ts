import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../infra/cli/commands/index.ts';
import { runCli } from '../support/cli-process.ts';
import { writeDrop } from '../support/pipeline-harness.ts';

/** Issue 16 point 5: help, version and usage errors, through the real `bananaflow` process. */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-help-'));
  await writeDrop(join(root, 'drop'), { 'a.jobs.json': { jobs: [{ prompt: 'x' }] } });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('bananaflow help and usage errors (real process)', () => {
  it('prints the version of the package', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    const result = await runCli(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('describes every flag of run with its default and an example', async () => {
    const result = await runCli(['run', '--help']);
    expect(result.code).toBe(0);
    for (const flag of ['--out', '--max-usd', '--concurrency', '--max-attempts', '--json']) {
      const line = result.stdout.split('\n').find((l) => l.includes(flag));
      expect(line, flag).toMatch(/\(default: .+\)/);
    }
    expect(result.stdout).toMatch(/Examples:\n {2}bananaflow run /);
  });

  it('gives the cloud commands the same help', async () => {
    const result = await runCli(['backfill', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--max-usd <usd> .*\(default: none; required\)/);
    expect(result.stdout).toMatch(/--dry-run .*\(default: off\)/);
  });

  it('lists the commands in the general help', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const name of ['run', 'estimate', 'validate', 'submit', 'status'])
      expect(result.stdout).toContain(`  ${name} `);
  });

  it('answers an unknown command with a did-you-mean, not a missing argument', async () => {
    const result = await runCli(['rnu', join(root, 'drop')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "rnu". Did you mean "run"?');
    expect(result.stderr).not.toContain('missing');
  });

  it('answers an unknown option with a did-you-mean, not the parser text, before any banner', async () => {
    const result = await runCli(['run', join(root, 'drop'), '--max-usdd', '1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown option --max-usdd. Did you mean --max-usd?');
    expect(result.stderr).not.toMatch(/ERR_PARSE_ARGS|To specify a positional/);
    expect(result.stderr).not.toContain('STAND-IN');
  });

  it('checks option values before anything starts', async () => {
    const result = await runCli(['run', join(root, 'drop'), '--concurrency', 'lots']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--concurrency must be a whole number above 0, not "lots"');
    expect(result.stderr).not.toContain('STAND-IN');
    const inside = await runCli(['run', join(root, 'drop'), '--out', join(root, 'drop', 'out')]);
    expect(inside.code).toBe(2);
    expect(inside.stderr).toContain('overlap');
    expect(inside.stderr).not.toContain('STAND-IN');
  });

  it('says which argument is missing and how to get help', async () => {
    const result = await runCli(['validate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('missing <sidecar-or-folder>');
    expect(result.stderr).toContain('bananaflow validate --help');
  });

  it('docs/cli.md documents every command and every flag', async () => {
    const doc = await readFile(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    for (const command of COMMANDS) {
      expect(doc, command.name).toContain(`### \`bananaflow ${command.name}\``);
      for (const flag of Object.keys(command.options)) {
        expect(doc, `${command.name} --${flag}`).toMatch(new RegExp(`--${flag}\\b`));
      }
    }
  });
});
