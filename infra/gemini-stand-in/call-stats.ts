import type { Usage } from '../../shared/catalog/cost.ts';
import type { FaultOutcome } from './faults.ts';
import type { WireUsageMetadata } from './protocol.ts';
import type { QuotaStats } from './quota.ts';
import { type BilledTokens, UsageTotals } from './usage.ts';

/** How the stand-in answered one generateContent call. */
export type CallOutcome = 'image' | FaultOutcome | `http-${number}`;

export interface CallRecord {
  callNumber: number;
  model: string;
  /** sha256 of model + all text parts of the request (see `requestKey`). */
  requestKey: string;
  /** Latest user message text, directives included: lets a test count calls per job prompt. */
  prompt: string;
  outcome: CallOutcome;
  /** HTTP status of the answer (200 also for hang/truncated/malformed). */
  status: number;
  /** The request's `serviceTier` ("flex"), or "batch" for a request answered inside a batch job. */
  tier?: string;
}

export interface StandInStats {
  /** generateContent requests received (admin endpoints not included). */
  totalCalls: number;
  byOutcome: Record<string, number>;
  /** Summed usageMetadata of every answered call that reported usage ("what the stand-in billed"). */
  usageMetadata: BilledTokens;
  /** The same, normalised like the pipeline does (`usageFromMetadata` + `addUsage`). */
  usage: Usage;
  /** The most recent calls, oldest first (at most MAX_CALL_RECORDS). */
  calls: CallRecord[];
  /** What the per-minute quota admitted and turned away, when the stand-in has one. */
  quota?: QuotaStats;
}

/** Enough for any test run; a long-running standalone stand-in forgets the oldest. */
const MAX_CALL_RECORDS = 50_000;

export class CallStats {
  private total = 0;
  private byOutcome = new Map<string, number>();
  private calls: CallRecord[] = [];
  private readonly billed = new UsageTotals();

  /** Reserves the next call number. */
  nextCallNumber(): number {
    this.total += 1;
    return this.total;
  }

  record(call: CallRecord, usage?: WireUsageMetadata): void {
    this.byOutcome.set(call.outcome, (this.byOutcome.get(call.outcome) ?? 0) + 1);
    this.calls.push(call);
    if (this.calls.length > MAX_CALL_RECORDS)
      this.calls.splice(0, this.calls.length - MAX_CALL_RECORDS);
    if (usage) this.billed.add(usage);
  }

  snapshot(): StandInStats {
    return {
      totalCalls: this.total,
      byOutcome: Object.fromEntries(this.byOutcome),
      ...this.billed.snapshot(),
      calls: this.calls.map((c) => ({ ...c })),
    };
  }

  reset(): void {
    this.total = 0;
    this.byOutcome.clear();
    this.calls = [];
    this.billed.reset();
  }
}
