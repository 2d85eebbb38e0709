import { plural } from '../../shared/text/plural.ts';
import { gcsStoreFactory } from '../report/gcs-store-factory.ts';
import { type WrittenReport, writeReport } from '../report/write-report.ts';
import type { CliIo } from './cli-io.ts';
import { usd } from './render.ts';

/** `bananaflow report <out-folder | gs://bucket[/prefix]> [--out file.html] [--json]`. */
export async function reportCommand(
  target: string,
  out: string | undefined,
  ctx: { io: CliIo; json: boolean; env: NodeJS.ProcessEnv },
): Promise<number> {
  const report = await writeReport({ target, out, gcs: gcsStoreFactory(ctx.env) });
  if (ctx.json) {
    ctx.io.out.write(
      `${JSON.stringify({ report: report.path, totals: report.totals }, null, 2)}\n`,
    );
  } else {
    ctx.io.out.write(`${reportLine(report)}\n`);
  }
  return 0;
}

export function reportLine(report: WrittenReport): string {
  const { totals } = report;
  return `Report: ${report.path}\n        ${plural(totals.jobs, 'job')}, ${plural(totals.images, 'image')}, ${totals.failed} failed, ${usd(totals.costUsd)}`;
}

/**
 * The report at the end of `bananaflow run`: written into the output folder. A report that
 * cannot be written is said, never a reason to fail the run.
 */
export async function reportAfterRun(
  outDir: string,
  ctx: { io: CliIo; json: boolean },
): Promise<void> {
  try {
    // A local run's records name local files only: Cloud Storage is never reached.
    const report = await writeReport({ target: outDir, gcs: gcsStoreFactory(process.env) });
    // With --json, stdout holds the summary alone.
    (ctx.json ? ctx.io.err : ctx.io.out).write(`${reportLine(report)}\n`);
  } catch (error) {
    ctx.io.err.write(`bananaflow: could not write the report: ${(error as Error).message}\n`);
  }
}
