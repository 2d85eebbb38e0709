import type { ObjectStore } from '../../shared/ports/object-store.ts';
import type { GcsStoreFactory } from './report-location.ts';

/**
 * Cloud Storage for the report, created on first use (a local report never loads the client):
 * Application Default Credentials, or the server at STORAGE_EMULATOR_HOST (no credentials, as
 * the client does for any custom endpoint).
 */
export function gcsStoreFactory(env: NodeJS.ProcessEnv): GcsStoreFactory {
  let store: Promise<ObjectStore> | undefined;
  return () => {
    store ??= (async () => {
      const [{ Storage }, { GcsObjectStore }] = await Promise.all([
        import('@google-cloud/storage'),
        import('../../shared/adapters/gcs-object-store.ts'),
      ]);
      const endpoint = env.STORAGE_EMULATOR_HOST;
      return new GcsObjectStore(new Storage(endpoint ? { apiEndpoint: endpoint } : {}));
    })();
    return store;
  };
}
