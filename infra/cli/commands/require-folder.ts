import { stat } from 'node:fs/promises';
import { UsageError } from '../usage-error.ts';

/** A usage error unless `path` is a folder; `why` says what the folder is for. */
export async function requireFolder(path: string, why: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UsageError(`${path} does not exist (${why}).`);
  if (!info.isDirectory()) throw new UsageError(`${path} is not a folder (${why}).`);
}
