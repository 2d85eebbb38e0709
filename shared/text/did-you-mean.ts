import { distance } from 'fastest-levenshtein';

/**
 * The candidate closest to a misspelt word, for "did you mean" hints: within a third of the
 * word's length in edits (at least one), compared case-insensitively. Undefined when nothing is
 * close enough to be a plausible typo.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** ` Did you mean "x"?` or an empty string. */
export function didYouMean(word: string, candidates: Iterable<string>, quote = '"'): string {
  const match = closest(word, candidates);
  return match === undefined ? '' : ` Did you mean ${quote}${match}${quote}?`;
}
