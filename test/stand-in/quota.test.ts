import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseStandInQuota } from '../../infra/gemini-stand-in/quota-options.ts';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { postGenerate } from './helpers.ts';

/** The stand-in's per-minute quota, over HTTP as a client sees it. */

const FLASH = 'gemini-2.5-flash-image';
const PRO = 'gemini-3-pro-image';
/** Long enough that a test's calls all fall in one window, on a loaded machine too. */
const WINDOW_MS = 60_000;

const imageRequest = (prompt: string) => ({
  contents: [{ role: 'user', parts: [{ text: prompt }] }],
  generationConfig: { responseModalities: ['IMAGE', 'TEXT'] },
});
const textRequest = (prompt: string) => ({
  contents: [{ role: 'user', parts: [{ text: prompt }] }],
  generationConfig: { responseModalities: ['TEXT'] },
});

interface ErrorBody {
  error: { code: number; status: string; details?: Array<Record<string, unknown>> };
}

function detail(body: ErrorBody, type: string): Record<string, unknown> | undefined {
  return body.error.details?.find((d) => d['@type'] === `type.googleapis.com/google.rpc.${type}`);
}

let standIn: GeminiStandIn;
beforeAll(async () => {
  standIn = await startGeminiStandIn();
});
afterAll(async () => {
  await standIn.close();
});
beforeEach(() => {
  standIn.setQuota({ windowMs: WINDOW_MS, models: { [FLASH]: { ipm: 2 }, [PRO]: { rpm: 1 } } });
  standIn.reset();
});

describe('stand-in quota', () => {
  it('answers 429 past the IPM with QuotaFailure and a RetryInfo from the window', async () => {
    const statuses: number[] = [];
    for (const n of [1, 2, 3]) {
      statuses.push((await postGenerate(standIn.url, FLASH, imageRequest(`banana ${n}`))).status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    const refused = await postGenerate(standIn.url, FLASH, imageRequest('banana 4'));
    const body = (await refused.json()) as ErrorBody;
    expect(body.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
    expect(detail(body, 'QuotaFailure')?.violations).toEqual([
      expect.objectContaining({
        quotaId: 'ImagesPerMinutePerProjectPerModel',
        quotaDimensions: expect.objectContaining({ model: FLASH }),
        quotaValue: '2',
      }),
    ]);
    // Room comes back when the first call leaves the window: a little under the window from now.
    const delay = Number.parseFloat(String(detail(body, 'RetryInfo')?.retryDelay));
    expect(delay).toBeGreaterThan(30);
    expect(delay).toBeLessThanOrEqual(WINDOW_MS / 1000);
  });

  it('counts quotas per model, and a call asking for text only against RPM, not IPM', async () => {
    expect((await postGenerate(standIn.url, FLASH, textRequest('words'))).status).toBe(200);
    expect((await postGenerate(standIn.url, FLASH, imageRequest('a'))).status).toBe(200);
    expect((await postGenerate(standIn.url, FLASH, imageRequest('b'))).status).toBe(200);
    expect((await postGenerate(standIn.url, PRO, imageRequest('c'))).status).toBe(200);
    const pro = await postGenerate(standIn.url, PRO, imageRequest('d'));
    expect(pro.status).toBe(429);
    const body = (await pro.json()) as ErrorBody;
    expect(detail(body, 'QuotaFailure')?.violations).toEqual([
      expect.objectContaining({ quotaId: 'GenerateRequestsPerMinutePerProjectPerModel' }),
    ]);
    const stats = standIn.stats();
    expect(stats.byOutcome).toMatchObject({ image: 3, 'text-only': 1, 'http-429': 1 });
    expect(stats.quota?.models[FLASH]).toMatchObject({ admittedRequests: 3, admittedImages: 2 });
    expect(stats.quota?.models[PRO]?.rejected).toEqual({
      GenerateRequestsPerMinutePerProjectPerModel: 1,
    });
  });

  it('lets calls in again once the (compressed) window has passed', async () => {
    standIn.setQuota({ windowMs: 300, models: { '*': { ipm: 1 } } });
    expect((await postGenerate(standIn.url, FLASH, imageRequest('a'))).status).toBe(200);
    expect((await postGenerate(standIn.url, FLASH, imageRequest('b'))).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await postGenerate(standIn.url, FLASH, imageRequest('c'))).status).toBe(200);
  });

  it('does not count bad requests, nor calls without a key', async () => {
    expect((await postGenerate(standIn.url, FLASH, { contents: 'nonsense' })).status).toBe(400);
    expect((await postGenerate(standIn.url, FLASH, imageRequest('a'), {})).status).toBe(403);
    expect((await postGenerate(standIn.url, FLASH, imageRequest('b'))).status).toBe(200);
    expect((await postGenerate(standIn.url, FLASH, imageRequest('c'))).status).toBe(200);
  });

  it('reset() empties the windows; GET /__standin/stats reports the quota', async () => {
    await postGenerate(standIn.url, PRO, imageRequest('a'));
    expect((await postGenerate(standIn.url, PRO, imageRequest('b'))).status).toBe(429);
    await fetch(`${standIn.url}/__standin/reset`, { method: 'POST' });
    expect((await postGenerate(standIn.url, PRO, imageRequest('c'))).status).toBe(200);
    const stats = (await (await fetch(`${standIn.url}/__standin/stats`)).json()) as ReturnType<
      GeminiStandIn['stats']
    >;
    expect(stats.quota).toMatchObject({ windowMs: WINDOW_MS });
    expect(stats.quota?.models[PRO]).toMatchObject({ admittedRequests: 1, rejected: {} });
  });

  it('without a quota, answers every call', async () => {
    standIn.setQuota(undefined);
    for (const n of [1, 2, 3, 4]) {
      expect((await postGenerate(standIn.url, PRO, imageRequest(`x${n}`))).status).toBe(200);
    }
    expect(standIn.stats().quota).toBeUndefined();
  });
});

describe('parseStandInQuota (the stand-in CLI and env)', () => {
  it.each([
    [{}, undefined],
    [{ ipm: '120' }, { models: { '*': { ipm: 120 } } }],
    [
      { ipm: `${FLASH}=100`, rpm: '30', windowMs: '1000' },
      { windowMs: 1000, models: { [FLASH]: { ipm: 100 }, '*': { rpm: 30 } } },
    ],
  ])('%j → %j', (texts, quota) => {
    expect(parseStandInQuota(texts)).toEqual({ ok: true, quota });
  });

  it.each([
    [{ ipm: '0' }, /^ipm /],
    [{ rpm: '-3' }, /^rpm /],
    [{ ipm: 'lots' }, /^ipm /],
    [{ ipm: '10', windowMs: '0' }, /^quota-window-ms /],
  ])('%j is a problem naming the setting', (texts, named) => {
    const parsed = parseStandInQuota(texts);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(named);
  });
});
