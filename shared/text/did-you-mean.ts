import { distance } from 'fastest-levenshtein';

/**
 * The candidate closest to a misspelt word, for "did you mean" hints: within a third of the
 * word's length in edits (at least two, so a swapped pair counts), compared case-insensitively.
 * Undefined when nothing is close enough to be a plausible typo.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
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

/** ` Did you mean "x"?` or an empty string; `show` formats the match (e.g. as `--x`). */
export function didYouMean(
  word: string,
  candidates: Iterable<string>,
  show: (match: string) => string = (match) => `"${match}"`,
): string {
  const match = closest(word, candidates);
  return match === undefined ? '' : ` Did you mean ${show(match)}?`;
}
