import type { ImageModel, ImageRequest, ModelOutcome } from '../shared/ports/image-model.ts';
import type {
  ObjectInfo,
  ObjectStore,
  ReadOptions,
  WriteOptions,
} from '../shared/ports/object-store.ts';

/**
 * Ports wrapped to see where a job's time goes: how long the model call took (what the bench
 * subtracts as "model time"), what was sent and answered, and the storage calls the worker made.
 */

export class TimedModel implements ImageModel {
  readonly backend: string;
  /** Wall time of every generate() call, in order. */
  readonly callMs: number[] = [];
  lastRequest: ImageRequest | undefined;
  lastOutcome: ModelOutcome | undefined;

  constructor(private readonly inner: ImageModel) {
    this.backend = inner.backend;
  }

  async generate(request: ImageRequest): Promise<ModelOutcome> {
    const started = performance.now();
    try {
      const outcome = await this.inner.generate(request);
      this.lastOutcome = outcome;
      return outcome;
    } finally {
      this.callMs.push(performance.now() - started);
      this.lastRequest = request;
    }
  }

  /** Total model time since the last take(), and forgets it. */
  take(): number {
    const total = this.callMs.reduce((s, v) => s + v, 0);
    this.callMs.length = 0;
    return total;
  }
}

export class TimedStore implements ObjectStore {
  calls = 0;
  ms = 0;

  constructor(private readonly inner: ObjectStore) {}

  async #timed<T>(call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await call();
    } finally {
      this.calls++;
      this.ms += performance.now() - started;
    }
  }

  stat(bucket: string, name: string): Promise<ObjectInfo | undefined> {
    return this.#timed(() => this.inner.stat(bucket, name));
  }
  read(bucket: string, name: string, options?: ReadOptions) {
    return this.#timed(() => this.inner.read(bucket, name, options));
  }
  write(bucket: string, name: string, bytes: Buffer, options?: WriteOptions) {
    return this.#timed(() => this.inner.write(bucket, name, bytes, options));
  }
  list(bucket: string, prefix: string, options?: { delimiter?: '/' }) {
    return this.#timed(() => this.inner.list(bucket, prefix, options));
  }
  delete(bucket: string, name: string, options?: { ifGenerationMatch?: string }) {
    return this.#timed(() => this.inner.delete(bucket, name, options));
  }
}

/** Routes each request to the model port serving its model id (one stand-in per model). */
export class RoutedModel implements ImageModel {
  readonly backend: string;

  constructor(
    private readonly routes: ReadonlyMap<string, ImageModel>,
    backend = 'offline-stand-in',
  ) {
    this.backend = backend;
  }

  generate(request: ImageRequest): Promise<ModelOutcome> {
    const model = this.routes.get(request.model);
    if (!model) throw new Error(`no model port routes ${request.model}`);
    return model.generate(request);
  }
}

/**
 * A model port that answers with a recorded outcome after a fixed delay and does no work: the
 * worker's share of a latency-bound run, without the stand-in's rendering on the same CPUs.
 */
export class ReplayModel implements ImageModel {
  readonly backend = 'replay';

  constructor(
    private readonly outcome: ModelOutcome,
    private readonly latencyMs: number,
  ) {}

  async generate(): Promise<ModelOutcome> {
    await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    return { ...this.outcome, modelMs: this.latencyMs };
  }
}
