import { duration, usd } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import type { ImageSlot, ReportJob } from './report-jobs.ts';
import { DEFAULT_TIER } from './report-totals.ts';
import type { ThumbnailResult } from './thumbnails.ts';

/** One card per job: before → after, then what it was, what it cost, and why it failed. */

export type ThumbnailLookup = (slot: ImageSlot) => ThumbnailResult | undefined;

export function renderCard(job: ReportJob, thumbs: ThumbnailLookup): SafeHtml {
  const tags = Object.entries(job.tags).map(([key, value]) => `${key}=${value}`);
  return html`<article class="card status-${job.status}" data-status="${job.status}" data-model="${job.model ?? ''}" data-tags="${JSON.stringify(tags)}" data-cost="${job.costUsd}" data-duration="${job.durationMs ?? 0}">
${renderImages(job, thumbs)}
<h3 title="${job.id}">${job.title}</h3>
${job.prompt === undefined ? '' : html`<p class="prompt">${job.prompt}</p>`}
${job.steps ? html`<ol class="prompt steps">${job.steps.map((step) => html`<li>${step}</li>`)}</ol>` : ''}
${renderFacts(job, tags)}
${renderFailure(job)}
</article>`;
}

function renderImages(job: ReportJob, thumbs: ThumbnailLookup): SafeHtml | string {
  if (job.status === 'unreadable') return '';
  const before =
    job.before.length > 0
      ? job.before.map((slot) => renderFigure(slot, thumbs(slot)))
      : html`<p class="no-input">${job.after.length > 0 ? 'from text alone' : 'no image'}</p>`;
  const after = job.after.map((slot) => renderFigure(slot, thumbs(slot)));
  const strip = job.after.length > 1 ? ' strip' : '';
  return html`<div class="images"><div class="before">${before}</div>${
    job.after.length > 0
      ? html`<div class="arrow" aria-hidden="true">→</div><div class="after${strip}">${after}</div>`
      : ''
  }</div>`;
}

/** A thumbnail that opens the full image, or a visible placeholder saying why there is none. */
export function renderFigure(slot: ImageSlot, thumb: ThumbnailResult | undefined): SafeHtml {
  const caption = html`<figcaption title="${slot.caption}">${slot.caption}</figcaption>`;
  if (!thumb || 'missing' in thumb) {
    const why = slot.role === 'step' ? 'step image not kept' : (thumb?.missing ?? 'missing image');
    return html`<figure class="thumb ${slot.role}"><div class="placeholder" role="img" aria-label="${why}" title="${why}">${why}</div>${caption}</figure>`;
  }
  const img = html`<img src="${thumb.src}" width="${thumb.width}" height="${thumb.height}" alt="${slot.caption}" loading="lazy" decoding="async">`;
  const linked = thumb.href
    ? html`<a href="${thumb.href}" target="_blank" rel="noopener">${img}</a>`
    : img;
  return html`<figure class="thumb ${slot.role}">${linked}${caption}</figure>`;
}

function renderFacts(job: ReportJob, tags: string[]): SafeHtml {
  const facts: Array<[string, string | undefined]> = [
    ['status', job.sidecarProblem ? 'failed (sidecar)' : job.status],
    ['mode', job.mode],
    ['model', job.model],
    ['size', job.size],
    ['tier', job.status === 'unreadable' ? undefined : (job.tier ?? DEFAULT_TIER)],
    ['cost', job.status === 'unreadable' ? undefined : usd(job.costUsd)],
    ['duration', job.durationMs === undefined ? undefined : duration(job.durationMs)],
    ['attempts', job.attempts === undefined ? undefined : String(job.attempts)],
    ['tags', tags.length > 0 ? tags.join(', ') : undefined],
    ['run', job.runId],
  ];
  return html`<dl class="facts">${facts
    .filter(([, value]) => value !== undefined)
    .map(
      ([name, value]) => html`<div class="fact-${name}"><dt>${name}</dt><dd>${value}</dd></div>`,
    )}</dl>`;
}

function renderFailure(job: ReportJob): SafeHtml | string {
  if (job.problem !== undefined) {
    return html`<div class="failure"><strong>unreadable record</strong> <span>${job.problem}</span><p class="fix">This file is not a bananaflow record (or is damaged); the rest of the report does not depend on it.</p></div>`;
  }
  const failure = job.failure;
  if (!failure) return '';
  const field = failure.field ? ` (field ${failure.field})` : '';
  return html`<div class="failure"><strong class="code">${failure.code}</strong> <span class="message">${failure.message}</span>${
    failure.fix ? html`<p class="fix">fix: ${failure.fix}</p>` : ''
  }${failure.concerns ? html`<p class="concerns">concerns: ${failure.concerns}${field}</p>` : ''}</div>`;
}
