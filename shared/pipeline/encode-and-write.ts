import { BananaError } from '../errors.ts';
import {
  type EncodedOutput,
  encodeOutput,
  type SkippedRendition,
} from '../imaging/encode-output.ts';
import type { ModelImage } from '../ports/image-model.ts';
import type { JobRun } from './job-run.ts';
import type { ImageFileRecord } from './records.ts';
import { writeOutput } from './write-records.ts';

/** The output image and its renditions as written, for the metadata record. */
export type WrittenOutput = ImageFileRecord & {
  renditions: Array<ImageFileRecord & { renditionWidth: number }>;
  /** Requested renditions not made, with the reason (none when every one was made). */
  skippedRenditions?: SkippedRendition[];
};

/**
 * Encodes the model's image as the job asked (format, quality, renditions) and writes the output,
 * then each rendition and the report's thumbnail, create-only. The metadata record, written after,
 * marks the job done.
 */
export async function encodeAndWrite(run: JobRun, image: ModelImage): Promise<WrittenOutput> {
  const { deps, names, bucket } = run;
  const encoded = await encode(run, image);
  await writeOutput(deps, bucket, names.image, encoded.main.bytes, encoded.main.mimeType);
  deps.failpoint?.('output-written');
  const renditions = [];
  for (const r of encoded.renditions) {
    const renditionWidth = r.renditionWidth ?? r.width;
    const name = names.rendition(renditionWidth);
    await writeOutput(deps, bucket, name, r.bytes, r.mimeType);
    renditions.push({ ...fileRecord(run, name, r), renditionWidth });
  }
  // The run report's preview, by name beside the output (no record field: the report looks for it).
  const thumb = encoded.thumbnail;
  if (thumb) await writeOutput(deps, bucket, names.thumbnail, thumb.bytes, thumb.mimeType);
  const skipped = encoded.skippedRenditions;
  return {
    ...fileRecord(run, names.image, encoded.main),
    renditions,
    ...(skipped.length > 0 ? { skippedRenditions: skipped } : {}),
  };
}

async function encode(run: JobRun, image: ModelImage): Promise<EncodedOutput> {
  try {
    return await encodeOutput(image.bytes, run.job.output);
  } catch (error) {
    throw new BananaError({
      code: 'MODEL_NO_IMAGE',
      message: `The model's image could not be decoded: ${(error as Error).message}`,
      fix: 'Retry the job by uploading the sidecar again; report it if it persists.',
      cause: error,
    });
  }
}

function fileRecord(run: JobRun, name: string, image: EncodedOutput['main']): ImageFileRecord {
  return {
    uri: run.deps.uriOf(run.bucket, name),
    type: image.mimeType,
    width: image.width,
    height: image.height,
    bytes: image.bytes.length,
  };
}
