import { mkdir, mkdtemp, readdir, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FS_META_DIR, FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { objectStoreContract, rejectionCode } from '../contracts/object-store-contract.ts';

objectStoreContract('FsObjectStore', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bananaflow-fs-store-'));
  return {
    store: new FsObjectStore({ bucket: dir }),
    bucket: 'bucket',
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('FsObjectStore specifics', () => {
  let dir: string;
  let root: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bananaflow-fs-store-'));
    root = path.join(dir, 'drop');
    await mkdir(root);
    store = new FsObjectStore({ input: root });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects an unknown bucket', async () => {
    expect(await rejectionCode(store.stat('output', 'a.png'))).toBe('CONFIG_INVALID');
  });

  it('reports a name too long for the disk as missing (it cannot exist), not as an error', async () => {
    const long = `${'写真'.repeat(43)}.png.edit.json`; // over 255 bytes in UTF-8
    expect(Buffer.byteLength(long)).toBeGreaterThan(255);
    expect(await store.stat('input', long)).toBeUndefined();
    expect(await rejectionCode(store.read('input', long))).toBe('STORAGE_NOT_FOUND');
    await store.delete('input', long);
  });

  it('rejects names that would leave the bucket folder, and writes nothing outside it', async () => {
    for (const name of [
      '../escape.png',
      '/etc/passwd',
      'a/../../escape.png',
      '',
      'a//b',
      './a',
      `${FS_META_DIR}/x`,
    ]) {
      expect(await rejectionCode(store.write('input', name, Buffer.from('x')))).toBe(
        'INPUT_PATH_OUTSIDE_DROP',
      );
      expect(await rejectionCode(store.read('input', name))).toBe('INPUT_PATH_OUTSIDE_DROP');
    }
    expect(await readdir(dir)).toEqual(['drop']);
    expect(await store.list('input', '../')).toEqual([]);
  });

  it('describes a file dropped by hand: type from extension, mtime generation, no metadata', async () => {
    await mkdir(path.join(root, 'shoot'));
    await writeFile(path.join(root, 'shoot', 'Photo.JPG'), 'jpeg bytes');
    await utimes(path.join(root, 'shoot', 'Photo.JPG'), 1_700_000_000, 1_700_000_000);
    const info = await store.stat('input', 'shoot/Photo.JPG');
    expect(info).toEqual({
      bucket: 'input',
      name: 'shoot/Photo.JPG',
      generation: '1700000000000000000',
      size: 10,
      contentType: 'image/jpeg',
      metadata: {},
      updated: '2023-11-14T22:13:20.000Z',
    });
    await writeFile(path.join(root, 'notes.weird'), 'x');
    expect((await store.stat('input', 'notes.weird'))?.contentType).toBe(
      'application/octet-stream',
    );
  });

  it('never lists its metadata folder or temp files', async () => {
    await store.write('input', 'a.png', Buffer.from('a'), { metadata: { k: 'v' } });
    await writeFile(
      path.join(root, `.b.png.bananaflow-tmp-${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`),
      'half',
    );
    expect(await readdir(path.join(root, FS_META_DIR))).not.toEqual([]);
    expect((await store.list('input', '')).map((o) => o.name)).toEqual(['a.png']);
  });

  it('gives each rapid overwrite a strictly larger generation, also over a future-dated file', async () => {
    await writeFile(path.join(root, 'hot.txt'), 'by hand');
    // A file stamped in the future: a plain write would get an older mtime than it.
    const future = Date.now() / 1000 + 3600;
    await utimes(path.join(root, 'hot.txt'), future, future);
    let previous = BigInt((await store.stat('input', 'hot.txt'))?.generation ?? '0');
    for (let i = 0; i < 20; i++) {
      const info = await store.write('input', 'hot.txt', Buffer.from(String(i)));
      expect(BigInt(info.generation) > previous).toBe(true);
      previous = BigInt(info.generation);
    }
  });

  it('checks the size before reading: a sparse 5 GiB file is refused, not loaded', async () => {
    await writeFile(path.join(root, 'huge.bin'), '');
    await truncate(path.join(root, 'huge.bin'), 5 * 1024 ** 3);
    expect(await rejectionCode(store.read('input', 'huge.bin', { maxBytes: 50 * 1024 ** 2 }))).toBe(
      'INPUT_TOO_LARGE',
    );
  });

  it('keeps create-only atomic between store instances sharing a folder (no shared lock)', async () => {
    const stores = Array.from({ length: 10 }, () => new FsObjectStore({ input: root }));
    const outcomes = await Promise.allSettled(
      stores.map((s, i) =>
        s.write('input', 'claims/one', Buffer.from(`writer ${i}`), { ifGenerationMatch: '0' }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect((await readdir(path.join(root, 'claims'))).sort()).toEqual(['one']);
    // Losers removed their metadata: only the winner's is left.
    expect(await readdir(path.join(root, FS_META_DIR))).toHaveLength(1);
  });

  it('keeps the metadata of the version it describes across overwrites', async () => {
    await store.write('input', 'tagged.png', Buffer.from('1'), {
      metadata: { v: '1' },
      contentType: 'image/png',
    });
    await store.write('input', 'tagged.png', Buffer.from('2'), {
      metadata: { v: '2' },
      contentType: 'image/webp',
    });
    expect(await store.stat('input', 'tagged.png')).toMatchObject({
      metadata: { v: '2' },
      contentType: 'image/webp',
    });
    expect(await readdir(path.join(root, FS_META_DIR))).toHaveLength(1);
    await store.delete('input', 'tagged.png');
    expect(await readdir(path.join(root, FS_META_DIR))).toHaveLength(0);
  });
});
