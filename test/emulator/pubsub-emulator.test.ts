import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startPubSubEmulator } from '../../infra/emulator/pubsub-emulator.ts';
import { emulatorSuite } from '../support/emulator.ts';

const needsEmulator = emulatorSuite('Pub/Sub emulator lifecycle tests');

const MODULE = fileURLToPath(new URL('../../infra/emulator/pubsub-emulator.ts', import.meta.url));

/** True when nothing holds the port: we can listen on it ourselves. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function serves(host: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}/`);
    return response.ok && (await response.text()).startsWith('Ok');
  } catch {
    return false;
  }
}

describe.skipIf(!needsEmulator.ok)('Pub/Sub emulator lifecycle', () => {
  it('serves once started and frees its port after stop()', async () => {
    const emulator = await startPubSubEmulator();
    const port = Number(emulator.host.split(':')[1]);
    expect(await serves(emulator.host)).toBe(true);
    expect(await portIsFree(port)).toBe(false);
    await emulator.stop();
    expect(await serves(emulator.host)).toBe(false);
    expect(await portIsFree(port)).toBe(true);
    await emulator.stop(); // a second stop is harmless
  });

  it('is killed with its process group when the owning process exits without stop()', async () => {
    // A separate Node process starts the emulator, prints its host and exits abruptly.
    const script = `
      const { startPubSubEmulator } = await import(${JSON.stringify(MODULE)});
      const emulator = await startPubSubEmulator();
      console.log(emulator.host);
      process.exit(0);
    `;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const host = stdout.trim().split('\n').at(-1) ?? '';
    expect(host).toMatch(/^127\.0\.0\.1:\d+$/);
    // SIGKILL is immediate but the kernel releases the socket asynchronously: allow a moment.
    await expect
      .poll(async () => !(await serves(host)) && (await portIsFree(Number(host.split(':')[1]))), {
        timeout: 5_000,
        interval: 100,
      })
      .toBe(true);
  });
});
