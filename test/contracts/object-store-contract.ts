import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../shared/errors.ts';
import { BananaError } from '../../shared/errors.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';
import { writeIfAbsent } from '../../shared/ports/object-store.ts';

export interface ObjectStoreHarness {
  store: ObjectStore;
  /** A bucket the store can write to, empty at the start of each test. */
  bucket: string;
  cleanup(): Promise<void>;
}

/** Resolves to the BananaError code a promise rejects with (fails the test if it resolves). */
export async function rejectionCode(promise: Promise<unknown>): Promise<ErrorCode> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BananaError);
    return (error as BananaError).code;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Cloud Storage's list order: UTF-8 bytes. */
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * The behaviour every ObjectStore adapter must have, because the pipeline relies on it: create-only
 * writes as claims, generations as idempotency keys, typed errors instead of client exceptions.
 */
export function objectStoreContract(
  name: string,
  makeStore: () => Promise<ObjectStoreHarness>,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let bucket: string;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, bucket, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('round-trips bytes, content type and custom metadata through write, read and stat', async () => {
      const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x10]);
      const written = await store.write(bucket, 'in/cat.png', bytes, {
        contentType: 'image/png',
        metadata: { 'bananaflow-job': 'abc', note: 'héllo wörld' },
      });
      expect(written).toMatchObject({
        bucket,
        name: 'in/cat.png',
        size: bytes.length,
        contentType: 'image/png',
      });
      expect(written.generation).not.toBe('');

      const { bytes: read, info } = await store.read(bucket, 'in/cat.png');
      expect(read.equals(bytes)).toBe(true);
      expect(info.generation).toBe(written.generation);
      expect(info.metadata).toEqual({ 'bananaflow-job': 'abc', note: 'héllo wörld' });

      const stat = await store.stat(bucket, 'in/cat.png');
      expect(stat).toMatchObject({
        bucket,
        name: 'in/cat.png',
        generation: written.generation,
        size: bytes.length,
        contentType: 'image/png',
        metadata: { 'bananaflow-job': 'abc', note: 'héllo wörld' },
      });
      expect(Number.isNaN(Date.parse(stat?.updated ?? ''))).toBe(false);
    });

    it('derives the content type from the extension when none is given', async () => {
      await store.write(bucket, 'plain/photo.png', Buffer.from('x'));
      expect((await store.stat(bucket, 'plain/photo.png'))?.contentType).toBe('image/png');
    });

    it('refuses a second create-only write and keeps the first content', async () => {
      const first = await store.write(bucket, 'claims/job-1', Buffer.from('first'), {
        ifGenerationMatch: '0',
      });
      const code = await rejectionCode(
        store.write(bucket, 'claims/job-1', Buffer.from('second'), { ifGenerationMatch: '0' }),
      );
      expect(code).toBe('STORAGE_ALREADY_EXISTS');
      const { bytes, info } = await store.read(bucket, 'claims/job-1');
      expect(bytes.toString()).toBe('first');
      expect(info.generation).toBe(first.generation);
      expect(await writeIfAbsent(store, bucket, 'claims/job-1', Buffer.from('third'))).toBe(false);
      expect(await writeIfAbsent(store, bucket, 'claims/job-2', Buffer.from('fresh'))).toBe(true);
    });

    it('gives every overwrite a new generation', async () => {
      const generations = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const info = await store.write(bucket, 'same-name.txt', Buffer.from(`version ${i}`));
        generations.add(info.generation);
        expect((await store.stat(bucket, 'same-name.txt'))?.generation).toBe(info.generation);
      }
      expect(generations.size).toBe(5);
      expect((await store.read(bucket, 'same-name.txt')).bytes.toString()).toBe('version 4');
    });

    it('overwrites conditionally: a stale generation fails, the current one succeeds', async () => {
      const v1 = await store.write(bucket, 'state.json', Buffer.from('{"v":1}'));
      const v2 = await store.write(bucket, 'state.json', Buffer.from('{"v":2}'), {
        ifGenerationMatch: v1.generation,
      });
      expect(v2.generation).not.toBe(v1.generation);
      const code = await rejectionCode(
        store.write(bucket, 'state.json', Buffer.from('{"v":"stale"}'), {
          ifGenerationMatch: v1.generation,
        }),
      );
      expect(code).toBe('STORAGE_PRECONDITION_FAILED');
      expect((await store.read(bucket, 'state.json')).bytes.toString()).toBe('{"v":2}');
      const missing = await rejectionCode(
        store.write(bucket, 'absent.json', Buffer.from('{}'), { ifGenerationMatch: v2.generation }),
      );
      expect(missing).toBe('STORAGE_PRECONDITION_FAILED');
    });

    it('lets exactly one of 10 concurrent create-only writes win', async () => {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.write(bucket, 'race/claim', Buffer.from(`writer ${i}`), { ifGenerationMatch: '0' }),
        ),
      );
      const winners = outcomes.flatMap((o, i) =>
        o.status === 'fulfilled' ? [{ i, info: o.value }] : [],
      );
      expect(winners).toHaveLength(1);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') {
          expect(outcome.reason).toBeInstanceOf(BananaError);
          expect((outcome.reason as BananaError).code).toBe('STORAGE_ALREADY_EXISTS');
        }
      }
      const { bytes, info } = await store.read(bucket, 'race/claim');
      expect(bytes.toString()).toBe(`writer ${winners[0]?.i}`);
      expect(info.generation).toBe(winners[0]?.info.generation);
      expect((await store.list(bucket, 'race/')).map((o) => o.name)).toEqual(['race/claim']);
    });

    it('reports a missing object: read fails with STORAGE_NOT_FOUND, stat gives undefined', async () => {
      expect(await rejectionCode(store.read(bucket, 'nope/missing.png'))).toBe('STORAGE_NOT_FOUND');
      expect(await store.stat(bucket, 'nope/missing.png')).toBeUndefined();
    });

    it('reads a given generation and refuses one that is gone', async () => {
      const v1 = await store.write(bucket, 'versioned.txt', Buffer.from('one'));
      expect(
        (await store.read(bucket, 'versioned.txt', { generation: v1.generation })).bytes.toString(),
      ).toBe('one');
      await store.write(bucket, 'versioned.txt', Buffer.from('two'));
      expect(
        await rejectionCode(store.read(bucket, 'versioned.txt', { generation: v1.generation })),
      ).toBe('STORAGE_NOT_FOUND');
    });

    it('refuses to read more than maxBytes, and reads exactly maxBytes', async () => {
      await store.write(bucket, 'big.bin', Buffer.alloc(1000, 7));
      expect(await rejectionCode(store.read(bucket, 'big.bin', { maxBytes: 999 }))).toBe(
        'INPUT_TOO_LARGE',
      );
      expect((await store.read(bucket, 'big.bin', { maxBytes: 1000 })).bytes.length).toBe(1000);
    });

    it('lists recursively or one level, sorted, with unicode and spaces in names', async () => {
      const names = [
        'drop/b.png',
        'drop/a b.png',
        'drop/ünïcødé 🍌.png',
        'drop/sub/deep.png',
        'drop/sub/x/deeper.png',
        'drop/Z.png',
        'dropper.png',
        'other/c.png',
      ];
      for (const objectName of names)
        await store.write(bucket, objectName, Buffer.from(objectName));

      const recursive = await store.list(bucket, 'drop/');
      const expected = names.filter((n) => n.startsWith('drop/')).sort(byUtf8);
      expect(recursive.map((o) => o.name)).toEqual(expected);
      for (const info of recursive) {
        expect(info.bucket).toBe(bucket);
        expect(info.size).toBe(Buffer.byteLength(info.name));
      }

      const level = await store.list(bucket, 'drop/', { delimiter: '/' });
      expect(level.map((o) => o.name)).toEqual(
        ['drop/b.png', 'drop/a b.png', 'drop/ünïcødé 🍌.png', 'drop/Z.png'].sort(byUtf8),
      );

      expect((await store.list(bucket, 'drop')).map((o) => o.name)).toEqual(
        [...expected, 'dropper.png'].sort(byUtf8),
      );
      expect(
        (await store.list(bucket, 'drop/sub/', { delimiter: '/' })).map((o) => o.name),
      ).toEqual(['drop/sub/deep.png']);
      expect((await store.list(bucket, '')).map((o) => o.name)).toEqual([...names].sort(byUtf8));
      expect(await store.list(bucket, 'nothing-here/')).toEqual([]);

      const unicode = await store.read(bucket, 'drop/ünïcødé 🍌.png');
      expect(unicode.bytes.toString()).toBe('drop/ünïcødé 🍌.png');
    });

    it('deletes idempotently, honours ifGenerationMatch, and frees the name', async () => {
      const v1 = await store.write(bucket, 'tmp/x.txt', Buffer.from('x'));
      const v2 = await store.write(bucket, 'tmp/x.txt', Buffer.from('y'));
      expect(
        await rejectionCode(
          store.delete(bucket, 'tmp/x.txt', { ifGenerationMatch: v1.generation }),
        ),
      ).toBe('STORAGE_PRECONDITION_FAILED');
      expect(await store.stat(bucket, 'tmp/x.txt')).toBeDefined();
      await store.delete(bucket, 'tmp/x.txt', { ifGenerationMatch: v2.generation });
      await store.delete(bucket, 'tmp/x.txt');
      await store.delete(bucket, 'never/existed.txt');
      expect(await store.stat(bucket, 'tmp/x.txt')).toBeUndefined();
      expect(await rejectionCode(store.read(bucket, 'tmp/x.txt'))).toBe('STORAGE_NOT_FOUND');
      expect(await store.list(bucket, 'tmp/')).toEqual([]);
      const again = await store.write(bucket, 'tmp/x.txt', Buffer.from('z'), {
        ifGenerationMatch: '0',
      });
      expect(again.generation).not.toBe(v2.generation);
    });
  });
}
