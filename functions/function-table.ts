/**
 * The one table of bananaflow's functions, read by the runtime (functions/runtime.ts), the
 * emulator stack (infra/emulator) and packaging (infra/package). A new function is one row here
 * plus its entry folder.
 */
export const FUNCTIONS = [
  {
    name: 'ingest',
    entry: 'functions/ingest/index.ts',
    entryPoint: 'ingest',
    signatureType: 'cloudevent',
  },
  {
    name: 'worker',
    entry: 'functions/worker/index.ts',
    entryPoint: 'worker',
    signatureType: 'cloudevent',
  },
  {
    name: 'dead-letter',
    entry: 'functions/dead-letter/index.ts',
    entryPoint: 'deadLetter',
    signatureType: 'cloudevent',
  },
  {
    name: 'requests',
    entry: 'functions/requests/index.ts',
    entryPoint: 'requests',
    signatureType: 'cloudevent',
  },
  {
    name: 'budget-guard',
    entry: 'functions/budget-guard/index.ts',
    entryPoint: 'budgetGuard',
    signatureType: 'cloudevent',
  },
  {
    name: 'batch-tick',
    entry: 'functions/batch-tick/index.ts',
    entryPoint: 'batchTick',
    signatureType: 'cloudevent',
  },
] as const satisfies readonly FunctionRow[];

export interface FunctionRow {
  /** Deployed name, zip base name and manifest key (e.g. "dead-letter"). */
  name: string;
  /** Entry file, relative to the repository root. */
  entry: string;
  /** What the entry registers with the functions framework (the build's entry point). */
  entryPoint: string;
  /** How the framework calls it: a CloudEvent (Eventarc, Pub/Sub push) or plain HTTP. */
  signatureType: 'cloudevent' | 'http';
}

/** A function's entry point, e.g. 'deadLetter'. */
export type FunctionName = (typeof FUNCTIONS)[number]['entryPoint'];

export const FUNCTION_NAMES: readonly FunctionName[] = FUNCTIONS.map((f) => f.entryPoint);
