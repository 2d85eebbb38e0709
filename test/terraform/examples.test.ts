import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTfFiles, type TfFile, TfModule } from './hcl.ts';

const tfDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'terraform');
const EXAMPLES = ['minimal', 'vertex'] as const;

describe('terraform examples', () => {
  let files: TfFile[];
  let root: TfModule;
  const exampleModule = (name: string) =>
    new TfModule(files.filter((f) => f.path.startsWith(join(tfDir, 'examples', name) + sep)));

  beforeAll(async () => {
    files = await parseTfFiles(tfDir);
    root = new TfModule(files.filter((f) => !f.path.startsWith(join(tfDir, 'examples') + sep)));
  });

  it.each(EXAMPLES)('%s: calls the module with known inputs and every required one', (name) => {
    const example = exampleModule(name);
    const module = example.named('module').get('bananaflow');
    expect(module?.source).toBe('../..');
    expect(String(module?.package_manifest_path)).toContain('dist/functions/manifest.json');
    const rootVariables = root.named('variable');
    for (const input of Object.keys(module ?? {})) {
      if (input !== 'source') expect(rootVariables.has(input), `unknown input ${input}`).toBe(true);
    }
    for (const [variable, spec] of rootVariables) {
      if (!('default' in spec)) expect(module && variable in module, `sets ${variable}`).toBe(true);
    }
    for (const [variable, spec] of example.named('variable')) {
      expect(typeof spec.type, `${variable}.type`).toBe('string');
      expect(String(spec.description ?? '').length, `${variable}.description`).toBeGreaterThan(10);
    }
  });

  it.each(EXAMPLES)('%s: every output reads an output the module has', (name) => {
    const moduleOutputs = root.named('output');
    for (const [output, spec] of exampleModule(name).named('output')) {
      const used = String(spec.value).match(/module\.bananaflow\.([a-z_]+)/)?.[1];
      expect(used && moduleOutputs.has(used), `${output} reads module.bananaflow.${used}`).toBe(
        true,
      );
    }
  });

  it('vertex: deploys without any API key or secret', () => {
    const example = exampleModule('vertex');
    const module = example.named('module').get('bananaflow') ?? {};
    expect(module.gemini_backend).toBe('vertex-ai');
    expect('gemini_api_key_secret_id' in module).toBe(false);
    expect([...example.named('variable').keys()].some((v) => /key|secret/.test(v))).toBe(false);
  });
});
