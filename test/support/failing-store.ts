import type { BananaError } from '../../shared/errors.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';

/** Wraps a store so chosen writes fail, as a crash or an outage at that point would. */
export function failingWrites(
  inner: ObjectStore,
  failure: (bucket: string, name: string) => BananaError | undefined,
): ObjectStore {
  return {
    stat: (bucket, name) => inner.stat(bucket, name),
    read: (bucket, name, options) => inner.read(bucket, name, options),
    list: (bucket, prefix, options) => inner.list(bucket, prefix, options),
    delete: (bucket, name, options) => inner.delete(bucket, name, options),
    write: async (bucket, name, bytes, options) => {
      const error = failure(bucket, name);
      if (error) throw error;
      return inner.write(bucket, name, bytes, options);
    },
  };
}
