/**
 * Images per minute by model id; `*` applies to every model not named. Each model call asks for
 * one image, so a model's IPM is the number of calls the governor lets start per minute.
 */
export type ImagesPerMinute = Readonly<Record<string, number>>;

/**
 * Reads an images-per-minute quota as given on the command line (`--ipm`) or in BANANAFLOW_IPM:
 * `120` (every model), or per model `gemini-2.5-flash-image=500,gemini-3-pro-image=20` (`*=N`
 * for the models not named). Returns the problem as text when it is not one.
 */
export function parseImagesPerMinute(
  text: string,
): { ok: true; value: ImagesPerMinute } | { ok: false; problem: string } {
  const value: Record<string, number> = {};
  const entries = text.includes('=') ? text.split(',') : [`*=${text}`];
  for (const entry of entries) {
    const [model = '', count = ''] = entry.split('=').map((part) => part.trim());
    const number = /^\d+$/.test(count) ? Number(count) : Number.NaN;
    if (!model || !(Number.isSafeInteger(number) && number > 0)) {
      return {
        ok: false,
        problem: `must be a whole number of images per minute > 0 (or model=N,... per model), not "${text}"`,
      };
    }
    value[model] = number;
  }
  return { ok: true, value };
}
