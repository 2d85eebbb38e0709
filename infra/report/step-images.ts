import { z } from 'zod';
import { JobState } from '../../shared/pipeline/job-state.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';

/**
 * A refinement's earlier steps exist as images only in the job's checkpoint (the Gemini chat
 * history, kept under _bananaflow/ until a lifecycle rule removes it). The model's turns that
 * carry an image are the steps, in order. Anything else (no checkpoint, another adapter's state)
 * yields no images, and the page shows those steps as text.
 */
const geminiHistory = z.array(
  z.looseObject({
    role: z.string().optional(),
    parts: z
      .array(
        z.looseObject({
          inlineData: z
            .looseObject({ data: z.string(), mimeType: z.string().optional() })
            .optional(),
        }),
      )
      .optional(),
  }),
);

export async function readStepImages(
  store: ObjectStore,
  bucket: string,
  jobId: string,
): Promise<Buffer[]> {
  const checkpoint = await new JobState(store, bucket, jobId)
    .loadCheckpoint()
    .catch(() => undefined);
  const history = geminiHistory.safeParse(checkpoint?.conversation);
  if (!history.success) return [];
  return history.data
    .filter((turn) => turn.role === 'model')
    .flatMap((turn) => {
      const image = turn.parts?.find((part) => part.inlineData);
      return image?.inlineData ? [Buffer.from(image.inlineData.data, 'base64')] : [];
    });
}
