import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { WaitingIndex } from '../../shared/pipeline/waiting-index.ts';

let root: string;
let store: FsObjectStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-waiting-'));
  store = new FsObjectStore({ out: join(root, 'out') });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('WaitingIndex', () => {
  it('finds the sidecars waiting for an input, and only those', async () => {
    const index = new WaitingIndex(store, 'out');
    await index.remember('a/_edit.json', 'folder', ['ref/style.png', 'ref/other.png']);
    await index.remember('b.jobs.json', 'manifest', ['ref/style.png']);
    const waiting = await index.waitingFor('ref/style.png');
    expect(waiting.map((w) => [w.sidecar, w.kind]).sort()).toEqual([
      ['a/_edit.json', 'folder'],
      ['b.jobs.json', 'manifest'],
    ]);
    expect(await index.waitingFor('ref/none.png')).toEqual([]);
  });

  it('remembers a sidecar once however often it is told, and forgets it on request', async () => {
    const index = new WaitingIndex(store, 'out');
    await index.remember('a/_edit.json', 'folder', ['ref/style.png']);
    await index.remember('a/_edit.json', 'folder', ['ref/style.png']);
    const [only, ...more] = await index.waitingFor('ref/style.png');
    expect(more).toEqual([]);
    await index.forget(only?.marker ?? '');
    expect(await index.waitingFor('ref/style.png')).toEqual([]);
  });

  it('refuses a marker that is not what ingest wrote', async () => {
    const index = new WaitingIndex(store, 'out');
    await index.remember('a/_edit.json', 'folder', ['ref/style.png']);
    const [marker] = await index.waitingFor('ref/style.png');
    await store.write('out', marker?.marker ?? '', Buffer.from('{"sidecar": 3}'));
    await expect(index.waitingFor('ref/style.png')).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
