import { afterAll, beforeAll } from 'vitest';
import { pubsubEmulatorAvailable } from '../../infra/emulator/pubsub-emulator.ts';

/** Whether the Pub/Sub emulator (gcloud + Java) can run here, asked once per test process. */
const availability = pubsubEmulatorAvailable();

export interface EmulatorSuite {
  /** False where gcloud or Java is missing: `describe.skipIf(!emulator.ok)`. */
  ok: boolean;
  /** beforeAll that runs only where the emulator is available. */
  beforeAll(setup: () => Promise<unknown>, timeoutMs?: number): void;
  /** afterAll that runs only where the emulator is available. */
  afterAll(teardown: () => Promise<unknown>): void;
}

/**
 * The one answer to "is the emulator here?" for every suite that needs it: warns (naming the
 * suite and what is missing) when it is not, and gives setup hooks that skip along with the suite.
 */
export function emulatorSuite(suite: string): EmulatorSuite {
  if (!availability.ok) console.warn(`Skipping ${suite}: ${availability.why}`);
  const ok = availability.ok;
  return {
    ok,
    beforeAll: (setup, timeoutMs = 60_000) =>
      beforeAll(async () => {
        if (ok) await setup();
      }, timeoutMs),
    afterAll: (teardown) =>
      afterAll(async () => {
        if (ok) await teardown();
      }),
  };
}
