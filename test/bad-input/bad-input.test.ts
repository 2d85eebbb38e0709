import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/main.ts';
import type { RunSummary } from '../../infra/runner/run-drop.ts';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import type { SerializedError } from '../../shared/errors.ts';
import {
  type IngestDeps,
  type IngestResult,
  ingestUpload,
} from '../../shared/pipeline/ingest-upload.ts';
import { sidecarRecordName } from '../../shared/pipeline/plan-sidecar.ts';
import type { ErrorRecord, MetadataRecord } from '../../shared/pipeline/records.ts';
import type { Job } from '../../shared/planning/job.ts';
import { stemOf, thumbnailNameOf } from '../../shared/planning/output-names.ts';
import type { JobQueue } from '../../shared/ports/job-queue.ts';
import { folderOf, OUTPUT_TAG } from '../../shared/sidecar/drop-files.ts';
import { startHarness, writeDrop } from '../support/pipeline-harness.ts';
import {
  type BadInputCase,
  CASES,
  type Expected,
  type FileContent,
  inDrop,
  MAX_SIDECAR_BYTES,
} from './cases.ts';

/** No Gemini credentials: the CLI uses the offline stand-in. A small sidecar limit for the huge case. */
const ENV = {
  PATH: process.env.PATH,
  LOG_LEVEL: 'error',
  BANANAFLOW_MAX_SIDECAR_BYTES: String(MAX_SIDECAR_BYTES),
};

type SidecarRecord = ErrorRecord & { generation: string; problems: SerializedError[] };

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      out: { write: (t: string) => out.push(t) },
      err: { write: (t: string) => err.push(t) },
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

/** Every file under dir (hidden ones included), relative, '/'-separated. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, name)));
    else files.push(name);
  }
  return files.sort();
}

/** name → size, mtime and content hash of every file under dir. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const name of await listFiles(dir)) {
    const path = join(dir, name);
    const info = await stat(path, { bigint: true });
    const hash = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    result[name] = `${info.size}:${info.mtimeNs}:${hash}`;
  }
  return result;
}

/** Writes every case's files into the drop; files tagged as outputs go through the store with metadata. */
async function writeCases(drop: string, cases: readonly BadInputCase[]) {
  const store = new FsObjectStore({ input: drop });
  for (const c of cases) {
    const files = await c.files();
    const placed: Record<string, FileContent> = {};
    for (const [name, content] of Object.entries(files)) placed[inDrop(c, name)] = content;
    await writeDrop(drop, placed);
    for (const [name, bytes] of Object.entries(c.taggedAsOutput ?? {})) {
      await store.write('input', inDrop(c, name), await bytes(), {
        contentType: 'image/png',
        metadata: { [OUTPUT_TAG]: '1' },
      });
    }
  }
}

function expectations(cases: readonly BadInputCase[]) {
  return cases.flatMap((c) => c.expect.map((e) => ({ c, e })));
}

