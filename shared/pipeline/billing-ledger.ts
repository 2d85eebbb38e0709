import {
  addUsage,
  type Cost,
  costFromUsage,
  subtractUsage,
  type Usage,
  ZERO_USAGE,
} from '../catalog/cost.ts';
import type { ModelInfo } from '../catalog/model-catalog.ts';
import type { Tier } from '../catalog/tiers.ts';
import type { Job } from '../planning/job.ts';
import type { ConversationCheckpoint } from '../ports/image-model.ts';
import type { RecordDeps } from '../ports/worker-deps.ts';
import type { JobState } from './job-state.ts';

/** Usage and what it costs at the catalog's prices. */
export interface Billed {
  usage: Usage;
  cost: Cost;
}

/**
 * The one owner of "paid once" accounting for a job. Three amounts:
 *   spent         this delivery's conversation so far (a resumed checkpoint included)
 *   checkpointed  what the latest refinement checkpoint holds: a retry goes on from there, so it
 *                 is never paid again and never counted twice
 *   billed        usage of earlier failed attempts, kept in the job's state (billed-usage.json)
 * A job's final record charges the answer plus `billed`; a failure charges `billed` plus the
 * persisted answer or, failing that, the checkpoint.
 */
export class BillingLedger {
  private spent: Usage = ZERO_USAGE;
  private checkpointed: Usage = ZERO_USAGE;

  constructor(
    private readonly state: JobState,
    private readonly model: ModelInfo,
    private readonly priceTableVersion: string,
    /** The job's tier: every cost of the job is at its prices (batch and flex are discounted). */
    private readonly tier?: Tier,
  ) {}

  /** The ledger of a job's state, priced with the catalog's entry for the job's model. */
  static forJob(deps: Pick<RecordDeps, 'catalog'>, job: Job, state: JobState): BillingLedger {
    return new BillingLedger(
      state,
      deps.catalog.resolve(job.model),
      deps.catalog.priceTableVersion,
      job.tier,
    );
  }

  /** A refinement goes on from a checkpoint: its steps are spent already, and kept. */
  resumeFrom(checkpoint: ConversationCheckpoint): void {
    this.spent = checkpoint.usage;
    this.checkpointed = checkpoint.usage;
  }

  /** One more answered turn; returns what the conversation has cost so far, in USD. */
  turnAnswered(usage: Usage): number {
    this.spent = addUsage(this.spent, usage);
    return this.cost(this.spent).total;
  }

  /** A checkpoint was persisted: its usage will not be paid again. */
  checkpointKept(checkpoint: ConversationCheckpoint): void {
    this.checkpointed = checkpoint.usage;
  }

  /**
   * A delivery stops without a persisted answer: what it was billed beyond the checkpoint is
   * billed for good (a retry pays it again). `spent` is the outcome's usage when the model
   * answered with a retryable failure, else the turns counted so far.
   */
  async keepUnkept(spent: Usage = this.spent): Promise<void> {
    const unkept = subtractUsage(spent, this.checkpointed);
    if (unkept.totalTokens === 0) return;
    const earlier = (await this.state.loadBilledUsage()) ?? ZERO_USAGE;
    await this.state.saveBilledUsage(addUsage(earlier, unkept));
  }

  /** What a job that got an answer costs: the answer plus earlier failed attempts. */
  async total(answer: Usage): Promise<Billed & { retried: Usage }> {
    const retried = (await this.state.loadBilledUsage()) ?? ZERO_USAGE;
    const usage = addUsage(answer, retried);
    return { usage, retried, cost: this.cost(usage) };
  }

  /**
   * What a job that ends in failure was billed for over all its deliveries: failed attempts, plus
   * the persisted answer or else the refinement's checkpoint. Undefined when nothing was billed.
   */
  async forFailure(): Promise<Billed | undefined> {
    const answered =
      (await this.state.loadModelResultRecord())?.usage ??
      (await this.state.loadCheckpoint())?.usage ??
      ZERO_USAGE;
    const usage = addUsage((await this.state.loadBilledUsage()) ?? ZERO_USAGE, answered);
    return usage.totalTokens > 0 ? { usage, cost: this.cost(usage) } : undefined;
  }

  cost(usage: Usage): Cost {
    return costFromUsage(this.model, usage, this.priceTableVersion, { tier: this.tier });
  }
}
