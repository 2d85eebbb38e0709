import { z } from 'zod';
import { BananaError } from '../errors.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { PIPELINE_PREFIX } from '../sidecar/drop-files.ts';

/**
 * `_bananaflow/deployment.json`, written by Terraform (terraform/deployment-marker.tf) into the
 * input and the output bucket: from either bucket's URL the CLI finds the other and the topics,
 * and a bucket without it is not bananaflow's (the CLI refuses to plan, publish or pause there).
 */
export const DEPLOYMENT_MARKER_NAME = `${PIPELINE_PREFIX}deployment.json`;

export const deploymentMarkerSchema = z.object({
  schemaVersion: z.literal(1),
  project: z.string().min(1),
  namePrefix: z.string().optional(),
  inputBucket: z.string().min(1),
  outputBucket: z.string().min(1),
  topics: z.object({ jobs: z.string().min(1), results: z.string().min(1) }),
  model: z.string().optional(),
});
export type DeploymentMarker = z.infer<typeof deploymentMarkerSchema>;

export async function readDeploymentMarker(
  store: ObjectStore,
  bucket: string,
): Promise<DeploymentMarker> {
  const notOurs = (why: string) =>
    new BananaError({
      code: 'CONFIG_INVALID',
      message: `gs://${bucket} is not a bananaflow bucket: ${why}.`,
      fix: 'Give the input or output bucket of a bananaflow deployment (`terraform output input_bucket` / `output_bucket`); `terraform apply` writes _bananaflow/deployment.json into both.',
      details: { bucket },
    });
  let bytes: Buffer;
  try {
    ({ bytes } = await store.read(bucket, DEPLOYMENT_MARKER_NAME, { maxBytes: 64 * 1024 }));
  } catch (error) {
    if (error instanceof BananaError && error.code === 'STORAGE_NOT_FOUND') {
      throw notOurs(`it has no ${DEPLOYMENT_MARKER_NAME}`);
    }
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw notOurs(`${DEPLOYMENT_MARKER_NAME} is not JSON`);
  }
  const parsed = deploymentMarkerSchema.safeParse(value);
  if (!parsed.success) throw notOurs(`${DEPLOYMENT_MARKER_NAME}: ${z.prettifyError(parsed.error)}`);
  if (bucket !== parsed.data.inputBucket && bucket !== parsed.data.outputBucket) {
    throw notOurs(
      `its marker names other buckets (${parsed.data.inputBucket}, ${parsed.data.outputBucket})`,
    );
  }
  return parsed.data;
}
