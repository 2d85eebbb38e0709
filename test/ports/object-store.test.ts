import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { readJsonIfExists, readJsonWithGeneration } from '../../shared/ports/object-store.ts';
import { rejectionCode } from '../contracts/object-store-contract.ts';

const schema = z.object({ day: z.string(), jobs: z.number() });

describe('reading stored JSON state', () => {
  let dir: string;
  let store: FsObjectStore;
  const bucket = 'bucket';
  const put = (name: string, text: string) => store.write(bucket, name, Buffer.from(text));

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bananaflow-stored-json-'));
    store = new FsObjectStore({ bucket: dir });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a matching object with the generation it was written at', async () => {
    const info = await put('state.json', '{"day":"2026-12-02","jobs":3}');
    const found = await readJsonWithGeneration(store, bucket, 'state.json', schema);
    expect(found).toEqual({
      ok: true,
      value: { day: '2026-12-02', jobs: 3 },
      generation: info.generation,
    });
  });

  it('answers undefined for an object that does not exist', async () => {
    expect(await readJsonWithGeneration(store, bucket, 'missing.json', schema)).toBeUndefined();
    expect(await readJsonIfExists(store, bucket, 'missing.json', schema)).toBeUndefined();
  });

  it.each([
    ['not JSON', '{"day":', /JSON/],
    ['JSON of another shape', '{"day":"2026-12-02","jobs":"three"}', /jobs/],
  ])('returns %s as a value naming the problem, with its generation', async (_, text, problem) => {
    const info = await put('state.json', text);
    const found = await readJsonWithGeneration(store, bucket, 'state.json', schema);
    expect(found).toMatchObject({ ok: false, generation: info.generation });
    expect(found?.ok === false && found.problem).toMatch(problem);
  });

  it('readJsonIfExists refuses such an object with an error naming it', async () => {
    await put('state.json', '{"day":1}');
    expect(await rejectionCode(readJsonIfExists(store, bucket, 'state.json', schema))).toBe(
      'INTERNAL',
    );
    await expect(readJsonIfExists(store, bucket, 'state.json', schema)).rejects.toThrow(
      /bucket\/state\.json is not what bananaflow wrote/,
    );
  });

  it('keeps the size limit of the read', async () => {
    await put('state.json', `{"day":"${'x'.repeat(200)}","jobs":1}`);
    const read = readJsonWithGeneration(store, bucket, 'state.json', schema, { maxBytes: 64 });
    expect(await rejectionCode(read)).toBe('INPUT_TOO_LARGE');
  });
});
