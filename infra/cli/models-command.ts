import { parseArgs } from 'node:util';
import { type LiveModel, listLiveModels } from '../../shared/adapters/gemini-model-list.ts';
import { costFromUsage, outputImageTokensFor, ZERO_USAGE } from '../../shared/catalog/cost.ts';
import {
  loadModelCatalog,
  type ModelCatalog,
  type ModelInfo,
} from '../../shared/catalog/model-catalog.ts';
import { type Config, geminiBackend, loadConfig } from '../../shared/config.ts';
import { startGeminiStandIn } from '../gemini-stand-in/server.ts';
import type { CliIo } from './cli-io.ts';
import { table } from './render.ts';

/**
 * `bananaflow models [--live] [--json]`: the catalog as a table (lifecycle, sizes, the price of one
 * output image at each size, standard and batch); with --live, what the configured backend lists
 * against what the catalog believes, so lifecycle drift shows before a job meets it.
 */

/** USD for the output image alone at one size (the "per image" price Google quotes). */
export function imagePriceUsd(model: ModelInfo, size: string, batch = false): number {
  const usage = { ...ZERO_USAGE, outputImageTokens: outputImageTokensFor(model, size) };
  return costFromUsage(model, usage, '', { batch }).total;
}

/** Sizes a model can be asked for; a model with one fixed size shows that one. */
const sizesOf = (m: ModelInfo) => (m.imageSizes.length > 0 ? m.imageSizes : [m.defaultImageSize]);

export function catalogRows(catalog: ModelCatalog) {
  return catalog.models.map((m) => ({
    id: m.id,
    name: m.displayName ?? m.id,
    default: m.id === catalog.defaultModel.id,
    status: m.lifecycle.status,
    shutdown: m.lifecycle.shutdown,
    replacement:
      m.lifecycle.status === 'shut-down' || m.lifecycle.status === 'deprecated'
        ? catalog.liveReplacement(m).id
        : undefined,
    restrictions: m.lifecycle.restrictions,
    sizes: sizesOf(m),
    aspectRatios: m.aspectRatios,
    thinking: m.thinking ? m.thinking.levels : [],
    grounding: m.grounding,
    batch: m.batch,
    flex: m.flex,
    maxInputImages: m.maxInputImages,
    pricePerImageUsd: Object.fromEntries(
      sizesOf(m).map((size) => [
        size,
        {
          standard: imagePriceUsd(m, size),
          ...(m.batch ? { batch: imagePriceUsd(m, size, true) } : {}),
        },
      ]),
    ),
    groundingUsdPerRequest: m.groundingUsdPerRequest,
    priceConfidence: m.confidence?.prices ?? 'google',
    checked: m.lifecycle.checked,
  }));
}

function catalogTable(catalog: ModelCatalog): string {
  const rows = [
    ['id', 'status', 'shutdown → use', 'sizes', 'per image (standard / batch)', 'prices'],
  ];
  for (const r of catalogRows(catalog)) {
    const prices = r.sizes
      .map((s) => {
        const p = r.pricePerImageUsd[s];
        return `${s} $${p?.standard.toFixed(4)}${p?.batch === undefined ? '' : ` / $${p.batch.toFixed(4)}`}`;
      })
      .join(', ');
    rows.push([
      `${r.id}${r.default ? ' (default)' : ''}`,
      r.status,
      r.replacement ? `${r.shutdown ?? '?'} → ${r.replacement}` : (r.shutdown ?? ''),
      r.sizes.join(' '),
      prices,
      r.priceConfidence,
    ]);
  }
  return table(rows);
}

/** Catalog against the live list: live, not listed (gone?), and live image models we cannot price. */
export function compareLive(catalog: ModelCatalog, live: readonly LiveModel[]) {
  const listed = new Set(live.map((m) => m.id));
  const known = new Set(catalog.models.flatMap((m) => [m.id, ...m.aliases]));
  return {
    catalog: catalog.models.map((m) => ({
      id: m.id,
      status: m.lifecycle.status,
      live: listed.has(m.id),
      /** Listed or not as the catalog expects (shut-down ids should be gone). */
      asExpected: listed.has(m.id) !== (m.lifecycle.status === 'shut-down'),
    })),
    missingFromCatalog: live
      .filter((m) => catalog.liveImageModelPattern.test(m.id) && !known.has(m.id))
      .map((m) => m.id),
  };
}

