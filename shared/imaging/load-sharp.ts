import type sharpModule from 'sharp';

type SharpFactory = typeof sharpModule;
let loading: Promise<SharpFactory> | undefined;

/**
 * sharp (native libvips) is loaded on first use, not at import: a function instance is ready to
 * serve sooner (cold start), and code paths that never touch pixels never load it.
 */
export function loadSharp(): Promise<SharpFactory> {
  loading ??= import('sharp').then((module) => module.default);
  return loading;
}
