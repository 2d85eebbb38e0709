import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { usd } from './format.ts';
import { html, type SafeHtml, trusted } from './html.ts';
import { renderCard, type ThumbnailLookup } from './render-card.ts';
import type { ReportJob } from './report-jobs.ts';
import type { ReportTotals } from './report-totals.ts';

/**
 * The report page: one self-contained HTML file (its stylesheet and script inline, thumbnails in
 * the folder beside it), readable from file:// with no network. A Content-Security-Policy allows
 * only the page's own script (by hash), so even markup that escaped escaping could not run.
 */

const page = (name: string) => readFileSync(new URL(`./page/${name}`, import.meta.url), 'utf8');
const STYLE = page('report.css');
const SCRIPT = page('report.js');
const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');
const CSP = `default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; script-src 'sha256-${SCRIPT_HASH}'`;

export interface ReportPage {
  label: string;
  generatedAt: Date;
  jobs: readonly ReportJob[];
  totals: ReportTotals;
  thumbs: ThumbnailLookup;
}

export function renderReport(report: ReportPage): string {
  const { totals } = report;
  const runs = [...new Set(report.jobs.map((job) => job.runId).filter(Boolean))].sort();
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<link rel="icon" href="data:,">
<title>bananaflow report: ${report.label}</title>
<style>${trusted(STYLE)}</style>
</head>
<body>
<header>
<h1>bananaflow report <span class="where">${report.label}</span></h1>
<p class="meta">generated ${report.generatedAt.toISOString()} · ${runs.length} run${runs.length === 1 ? '' : 's'}${runs.length > 0 && runs.length <= 3 ? `: ${runs.join(', ')}` : ''}</p>
</header>
${renderTotals(totals)}
${renderControls(totals)}
<main id="cards">
${renderUnits(report.jobs, report.thumbs)}
</main>
<p id="none" hidden>No job matches these filters.</p>
<script>${trusted(SCRIPT)}</script>
</body>
</html>
`.text;
}

function renderTotals(totals: ReportTotals): SafeHtml {
  const figure = (key: keyof ReportTotals, label: string, shown?: string) =>
    html`<div><dt>${label}</dt><dd data-total="${key}" data-value="${totals[key] as number}">${shown ?? totals[key]}</dd></div>`;
  return html`<section id="totals" aria-label="Totals">
<dl class="figures">${[
    figure('jobs', 'jobs'),
    figure('images', 'images'),
    figure('failed', 'failed'),
    figure('sidecarProblems', 'sidecar problems'),
    figure('unreadable', 'unreadable records'),
    figure('costUsd', 'cost', usd(totals.costUsd)),
  ]}</dl>
<div class="breakdowns">${[
    breakdown('costByModel', 'Cost by model', totals.costByModel, usd),
    breakdown('costByTag', 'Cost by tag', totals.costByTag, usd),
    breakdown('costByTier', 'Cost by tier', totals.costByTier, usd),
    breakdown('failedByCode', 'Failures by code', totals.failedByCode, String),
  ]}</div>
</section>`;
}

function breakdown(
  id: string,
  title: string,
  values: Record<string, number>,
  show: (value: number) => string,
): SafeHtml {
  const rows = Object.entries(values).sort(([a], [b]) => a.localeCompare(b));
  return html`<table data-breakdown="${id}"><caption>${title}</caption><tbody>${
    rows.length > 0
      ? rows.map(
          ([key, value]) =>
            html`<tr data-key="${key}"><th scope="row">${key}</th><td data-value="${value}">${show(value)}</td></tr>`,
        )
      : html`<tr><td class="empty">none</td></tr>`
  }</tbody></table>`;
}

function renderControls(totals: ReportTotals): SafeHtml {
  const options = (values: string[]) =>
    values.sort().map((value) => html`<option value="${value}">${value}</option>`);
  return html`<form id="controls" autocomplete="off">
<label>status <select name="status"><option value="">all</option>${options(['succeeded', 'failed', 'unreadable'])}</select></label>
<label>model <select name="model"><option value="">all</option>${options(Object.keys(totals.costByModel))}</select></label>
<label>tag <select name="tag"><option value="">all</option>${options(Object.keys(totals.costByTag))}</select></label>
<label>sort <select name="sort">
<option value="">as listed</option>
<option value="cost-desc">cost, highest first</option>
<option value="cost-asc">cost, lowest first</option>
<option value="duration-desc">duration, longest first</option>
<option value="duration-asc">duration, shortest first</option>
</select></label>
<output id="shown" aria-live="polite"></output>
</form>`;
}

/** Cards in record order; a series or a sequence becomes one row, where its first job was. */
function renderUnits(jobs: readonly ReportJob[], thumbs: ThumbnailLookup): SafeHtml[] {
  const groups = new Map<string, ReportJob[]>();
  const units: Array<ReportJob | { key: string; label: string; jobs: ReportJob[] }> = [];
  for (const job of jobs) {
    if (!job.group) {
      units.push(job);
      continue;
    }
    let members = groups.get(job.group.key);
    if (!members) {
      members = [];
      groups.set(job.group.key, members);
      units.push({ key: job.group.key, label: job.group.label, jobs: members });
    }
    members.push(job);
  }
  return units.map((unit) => {
    if ('id' in unit) return renderCard(unit, thumbs);
    const members = [...unit.jobs].sort((a, b) => (a.group?.order ?? 0) - (b.group?.order ?? 0));
    const cost = members.reduce((sum, job) => sum + job.costUsd, 0);
    return html`<section class="group" data-group="${unit.key}">
<h2>${unit.label} <span class="meta">${members.length} jobs · ${usd(cost)}</span></h2>
<div class="row">${members.map((job) => renderCard(job, thumbs))}</div>
</section>`;
  });
}
