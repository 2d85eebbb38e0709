import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { BananaError } from '../../shared/errors.ts';
import { readRecords } from './read-records.ts';
import { renderReport } from './render-report.ts';
import { type ReportJob, toReportJob } from './report-jobs.ts';
import { filesDirOf, type GcsStoreFactory, openReportLocation } from './report-location.ts';
import { type ReportTotals, reportTotals } from './report-totals.ts';
import { makeThumbnails, sourceKey } from './thumbnails.ts';

export interface WriteReportOptions {
  /** An output folder, or gs://bucket[/prefix]. */
  target: string;
  /** The HTML file to write; default: report.html in the folder (or `<bucket>-report.html` here). */
  out?: string | undefined;
  /** Cloud Storage for gs:// targets and gs:// inputs. */
  gcs: GcsStoreFactory;
  now?: () => Date;
  /** False: no thumbnails, every image a placeholder (the bench's baseline page). */
  thumbnails?: boolean;
}

export interface WrittenReport {
  path: string;
  /** The thumbnails' folder beside the report. */
  filesDir: string;
  jobs: ReportJob[];
  totals: ReportTotals;
}

/**
 * `bananaflow report`: reads every record of an output folder or bucket, makes thumbnails with
 * sharp into a folder beside the report (copying the ones the worker wrote beside its outputs,
 * removing the ones no record shows any more), and writes one self-contained HTML page.
 */
export async function writeReport(options: WriteReportOptions): Promise<WrittenReport> {
  const location = await openReportLocation(options.target, options.gcs);
  const { store, bucket, prefix } = location;
  // One listing: the records, and the versions and worker thumbnails of the outputs.
  const objects = await store.list(bucket, prefix);
  const entries = await readRecords(store, bucket, prefix, objects);
  if (entries.length === 0) {
    throw new BananaError({
      code: 'INPUT_MISSING',
      message: `${options.target} holds no bananaflow records (no X.json beside an output, no .error.json).`,
      fix: 'Give the output folder of a run (the --out of `bananaflow run`) or gs://bucket[/prefix] of the output bucket.',
    });
  }
  const jobs = entries.map(toReportJob);
  const path = resolve(options.out ?? location.defaultReportPath);
  const filesDir = filesDirOf(path);
  const thumbnails =
    options.thumbnails === false
      ? new Map()
      : await makeThumbnails(jobs, { location, reportDir: dirname(path), filesDir, objects });
  const totals = reportTotals(jobs);
  const html = renderReport({
    label: location.label,
    generatedAt: (options.now ?? (() => new Date()))(),
    jobs,
    totals,
    thumbs: (slot) => thumbnails.get(sourceKey(slot.source)),
  });
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, html);
  return { path, filesDir, jobs, totals };
}
