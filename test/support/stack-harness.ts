import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vi } from 'vitest';

/** Helpers for tests that drive the emulator stack (startStack). */

/** The environment without Gemini credentials, so the stack uses the offline stand-in. */
export function withoutGeminiCredentials(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const {
    GEMINI_API_KEY: _a,
    GOOGLE_API_KEY: _b,
    GOOGLE_GENAI_USE_VERTEXAI: _c,
    GOOGLE_GEMINI_BASE_URL: _d,
    ...rest
  } = env;
  return rest;
}

/** Polls until `check` returns a value (not undefined), or fails with the stack's recent output. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { deadlineMs: number; lines: readonly string[] },
): Promise<T> {
  try {
    return await vi.waitFor(
      async () => {
        const value = await check();
        if (value === undefined) throw new Error(`still waiting for ${what}`);
        return value;
      },
      { timeout: options.deadlineMs, interval: 100 },
    );
  } catch {
    throw new Error(
      `Timed out waiting for ${what}. Stack output:\n${options.lines.slice(-60).join('\n')}`,
    );
  }
}

export interface StackRecord {
  file: string;
  status: 'succeeded' | 'failed';
  jobId: string;
  prompt?: string;
  attempts?: number;
  modelResultReused?: boolean;
  resumedAfterStep?: number;
  sidecar?: { uri: string };
  inputs: Array<{ uri: string }>;
  output?: { uri: string };
  cost?: { total: number };
  model?: { backend: string };
  error?: { code: string; details?: { attempts?: number; lastError?: { code: string } } };
}

/** Every metadata and error record in an output folder (not the pipeline's own state). */
export async function readRecords(outputDir: string): Promise<StackRecord[]> {
  const names = (await readdir(outputDir, { recursive: true })).filter(
    (n) => n.endsWith('.json') && !n.startsWith('_bananaflow') && !n.startsWith('.bananaflow'),
  );
  const found: StackRecord[] = [];
  for (const name of names) {
    const record = JSON.parse(await readFile(join(outputDir, name), 'utf8'));
    if (record.jobId) found.push({ ...record, file: name });
  }
  return found;
}
