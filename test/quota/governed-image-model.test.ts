import { describe, expect, it } from 'vitest';
import { QuotaWindows } from '../../infra/gemini-stand-in/quota.ts';
import { ZERO_USAGE } from '../../shared/catalog/cost.ts';
import type {
  ConversationCheckpoint,
  ImageModel,
  ImageRequest,
  ModelOutcome,
  TurnResult,
} from '../../shared/ports/image-model.ts';
import { governImageModel } from '../../shared/quota/governed-image-model.ts';
import { ModelGovernors } from '../../shared/quota/model-governors.ts';
import { ManualClock } from '../support/manual-clock.ts';

const TURN_USAGE = { ...ZERO_USAGE, outputImageTokens: 1290, totalTokens: 1290 };

/**
 * A fake of the ImageModel port (the thing under test is the governor in front of it): each turn
 * is one call against a quota window on the manual clock, 1 s long; a refused call ends the
 * request with a quota outcome, as the Gemini adapter does.
 */
function quotaBoundModel(clock: ManualClock, quota: QuotaWindows, retryAfterMs?: number) {
  const calls: Array<{ turn: number; at: number; admitted: boolean }> = [];
  const model: ImageModel = {
    backend: 'fake',
    async generate(request: ImageRequest): Promise<ModelOutcome> {
      const turns: TurnResult[] = [...(request.resume?.turns ?? [])];
      for (let index = turns.length; index < request.turns.length; index++) {
        const violation = quota.admit(request.model, 1);
        calls.push({ turn: index, at: clock.now(), admitted: !violation });
        await clock.sleep(1000);
        const usage = { ...ZERO_USAGE, totalTokens: 0 };
        if (violation) {
          return {
            kind: 'quota',
            message: '429',
            status: 429,
            usage,
            turns,
            modelMs: 1000,
            ...(retryAfterMs === undefined
              ? { retryAfterMs: violation.retryDelayMs }
              : { retryAfterMs }),
          };
        }
        turns.push({ usage: TURN_USAGE });
        const checkpoint: ConversationCheckpoint | undefined =
          index + 1 < request.turns.length
            ? { turns: [...turns], usage: TURN_USAGE, conversation: [] }
            : undefined;
        await request.onTurn?.({ usage: TURN_USAGE }, index, checkpoint);
      }
      return {
        kind: 'image',
        image: { mimeType: 'image/png', bytes: Buffer.from('png') },
        usage: { ...TURN_USAGE, totalTokens: TURN_USAGE.totalTokens * turns.length },
        turns,
        modelMs: 1000,
      };
    },
  };
  return { model, calls };
}

function setUp(options: { rpm: number; told?: number; maxHoldMs?: number; retryAfterMs?: number }) {
  const clock = new ManualClock();
  const quota = new QuotaWindows({ windowMs: 60_000, models: { m: { rpm: options.rpm } } }, () =>
    clock.now(),
  );
  const governors = new ModelGovernors({
    ...(options.told ? { imagesPerMinute: { '*': options.told } } : {}),
    clock,
  });
  const fake = quotaBoundModel(clock, quota, options.retryAfterMs);
  const model = governImageModel(fake.model, {
    governors,
    maxHoldMs: options.maxHoldMs ?? 120_000,
  });
  const request = (turns: string[]): ImageRequest => ({
    model: 'm',
    images: [],
    turns,
    timeoutMs: 10_000,
  });
  return { clock, governors, calls: fake.calls, model, request };
}

describe('governImageModel', () => {
  it('holds a call through a 429 (pausing the model) and answers with the image', async () => {
    const { clock, governors, calls, model, request } = setUp({ rpm: 2 });
    const outcomes = Promise.all([1, 2, 3].map((n) => model.generate(request([`job ${n}`]))));
    const results = await clock.runUntil(outcomes, 10 * 60_000);
    expect(results.map((r) => r.kind)).toEqual(['image', 'image', 'image']);
    expect(calls.filter((c) => !c.admitted)).toHaveLength(1);
    // The refused call came back after its retry time, when the window had room.
    expect(calls.at(-1)?.admitted).toBe(true);
    expect(calls.at(-1)?.at).toBeGreaterThanOrEqual(60_000);
    expect(governors.summary()).toMatchObject({ throttled: 1, limit: 1 });
  });

  it('told the quota, never calls past it', async () => {
    const { clock, calls, model, request } = setUp({ rpm: 3, told: 3 });
    const outcomes = Promise.all(
      Array.from({ length: 7 }, (_, n) => model.generate(request([`job ${n}`]))),
    );
    const results = await clock.runUntil(outcomes, 10 * 60_000);
    expect(results.every((r) => r.kind === 'image')).toBe(true);
    expect(calls.every((c) => c.admitted)).toBe(true);
    expect(calls).toHaveLength(7);
  });

  it('a refinement refused at step 2 goes on from step 1, which is not asked again', async () => {
    const { clock, calls, model, request } = setUp({ rpm: 1 });
    const outcome = await clock.runUntil(model.generate(request(['one', 'two', 'three'])), 600_000);
    expect(outcome.kind).toBe('image');
    expect(outcome.turns).toHaveLength(3);
    expect(calls.map((c) => [c.turn, c.admitted])).toEqual([
      [0, true],
      [1, false],
      [1, true],
      // Learnt from the 429: one call a window, so step 3 waits for its slot instead of a 429.
      [2, true],
    ]);
  });

  it('a 429 asking for longer than the hold budget (a per-day quota) comes back at once', async () => {
    const { clock, governors, calls, model, request } = setUp({
      rpm: 1,
      retryAfterMs: 3_600_000,
      maxHoldMs: 60_000,
    });
    const first = await clock.runUntil(model.generate(request(['a'])), 60_000);
    const second = await clock.runUntil(model.generate(request(['b'])), 60_000);
    expect([first.kind, second.kind]).toEqual(['image', 'quota']);
    expect(calls).toHaveLength(2);
    // Not a rate to learn or a pause to hold everything in.
    expect(governors.summary().throttled).toBe(0);
  });

  it('gives the 429 back once the hold budget is spent', async () => {
    // Told a quota far above the real one: every call past the first in a window is refused.
    const { clock, calls, model, request } = setUp({ rpm: 1, told: 10, maxHoldMs: 90_000 });
    const outcomes = Promise.all(['a', 'b', 'c'].map((p) => model.generate(request([p]))));
    const results = await clock.runUntil(outcomes, 600_000);
    // a: at once; b and c: refused, held 60 s; then one of them is refused again (120 s > 90 s).
    expect(results.map((r) => r.kind).sort()).toEqual(['image', 'image', 'quota']);
    expect(calls.filter((c) => c.admitted)).toHaveLength(2);
  });
});
