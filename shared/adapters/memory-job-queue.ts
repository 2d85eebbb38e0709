import { randomUUID } from 'node:crypto';
import { isBananaError } from '../errors.ts';
import type { JobResultEvent } from '../pipeline/result-event.ts';
import type { Job } from '../planning/job.ts';
import type { JobDelivery, JobQueue, RequestEventSink } from '../ports/job-queue.ts';
import type { RequestEvent } from '../requests/request-event.ts';

export interface MemoryQueueOptions {
  /** Deliveries in flight at once (the worker's concurrency). */
  concurrency: number;
  /** Deliveries of one message before it is dead-lettered (Pub/Sub maxDeliveryAttempts). */
  maxAttempts: number;
  /** Exponential backoff between redeliveries, as Pub/Sub's retry policy. */
  minBackoffMs: number;
  maxBackoffMs: number;
}

export type DeliveryHandler = (delivery: JobDelivery) => Promise<unknown>;

interface Message {
  id: string;
  data: string;
  attempt: number;
  deadLetter: boolean;
  lastError?: unknown;
}

/**
 * The in-process job queue of the embedded runner, with the delivery semantics the cloud has:
 * messages are copied (JSON, like Pub/Sub), a handler that throws is retried with exponential
 * backoff (at least the delay the error asks for), and after maxAttempts the message goes to the
 * dead-letter handler. Bounded concurrency is the worker's concurrency.
 */
export class MemoryJobQueue implements JobQueue, RequestEventSink {
  readonly results: JobResultEvent[] = [];
  readonly requestEvents: RequestEvent[] = [];
  readonly stats = { published: 0, deliveries: 0, retries: 0, deadLettered: 0, undeliverable: 0 };
  /** Messages that neither the worker nor the dead-letter handler could take (bugs, full disks). */
  readonly undeliverable: Array<{ job: unknown; messageId: string; error: unknown }> = [];
  private readonly ready: Message[] = [];
  private inFlight = 0;
  private scheduled = 0;
  private handler: DeliveryHandler | undefined;
  private deadLetterHandler: DeliveryHandler | undefined;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly resultListeners: Array<(event: JobResultEvent) => void> = [];

  constructor(private readonly options: MemoryQueueOptions) {}

  async publishJobs(jobs: readonly Job[]): Promise<void> {
    if (this.closed) return;
    for (const job of jobs) {
      this.ready.push({
        id: randomUUID(),
        data: JSON.stringify(job),
        attempt: 0,
        deadLetter: false,
      });
      this.stats.published++;
    }
    this.pump();
  }

  async publishResult(event: JobResultEvent): Promise<void> {
    const copy = JSON.parse(JSON.stringify(event)) as JobResultEvent;
    this.results.push(copy);
    for (const listener of this.resultListeners) listener(copy);
  }

  async publishRequestEvent(event: RequestEvent): Promise<void> {
    this.requestEvents.push(JSON.parse(JSON.stringify(event)) as RequestEvent);
  }

  onResult(listener: (event: JobResultEvent) => void): void {
    this.resultListeners.push(listener);
  }

  /** Starts delivering: jobs to the worker handler, exhausted ones to the dead-letter handler. */
  consume(handler: DeliveryHandler, deadLetter: DeliveryHandler): void {
    this.handler = handler;
    this.deadLetterHandler = deadLetter;
    this.pump();
  }

  /** Resolves when nothing is queued, in flight or waiting for a retry. */
  drain(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops for good (for tests and Ctrl-C): queued messages and pending retries are dropped,
   * nothing published or failed afterwards is delivered again; in-flight deliveries finish.
   */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.scheduled = 0;
    this.ready.length = 0;
    this.checkIdle();
  }

  private idle(): boolean {
    return this.ready.length === 0 && this.inFlight === 0 && this.scheduled === 0;
  }

  private checkIdle(): void {
    if (!this.idle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private pump(): void {
    if (!this.handler) return;
    while (this.inFlight < this.options.concurrency && this.ready.length > 0) {
      const message = this.ready.shift();
      if (message) void this.deliver(message);
    }
    this.checkIdle();
  }

  private async deliver(message: Message): Promise<void> {
    this.inFlight++;
    message.attempt++;
    this.stats.deliveries++;
    const handler = message.deadLetter ? this.deadLetterHandler : this.handler;
    try {
      await handler?.({
        job: JSON.parse(message.data),
        messageId: message.id,
        attempt: message.attempt,
      });
    } catch (error) {
      this.retry(message, error);
    } finally {
      this.inFlight--;
      this.pump();
    }
  }

  private retry(message: Message, error: unknown): void {
    message.lastError = error;
    if (this.closed) return;
    if (message.deadLetter && message.attempt >= 2 * this.options.maxAttempts) {
      // Even the dead-letter handler keeps failing: stop, and say so rather than loop forever.
      this.stats.undeliverable++;
      this.undeliverable.push({ job: JSON.parse(message.data), messageId: message.id, error });
      return;
    }
    if (!message.deadLetter && message.attempt >= this.options.maxAttempts) {
      // Keeps the attempt count, as Pub/Sub's delivery-attempt attribute does.
      message.deadLetter = true;
      message.attempt--;
      this.stats.deadLettered++;
      this.ready.push(message);
      return;
    }
    this.stats.retries++;
    const { minBackoffMs, maxBackoffMs } = this.options;
    const exponential = Math.min(maxBackoffMs, minBackoffMs * 2 ** (message.attempt - 1));
    const asked = isBananaError(error) ? (error.retryAfterMs ?? 0) : 0;
    const delay = Math.min(maxBackoffMs, Math.max(exponential, asked));
    this.scheduled++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.scheduled--;
      this.ready.push(message);
      this.pump();
    }, delay);
    this.timers.add(timer);
  }
}