const OVERRIDE_HINT = (id: string) =>
  `BANANAFLOW_MODEL_OVERRIDES='[{"id":"${id}","pricesPerMillionTokens":{"inputText":0,"inputImage":0,"outputText":0,"outputImage":0},"outputImageTokens":{"1K":1120}}]' (fill in its list prices)`;

/** `bananaflow models [--live] [--json]`: parses its own flags, loads config and catalog. */
export async function modelsMain(
  args: string[],
  env: NodeJS.ProcessEnv,
  io: CliIo,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      live: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const config = loadConfig(env);
  const catalog = loadModelCatalog(config.BANANAFLOW_MODEL_OVERRIDES);
  return modelsCommand({ live: values.live, json: values.json }, { config, catalog, io });
}

export async function modelsCommand(
  options: { live: boolean; json: boolean },
  ctx: { config: Config; catalog: ModelCatalog; io: CliIo },
): Promise<number> {
  const { catalog, io } = ctx;
  if (!options.live) {
    if (options.json) {
      const body = { priceTableVersion: catalog.priceTableVersion, models: catalogRows(catalog) };
      io.out.write(`${JSON.stringify(body, null, 2)}\n`);
    } else {
      io.out.write(
        `${catalogTable(catalog)}\n\nPrices: list prices of price table ${catalog.priceTableVersion}, per output image (input, thinking and grounding extra). "third-party" prices are unconfirmed by Google.\n`,
      );
    }
    return 0;
  }
  const { models, pages, backend, close } = await listFromBackend(ctx.config);
  try {
    const report = compareLive(catalog, models);
    if (options.json) {
      io.out.write(`${JSON.stringify({ backend, pages, ...report }, null, 2)}\n`);
    } else {
      io.out.write(`${liveText(report, backend, pages)}\n`);
    }
    return report.catalog.every((m) => m.asExpected) && report.missingFromCatalog.length === 0
      ? 0
      : 1;
  } finally {
    await close();
  }
}

function liveText(report: ReturnType<typeof compareLive>, backend: string, pages: number): string {
  const rows = [['id', 'catalog status', 'live']];
  for (const m of report.catalog) {
    const live = m.live
      ? 'listed'
      : m.status === 'shut-down'
        ? 'not listed (shut down, as expected)'
        : 'NOT LISTED: the catalog thinks it is live; calls will 404';
    rows.push([m.id, m.status, live]);
  }
  const missing = report.missingFromCatalog.map(
    (id) => `  ${id}: live but not in the catalog; to use it, price it with ${OVERRIDE_HINT(id)}`,
  );
  return [
    `Models listed by ${backend} (${pages} pages):`,
    table(rows),
    ...(missing.length > 0 ? ['', 'Live image models missing from the catalog:', ...missing] : []),
  ].join('\n');
}

/** The configured backend's list; without credentials, the offline stand-in's. */
async function listFromBackend(config: Config) {
  const backend = geminiBackend(config);
  if (backend) {
    const where =
      backend.kind === 'vertex-ai'
        ? `Vertex AI (${backend.project}, ${backend.location})`
        : `the Gemini API${backend.baseUrl ? ` at ${backend.baseUrl}` : ''}`;
    return { ...(await listLiveModels(backend)), backend: where, close: async () => {} };
  }
  const standIn = await startGeminiStandIn({ port: 0 });
  try {
    const listed = await listLiveModels({
      kind: 'gemini-api',
      apiKey: 'offline-stand-in',
      baseUrl: standIn.url,
    });
    return { ...listed, backend: 'the offline stand-in', close: () => standIn.close() };
  } catch (error) {
    await standIn.close();
    throw error;
  }
}
