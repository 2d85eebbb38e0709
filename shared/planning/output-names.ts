import { posix } from 'node:path';
import { OUTPUT_EXTENSIONS, type OutputFormat } from '../sidecar/sidecar-schema.ts';

/**
 * Output names mirror the input folders and stay readable: `shoot/cat.edit.3f2a1b9c.png`.
 * The job id's prefix makes them unique, so an output is never overwritten and a changed
 * input or sidecar gives a new file beside the old one.
 */

const MAX_STEM = 80;

/** Keeps letters and digits of any script; anything else becomes '_'. */
export function safeNamePart(text: string): string {
  const cleaned = text
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._ -]+/gu, '_')
    .replace(/\s+/g, '-')
    .replace(/_+/g, '_')
    .replace(/^[._-]+/, '')
    .slice(0, MAX_STEM);
  return cleaned || 'image';
}

export function stemOf(name: string): string {
  const base = posix.basename(name);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

export function outputBase(parts: {
  folder: string;
  stem: string;
  label: string;
  variant: number;
  variants: number;
  jobId: string;
}): string {
  const label = parts.label ? `.${safeNamePart(parts.label)}` : '';
  const variant = parts.variants > 1 ? `.v${parts.variant}` : '';
  return `${parts.folder}${safeNamePart(parts.stem)}${label}${variant}.${parts.jobId.slice(0, 8)}`;
}

/** Names of everything a job writes, derived from its base. */
export function outputNames(base: string, format: OutputFormat) {
  const ext = OUTPUT_EXTENSIONS[format];
  return {
    image: `${base}.${ext}`,
    metadata: `${base}.${ext}.json`,
    error: `${base}.error.json`,
    rendition: (width: number) => `${base}.w${width}.${ext}`,
  };
}
