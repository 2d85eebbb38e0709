/**
 * Where a job ran decides how it is tried again: in the cloud an upload of the sidecar re-plans
 * it; in the embedded runner the next `bananaflow run` on the drop does (it also retries
 * dead-lettered jobs by itself). Fixes are written in the cloud's words where they are made, and
 * worded for the runner when its records are written.
 */
export type JobSite = 'cloud' | 'local';

const LOCAL_WORDING: ReadonlyArray<readonly [RegExp, string]> = [
  [/ \(or upload the sidecar again\)/g, ''],
  [/upload the sidecar again to re-plan the job/g, 'run the drop again (`bananaflow run`)'],
  [/uploading the sidecar again/g, 'running the drop again (`bananaflow run`)'],
  [/upload the sidecar again/g, 'run the drop again (`bananaflow run`)'],
  [/upload the manifest again/g, 'run the drop again (`bananaflow run`)'],
  [/a new upload plans a new job/g, 'the next `bananaflow run` plans a new job'],
  [/lower worker concurrency or max instances/g, 'lower --concurrency'],
];

/** A fix worded for where its job ran. */
export function fixFor(fix: string, site: JobSite | undefined): string {
  if (site !== 'local') return fix;
  return LOCAL_WORDING.reduce((text, [cloud, local]) => text.replace(cloud, local), fix);
}
