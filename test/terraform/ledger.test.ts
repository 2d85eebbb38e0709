/** biome-ignore-all lint/suspicious/noTemplateCurlyInString: expected values are Terraform "${...}" interpolations as hcl2json renders them. */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { jobResultEventSchema } from '../../shared/pipeline/result-event.ts';
import { block, parseTfFiles, TfModule } from './hcl.ts';

const tfDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'terraform');

interface Column {
  name: string;
  type: string;
  mode?: string;
  fields?: Column[];
}

/** The BigQuery column types a JSON value of this zod type can be written to. */
function columnTypesFor(schema: z.ZodType): string[] {
  const def = schema._zod.def as { type: string; innerType?: z.ZodType; values?: unknown[] };
  switch (def.type) {
    case 'optional':
      return columnTypesFor(def.innerType as z.ZodType);
    case 'string':
    case 'enum':
      return ['STRING'];
    case 'number':
      return ['FLOAT', 'FLOAT64', 'NUMERIC', 'INTEGER'];
    case 'literal':
      return typeof def.values?.[0] === 'number' ? ['INTEGER', 'FLOAT'] : ['STRING'];
    case 'record':
      return ['JSON'];
    case 'object':
      return ['RECORD'];
    default:
      throw new Error(`no BigQuery mapping for zod type ${def.type}`);
  }
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const def = schema._zod.def as { type: string; innerType?: z.ZodType; shape?: object };
  if (def.type === 'optional') return objectShape(def.innerType as z.ZodType);
  return def.type === 'object' ? (def.shape as Record<string, z.ZodType>) : undefined;
}

/** Columns missing or of the wrong type for the fields of an object schema (recursively). */
function mismatches(shape: Record<string, z.ZodType>, columns: Column[], path = ''): string[] {
  const problems: string[] = [];
  for (const [field, type] of Object.entries(shape)) {
    const column = columns.find((c) => c.name === field);
    const where = `${path}${field}`;
    if (!column) {
      problems.push(`${where}: no column`);
      continue;
    }
    const allowed = columnTypesFor(type);
    if (!allowed.includes(column.type)) {
      problems.push(`${where}: column is ${column.type}, expected one of ${allowed.join('/')}`);
    }
    const nested = objectShape(type);
    if (nested) problems.push(...mismatches(nested, column.fields ?? [], `${where}.`));
  }
  return problems;
}

describe('cost ledger (terraform/ledger.tf)', () => {
  let root: TfModule;
  let columns: Column[];

  beforeAll(async () => {
    const files = await parseTfFiles(tfDir);
    root = new TfModule(files.filter((f) => !f.path.startsWith(join(tfDir, 'examples') + sep)));
    columns = JSON.parse(await readFile(join(tfDir, 'ledger-schema.json'), 'utf8'));
  });

  it('has a column of a compatible type for every field of the result event', () => {
    expect(mismatches(jobResultEventSchema.shape, columns)).toEqual([]);
  });

  it('detects a result event field the table lacks (the check above can fail)', () => {
    const withoutModel = columns.filter((c) => c.name !== 'model');
    expect(mismatches(jobResultEventSchema.shape, withoutModel)).toEqual(['model: no column']);
  });

  it('has the columns write_metadata fills, and partitions on the publish time', () => {
    const type = (name: string) => columns.find((c) => c.name === name)?.type;
    expect(type('subscription_name')).toBe('STRING');
    expect(type('message_id')).toBe('STRING');
    expect(type('publish_time')).toBe('TIMESTAMP');
    expect(['STRING', 'JSON']).toContain(type('attributes'));
    const table = root.resource('google_bigquery_table', 'ledger_results');
    expect(block(table, 'time_partitioning').field).toBe('publish_time');
    expect(String(table.schema)).toContain('ledger-schema.json');
  });

  it('feeds the table from the results topic through a BigQuery subscription, no code in the path', () => {
    const sub = root.resource('google_pubsub_subscription', 'results_ledger');
    expect(sub.topic).toBe('${google_pubsub_topic.results.id}');
    const bq = block(sub, 'bigquery_config');
    expect(bq.use_table_schema).toBe(true);
    expect(bq.drop_unknown_fields).toBe(true);
    expect(bq.write_metadata).toBe(true);
    expect(String(bq.table)).toContain('google_bigquery_table.ledger_results[0].table_id');
    expect(sub.push_config).toBeUndefined();
    // Request events (attribute "type") share the results topic but are no job's cost.
    expect(sub.filter).toBe('NOT attributes:type');
    expect(JSON.stringify(sub.depends_on)).toContain(
      'google_bigquery_table_iam_member.pubsub_agent_ledger_writer',
    );
  });

  it('lets only the Pub/Sub service agent write, and only to the ledger table', () => {
    const grant = root.resource('google_bigquery_table_iam_member', 'pubsub_agent_ledger_writer');
    expect(grant.member).toBe('${local.pubsub_agent_member}');
    expect(grant.role).toBe('roles/bigquery.dataEditor');
    expect(grant.table_id).toBe('${google_bigquery_table.ledger_results[0].table_id}');
    expect(root.resources('google_bigquery_dataset_iam_member').size).toBe(0);
    expect(root.resources('google_project_iam_member').has('pubsub_agent_bigquery')).toBe(false);
  });

  it('can be switched off, and enables the BigQuery API only when on', () => {
    for (const [type, name] of [
      ['google_bigquery_dataset', 'ledger'],
      ['google_bigquery_table', 'ledger_results'],
      ['google_bigquery_table_iam_member', 'pubsub_agent_ledger_writer'],
      ['google_pubsub_subscription', 'results_ledger'],
    ] as const) {
      expect(String(root.resource(type, name).count), `${type}.${name}`).toContain(
        'var.cost_ledger.enabled ? 1 : 0',
      );
    }
    expect(String(root.local('apis'))).toContain(
      'var.cost_ledger.enabled ? ["bigquery.googleapis.com"] : []',
    );
  });
});
