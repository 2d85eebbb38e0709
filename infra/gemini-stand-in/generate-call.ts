import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallOutcome } from './call-stats.ts';
import { type CallInput, decide } from './decide.ts';
import { type RequestInfo, requestKey } from './faults.ts';
import { apiKeyOf, readBody } from './http-io.ts';
import type { WireGenerateContentRequest } from './protocol.ts';
import type { Usage } from './reply.ts';
import type { StandInState } from './state.ts';

/** What is known of a call to record it: who it is (filled in once read) and its tier. */
interface CallIdentity {
  info: RequestInfo;
  tier?: string;
}

/** Starts identifying call `callNumber`: `identify` fills in what decide() learns of it. */
function identity(callNumber: number, model: string) {
  const known: CallIdentity = {
    info: { callNumber, model, requestKey: requestKey(model, []), prompt: '' },
  };
  const identify: CallInput['identify'] = (read) => {
    known.info = { callNumber, model, requestKey: read.requestKey, prompt: read.prompt };
    if (read.tier) known.tier = read.tier;
    return known.info;
  };
  return { known, identify };
}

function record(
  state: StandInState,
  known: CallIdentity,
  answer: { outcome: CallOutcome; status: number; usage?: Usage },
): void {
  const { callNumber, model, requestKey: key, prompt } = known.info;
  state.stats.record(
    {
      callNumber,
      model,
      requestKey: key,
      prompt,
      outcome: answer.outcome,
      status: answer.status,
      ...(known.tier ? { tier: known.tier } : {}),
    },
    answer.usage,
  );
}

/**
 * One generateContent call. The answer is decided (and rendered) as soon as the request has
 * arrived and sent when the latency has passed since then: the latency is the model's time to
 * answer, generation included, as a remote model's would be.
 */
export async function answerGenerate(
  state: StandInState,
  req: IncomingMessage,
  res: ServerResponse,
  model: string,
): Promise<void> {
  const answerAt = Date.now() + state.latencyMs;
  const raw = await readBody(req);
  const { known, identify } = identity(state.stats.nextCallNumber(), model);
  const hasKey = apiKeyOf(req) !== undefined;
  const reply = await decide(state, { raw, model, hasKey, via: 'direct', identify });
  await state.wait(answerAt - Date.now());
  // The client gave up (timeout, abort) before the answer was due: nothing is served or billed.
  if (reply.send && res.destroyed)
    return record(state, known, { outcome: 'http-499', status: 499 });
  record(state, known, reply);
  reply.send?.(res);
}

/** One request of a batch, answered as a generateContent call is and counted as tier "batch". */
export async function answerInBatch(
  state: StandInState,
  model: string,
  request: WireGenerateContentRequest,
): Promise<{ status: number; body: unknown }> {
  const { known, identify } = identity(state.stats.nextCallNumber(), model);
  const raw = Buffer.from(JSON.stringify(request));
  const reply = await decide(state, { raw, model, hasKey: true, via: 'batch', identify });
  known.tier = 'batch';
  const served = reply.body !== undefined;
  if (!served) {
    record(state, known, { outcome: 'http-500', status: 500 });
    return { status: 500, body: undefined };
  }
  record(state, known, reply);
  return { status: reply.status, body: reply.body };
}
