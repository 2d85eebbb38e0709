/** Edit distance (insert, delete, substitute, each 1) between two strings. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitute));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidates closest to `name` (case-insensitive), at most `max`, only those close enough to
 * be a plausible typo or shortening: within a third of the longer name's length, or containing it.
 */
export function closestNames(name: string, candidates: readonly string[], max = 2): string[] {
  const wanted = name.toLowerCase();
  return candidates
    .map((candidate) => {
      const lower = candidate.toLowerCase();
      const distance = lower.includes(wanted) ? 0.5 : editDistance(wanted, lower);
      return { candidate, distance, limit: Math.max(wanted.length, lower.length) / 3 };
    })
    .filter((c) => c.distance <= c.limit)
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, max)
    .map((c) => c.candidate);
}
