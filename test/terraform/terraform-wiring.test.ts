/** biome-ignore-all lint/suspicious/noTemplateCurlyInString: the expected values are Terraform "${...}" interpolations as hcl2json renders them. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FUNCTIONS } from '../../infra/package/package-functions.ts';
import {
  block,
  blocks,
  dynamicBlock,
  isObject,
  type Json,
  type JsonObject,
  parseTfFiles,
  references,
  strings,
  type TfFile,
  TfModule,
} from './hcl.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tfDir = join(repoRoot, 'terraform');
const exampleDir = join(tfDir, 'examples', 'minimal');

type FunctionKey = 'ingest' | 'worker' | 'dead_letter' | 'requests' | 'budget_guard' | 'batch_tick';
const FUNCTIONS: readonly FunctionKey[] = [
  'ingest',
  'worker',
  'dead_letter',
  'requests',
  'budget_guard',
  'batch_tick',
];

/**
 * Which function needs which BANANAFLOW_* variable. Every BANANAFLOW_* name the code reads must
 * appear here (the test scans the code), so a new setting fails this test until the table and
 * the Terraform are updated. 'required' = always set; 'optional' = set only when configured;
 * absent = the function must not get it (an empty entry: no function may set it).
 */
const ENV_REQUIREMENTS: Record<string, Partial<Record<FunctionKey, 'required' | 'optional'>>> = {
  BANANAFLOW_INPUT_BUCKET: {
    ingest: 'required',
    worker: 'required',
    requests: 'required',
    budget_guard: 'required',
    batch_tick: 'required',
  },
  BANANAFLOW_OUTPUT_BUCKET: {
    ingest: 'required',
    worker: 'required',
    dead_letter: 'required',
    requests: 'required',
    budget_guard: 'required',
    batch_tick: 'required',
  },
  BANANAFLOW_MAX_USD_PER_DAY: { worker: 'optional' },
  BANANAFLOW_PAUSE_AT_BUDGET_FRACTION: { budget_guard: 'required' },
  BANANAFLOW_JOBS_TOPIC: { ingest: 'required', requests: 'required', batch_tick: 'required' },
  BANANAFLOW_RESULTS_TOPIC: {
    worker: 'required',
    dead_letter: 'required',
    requests: 'required',
    batch_tick: 'required',
  },
  BANANAFLOW_MODEL: { ingest: 'required', worker: 'required', requests: 'required' },
  BANANAFLOW_MODEL_OVERRIDES: {
    ingest: 'optional',
    worker: 'optional',
    requests: 'optional',
    batch_tick: 'optional',
  },
  BANANAFLOW_MODEL_TIMEOUT_MS: { worker: 'required' },
  BANANAFLOW_TIER: { ingest: 'required' },
  BANANAFLOW_FLEX_TIMEOUT_MS: { worker: 'required' },
  BANANAFLOW_LEASE_MS: { worker: 'required' },
  BANANAFLOW_MAX_RETRY_WAIT_MS: { worker: 'required' },
  // The quota: each instance's share of images_per_minute (absent: adaptive), and the 429 hold.
  BANANAFLOW_IPM: { worker: 'optional' },
  BANANAFLOW_QUOTA_MAX_HOLD_MS: { worker: 'required' },
  // Compressed quota windows are for tests and benches; the cloud keeps the defaults.
  BANANAFLOW_QUOTA_WINDOW_MS: {},
  BANANAFLOW_QUOTA_MARGIN_MS: {},
  BANANAFLOW_MAX_QUOTA_DEFERRALS: {},
  BANANAFLOW_MAX_EVENT_AGE_MS: { ingest: 'required' },
  BANANAFLOW_MAX_INPUT_BYTES: { worker: 'required', batch_tick: 'required' },
  BANANAFLOW_MAX_INPUT_PIXELS: { worker: 'required', batch_tick: 'required' },
  BANANAFLOW_MAX_SIDECAR_BYTES: { ingest: 'required', requests: 'required' },
  // Local emulator stack only (folders instead of Cloud Storage): must never be set in the cloud.
  BANANAFLOW_LOCAL_BUCKET_ROOTS: {},
  // Crash tests only (the worker kills itself at a stage of a job): must never be set in the cloud.
  BANANAFLOW_FAILPOINT: {},
  // Batch tier: whether the planners route it (on) or refuse it (off), and the batch tick's window.
  BANANAFLOW_BATCH_PATH: {
    ingest: 'required',
    worker: 'required',
    requests: 'required',
    batch_tick: 'required',
  },
  BANANAFLOW_BATCH_MAX_REQUESTS: { batch_tick: 'required' },
  BANANAFLOW_BATCH_MAX_BYTES: { batch_tick: 'required' },
  BANANAFLOW_BATCH_WINDOW_MS: { batch_tick: 'required' },
  BANANAFLOW_BATCH_LEASE_MS: { batch_tick: 'required' },
  // The embedded runner's polling, and the inline limit (its default is the API's): not deployed.
  BANANAFLOW_BATCH_POLL_MS: {},
  BANANAFLOW_BATCH_INLINE_MAX_BYTES: {},
  // Crash tests only (the batch tick kills itself at a stage): must never be set in the cloud.
  BANANAFLOW_BATCH_FAILPOINT: {},
};

