import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parse } from '@cdktf/hcl2json';

/**
 * Helpers for asserting Terraform wiring offline: every .tf file is parsed to JSON with
 * @cdktf/hcl2json (blocks become arrays, expressions become "${...}" strings).
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface TfFile {
  path: string;
  text: string;
  json: JsonObject;
}

export async function listTfFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const item of await readdir(dir, { withFileTypes: true })) {
    if (item.name.startsWith('.')) continue; // .terraform/
    const full = join(dir, item.name);
    if (item.isDirectory()) found.push(...(await listTfFiles(full)));
    else if (item.name.endsWith('.tf')) found.push(full);
  }
  return found.sort();
}

export async function parseTfFiles(dir: string): Promise<TfFile[]> {
  const files: TfFile[] = [];
  for (const path of await listTfFiles(dir)) {
    const text = await readFile(path, 'utf8');
    const json = (await parse(relative(dir, path), text)) as JsonObject;
    files.push({ path, text, json });
  }
  return files;
}

/** A Terraform module as parsed JSON, merged across its files. */
export class TfModule {
  constructor(readonly files: readonly TfFile[]) {}

  /** Blocks of a kind keyed by type then name: resource/data (two labels). */
  private twoLabel(kind: 'resource' | 'data', type: string): Map<string, JsonObject> {
    const out = new Map<string, JsonObject>();
    for (const file of this.files) {
      const byType = file.json[kind];
      if (!isObject(byType)) continue;
      const byName = byType[type];
      if (!isObject(byName)) continue;
      for (const [name, blocks] of Object.entries(byName)) {
        if (!Array.isArray(blocks) || !isObject(blocks[0])) continue;
        if (out.has(name)) throw new Error(`duplicate ${kind} ${type}.${name}`);
        out.set(name, blocks[0]);
      }
    }
    return out;
  }

  resources(type: string): Map<string, JsonObject> {
    return this.twoLabel('resource', type);
  }

  resource(type: string, name: string): JsonObject {
    const found = this.resources(type).get(name);
    if (!found) throw new Error(`resource ${type}.${name} not found`);
    return found;
  }

  data(type: string): Map<string, JsonObject> {
    return this.twoLabel('data', type);
  }

  /** All resource types with their names. */
  allResources(): Array<{ type: string; name: string; body: JsonObject }> {
    const out: Array<{ type: string; name: string; body: JsonObject }> = [];
    for (const file of this.files) {
      const byType = file.json.resource;
      if (!isObject(byType)) continue;
      for (const [type, byName] of Object.entries(byType)) {
        if (!isObject(byName)) continue;
        for (const [name, blocks] of Object.entries(byName)) {
          if (Array.isArray(blocks) && isObject(blocks[0]))
            out.push({ type, name, body: blocks[0] });
        }
      }
    }
    return out;
  }

  /** Single-label blocks: variable, output, module. */
  named(kind: 'variable' | 'output' | 'module'): Map<string, JsonObject> {
    const out = new Map<string, JsonObject>();
    for (const file of this.files) {
      const byName = file.json[kind];
      if (!isObject(byName)) continue;
      for (const [name, blocks] of Object.entries(byName)) {
        if (Array.isArray(blocks) && isObject(blocks[0])) out.set(name, blocks[0]);
      }
    }
    return out;
  }

  locals(): JsonObject {
    const out: JsonObject = {};
    for (const file of this.files) {
      const blocks = file.json.locals;
      if (!Array.isArray(blocks)) continue;
      for (const block of blocks) {
        if (!isObject(block)) continue;
        for (const [key, value] of Object.entries(block)) {
          if (key in out) throw new Error(`duplicate local ${key}`);
          out[key] = value;
        }
      }
    }
    return out;
  }

  local(name: string): Json {
    const value = this.locals()[name];
    if (value === undefined) throw new Error(`local.${name} not found`);
    return value;
  }

  terraformBlocks(): JsonObject[] {
    return this.files.flatMap((f) =>
      Array.isArray(f.json.terraform) ? f.json.terraform.filter(isObject) : [],
    );
  }
}

/** The first (only) instance of a nested block, e.g. block(fn, 'service_config'). */
export function block(body: JsonObject, name: string): JsonObject {
  const value = body[name];
  if (!Array.isArray(value) || !isObject(value[0])) throw new Error(`no ${name} block`);
  return value[0];
}

export function blocks(body: JsonObject, name: string): JsonObject[] {
  const value = body[name];
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** The content of `dynamic "name" { content { ... } }` and its for_each expression. */
export function dynamicBlock(
  body: JsonObject,
  name: string,
): { forEach: string; content: JsonObject } | undefined {
  const dyn = body.dynamic;
  if (!isObject(dyn)) return undefined;
  const list = dyn[name];
  if (!Array.isArray(list) || !isObject(list[0])) return undefined;
  const content = block(list[0], 'content');
  return { forEach: String(list[0].for_each), content };
}

/** Every string anywhere in a JSON value, with the key it sits under. */
export function* strings(value: Json, key = ''): Generator<{ key: string; value: string }> {
  if (typeof value === 'string') yield { key, value };
  else if (Array.isArray(value)) for (const item of value) yield* strings(item, key);
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) yield* strings(v, k);
}

/** Resource/local references inside an expression string, e.g. "local.worker_env". */
export function references(expression: string, prefix: string): string[] {
  const pattern = new RegExp(`\\b${prefix.replace('.', '\\.')}[A-Za-z0-9_]+`, 'g');
  return [...new Set(expression.match(pattern) ?? [])];
}
