import { describe, expect, it } from 'vitest';
import { isRecordName, parseRecord } from '../../infra/report/read-records.ts';

const metadata = {
  schemaVersion: 1,
  status: 'succeeded',
  jobId: 'abc',
  runId: 'run-1',
  mode: 'edit',
  model: { requested: 'm', id: 'm' },
  prompt: 'make it blue',
  inputs: [{ uri: '/drop/cat.png', role: 'input', generation: '1' }],
  output: { uri: '/out/cat.edit.abc.png', width: 10, height: 10, renditions: [] },
  cost: { total: 0.04 },
  timing: { totalMs: 1200 },
  tags: {},
};

describe('which names are records', () => {
  it.each([
    ['cat.edit.abc.png.json', true],
    ['shots/a.edit.abc.error.json', true],
    ['broken.png.edit.error.json', true],
    ['notes.json', true],
    ['cat.edit.abc.png', false],
    ['_bananaflow/jobs/abc/model-result.json', false],
    ['_runs/run-1/summary.json', false],
    ['latest.json', false],
    ['shots/latest.json', true],
    ['.bananaflow-meta/x.json', false],
    ['shots/.hidden/x.json', false],
  ])('%s → %s', (name, expected) => {
    expect(isRecordName(name)).toBe(expected);
  });
});

describe('parsing a record', () => {
  it('reads a metadata record, keeping fields later records add (tier, frame)', () => {
    const entry = parseRecord(
      'x.png.json',
      JSON.stringify({ ...metadata, tier: 'batch', frame: 3 }),
    );
    expect(entry.kind).toBe('succeeded');
    if (entry.kind === 'succeeded') expect(entry.record).toMatchObject({ tier: 'batch', frame: 3 });
  });

  it('reads an error record', () => {
    const entry = parseRecord(
      'x.error.json',
      JSON.stringify({
        schemaVersion: 1,
        status: 'failed',
        runId: 'r',
        error: { code: 'INPUT_NOT_IMAGE', message: 'nope', fix: 'export it' },
        at: 'now',
      }),
    );
    expect(entry).toMatchObject({ kind: 'failed', record: { error: { code: 'INPUT_NOT_IMAGE' } } });
  });

  it.each([
    ['corrupt JSON', '{ "status": "succ', /not valid JSON/],
    ['foreign JSON', '{"hello": "world"}', /not a bananaflow record/],
    ['a record missing its cost', JSON.stringify({ ...metadata, cost: undefined }), /cost/],
    ['an array', '[1, 2]', /not a bananaflow record/],
  ])('%s is unreadable and says why', (_, text, problem) => {
    const entry = parseRecord('x.json', text);
    expect(entry.kind).toBe('unreadable');
    if (entry.kind === 'unreadable') expect(entry.problem).toMatch(problem);
  });
});
