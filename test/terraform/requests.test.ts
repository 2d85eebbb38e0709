/** biome-ignore-all lint/suspicious/noTemplateCurlyInString: expected values are Terraform "${...}" interpolations as hcl2json renders them. */
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { block, type JsonObject, parseTfFiles, TfModule } from './hcl.ts';

const tfDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'terraform');
const REQUESTS_URI = '${google_cloudfunctions2_function.requests.service_config[0].uri}';

/** The regex inside a variable's `can(regex("…", m))` validation, as JavaScript would run it. */
function principalPattern(variable: JsonObject): RegExp {
  const condition = String(block(variable, 'validation').condition);
  const source = /regex\("(.+?)", m\)/.exec(condition)?.[1];
  if (!source) throw new Error(`no regex in ${condition}`);
  return new RegExp(source.replaceAll('\\\\', '\\'));
}

describe('requests topic (terraform/requests.tf)', () => {
  let root: TfModule;
  let example: TfModule;
  const subscription = (name: string) => root.resource('google_pubsub_subscription', name);

  beforeAll(async () => {
    const files = await parseTfFiles(tfDir);
    const inExamples = (f: { path: string }) => f.path.startsWith(join(tfDir, 'examples') + sep);
    root = new TfModule(files.filter((f) => !inExamples(f)));
    example = new TfModule(
      files.filter((f) => f.path.startsWith(join(tfDir, 'examples', 'minimal') + sep)),
    );
  });

  it('pushes requests to the requests function with OIDC, a retry policy and its own dead-letter topic', () => {
    const sub = subscription('requests_push');
    expect(sub.topic).toBe('${google_pubsub_topic.requests.id}');
    const push = block(sub, 'push_config');
    expect(push.push_endpoint).toBe(
      `${REQUESTS_URI}/projects/\${var.project_id}/topics/\${google_pubsub_topic.requests.name}`,
    );
    expect(block(push, 'oidc_token')).toEqual({
      service_account_email: '${google_service_account.invoker.email}',
      audience: REQUESTS_URI,
    });
    expect(block(sub, 'retry_policy').minimum_backoff).toBe('${var.retry_min_backoff_seconds}s');
    expect(block(sub, 'dead_letter_policy')).toEqual({
      dead_letter_topic: '${google_pubsub_topic.requests_dead_letter.id}',
      max_delivery_attempts: '${var.requests_max_delivery_attempts}',
    });
    expect(block(sub, 'expiration_policy').ttl).toBe('');
  });

  it('answers dead-lettered requests (push back to the function) and archives them (pull)', () => {
    const onTopic = [...root.resources('google_pubsub_subscription').values()].filter(
      (s) => s.topic === '${google_pubsub_topic.requests_dead_letter.id}',
    );
    const push = onTopic.filter((s) => s.push_config !== undefined);
    expect(push).toHaveLength(1);
    expect(onTopic.filter((s) => s.push_config === undefined)).toHaveLength(1);
    const endpoint = String(block(push[0] ?? {}, 'push_config').push_endpoint);
    expect(endpoint).toBe(
      `${REQUESTS_URI}/projects/\${var.project_id}/topics/\${google_pubsub_topic.requests_dead_letter.name}`,
    );
    // A dead-letter policy here would loop dead letters onto their own topic.
    expect(push[0]?.dead_letter_policy).toBeUndefined();
    const publisher = root.resource(
      'google_pubsub_topic_iam_member',
      'pubsub_agent_requests_dead_letter_publisher',
    );
    expect(publisher.topic).toBe('${google_pubsub_topic.requests_dead_letter.id}');
    expect(publisher.member).toBe('${local.pubsub_agent_member}');
    const subscriber = root.resource(
      'google_pubsub_subscription_iam_member',
      'pubsub_agent_requests_subscriber',
    );
    expect(subscriber.subscription).toBe('${google_pubsub_subscription.requests_push.id}');
  });

  it('lets request_publishers publish on the requests topic only', () => {
    const grants = [...root.resources('google_pubsub_topic_iam_member').entries()].filter(([, g]) =>
      String(g.for_each ?? g.member).includes('var.request_publishers'),
    );
    expect(grants.map(([name]) => name)).toEqual(['request_publishers']);
    const [, grant] = grants[0] ?? ['', {}];
    expect(grant.topic).toBe('${google_pubsub_topic.requests.id}');
    expect(grant.role).toBe('roles/pubsub.publisher');
    expect(grant.member).toBe('${each.value}');
  });

  it('lets result_readers subscribe to results only, and keeps both lists to IAM principals', () => {
    const onTopic = root.resource('google_pubsub_topic_iam_member', 'result_readers');
    expect(onTopic.topic).toBe('${google_pubsub_topic.results.id}');
    expect(onTopic.role).toBe('roles/pubsub.subscriber');
    const onSubs = root.resource('google_pubsub_subscription_iam_member', 'result_readers');
    expect(onSubs.role).toBe('roles/pubsub.subscriber');
    expect(String(root.local('results_subscription_ids'))).toContain(
      'google_pubsub_subscription.results_filtered',
    );
    for (const name of ['request_publishers', 'result_readers']) {
      const variable = root.named('variable').get(name) ?? {};
      expect(variable.type).toBe('${list(string)}');
      const pattern = principalPattern(variable);
      expect(pattern.test('serviceAccount:catalog@p.iam.gserviceaccount.com'), name).toBe(true);
      expect(pattern.test('group:team@example.com'), name).toBe(true);
      expect(pattern.test(['all', 'Users'].join('')), name).toBe(false);
      expect(pattern.test(['all', 'AuthenticatedUsers'].join('')), name).toBe(false);
    }
  });

  it('creates filtered results subscriptions, and the example filters on attributes.requestId', () => {
    const filtered = subscription('results_filtered');
    expect(filtered.for_each).toBe('${var.results_subscriptions}');
    expect(filtered.topic).toBe('${google_pubsub_topic.results.id}');
    expect(filtered.filter).toBe('${each.value.filter}');
    expect(filtered.push_config).toBeUndefined();
    const module = example.named('module').get('bananaflow') ?? {};
    expect(JSON.stringify(module.results_subscriptions)).toContain('attributes.requestId');
    expect(module.request_publishers).toBe('${var.request_publishers}');
  });

  it('runs the requests function as its own account: reads the input, writes records, publishes jobs and results', () => {
    const fn = root.resource('google_cloudfunctions2_function', 'requests');
    expect(fn.event_trigger).toBeUndefined();
    expect(block(fn, 'build_config').entry_point).toBe('${local.manifest["requests"].entryPoint}');
    const bucketGrants = Object.values(root.local('bucket_grants') as JsonObject);
    const topicGrants = Object.values(root.local('topic_grants') as JsonObject);
    const mine = (rows: unknown[]) =>
      rows
        .filter((r) => (r as JsonObject).member === 'requests')
        .map((r) => {
          const { bucket, topic, role } = r as JsonObject;
          return `${String(bucket ?? topic)} ${String(role)}`;
        });
    expect(mine(bucketGrants).sort()).toEqual([
      'input roles/storage.objectViewer',
      'output roles/storage.objectUser',
    ]);
    expect(mine(topicGrants).sort()).toEqual([
      'jobs roles/pubsub.publisher',
      'results roles/pubsub.publisher',
    ]);
    const outputs = root.named('output');
    expect(JSON.stringify(outputs.get('topics')?.value)).toContain(
      'google_pubsub_topic.requests.id',
    );
  });
});
