import type { ModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { BananaError, toBananaError } from '../../shared/errors.ts';
import { inspectInput } from '../../shared/imaging/prepare-input.ts';
import type { DropPlan } from '../../shared/pipeline/plan-drop.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';

/**
 * For `validate` and `estimate`: the header checks the worker makes on every planned input (empty
 * file, not an image, over the pixel or byte limit, cut short), without decoding or calling any
 * model. A broken input becomes a problem of each sidecar that uses it, so validate fails on what
 * the run would fail on. Its jobs stay in the plan (and the estimate): `run` plans them too and
 * they fail there with the same code, so both report the same jobs and the same estimate.
 */
export async function inspectPlannedInputs(
  plan: DropPlan,
  deps: { store: ObjectStore; catalog: ModelCatalog; maxInputBytes: number; maxPixels: number },
): Promise<DropPlan> {
  const broken = new Map<string, BananaError>();
  const seen = new Set<string>();
  for (const job of plan.jobs) {
    const longEdgePx = deps.catalog.resolve(job.model).inputLongEdgePx;
    for (const input of job.inputs) {
      const key = `${input.bucket}/${input.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      try {
        const { bytes } = await deps.store.read(input.bucket, input.name, {
          maxBytes: deps.maxInputBytes,
        });
        await inspectInput(bytes, { name: input.name, maxPixels: deps.maxPixels, longEdgePx });
      } catch (error) {
        broken.set(key, toBananaError(error));
      }
    }
  }
  if (broken.size === 0) return plan;

  const sidecars = plan.sidecars.map((s) => {
    const reported = new Set<string>();
    const problems = [...s.problems];
    for (const job of s.jobs) {
      for (const input of job.inputs) {
        const key = `${input.bucket}/${input.name}`;
        const error = broken.get(key);
        if (!error || reported.has(key)) continue;
        reported.add(key);
        problems.push(
          new BananaError({
            code: error.code,
            message: `${error.message} (${input.role} of ${s.sidecar})`,
            ...(error.fix ? { fix: error.fix } : {}),
            details: { ...error.details, file: input.name, sidecar: s.sidecar },
          }),
        );
      }
    }
    return { ...s, problems };
  });
  return { ...plan, sidecars };
}