/** A sidecar error record: the expected codes (and no others), each problem naming file, field and fix. */
function checkSidecarRecord(
  record: SidecarRecord,
  sidecarName: string,
  fileUri: string,
  expected: Extract<Expected, { outcome: 'sidecar-error' }>,
) {
  expect(record.status).toBe('failed');
  expect(record.file).toBe(fileUri);
  expect(record.generation).toMatch(/^\d+$/);
  expect(record.problems.length).toBeGreaterThan(0);
  expect(record.error).toEqual(record.problems[0]);
  expect(new Set(record.problems.map((p) => p.code))).toEqual(
    new Set(expected.problems.map((p) => p.code)),
  );
  for (const problem of record.problems) {
    expect(problem.details?.file, problem.message).toBe(sidecarName);
    expect(problem.fix, problem.message).toEqual(expect.stringMatching(/\S/));
    expect(problem.retryable).toBe(false);
  }
  for (const want of expected.problems) {
    if (want.field === undefined) continue;
    expect(
      record.problems.some((p) => p.code === want.code && p.details?.field === want.field),
      `${sidecarName}: a ${want.code} problem for field "${want.field}" in ${JSON.stringify(record.problems, null, 1)}`,
    ).toBe(true);
    // The message names the field too, for a human reading the record.
    const problem = record.problems.find((p) => p.details?.field === want.field);
    expect(problem?.message).toContain(`"${want.field}"`);
  }
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-bad-input-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The corpus run every case of the table is checked against (run once, checked case by case). */
interface CorpusRun {
  drop: string;
  out: string;
  code: number;
  err: string;
  dropBefore: Record<string, string>;
  summary: RunSummary;
  outFiles: string[];
  records: Map<string, ErrorRecord | MetadataRecord>;
}

async function runCorpus(corpusRoot: string): Promise<CorpusRun> {
  const drop = join(corpusRoot, 'drop');
  const out = join(corpusRoot, 'out');
  await writeCases(drop, CASES);
  const dropBefore = await snapshot(drop);
  const run = capture();
  const code = await main(['run', drop, '--out', out, '--json'], ENV, run.io);
  const outFiles = await listFiles(out);
  const records = new Map<string, ErrorRecord | MetadataRecord>();
  for (const name of outFiles) {
    if (!name.endsWith('.json') || name.startsWith('_runs/') || name.startsWith('_bananaflow/'))
      continue;
    if (name.includes('.bananaflow-meta')) continue;
    records.set(name, JSON.parse(await readFile(join(out, name), 'utf8')));
  }
  const summary = JSON.parse(run.out()) as RunSummary;
  return { drop, out, code, err: run.err(), dropBefore, summary, outFiles, records };
}

const jobRecordsFor = (run: CorpusRun, input: string) =>
  [...run.records.entries()].filter(
    ([, r]) => 'jobId' in r && r.inputs?.[0]?.uri === join(run.drop, input),
  );

function checkSidecarError(run: CorpusRun, c: BadInputCase, e: Expected, label: string) {
  if (e.outcome !== 'sidecar-error') return;
  const sidecar = inDrop(c, e.sidecar);
  const recordName = sidecarRecordName(sidecar);
  const record = run.records.get(recordName) as SidecarRecord | undefined;
  expect(record, `${label}: ${recordName} in ${run.outFiles.join(', ')}`).toBeDefined();
  if (record) checkSidecarRecord(record, sidecar, join(run.drop, sidecar), e);
  // Nothing planned from a refused sidecar.
  expect(
    [...run.records.values()].filter(
      (r) => r.status === 'succeeded' && r.sidecar.uri === join(run.drop, sidecar),
    ),
  ).toEqual([]);
}

function checkJobError(run: CorpusRun, c: BadInputCase, e: Expected, label: string) {
  if (e.outcome !== 'job-error') return;
  const input = inDrop(c, e.input);
  const found = jobRecordsFor(run, input);
  expect(
    found.map(([name]) => name),
    label,
  ).toEqual([expect.stringMatching(/\.[0-9a-f]{8}\.error\.json$/)]);
  const record = found[0]?.[1] as ErrorRecord;
  expect(record.status, label).toBe('failed');
  expect(record.error.code, label).toBe(e.code);
  expect(record.file, label).toBe(input);
  expect(record.error.details?.file, label).toBe(input);
  expect(record.error.fix, label).toEqual(expect.stringMatching(/\S/));
  expect(record.error.message, label).toContain(input);
  // Bad input is refused before the model is called: nothing billed.
  expect(record.usage, label).toBeUndefined();
  expect(record.cost?.total ?? 0, label).toBe(0);
}

async function checkSuccess(run: CorpusRun, c: BadInputCase, e: Expected, label: string) {
  if (e.outcome !== 'success') return;
  let found: Array<[string, ErrorRecord | MetadataRecord]>;
  if (e.input !== undefined) {
    found = jobRecordsFor(run, inDrop(c, e.input));
  } else {
    const prefix = join(run.out, inDrop(c, e.output ?? ''));
    found = [...run.records.entries()].filter(
      ([, r]) => r.status === 'succeeded' && r.output.uri.startsWith(prefix),
    );
  }
  expect(found.map(([name]) => name).length, label).toBe(1);
  const record = found[0]?.[1] as MetadataRecord;
  expect(record.status, `${label}: ${JSON.stringify(record)}`).toBe('succeeded');
  expect((await stat(record.output.uri)).size).toBe(record.output.bytes);
  const input = record.inputs[0];
  if (e.conversions !== undefined) {
    expect(input?.conversions?.length ?? 0, label).toBe(e.conversions.length);
    for (const pattern of e.conversions) {
      expect(input?.conversions, label).toEqual(
        expect.arrayContaining([expect.stringMatching(pattern)]),
      );
    }
  }
  if (e.original) {
    expect({ width: input?.width, height: input?.height }, label).toEqual(e.original);
  }
  if (e.sent) {
    expect({ width: input?.sentWidth, height: input?.sentHeight }, label).toEqual(e.sent);
  }
}

function checkNeverProcessed(run: CorpusRun, c: BadInputCase, e: Expected, label: string) {
  if (e.outcome !== 'never-processed') return;
  const file = inDrop(c, e.file);
  const mentions = [...run.records.entries()].filter(
    ([, r]) =>
      ('file' in r && (r.file === join(run.drop, file) || r.file === file)) ||
      (r.inputs ?? []).some((i) => i.uri === join(run.drop, file)),
  );
  expect(mentions, label).toEqual([]);
  expect(run.summary.uncoveredImages, label).not.toContain(file);
  expect(
    run.outFiles.filter((f) => f.startsWith(`${folderOf(file)}${stemOf(file)}.`)),
    label,
  ).toEqual([]);
}

describe('bad-input corpus through the CLI runner (one drop holding every case)', () => {
  let corpusRoot: string;
  let run: CorpusRun;
  beforeAll(async () => {
    corpusRoot = await mkdtemp(join(tmpdir(), 'bananaflow-bad-input-corpus-'));
    run = await runCorpus(corpusRoot);
  }, 30_000);
  afterAll(async () => {
    await rm(corpusRoot, { recursive: true, force: true });
  });

  it('finishes, exit 1 only because of the bad input (2 would be a usage or setup error)', () => {
    expect(run.err).toContain('OFFLINE STAND-IN');
    expect(run.code).toBe(1);
  });

  it('writes only to the output: the drop is byte-for-byte as it was', async () => {
    expect(await snapshot(run.drop)).toEqual(run.dropBefore);
    expect((await readdir(corpusRoot)).sort()).toEqual(['drop', 'out']);
  });

  const all = expectations(CASES);
  it.each(all.map(({ c, e }) => [`${c.name}: ${JSON.stringify(e)}`, c, e] as const))(
    '%s',
    async (label, c, e) => {
      checkSidecarError(run, c, e, label);
      checkJobError(run, c, e, label);
      await checkSuccess(run, c, e, label);
      checkNeverProcessed(run, c, e, label);
    },
  );

  it("the run's totals agree with the table: every planned job is a success or a bad input", () => {
    const { summary } = run;
    const successes = all.filter(({ e }) => e.outcome === 'success').length;
    const jobErrors = all.filter(({ e }) => e.outcome === 'job-error');
    expect(summary).toMatchObject({
      jobs: successes + jobErrors.length,
      succeeded: successes,
      failed: jobErrors.length,
      alreadyDone: 0,
      // Bad input is permanent: never retried, never dead-lettered.
      retries: 0,
      deadLettered: 0,
    });
    const byCode: Record<string, number> = {};
    for (const { e } of jobErrors) {
      if (e.outcome === 'job-error') byCode[e.code] = (byCode[e.code] ?? 0) + 1;
    }
    expect(summary.failedByCode).toEqual(byCode);
    expect(new Set(summary.sidecarProblems.map((p) => p.file))).toEqual(
      new Set(
        all.flatMap(({ c, e }) => (e.outcome === 'sidecar-error' ? [inDrop(c, e.sidecar)] : [])),
      ),
    );
    for (const row of summary.rows.filter((r) => r.status === 'failed')) {
      expect(row.costUsd).toBe(0);
    }
  });

  it('output names are sanitised (no spaces, no control characters), NFC, within name limits', () => {
    const awkward = CASES.find((c) => c.name === 'awkward-names');
    const outputs = run.outFiles.filter(
      (f) => f.startsWith('awkward-names/') && f.endsWith('.png'),
    );
    expect(outputs).toHaveLength(awkward?.expect.length ?? -1);
    for (const name of run.outFiles.filter((f) => !f.includes('.bananaflow-meta'))) {
      for (const segment of name.split('/')) {
        expect(Buffer.byteLength(segment), segment).toBeLessThanOrEqual(255);
      }
    }
    for (const output of outputs) {
      const base = basename(output);
      expect(base, base).not.toMatch(/[\s\p{Cc}]/u);
      expect(base.normalize('NFC')).toBe(base);
      expect(Buffer.byteLength(base), base).toBeLessThanOrEqual(200);
    }
    expect(outputs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^awkward-names\/фото-кошки\.edit\.[0-9a-f]{8}\.png$/),
        expect.stringMatching(/^awkward-names\/my-photo-\(1\)|^awkward-names\/my-photo-_1_/),
        expect.stringMatching(/^awkward-names\/tab_and_bell\.edit\.[0-9a-f]{8}\.png$/),
        expect.stringMatching(/^awkward-names\/éclair-nfd\.edit\.[0-9a-f]{8}\.png$/),
        expect.stringMatching(/^awkward-names\/[写真]+\.edit\.[0-9a-f]{8}\.png$/),
        expect.stringMatching(/^awkward-names\/holiday-a+\.edit\.[0-9a-f]{8}\.png$/),
      ]),
    );
  });
});

