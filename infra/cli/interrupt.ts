/**
 * Ctrl-C (SIGINT) and SIGTERM during `run`: the first stops starting jobs and gives the ones in
 * flight `graceMs` to finish; a second one, or the end of the grace period, aborts. The handlers
 * replace Node's default (exit at once, leaving claims and no summary) until `dispose`.
 */
export function interruptOnSignals(
  graceMs: number,
  onSignal: (what: 'stopping' | 'aborting', signal: NodeJS.Signals) => void,
  target: Pick<NodeJS.Process, 'on' | 'off'> = process,
) {
  const stop = new AbortController();
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const handle = (signal: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      onSignal('stopping', signal);
      stop.abort();
      timer = setTimeout(() => abort.abort(), graceMs);
      timer.unref();
    } else if (!abort.signal.aborted) {
      onSignal('aborting', signal);
      abort.abort();
    }
  };
  target.on('SIGINT', handle);
  target.on('SIGTERM', handle);
  return {
    signals: { stop: stop.signal, abort: abort.signal },
    dispose() {
      if (timer) clearTimeout(timer);
      target.off('SIGINT', handle);
      target.off('SIGTERM', handle);
    },
  };
}
