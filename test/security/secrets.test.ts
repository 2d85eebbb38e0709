import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imageModelForEnv } from '../../infra/cli/image-model-for-env.ts';
import { main } from '../../infra/cli/main.ts';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { runDrop } from '../../infra/runner/run-drop.ts';
import { createJsonLogger } from '../../shared/adapters/json-logger.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { loadConfig } from '../../shared/config.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * The API key never reaches a log line, a record, a summary or the terminal, even when the server
 * echoes it back in an error message (as "API key not valid" answers can). "Real Gemini" here is
 * the stand-in behind GOOGLE_GEMINI_BASE_URL: with a key set, the CLI takes the credentialed path.
 */

const KEY = 'AIzaSyTEST-do-not-leak-0123456789abcdef';

async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await filesUnder(dir, name)));
    else files.push(name);
  }
  return files;
}

/** A drop whose jobs hit every path that formats a message: success, rejection, auth, bad input, bad sidecar, retry. */
async function writeSecretDrop(drop: string, withRetry: boolean) {
  await writeDrop(drop, {
    'ok.png': await tinyImage(),
    'ok.png.edit.json': { prompt: 'make it warmer' },
    'echo.png': await tinyImage(),
    'echo.png.edit.json': { prompt: 'please echo the key back' },
    'auth.png': await tinyImage(),
    'auth.png.edit.json': { prompt: 'forbidden for this key' },
    'fake.png': 'not an image',
    'fake.png.edit.json': { prompt: 'x' },
    'typo.png': await tinyImage(),
    'typo.png.edit.json': { prompt: 'x', colour: 'red' },
    ...(withRetry
      ? {
          'flaky.png': await tinyImage(),
          'flaky.png.edit.json': { prompt: 'retry me [standin:fail=503]' },
        }
      : {}),
  });
}

let root: string;
let standIn: GeminiStandIn;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-secrets-'));
  // A server that echoes the key in its error messages: the worst case for leaks.
  standIn = await startGeminiStandIn({
    faults: (_n, request) => {
      if (request.prompt.includes('echo the key')) {
        return { status: 400, message: `API key not valid. Please pass a valid API key: ${KEY}` };
      }
      if (request.prompt.includes('forbidden')) {
        return { status: 403, message: `Permission denied on key ${KEY} for this project.` };
      }
      return undefined;
    },
  });
});
afterEach(async () => {
  await standIn.close();
  await rm(root, { recursive: true, force: true });
});

/** Every byte of every file under dir, as text. */
async function everything(dir: string): Promise<Array<[string, string]>> {
  const files = await filesUnder(dir);
  return Promise.all(
    files.map(
      async (f) => [f, (await readFile(join(dir, f))).toString('latin1')] as [string, string],
    ),
  );
}

describe('no secrets in logs, records or output', () => {
  it('the CLI with GEMINI_API_KEY: terminal output, records and summaries never contain the key', async () => {
    const drop = join(root, 'drop');
    const out = join(root, 'out');
    await writeSecretDrop(drop, false);
    const env = {
      PATH: process.env.PATH,
      LOG_LEVEL: 'debug',
      GEMINI_API_KEY: KEY,
      GOOGLE_GEMINI_BASE_URL: standIn.url,
    };
    const text: string[] = [];
    const sink = { write: (t: string) => text.push(t) };
    const code = await main(['run', drop, '--out', out], env, { out: sink, err: sink });
    expect(code).toBe(1);
    // The credentialed path was taken, and the key was sent (the stand-in refuses calls without one).
    expect(text.join('')).toContain(`Calling the Gemini API at ${standIn.url}`);
    expect(text.join('')).not.toContain('OFFLINE');
    expect(standIn.stats().totalCalls).toBeGreaterThanOrEqual(3);

    const files = await everything(out);
    // The failures are recorded with the server's message (so the test sees the text the key was in)...
    const echo = files.find(([name]) => /^echo\.edit\.[0-9a-f]{8}\.error\.json$/.test(name));
    expect(echo?.[1]).toContain('API key not valid');
    const auth = files.find(([name]) => /^auth\.edit\.[0-9a-f]{8}\.error\.json$/.test(name));
    expect(auth?.[1]).toContain('Permission denied');
    expect(files.some(([name]) => name === 'typo.png.edit.error.json')).toBe(true);
    // ...but the key itself is nowhere.
    expect(text.join('')).not.toContain(KEY);
    for (const [name, content] of files) expect(content, name).not.toContain(KEY);
    for (const [name, content] of await everything(drop)) expect(content, name).not.toContain(KEY);
  });

  it('the runner at debug level, with a retried failure: no log line contains the key', async () => {
    const drop = join(root, 'drop');
    const out = join(root, 'out');
    await writeSecretDrop(drop, true);
    const config = loadConfig({
      GEMINI_API_KEY: KEY,
      GOOGLE_GEMINI_BASE_URL: standIn.url,
      LOG_LEVEL: 'debug',
    });
    const choice = await imageModelForEnv(config);
    expect(choice.offline).toBe(false);
    const lines: string[] = [];
    try {
      const summary = await runDrop({
        dropDir: drop,
        outDir: out,
        model: choice.model,
        catalog: loadModelCatalog(),
        config,
        log: createJsonLogger({ level: 'debug', write: (line) => lines.push(line) }),
        minBackoffMs: 5,
        maxBackoffMs: 20,
      });
      expect(summary).toMatchObject({ succeeded: 2, failed: 3 });
      expect(summary.retries).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(summary)).not.toContain(KEY);
    } finally {
      await choice.close();
    }
    // The logs did see the failures, the messages the key was echoed in among them.
    expect(lines.join('\n')).toContain('API key not valid');
    expect(lines.join('\n')).toContain('MODEL_TRANSIENT');
    for (const line of lines) expect(line).not.toContain(KEY);
    for (const [name, content] of await everything(out)) expect(content, name).not.toContain(KEY);
  });

  it('the JSON logger redacts secret-looking fields whatever a caller passes', () => {
    const lines: string[] = [];
    const log = createJsonLogger({ write: (line) => lines.push(line), base: { apiKey: KEY } });
    log.child({ authorization: `Bearer ${KEY}` }).warn('calling', {
      'x-goog-api-key': KEY,
      clientSecret: KEY,
      access_token: KEY,
      image: Buffer.from(KEY),
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(KEY);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      apiKey: '[redacted]',
      image: '[39 bytes]',
    });
  });
});