describe('bad input, one case at a time', () => {
  it('a sidecar uploaded twice: new job ids, the first outputs stay untouched, nothing overwritten', async () => {
    const drop = join(root, 'drop');
    const out = join(root, 'out');
    const twice = CASES.find((c) => c.name === 'sidecar-twice');
    if (!twice) throw new Error('case sidecar-twice missing');
    await writeCases(drop, [twice]);

    const first = capture();
    expect(await main(['run', drop, '--out', out, '--json'], ENV, first.io)).toBe(0);
    const one = JSON.parse(first.out()) as RunSummary;
    expect(one).toMatchObject({ jobs: 1, succeeded: 1 });
    const visible = (files: string[]) =>
      files.filter(
        (f) =>
          !f.startsWith('_runs/') &&
          !f.startsWith('_bananaflow/') &&
          !f.includes('.bananaflow-meta') &&
          // The run report is a view of the folder, written again by every run.
          f !== 'report.html' &&
          !f.startsWith('report_files/') &&
          // Which output is current: rewritten by every run to point at its newest job.
          f !== 'latest.json',
      );
    const before = await snapshot(out);

    // The same sidecar again, later: same bytes, new generation.
    const sidecar = join(drop, inDrop(twice, 'photo.png.edit.json'));
    const later = new Date(Date.now() + 5_000);
    await writeDrop(drop, { [inDrop(twice, 'photo.png.edit.json')]: { prompt: 'make it warmer' } });
    await utimes(sidecar, later, later);

    const second = capture();
    expect(await main(['run', drop, '--out', out, '--json'], ENV, second.io)).toBe(0);
    const two = JSON.parse(second.out()) as RunSummary;
    expect(two).toMatchObject({ jobs: 1, succeeded: 1, alreadyDone: 0 });
    expect(two.rows[0]?.jobId).not.toBe(one.rows[0]?.jobId);

    const after = await snapshot(out);
    // Every output of the first run is still there, byte for byte.
    for (const name of visible(Object.keys(before))) {
      expect(after[name], name).toBe(before[name]);
    }
    const added = visible(Object.keys(after)).filter((n) => !(n in before));
    const name = `sidecar-twice/photo.edit.${two.rows[0]?.jobId.slice(0, 8)}.png`;
    // The new image, its metadata record and the report's thumbnail beside it.
    expect(added.sort()).toEqual([name, `${name}.json`, thumbnailNameOf(name)].sort());
  }, 30_000);
});

