import { randomUUID } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GcsObjectStore, toStorageError } from '../../shared/adapters/gcs-object-store.ts';
import { BananaError } from '../../shared/errors.ts';
import { objectStoreContract, rejectionCode } from '../contracts/object-store-contract.ts';
import { type FakeGcsServer, startFakeGcsServer } from '../support/fake-gcs-server.ts';

/**
 * A custom apiEndpoint makes the 7.x client skip authentication (useAuthWithCustomEndpoint is
 * false by default), so no credentials are needed against the test server.
 */
function storageFor(server: FakeGcsServer, autoRetry = true): Storage {
  return new Storage({
    apiEndpoint: server.url,
    projectId: 'test',
    useAuthWithCustomEndpoint: false,
    retryOptions: { autoRetry },
  });
}

describe('GcsObjectStore against the fake JSON API server', () => {
  let server: FakeGcsServer;
  beforeAll(async () => {
    // Tiny pages so that every list goes through nextPageToken.
    server = await startFakeGcsServer({ maxPageSize: 2 });
  });
  afterAll(async () => {
    await server.stop();
  });

  objectStoreContract('GcsObjectStore', async () => ({
    store: new GcsObjectStore(storageFor(server), { timeoutMs: 10_000 }),
    // A fresh bucket per test: the fake creates buckets on first use.
    bucket: `contract-${randomUUID()}`,
    cleanup: async () => {},
  }));

  describe('wire-level behaviour', () => {
    let bucket: string;
    beforeEach(() => {
      bucket = `wire-${randomUUID()}`;
    });
    afterEach(() => {
      server.clearFaults();
    });

    it('sends create-only writes as ifGenerationMatch=0 in one multipart request', async () => {
      const store = new GcsObjectStore(storageFor(server));
      const before = server.requests.length;
      await store.write(bucket, 'a.png', Buffer.from('png'), {
        ifGenerationMatch: '0',
        contentType: 'image/png',
      });
      const sent = server.requests.slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({
        method: 'POST',
        path: `/upload/storage/v1/b/${bucket}/o`,
        query: { uploadType: 'multipart', name: 'a.png', ifGenerationMatch: '0' },
      });
    });

    it('refuses an oversized object from its metadata, without downloading it', async () => {
      const store = new GcsObjectStore(storageFor(server));
      await store.write(bucket, 'big.bin', Buffer.alloc(4096));
      const before = server.requests.length;
      expect(await rejectionCode(store.read(bucket, 'big.bin', { maxBytes: 100 }))).toBe(
        'INPUT_TOO_LARGE',
      );
      expect(server.requests.slice(before).some((r) => r.query.alt === 'media')).toBe(false);
    });

    it('maps 503 to a retryable STORAGE_TRANSIENT for stat, read, write, list and delete', async () => {
      const store = new GcsObjectStore(storageFor(server, false));
      await store.write(bucket, 'x.txt', Buffer.from('x'));
      const calls: (() => Promise<unknown>)[] = [
        () => store.stat(bucket, 'x.txt'),
        () => store.read(bucket, 'x.txt'),
        () => store.write(bucket, 'y.txt', Buffer.from('y'), { ifGenerationMatch: '0' }),
        () => store.list(bucket, ''),
        () => store.delete(bucket, 'x.txt'),
      ];
      for (const call of calls) {
        server.injectFault('503', 1);
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(BananaError);
        expect(error).toMatchObject({
          code: 'STORAGE_TRANSIENT',
          retryable: true,
          details: { status: 503 },
        });
      }
      // Nothing was changed by the failed calls.
      expect((await store.list(bucket, '')).map((o) => o.name)).toEqual(['x.txt']);
    });

    it('lets the client retry a 503 on a create-only write (a generation precondition makes it safe)', async () => {
      const storage = new Storage({
        apiEndpoint: server.url,
        projectId: 'test',
        retryOptions: {
          autoRetry: true,
          maxRetries: 2,
          retryDelayMultiplier: 1,
          maxRetryDelay: 1,
        },
      });
      const store = new GcsObjectStore(storage);
      server.injectFault('503', 1);
      const before = server.requests.length;
      const info = await store.write(bucket, 'retried.txt', Buffer.from('ok'), {
        ifGenerationMatch: '0',
      });
      expect(server.requests.slice(before).filter((r) => r.method === 'POST')).toHaveLength(2);
      expect((await store.read(bucket, 'retried.txt')).info.generation).toBe(info.generation);
    });

    it('bounds a hanging call with its own timeout (STORAGE_TRANSIENT)', async () => {
      const store = new GcsObjectStore(storageFor(server, false), { timeoutMs: 300 });
      for (const call of [
        () => store.write(bucket, 'hang.txt', Buffer.from('h'), { ifGenerationMatch: '0' }),
        () => store.stat(bucket, 'hang.txt'),
      ]) {
        server.injectFault('hang', 1);
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toMatchObject({
          code: 'STORAGE_TRANSIENT',
          retryable: true,
          details: { timeoutMs: 300 },
        });
      }
    });

    it('maps refusals and network errors', () => {
      const context = { operation: 'write' as const, bucket: 'b', name: 'n' };
      expect(
        toStorageError(Object.assign(new Error('denied'), { code: 403 }), context),
      ).toMatchObject({
        code: 'CONFIG_INVALID',
        retryable: false,
      });
      expect(
        toStorageError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), context),
      ).toMatchObject({
        code: 'STORAGE_TRANSIENT',
        retryable: true,
      });
      expect(toStorageError(Object.assign(new Error('bad'), { code: 400 }), context)).toMatchObject(
        {
          code: 'INTERNAL',
          retryable: false,
        },
      );
      expect(
        toStorageError(Object.assign(new Error('x'), { code: 412 }), {
          ...context,
          ifGenerationMatch: '7',
        }),
      ).toMatchObject({ code: 'STORAGE_PRECONDITION_FAILED' });
    });
  });
});
