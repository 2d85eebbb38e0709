import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { outputBase, outputNames, safeNamePart } from '../../shared/planning/output-names.ts';
import { parseSidecar } from '../../shared/sidecar/parse-sidecar.ts';

/**
 * Output names come from user input (file names, labels): they must stay one plain segment, free
 * of control characters and slashes, valid UTF-8, and short enough for any filesystem (255 bytes
 * per segment, with room for the store's own suffixes).
 */

const JOB_ID = '0123456789abcdef0123';

function checkSegment(segment: string) {
  expect(segment).not.toMatch(/[\p{Cc}/\\]/u);
  expect(segment.startsWith('.')).toBe(false);
  // No lone surrogates: the name survives a round trip through UTF-8.
  expect(Buffer.from(segment, 'utf8').toString('utf8')).toBe(segment);
  expect(segment.normalize('NFC')).toBe(segment);
}

describe('output names', () => {
  it('replace control characters, slashes and dots that could make a path', () => {
    for (const text of [
      'a\u0000b',
      'line\nbreak\r',
      '\u001b[31mred\u001b[0m',
      '../../etc/passwd',
      '..\\..\\windows',
      '/absolute',
      '.hidden',
      '..',
      '\u202Egnp.exe', // right-to-left override
    ]) {
      const part = safeNamePart(text);
      checkSegment(part);
      expect(part).not.toContain('..');
      expect(part.length).toBeGreaterThan(0);
    }
    expect(safeNamePart('')).toBe('image');
    expect(safeNamePart('////')).toBe('image');
  });

  it('stay within limits for very long names in any script, never splitting a character', () => {
    for (const text of ['a'.repeat(1000), '写'.repeat(500), '𠀀'.repeat(300), 'é'.repeat(400)]) {
      const part = safeNamePart(text);
      checkSegment(part);
      expect(Buffer.byteLength(part)).toBeLessThanOrEqual(100);
      expect([...part].length).toBeLessThanOrEqual(80);
      expect(part.length).toBeGreaterThan(0);
    }
  });

  it('every file a job writes is one segment under 200 bytes in the mirrored folder', () => {
    const base = outputBase({
      folder: 'shoot/day 1/',
      stem: `${'写真'.repeat(200)}\u0007`,
      label: `${'x'.repeat(64)}/../evil`,
      variant: 8,
      variants: 8,
      jobId: JOB_ID,
    });
    expect(base.startsWith('shoot/day 1/')).toBe(true);
    const names = outputNames(base, 'avif');
    for (const name of [names.image, names.metadata, names.error, names.rendition(8192)]) {
      const rest = name.slice('shoot/day 1/'.length);
      expect(rest).not.toContain('/');
      checkSegment(rest);
      expect(Buffer.byteLength(rest), rest).toBeLessThanOrEqual(200);
      expect(rest).toContain(JOB_ID.slice(0, 8));
    }
  });

  it('labels with slashes or control characters are refused at the sidecar, naming the field', () => {
    for (const name of ['a/b', '../x', 'tab\there', 'x'.repeat(65), '.hidden']) {
      const result = parseSidecar(
        'p.png.edit.json',
        'image',
        Buffer.from(JSON.stringify({ prompt: 'x', name })),
        1 << 20,
      );
      expect(result.ok, name).toBe(false);
      if (!result.ok) expect(result.errors.map((e) => e.details.field)).toEqual(['name']);
    }
  });

  it('a name at the 255-byte file-name limit is written locally: temp files do not lengthen it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bananaflow-names-'));
    try {
      const store = new FsObjectStore({ output: root });
      const name = `dir/${'写'.repeat(83)}.json`; // 249 + 5 = 254 bytes
      expect(Buffer.byteLength(name.slice(4))).toBe(254);
      await store.write('output', name, Buffer.from('{}'), { ifGenerationMatch: '0' });
      expect((await store.read('output', name)).bytes.toString()).toBe('{}');
      expect(await readdir(join(root, 'dir'))).toEqual([name.slice(4)]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