describe('bad-input corpus through the ingest use case (upload events)', () => {
  const ingestCases = CASES.filter((c) => c.ingest);

  async function setup() {
    const harness = await startHarness();
    const published: Job[] = [];
    const queue: JobQueue = {
      publishJobs: async (jobs) => {
        published.push(...jobs);
      },
      publishResult: async () => {},
    };
    const deps: IngestDeps = {
      ...harness.planner,
      maxSidecarBytes: MAX_SIDECAR_BYTES,
      queue,
      maxEventAgeMs: 3_600_000,
    };
    /** The finalize event of one object as Cloud Storage sends it (with its custom metadata). */
    const event = async (name: string): Promise<IngestResult> => {
      const info = await harness.store.stat('input', name);
      if (!info) throw new Error(`${name} not in the drop`);
      return ingestUpload(deps, {
        bucket: 'input',
        name,
        generation: info.generation,
        ...(Object.keys(info.metadata).length > 0 ? { metadata: info.metadata } : {}),
      });
    };
    return { harness, published, deps, event };
  }

  it('every upload-related case: the same records as the CLI, outputs and pipeline files never processed', async () => {
    const { harness, published, event } = await setup();
    try {
      await writeCases(harness.dropDir, ingestCases);
      const results = new Map<string, IngestResult>();
      for (const c of ingestCases) {
        const names = [...Object.keys(await c.files()), ...Object.keys(c.taggedAsOutput ?? {})];
        for (const name of names) results.set(inDrop(c, name), await event(inDrop(c, name)));
      }
      const uploaded = await listFiles(harness.dropDir);

      for (const { c, e } of expectations(ingestCases)) {
        const label = `${c.name}: ${JSON.stringify(e)}`;
        if (e.outcome === 'sidecar-error') {
          const sidecar = inDrop(c, e.sidecar);
          const read = await harness.store
            .read('output', sidecarRecordName(sidecar))
            .catch(() => undefined);
          expect(read, label).toBeDefined();
          const record = JSON.parse(read?.bytes.toString('utf8') ?? '{}') as SidecarRecord;
          checkSidecarRecord(record, sidecar, `input://${sidecar}`, e);
          expect(
            published.filter((j) => j.sidecar.name === sidecar),
            label,
          ).toEqual([]);
        } else if (e.outcome === 'success' && e.input !== undefined) {
          const input = inDrop(c, e.input);
          expect(
            new Set(published.filter((j) => j.inputs[0]?.name === input).map((j) => j.jobId)).size,
            label,
          ).toBe(1);
        } else if (e.outcome === 'never-processed') {
          const file = inDrop(c, e.file);
          expect(results.get(file), label).toMatchObject({ status: 'skipped' });
          expect(
            published.filter((j) => j.inputs.some((i) => i.name === file)),
            label,
          ).toEqual([]);
        }
      }
      // Ingest writes only to the output bucket.
      expect(await listFiles(harness.dropDir)).toEqual(uploaded);
    } finally {
      await harness.close();
    }
  });

  it('an output uploaded into the input bucket is skipped by its tag, whatever its name', async () => {
    const { harness, published, event } = await setup();
    try {
      const c = CASES.find((x) => x.name === 'output-in-input');
      if (!c) throw new Error('case output-in-input missing');
      await writeCases(harness.dropDir, [c]);
      const tagged = inDrop(c, 'photo.edit.0123abcd.png');
      expect(await event(tagged)).toMatchObject({
        status: 'skipped',
        reason: expect.stringContaining('bananaflow itself'),
      });
      // Even the folder sidecar's own event, which plans the whole folder, leaves it out.
      await event(inDrop(c, '_edit.json'));
      expect(published.map((j) => j.inputs.map((i) => i.name))).toEqual([[inDrop(c, 'photo.png')]]);
    } finally {
      await harness.close();
    }
  });

  it('a sidecar uploaded twice: its new generation plans new job ids; the old event plans nothing', async () => {
    const { harness, published, event } = await setup();
    try {
      const c = CASES.find((x) => x.name === 'sidecar-twice');
      if (!c) throw new Error('case sidecar-twice missing');
      await writeCases(harness.dropDir, [c]);
      const sidecar = inDrop(c, 'photo.png.edit.json');
      await event(inDrop(c, 'photo.png'));
      const oldInfo = await harness.store.stat('input', sidecar);
      await event(sidecar);
      // The image's event and the sidecar's both plan the pair: the same job, published twice.
      const firstIds = [...new Set(published.map((j) => j.jobId))];
      expect(firstIds).toHaveLength(1);
      const count = published.length;

      await writeDrop(harness.dropDir, { [sidecar]: { prompt: 'make it warmer' } });
      const later = new Date(Date.now() + 5_000);
      await utimes(join(harness.dropDir, sidecar), later, later);
      await event(sidecar);
      const secondIds = published.slice(count).map((j) => j.jobId);
      expect(secondIds).toHaveLength(1);
      expect(secondIds[0]).not.toBe(firstIds[0]);

      // The first upload's event delivered late (at least once): superseded, nothing published.
      const late = await ingestUpload(
        {
          ...harness.planner,
          queue: {
            publishJobs: async (jobs) => void published.push(...jobs),
            publishResult: async () => {},
          },
          maxEventAgeMs: 3_600_000,
        },
        { bucket: 'input', name: sidecar, generation: oldInfo?.generation ?? '' },
      );
      expect(late).toMatchObject({ status: 'planned', published: 0 });
      expect(published).toHaveLength(count + 1);
    } finally {
      await harness.close();
    }
  });
});
