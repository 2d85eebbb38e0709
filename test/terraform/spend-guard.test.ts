/** biome-ignore-all lint/suspicious/noTemplateCurlyInString: expected values are Terraform "${...}" interpolations as hcl2json renders them. */
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { block, parseTfFiles, TfModule } from './hcl.ts';

const tfDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'terraform');

describe('spend kill switch (terraform/spend-guard.tf)', () => {
  let root: TfModule;
  beforeAll(async () => {
    const files = await parseTfFiles(tfDir);
    root = new TfModule(files.filter((f) => !f.path.startsWith(join(tfDir, 'examples') + sep)));
  });

  it('pushes budget notifications to the budget-guard function, authenticated', () => {
    const sub = root.resource('google_pubsub_subscription', 'budget_push');
    expect(sub.topic).toBe('${google_pubsub_topic.budget.id}');
    const push = block(sub, 'push_config');
    expect(String(push.push_endpoint)).toContain(
      'google_cloudfunctions2_function.budget_guard.service_config[0].uri',
    );
    expect(block(push, 'oidc_token').service_account_email).toBe(
      '${google_service_account.invoker.email}',
    );
  });

  it('creates the billing budget only when asked, notifying the budget topic (schema 1.0)', () => {
    const budget = root.resource('google_billing_budget', 'spend_guard');
    expect(String(budget.count)).toContain('var.spend_guard.budget == null ? 0 : 1');
    const rule = block(budget, 'all_updates_rule');
    expect(rule.pubsub_topic).toBe('${google_pubsub_topic.budget.id}');
    expect(rule.schema_version).toBe('1.0');
    expect(JSON.stringify(block(budget, 'budget_filter').projects)).toContain(
      'data.google_project.this.number',
    );
    const grant = root.resource('google_pubsub_topic_iam_member', 'billing_budget_publisher');
    expect(grant.member).toBe('serviceAccount:billing-budget-alert@system.gserviceaccount.com');
    expect(grant.topic).toBe('${google_pubsub_topic.budget.id}');
  });

  it('gives the budget guard write access to the output bucket only', () => {
    const grants = Object.entries(
      root.local('bucket_grants') as Record<string, Record<string, string>>,
    ).filter(([, g]) => g.member === 'budget_guard');
    expect(grants).toEqual([
      [
        'budget_guard_output_rw',
        { bucket: 'output', member: 'budget_guard', role: 'roles/storage.objectUser' },
      ],
    ]);
    const topics = Object.values(
      root.local('topic_grants') as Record<string, Record<string, string>>,
    );
    expect(topics.some((g) => g.member === 'budget_guard')).toBe(false);
  });

  it('sets the daily cap on the worker only when configured', () => {
    expect(String(root.local('daily_cap_env'))).toMatch(
      /var\.spend_guard\.max_usd_per_day == null \? \{\} :/,
    );
    const worker = block(
      root.resource('google_cloudfunctions2_function', 'worker'),
      'service_config',
    );
    expect(String(worker.environment_variables)).toContain('local.daily_cap_env');
  });
});
