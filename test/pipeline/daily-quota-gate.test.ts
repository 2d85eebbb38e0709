import { describe, expect, it } from 'vitest';
import { ZERO_USAGE } from '../../shared/catalog/cost.ts';
import { withDailyQuotaGate } from '../../shared/pipeline/daily-quota-gate.ts';
import type { ImageModel, ImageRequest, ModelOutcome } from '../../shared/ports/image-model.ts';
import type { Logger } from '../../shared/ports/logger.ts';

/** The gate around a fake model (a port fake, not the gate itself): what reaches the model, what is logged. */
function fakeModel(answer: (request: ImageRequest) => ModelOutcome) {
  const calls: string[] = [];
  const model: ImageModel = {
    backend: 'fake',
    generate: async (request) => {
      calls.push(request.model);
      return answer(request);
    },
  };
  return { model, calls };
}

function recordingLog() {
  const errors: string[] = [];
  const log: Logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (message: string) => errors.push(message),
    child: () => log,
  };
  return { log, errors };
}

const base = { usage: { ...ZERO_USAGE }, turns: [], modelMs: 1 };
const request = (model: string): ImageRequest => ({
  model,
  images: [],
  turns: ['x'],
  timeoutMs: 1,
});

describe('withDailyQuotaGate', () => {
  it('stops calling a model whose daily quota ran out, until it resets, and logs it once', async () => {
    let now = new Date('2026-12-02T10:00:00Z');
    const resetsAt = '2026-12-03T08:00:00.000Z';
    const { model, calls } = fakeModel((r) =>
      r.model === 'pro'
        ? { ...base, kind: 'quota-daily', message: 'per day', resetsAt, model: r.model }
        : { ...base, kind: 'image', image: { mimeType: 'image/png', bytes: Buffer.from('x') } },
    );
    const { log, errors } = recordingLog();
    const gated = withDailyQuotaGate(model, log, () => now);
    for (let i = 0; i < 5; i++) {
      const outcome = await gated.generate(request('pro'));
      expect(outcome).toMatchObject({ kind: 'quota-daily', resetsAt });
    }
    expect((await gated.generate(request('flash'))).kind).toBe('image');
    expect(calls).toEqual(['pro', 'flash']);
    expect(errors).toHaveLength(1);
    now = new Date('2026-12-03T08:00:01Z');
    await gated.generate(request('pro'));
    expect(calls).toEqual(['pro', 'flash', 'pro']);
  });
});