/** Environment values that must point at the Terraform-managed resource, not a literal. */
const ENV_VALUE_REFERENCES: Record<string, string> = {
  BANANAFLOW_JOBS_TOPIC: '${google_pubsub_topic.jobs.name}',
  BANANAFLOW_RESULTS_TOPIC: '${google_pubsub_topic.results.name}',
  BANANAFLOW_INPUT_BUCKET: '${google_storage_bucket.input.name}',
  BANANAFLOW_OUTPUT_BUCKET: '${google_storage_bucket.output.name}',
};

const PRIMITIVE_ROLES = ['roles/owner', 'roles/editor', 'roles/viewer'];
const PUBLIC_MEMBERS = ['allUsers', 'allAuthenticatedUsers'];

async function sourceFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const item of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, item.name);
    if (item.isDirectory()) out.push(...(await sourceFiles(full)));
    else if (item.name.endsWith('.ts') && !item.name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

/** BANANAFLOW_* names the code reads: config.ts's schema plus anything functions/ mention. */
async function envNamesInCode(): Promise<Set<string>> {
  const names = new Set<string>();
  const configText = await readFile(join(repoRoot, 'shared', 'config.ts'), 'utf8');
  for (const m of configText.matchAll(/^\s*(BANANAFLOW_[A-Z0-9_]+)\s*:/gm)) names.add(m[1] ?? '');
  for (const file of [
    ...(await sourceFiles(join(repoRoot, 'functions'))),
    ...(await sourceFiles(join(repoRoot, 'shared'))),
  ]) {
    const text = await readFile(file, 'utf8');
    // Only names used as env lookups (env.X / env['X'] / process.env.X), not mentions in prose.
    for (const m of text.matchAll(/env(?:\.|\[['"])(BANANAFLOW_[A-Z0-9_]+)/g))
      names.add(m[1] ?? '');
  }
  names.delete('');
  return names;
}

/** Keys of a local that is a map literal, or (for conditional locals) the keys named inside. */
function envKeysOf(value: Json): { keys: Map<string, string>; conditional: boolean } {
  if (isObject(value)) {
    return {
      keys: new Map(
        Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)]),
      ),
      conditional: false,
    };
  }
  const text = String(value);
  const keys = new Map<string, string>();
  for (const m of text.matchAll(/\b([A-Z][A-Z0-9_]+)\s*=\s*([^\n}]+)/g)) {
    keys.set(m[1] ?? '', (m[2] ?? '').trim());
  }
  return { keys, conditional: true };
}

describe('terraform module (offline checks)', () => {
  let files: TfFile[];
  let root: TfModule;
  let example: TfModule;
  let all: TfModule;

  beforeAll(async () => {
    files = await parseTfFiles(tfDir);
    const inExamples = (f: TfFile) => f.path.startsWith(join(tfDir, 'examples') + sep);
    root = new TfModule(files.filter((f) => !inExamples(f)));
    example = new TfModule(files.filter((f) => f.path.startsWith(exampleDir + sep)));
    all = new TfModule(files);
  });

  it('is formatted (terraform fmt -check -recursive terraform)', (ctx) => {
    const probe = spawnSync('terraform', ['version'], { encoding: 'utf8' });
    if (probe.error) {
      console.warn('terraform binary not found: skipping `terraform fmt -check`');
      ctx.skip();
      return;
    }
    const result = spawnSync('terraform', ['fmt', '-check', '-recursive', 'terraform'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(result.status, `files needing fmt:\n${result.stdout}${result.stderr}`).toBe(0);
  });

  it('has the expected layout and parses', () => {
    const names = files.map((f) => f.path.slice(tfDir.length + 1)).sort();
    for (const required of [
      'versions.tf',
      'variables.tf',
      'outputs.tf',
      'examples/minimal/main.tf',
    ]) {
      expect(names).toContain(required);
    }
    expect(root.allResources().length).toBeGreaterThan(30);
  });

  it('pins terraform and provider version ranges', () => {
    const tf = root.terraformBlocks();
    expect(tf.map((b) => b.required_version)).toContain('>= 1.5');
    const providers = tf.flatMap((b) => blocks(b, 'required_providers'));
    const merged: JsonObject = Object.assign({}, ...providers);
    for (const name of ['google', 'google-beta']) {
      const p = merged[name];
      expect(isObject(p) && p.source).toBe(`hashicorp/${name}`);
      expect(isObject(p) && p.version).toBe('>= 6.0, < 8.0');
    }
    const time = merged.time;
    expect(isObject(time) && time.source).toBe('hashicorp/time');
  });

  it('types, describes and validates every variable', () => {
    for (const module of [root, example]) {
      for (const [name, variable] of module.named('variable')) {
        expect(typeof variable.type, `${name}.type`).toBe('string');
        expect(String(variable.description ?? '').length, `${name}.description`).toBeGreaterThan(
          10,
        );
      }
    }
    const variables = root.named('variable');
    for (const required of [
      'project_id',
      'region',
      'name_prefix',
      'model',
      'gemini_backend',
      'gemini_api_key_secret_id',
      'vertex_location',
      'worker_memory',
      'worker_cpu',
      'ingest_resources',
      'dead_letter_resources',
      'worker_concurrency',
      'worker_max_instances',
      'worker_timeout_seconds',
      'retry_min_backoff_seconds',
      'retry_max_backoff_seconds',
      'max_delivery_attempts',
      'max_event_age_seconds',
      'labels',
      'kms_key_name',
      'force_destroy',
      'state_retention_days',
      'package_manifest_path',
    ]) {
      expect(variables.has(required), required).toBe(true);
    }
    for (const [name, variable] of variables) {
      if (variable.type === '${bool}') continue; // nothing to validate in a bool
      expect(
        blocks(variable, 'validation').length,
        `${name} has a validation block`,
      ).toBeGreaterThan(0);
    }
    const cond = (name: string) =>
      blocks(variables.get(name) ?? {}, 'validation')
        .map((v) => String(v.condition))
        .join(' ');
    expect(cond('worker_timeout_seconds')).toContain('<= 540');
    expect(cond('retry_min_backoff_seconds')).toMatch(/>= 0 .*<= 600/);
    expect(cond('retry_max_backoff_seconds')).toMatch(/>= 0 .*<= 600/);
    expect(cond('max_delivery_attempts')).toMatch(/>= 5 .*<= 100/);
    expect(cond('gemini_backend')).toContain('"gemini-api", "vertex-ai"');
  });

  it('sets every BANANAFLOW_* variable the code reads on the functions that need it', async () => {
    const codeNames = await envNamesInCode();
    expect(codeNames.size).toBeGreaterThanOrEqual(12);
    // The table covers the code, and holds nothing the code no longer reads.
    expect(
      [...codeNames].filter((n) => !(n in ENV_REQUIREMENTS)),
      'missing from ENV_REQUIREMENTS',
    ).toEqual([]);
    expect(
      Object.keys(ENV_REQUIREMENTS).filter((n) => !codeNames.has(n)),
      'stale in ENV_REQUIREMENTS',
    ).toEqual([]);

    const locals = root.locals();
    for (const fn of FUNCTIONS) {
      const body = root.resource('google_cloudfunctions2_function', fn);
      const envExpression = String(block(body, 'service_config').environment_variables);
      const always = new Map<string, string>();
      const sometimes = new Map<string, string>();
      for (const ref of references(envExpression, 'local.')) {
        const value = locals[ref.slice('local.'.length)];
        expect(value, `${fn}: ${ref} exists`).toBeDefined();
        const { keys, conditional } = envKeysOf(value ?? null);
        for (const [k, v] of keys) (conditional ? sometimes : always).set(k, v);
      }
      for (const [name, perFunction] of Object.entries(ENV_REQUIREMENTS)) {
        const need = perFunction[fn];
        if (need === 'required') expect(always.has(name), `${fn} always sets ${name}`).toBe(true);
        else if (need === 'optional') {
          expect(always.has(name) || sometimes.has(name), `${fn} can set ${name}`).toBe(true);
        } else {
          expect(always.has(name) || sometimes.has(name), `${fn} must not set ${name}`).toBe(false);
        }
      }
      for (const [name, expected] of Object.entries(ENV_VALUE_REFERENCES)) {
        if (always.has(name)) expect(always.get(name), `${fn} ${name}`).toBe(expected);
      }
      // Nothing secret in plain environment variables.
      for (const key of [...always.keys(), ...sometimes.keys()]) {
        expect(key).not.toMatch(/API_KEY|SECRET|TOKEN|PASSWORD/);
      }
    }
  });

  it('keeps the Gemini API key in Secret Manager: worker and batch tick only, one secret only', () => {
    for (const fn of ['worker', 'batch_tick']) {
      const sc = block(root.resource('google_cloudfunctions2_function', fn), 'service_config');
      const secret = dynamicBlock(sc, 'secret_environment_variables');
      expect(secret?.content.key).toBe('GEMINI_API_KEY');
      expect(secret?.forEach).toContain('var.gemini_api_key_secret_id');
      expect(secret?.forEach).toContain('local.use_vertex');
    }
    for (const fn of ['ingest', 'dead_letter', 'requests']) {
      const sc = block(root.resource('google_cloudfunctions2_function', fn), 'service_config');
      expect(sc.secret_environment_variables).toBeUndefined();
      expect(dynamicBlock(sc, 'secret_environment_variables')).toBeUndefined();
    }
    // Never as a plain value: GEMINI_API_KEY / GOOGLE_API_KEY only as a secret's key (or prose).
    for (const { key, value } of strings(all.files.map((f) => f.json))) {
      if (/GEMINI_API_KEY|GOOGLE_API_KEY/.test(value)) {
        expect(['key', 'description', 'error_message'], `${key} = ${value}`).toContain(key);
      }
    }
    // The module never takes the key itself as input.
    for (const name of root.named('variable').keys()) {
      expect(
        name === 'gemini_api_key_secret_id' ||
          name === 'gemini_api_key_secret_version' ||
          !/api_key/.test(name),
      ).toBe(true);
    }
    const accessors = root.resources('google_secret_manager_secret_iam_member');
    expect([...accessors.keys()].sort()).toEqual(['batch_tick_api_key', 'worker_api_key']);
    for (const fn of ['worker', 'batch_tick']) {
      const accessor = root.resource('google_secret_manager_secret_iam_member', `${fn}_api_key`);
      expect(accessor.secret_id).toBe('${var.gemini_api_key_secret_id}');
      expect(accessor.role).toBe('roles/secretmanager.secretAccessor');
      expect(accessor.member).toBe(`\${local.runtime_members.${fn}}`);
      expect(String(accessor.count)).toContain('local.use_vertex ? 0 : 1');
    }
  });

  it('uses Vertex AI through the worker identity and the SDK variables when chosen', () => {
    const vertexEnv = String(root.local('vertex_env'));
    expect(vertexEnv).toMatch(/local\.use_vertex \?/);
    for (const key of [
      'GOOGLE_GENAI_USE_VERTEXAI',
      'GOOGLE_CLOUD_PROJECT',
      'GOOGLE_CLOUD_LOCATION',
    ]) {
      expect(vertexEnv).toContain(key);
    }
    const worker = block(
      root.resource('google_cloudfunctions2_function', 'worker'),
      'service_config',
    );
    expect(String(worker.environment_variables)).toContain('local.vertex_env');
    const user = root.resource('google_project_iam_member', 'worker_vertex_user');
    expect(user.role).toBe('roles/aiplatform.user');
    expect(user.member).toBe('${local.runtime_members.worker}');
    expect(String(user.count)).toContain('local.use_vertex ? 1 : 0');
    expect(String(root.local('use_vertex'))).toContain('var.gemini_backend == "vertex-ai"');
  });

  it('gives every function its own runtime service account', () => {
    const accounts = FUNCTIONS.map((fn) =>
      String(
        block(root.resource('google_cloudfunctions2_function', fn), 'service_config')
          .service_account_email,
      ),
    );
    expect(accounts).toEqual([
      '${google_service_account.ingest.email}',
      '${google_service_account.worker.email}',
      '${google_service_account.dead_letter.email}',
      '${google_service_account.requests.email}',
      '${google_service_account.budget_guard.email}',
      '${google_service_account.batch_tick.email}',
    ]);
    const sas = root.resources('google_service_account');
    for (const name of [
      'ingest',
      'worker',
      'dead_letter',
      'requests',
      'budget_guard',
      'batch_tick',
      'trigger',
      'invoker',
      'build',
    ]) {
      expect(sas.has(name), `google_service_account.${name}`).toBe(true);
    }
    const ids = [...sas.values()].map((sa) => String(sa.account_id));
    expect(new Set(ids).size).toBe(ids.length);
    // 30-character limit with the longest allowed prefix (20).
    for (const id of ids)
      expect(id.replace('${var.name_prefix}', 'x'.repeat(20)).length).toBeLessThanOrEqual(30);
  });

  it('grants runtime accounts bucket- and topic-level roles only', () => {
    const runtime =
      /(google_service_account\.(ingest|worker|dead_letter|requests|budget_guard|batch_tick)\b|local\.runtime_members)/;
    for (const type of [
      'google_project_iam_member',
      'google_project_iam_binding',
      'google_project_iam_policy',
    ]) {
      for (const [name, grant] of root.resources(type)) {
        if (!runtime.test(String(grant.member ?? grant.members))) continue;
        // The only exception: aiplatform.user, which exists at project level only.
        expect(`${type}.${name}`).toBe('google_project_iam_member.worker_vertex_user');
      }
    }
    expect(root.resources('google_project_iam_binding').size).toBe(0);
    expect(root.resources('google_project_iam_policy').size).toBe(0);

    const bucketGrants = root.local('bucket_grants');
    const topicGrants = root.local('topic_grants');
    expect(isObject(bucketGrants) && isObject(topicGrants)).toBe(true);
    const rows = (table: Json) => (isObject(table) ? Object.values(table).filter(isObject) : []);
    for (const row of rows(bucketGrants)) {
      expect([
        'roles/storage.objectViewer',
        'roles/storage.objectUser',
        'roles/storage.objectCreator',
      ]).toContain(row.role);
    }
    for (const row of rows(topicGrants)) expect(row.role).toBe('roles/pubsub.publisher');
    const has = (table: Json, want: JsonObject) =>
      rows(table).some((r) => Object.entries(want).every(([k, v]) => r[k] === v));
    expect(has(topicGrants, { topic: 'jobs', member: 'ingest' })).toBe(true);
    expect(has(topicGrants, { topic: 'results', member: 'worker' })).toBe(true);
    expect(has(topicGrants, { topic: 'results', member: 'dead_letter' })).toBe(true);
    expect(has(topicGrants, { topic: 'jobs', member: 'worker' })).toBe(false);
    expect(
      has(bucketGrants, { bucket: 'input', member: 'ingest', role: 'roles/storage.objectViewer' }),
    ).toBe(true);
    expect(
      has(bucketGrants, { bucket: 'input', member: 'worker', role: 'roles/storage.objectViewer' }),
    ).toBe(true);
    expect(has(bucketGrants, { bucket: 'output', member: 'worker' })).toBe(true);
    expect(has(bucketGrants, { bucket: 'output', member: 'dead_letter' })).toBe(true);
    // Nobody but the build reads the sources bucket; nobody at all writes the input bucket.
    expect(rows(bucketGrants).some((r) => r.bucket === 'sources')).toBe(false);
    expect(
      rows(bucketGrants).some(
        (r) => r.bucket === 'input' && r.role !== 'roles/storage.objectViewer',
      ),
    ).toBe(false);

    const bucketIam = root.resource('google_storage_bucket_iam_member', 'runtime');
    expect(bucketIam.for_each).toBe('${local.bucket_grants}');
    const topicIam = root.resource('google_pubsub_topic_iam_member', 'runtime');
    expect(topicIam.for_each).toBe('${local.topic_grants}');
  });

  it('lets the build account read the function sources, also from the bucket Cloud Functions copies them to', () => {
    const own = root.resource('google_storage_bucket_iam_member', 'build_sources_read');
    expect(own.bucket).toBe('${google_storage_bucket.sources.name}');
    expect(own.role).toBe('roles/storage.objectViewer');
    const copied = root.resource('google_project_iam_member', 'build_gcf_sources_read');
    expect(copied.role).toBe('roles/storage.objectViewer');
    expect(copied.member).toBe('${local.build_member}');
    // Project-level only because that bucket is created by the first deploy: conditioned on it.
    const condition = block(copied, 'condition');
    expect(condition.expression).toBe(
      'resource.name.startsWith("projects/_/buckets/gcf-v2-sources-${data.google_project.this.number}-${var.region}")',
    );
    for (const fn of FUNCTIONS) {
      const build = block(root.resource('google_cloudfunctions2_function', fn), 'build_config');
      expect(build.service_account).toBe('${google_service_account.build.id}');
    }
  });

  it('uses no primitive roles and no public members anywhere', () => {
    for (const { key, value } of strings(all.files.map((f) => f.json))) {
      for (const role of PRIMITIVE_ROLES) expect(value, `${key} = ${value}`).not.toContain(role);
      for (const member of PUBLIC_MEMBERS) expect(value, `${key} = ${value}`).not.toContain(member);
    }
  });

  it('grants run.invoker on each function service to its caller only', () => {
    const invokers = root.resources('google_cloud_run_v2_service_iam_member');
    const expected: Record<string, [FunctionKey, string]> = {
      trigger_ingest: ['ingest', 'trigger'],
      invoker_worker: ['worker', 'invoker'],
      invoker_dead_letter: ['dead_letter', 'invoker'],
      invoker_requests: ['requests', 'invoker'],
      invoker_budget_guard: ['budget_guard', 'invoker'],
      invoker_batch_tick: ['batch_tick', 'invoker'],
    };
    expect([...invokers.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, [fn, sa]] of Object.entries(expected)) {
      const grant = root.resource('google_cloud_run_v2_service_iam_member', name);
      expect(grant.role).toBe('roles/run.invoker');
      expect(grant.name).toBe(
        `\${google_cloudfunctions2_function.${fn}.service_config[0].service}`,
      );
      expect(grant.member).toBe(`serviceAccount:\${google_service_account.${sa}.email}`);
    }
    for (const grant of root.resources('google_project_iam_member').values()) {
      expect(grant.role).not.toBe('roles/run.invoker');
    }
  });

  it('wires the Eventarc trigger: receiver role, storage agent publisher, propagation wait', () => {
    const receiver = root.resource('google_project_iam_member', 'trigger_event_receiver');
    expect(receiver.role).toBe('roles/eventarc.eventReceiver');
    expect(receiver.member).toBe('serviceAccount:${google_service_account.trigger.email}');
    const gcs = root.resource('google_project_iam_member', 'gcs_agent_publisher');
    expect(gcs.role).toBe('roles/pubsub.publisher');
    expect(gcs.member).toBe(
      'serviceAccount:${data.google_storage_project_service_account.gcs.email_address}',
    );
    expect(root.data('google_storage_project_service_account').has('gcs')).toBe(true);

    const sleep = root.resource('time_sleep', 'eventarc_propagation');
    const triggers = JSON.stringify(sleep.triggers);
    expect(triggers).toContain('google_project_iam_member.gcs_agent_publisher');
    expect(triggers).toContain('google_project_iam_member.trigger_event_receiver');
    expect(triggers).toContain('google_project_service_identity.eventarc');
    expect(triggers).toContain('google_project_iam_member.eventarc_agent');
    const agent = root.resource('google_project_iam_member', 'eventarc_agent');
    expect(agent.role).toBe('roles/eventarc.serviceAgent');
    expect(agent.member).toBe('serviceAccount:${google_project_service_identity.eventarc.email}');

    const ingest = root.resource('google_cloudfunctions2_function', 'ingest');
    expect(ingest.depends_on).toContain('${time_sleep.eventarc_propagation}');
    const trigger = block(ingest, 'event_trigger');
    expect(trigger.event_type).toBe('google.cloud.storage.object.v1.finalized');
    expect(trigger.retry_policy).toBe('RETRY_POLICY_RETRY');
    expect(trigger.trigger_region).toBe('${lower(google_storage_bucket.input.location)}');
    expect(trigger.service_account_email).toBe('${google_service_account.trigger.email}');
    expect(blocks(trigger, 'event_filters')).toEqual([
      { attribute: 'bucket', value: '${google_storage_bucket.input.name}' },
    ]);
    // Worker, dead-letter and requests are push targets, not event-triggered.
    for (const fn of ['worker', 'dead_letter', 'requests', 'budget_guard']) {
      expect(root.resource('google_cloudfunctions2_function', fn).event_trigger).toBeUndefined();
    }
  });

  it('lets the Pub/Sub service agent dead-letter jobs and mint push tokens', () => {
    const identity = root.resource('google_project_service_identity', 'pubsub');
    expect(identity.service).toBe('pubsub.googleapis.com');
    expect(identity.provider).toBe('${google-beta}');
    expect(root.local('pubsub_agent_member')).toBe(
      'serviceAccount:${google_project_service_identity.pubsub.email}',
    );
    const publisher = root.resource(
      'google_pubsub_topic_iam_member',
      'pubsub_agent_dead_letter_publisher',
    );
    expect(publisher.topic).toBe('${google_pubsub_topic.dead_letter.id}');
    expect(publisher.role).toBe('roles/pubsub.publisher');
    expect(publisher.member).toBe('${local.pubsub_agent_member}');
    const subscriber = root.resource(
      'google_pubsub_subscription_iam_member',
      'pubsub_agent_jobs_subscriber',
    );
    expect(subscriber.subscription).toBe('${google_pubsub_subscription.jobs_push.id}');
    expect(subscriber.role).toBe('roles/pubsub.subscriber');
    expect(subscriber.member).toBe('${local.pubsub_agent_member}');
    const tokenCreator = root.resource(
      'google_service_account_iam_member',
      'pubsub_agent_token_creator_invoker',
    );
    expect(tokenCreator.service_account_id).toBe('${google_service_account.invoker.name}');
    expect(tokenCreator.role).toBe('roles/iam.serviceAccountTokenCreator');
  });

  it('pushes jobs to the worker with OIDC, a retry policy and a dead-letter policy', () => {
    const sub = root.resource('google_pubsub_subscription', 'jobs_push');
    expect(sub.topic).toBe('${google_pubsub_topic.jobs.id}');
    const push = block(sub, 'push_config');
    expect(String(push.push_endpoint)).toMatch(
      /^\$\{google_cloudfunctions2_function\.worker\.service_config\[0\]\.uri\}\/projects\/\$\{var\.project_id\}\/topics\/\$\{google_pubsub_topic\.jobs\.name\}$/,
    );
    const oidc = block(push, 'oidc_token');
    expect(oidc.service_account_email).toBe('${google_service_account.invoker.email}');
    expect(oidc.audience).toBe('${google_cloudfunctions2_function.worker.service_config[0].uri}');
    const retry = block(sub, 'retry_policy');
    expect(retry.minimum_backoff).toBe('${var.retry_min_backoff_seconds}s');
    expect(retry.maximum_backoff).toBe('${var.retry_max_backoff_seconds}s');
    const dlq = block(sub, 'dead_letter_policy');
    expect(dlq.dead_letter_topic).toBe('${google_pubsub_topic.dead_letter.id}');
    expect(dlq.max_delivery_attempts).toBe('${var.max_delivery_attempts}');
    expect(sub.ack_deadline_seconds).toBe('${local.jobs_ack_deadline_seconds}');
    expect(root.local('jobs_ack_deadline_seconds')).toBe(
      '${min(600, var.worker_timeout_seconds + 30)}',
    );
    expect(block(sub, 'expiration_policy').ttl).toBe('');
  });

  it('ticks the batch tier: Cloud Scheduler → its own topic → an OIDC push to the batch tick, one at a time', () => {
    const job = root.resource('google_cloud_scheduler_job', 'batch_tick');
    expect(String(job.count)).toContain('local.batch_enabled ? 1 : 0');
    expect(job.schedule).toBe('${var.batch_tier.tick_schedule}');
    expect(block(job, 'pubsub_target').topic_name).toBe('${google_pubsub_topic.batch_tick.id}');
    expect(String(root.local('batch_enabled'))).toMatch(
      /var\.batch_tier\.enabled && !local\.use_vertex/,
    );
    const publisher = root.resource(
      'google_pubsub_topic_iam_member',
      'scheduler_batch_tick_publisher',
    );
    expect(publisher.topic).toBe('${google_pubsub_topic.batch_tick.id}');
    expect(publisher.role).toBe('roles/pubsub.publisher');
    expect(publisher.member).toBe(
      'serviceAccount:${google_project_service_identity.cloudscheduler.email}',
    );
    const push = root.resource('google_pubsub_subscription', 'batch_tick_push');
    expect(push.topic).toBe('${google_pubsub_topic.batch_tick.id}');
    const oidc = block(block(push, 'push_config'), 'oidc_token');
    expect(oidc.service_account_email).toBe('${google_service_account.invoker.email}');
    expect(String(block(push, 'push_config').push_endpoint)).toContain(
      '${google_cloudfunctions2_function.batch_tick.service_config[0].uri}/projects/',
    );
    const service = block(
      root.resource('google_cloudfunctions2_function', 'batch_tick'),
      'service_config',
    );
    expect(service.max_instance_count).toBe(1);
    expect(service.max_instance_request_concurrency).toBe(1);
    expect(String(root.local('apis'))).toContain('"cloudscheduler.googleapis.com"');
    const grants = root.local('topic_grants');
    const rows = isObject(grants) ? Object.values(grants).filter(isObject) : [];
    expect(
      rows
        .filter((r) => r.member === 'batch_tick')
        .map((r) => r.topic)
        .sort(),
    ).toEqual(['jobs', 'results']);
  });

  it('never loses a dead letter: a pull archive plus a push to the dead-letter function', () => {
    const onDeadLetter = [...root.resources('google_pubsub_subscription').entries()].filter(
      ([, s]) => s.topic === '${google_pubsub_topic.dead_letter.id}',
    );
    const pull = onDeadLetter.filter(([, s]) => s.push_config === undefined);
    const push = onDeadLetter.filter(([, s]) => s.push_config !== undefined);
    expect(pull.length).toBe(1);
    expect(push.length).toBe(1);
    const [, pushSub] = push[0] ?? ['', {}];
    const config = block(pushSub, 'push_config');
    expect(String(config.push_endpoint)).toContain(
      '${google_cloudfunctions2_function.dead_letter.service_config[0].uri}',
    );
    expect(block(config, 'oidc_token').service_account_email).toBe(
      '${google_service_account.invoker.email}',
    );
    expect(blocks(pushSub, 'retry_policy').length).toBe(1);
    // A dead-letter policy here would loop dead letters back onto their own topic.
    expect(pushSub.dead_letter_policy).toBeUndefined();
    for (const [, s] of onDeadLetter) expect(block(s, 'expiration_policy').ttl).toBe('');
  });

  it('hardens every bucket and expires temporary state', () => {
    const buckets = root.resources('google_storage_bucket');
    expect([...buckets.keys()].sort()).toEqual(['input', 'output', 'sources']);
    for (const [name, bucket] of buckets) {
      expect(bucket.uniform_bucket_level_access, name).toBe(true);
      expect(bucket.public_access_prevention, name).toBe('enforced');
      const cmek = dynamicBlock(bucket, 'encryption');
      expect(cmek?.forEach, name).toContain('var.kms_key_name');
    }
    expect(root.local('state_prefix')).toBe('_bananaflow/');
    // Only working state expires: held jobs, plans and the deployment marker are kept.
    const temporary = String(root.local('temporary_state_prefixes'));
    for (const kept of ['held/', 'plans/', 'deployment']) expect(temporary).not.toContain(kept);
    for (const expiring of ['jobs/', 'waiting/', 'spend/']) expect(temporary).toContain(expiring);
    for (const name of ['input', 'output']) {
      const bucket = root.resource('google_storage_bucket', name);
      expect(bucket.force_destroy).toBe('${var.force_destroy}');
      const rule = blocks(bucket, 'lifecycle_rule').find(
        (r) => block(r, 'condition').matches_prefix === '${local.temporary_state_prefixes}',
      );
      expect(rule, `${name} expires the working state under _bananaflow/`).toBeDefined();
      expect(block(rule ?? {}, 'condition').age).toBe('${var.state_retention_days}');
      expect(block(rule ?? {}, 'action').type).toBe('Delete');
    }
  });

  it('deploys the packaged zips, named by content hash, on nodejs22', () => {
    const keys = root.local('function_keys');
    expect(isObject(keys) ? Object.values(keys).sort() : []).toEqual(
      DEFAULT_FUNCTIONS.map((f) => f.name).sort(),
    );
    const object = root.resource('google_storage_bucket_object', 'source');
    expect(object.for_each).toBe('${local.function_keys}');
    expect(String(object.name)).toContain('${local.manifest[each.value].sha256}');
    expect(String(object.source)).toContain('${local.manifest[each.value].zip}');
    expect(root.local('manifest')).toBe('${jsondecode(file(var.package_manifest_path))}');
    for (const fn of FUNCTIONS) {
      const body = root.resource('google_cloudfunctions2_function', fn);
      const build = block(body, 'build_config');
      expect(build.runtime).toBe('nodejs22');
      const manifestName = isObject(keys) ? keys[fn] : undefined;
      expect(build.entry_point).toBe(`\${local.manifest["${manifestName}"].entryPoint}`);
      const storage = block(block(build, 'source'), 'storage_source');
      expect(storage.object).toBe(`\${google_storage_bucket_object.source["${fn}"].name}`);
      const service = block(body, 'service_config');
      expect(service.ingress_settings).toBe('${var.ingress_settings}');
      expect(service.max_instance_count).toBeDefined();
      expect(service.max_instance_request_concurrency).toBeDefined();
    }
    const worker = block(
      root.resource('google_cloudfunctions2_function', 'worker'),
      'service_config',
    );
    // Capped by the quota sizing when images_per_minute is set (locals.tf).
    expect(worker.max_instance_request_concurrency).toBe('${local.worker_concurrency}');
    const sizing = root.locals();
    expect(String(sizing.worker_concurrency)).toContain('var.worker_concurrency');
    expect(String(sizing.ipm_share)).toMatch(/var\.images_per_minute \/ var\.worker_max_instances/);
    expect(String(sizing.quota_env)).toContain('BANANAFLOW_IPM');
    expect(worker.max_instance_count).toBe('${var.worker_max_instances}');
    expect(worker.timeout_seconds).toBe('${var.worker_timeout_seconds}');
    expect(worker.available_memory).toBe('${var.worker_memory}');
    expect(worker.available_cpu).toBe('${var.worker_cpu}');
  });

  it('enables the APIs without ever disabling them on destroy', () => {
    const apis = root.resource('google_project_service', 'apis');
    expect(apis.disable_on_destroy).toBe(false);
    const list = String(root.local('apis'));
    for (const api of [
      'cloudfunctions',
      'run',
      'eventarc',
      'pubsub',
      'storage',
      'cloudbuild',
      'artifactregistry',
    ]) {
      expect(list).toContain(`"${api}.googleapis.com"`);
    }
    expect(list).toMatch(
      /local\.use_vertex \? \["aiplatform\.googleapis\.com"\] : \["secretmanager\.googleapis\.com"\]/,
    );
  });

  it('exposes the outputs users need, including a ready-to-copy upload command', () => {
    const outputs = root.named('output');
    for (const name of [
      'input_bucket',
      'output_bucket',
      'topics',
      'function_urls',
      'service_accounts',
    ]) {
      expect(outputs.has(name), name).toBe(true);
    }
    expect(outputs.get('upload_example_command')?.value).toBe(
      'gcloud storage cp -r examples/drop/* gs://${google_storage_bucket.input.name}/',
    );
    for (const [name, output] of outputs) expect(typeof output.description, name).toBe('string');
  });

  it('ships a minimal example that uses the module with the packaged manifest', () => {
    const module = example.named('module').get('bananaflow');
    expect(module?.source).toBe('../..');
    expect(String(module?.package_manifest_path)).toContain('dist/functions/manifest.json');
    const rootVariables = root.named('variable');
    for (const [name, value] of Object.entries(module ?? {})) {
      if (name === 'source') continue;
      expect(rootVariables.has(name), `example passes unknown input ${name}`).toBe(true);
      expect(value).toBeDefined();
    }
    // Every root variable without a default is given by the example.
    for (const [name, variable] of rootVariables) {
      if (!('default' in variable))
        expect(module && name in module, `example sets ${name}`).toBe(true);
    }
  });
});
