import type { RunProgress, SummaryRow } from '../runner/run-drop.ts';
import type { TextSink } from './cli-io.ts';
import { duration } from './duration.ts';
import { frameOf, usd } from './render.ts';

/**
 * One redraw of the bar, never wider than `columns - 1` (writing the last column makes many
 * terminals wrap, which leaves a new line per redraw). Less important fields go first when narrow:
 * elapsed, then rate, then ETA; the bar itself shrinks before any of them.
 */
export function barLine(
  p: RunProgress,
  timing: { elapsedMs: number; ran: number },
  columns: number,
): string {
  const perMs = timing.ran > 0 && timing.elapsedMs > 0 ? timing.ran / timing.elapsedMs : 0;
  const left = p.total - p.done;
  const fields = [
    `${p.done}/${p.total}`,
    `ok ${p.succeeded}`,
    `failed ${p.failed}`,
    usd(p.costUsd),
    `ETA ${perMs > 0 ? duration(left / perMs) : left === 0 ? '0s' : '?'}`,
    `${perMs > 0 ? (perMs * 60_000).toFixed(1) : '0.0'}/min`,
    ...throttleField(p),
    duration(timing.elapsedMs),
  ];
  const room = Math.max(10, columns - 1);
  for (let keep = fields.length; keep >= 1; keep--) {
    const text = fields.slice(0, keep).join('  ');
    const barWidth = Math.min(30, room - text.length - 3);
    if (barWidth >= 8) {
      const filled = p.total === 0 ? barWidth : Math.round((p.done / p.total) * barWidth);
      return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${text}`;
    }
    if (keep <= 4 && text.length <= room) return text;
  }
  return fields[0]?.slice(0, room) ?? '';
}

/**
 * The model calls' rate against the quota and the time spent waiting for it, once either matters
 * (a quota held to, or a 429): `quota 118/120/min waited 1m05s`.
 */
export function throttleField(p: RunProgress): string[] {
  const t = p.throttling;
  if (!t || (t.limitPerMinute === undefined && t.throttled === 0)) return [];
  const limit = t.limitPerMinute === undefined ? '' : `/${t.limitPerMinute}`;
  const waited = t.waitedMs >= 1000 ? ` waited ${duration(t.waitedMs)}` : '';
  return [`quota ${t.ratePerMinute}${limit}/min${waited}`];
}

/**
 * Progress of a run on stderr: on a terminal a bar redrawn in place (fits the width; done/total,
 * successes, failures, cost, ETA, rate, quota, elapsed; ticks every second); otherwise one plain line
 * per finished job, fit for logs and pipes.
 */
export function progressReporter(stream: TextSink, options: { now?: () => number } = {}) {
  const tty = stream.isTTY === true;
  const now = options.now ?? Date.now;
  const started = now();
  let ran = 0;
  let last: RunProgress | undefined;
  let lastDraw = 0;
  let open = false;
  let drawnDone = -1;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    if (!last) return;
    drawnDone = last.done;
    const line = barLine(last, { elapsedMs: now() - started, ran }, stream.columns ?? 80);
    stream.write(`\r${line}\x1b[K`);
    open = true;
    lastDraw = now();
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    // A run that stops early (Ctrl-C) may have skipped its last redraw: the bar ends up to date.
    if (open && last && last.done !== drawnDone) draw();
    if (open) stream.write('\n');
    open = false;
  };
  return {
    update(row: SummaryRow, p: RunProgress) {
      if (row.status !== 'already-done' && row.status !== 'not-run' && !row.fromEarlierRun) ran++;
      last = { ...p };
      if (!tty) {
        const what =
          row.status === 'failed'
            ? `failed ${row.errorCode}${row.fromEarlierRun ? ' (earlier run)' : ''}`
            : row.status;
        stream.write(
          `[${p.done}/${p.total}] ${row.jobId.slice(0, 8)} ${what} ${usd(row.costUsd)}${frameOf(row)}  ${row.output ?? row.record}\n`,
        );
        return;
      }
      if (p.done < p.total && now() - lastDraw < 100) return;
      draw();
      if (p.done === p.total) stop();
      else if (!timer) {
        timer = setInterval(draw, 1000);
        timer.unref();
      }
    },
    /** Ends the bar's line (a run that stops early, or before a summary is printed). */
    stop,
  };
}
