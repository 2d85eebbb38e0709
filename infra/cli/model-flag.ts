import type { ModelCatalog } from '../../shared/catalog/model-catalog.ts';
import type { Config } from '../../shared/config.ts';
import { retiredModelError } from '../../shared/planning/model-checks.ts';

/** `--model` sets the model of sidecars that name none for this run, over BANANAFLOW_MODEL. */
export function withModelFlag(config: Config, flag: string | undefined): Config {
  return flag ? { ...config, BANANAFLOW_MODEL: flag } : config;
}

/**
 * The run's default model must exist and still be served: an unknown id throws MODEL_UNKNOWN
 * (with did-you-mean), a shut-down one MODEL_RETIRED, before anything is planned.
 */
export function checkDefaultModel(catalog: ModelCatalog, id: string): void {
  const model = catalog.resolve(id);
  const retired = retiredModelError(model, catalog, id);
  if (retired) throw retired;
}
