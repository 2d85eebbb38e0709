/**
 * Maps with at most `limit` calls of `fn` in flight; results keep the items' order. A failure
 * stops it: no item starts after it, the calls in flight finish (none goes on writing after the
 * caller has given up, e.g. after a batch tick released its lease), then the first failure is
 * thrown.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const index = next++;
      results[index] = await fn(items[index] as T).catch((error: unknown) => {
        failed = true;
        throw error;
      });
    }
  };
  const workers = Array.from({ length: Math.min(limit, items.length) }, worker);
  const failure = (await Promise.allSettled(workers)).find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}
