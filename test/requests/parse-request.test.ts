import { describe, expect, it } from 'vitest';
import { parseRequestMessage } from '../../shared/requests/parse-request.ts';

const MAX = 1 << 20;
const message = (data: unknown, attributes: Record<string, string> = {}, messageId = 'm-1') => ({
  messageId,
  attributes,
  data: Buffer.isBuffer(data)
    ? data
    : Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)),
});
const parse = (data: unknown, attributes?: Record<string, string>) =>
  parseRequestMessage(message(data, attributes), MAX);

describe('request message v1', () => {
  it.each([
    ['a prompt (text-to-image)', { prompt: 'a red bicycle' }],
    ['inputs by object name', { prompt: 'blue', inputs: ['cats/tom.png'] }],
    ['inputs as gs:// URIs', { prompt: 'blue', inputs: ['gs://input/cats/tom.png'] }],
    [
      'every manifest job field',
      {
        $schema: 'https://bananaflow.dev/schema/request.v1.json',
        version: 1,
        requestId: 'order-42',
        steps: ['blue', 'add a hat'],
        inputs: ['a.png'],
        references: ['style/ref.png'],
        model: 'gemini-2.5-flash-image',
        aspectRatio: '16:9',
        variants: 2,
        output: { format: 'webp', quality: 70, renditions: [256] },
        maxCostUsd: 1,
        tags: { client: 'acme' },
        name: 'hero',
      },
    ],
  ])('accepts %s', (_case, body) => {
    const parsed = parse(body);
    expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
  });

  it('takes the request id from the attribute, else the body, else the content', () => {
    const body = { prompt: 'blue' };
    expect(parse(body, { requestId: 'from-attr' })).toMatchObject({ requestId: 'from-attr' });
    expect(parse({ ...body, requestId: 'from-body' })).toMatchObject({ requestId: 'from-body' });
    const derived = parse(body);
    expect(derived.requestId).toMatch(/^req-[a-f0-9]{20}$/);
    // Same content (keys in another order) → same id; other content → another id.
    expect(parse({ prompt: 'blue', variants: 1 }).requestId).toBe(
      parse({ variants: 1, prompt: 'blue' }).requestId,
    );
    expect(parse({ prompt: 'green' }).requestId).not.toBe(derived.requestId);
  });

  it('refuses an attribute and a field that disagree', () => {
    const parsed = parse({ prompt: 'x', requestId: 'a' }, { requestId: 'b' });
    expect(parsed).toMatchObject({ ok: false, requestId: 'b' });
    if (parsed.ok) return;
    expect(parsed.problems.map((p) => p.details.field)).toEqual(['requestId']);
  });

  it.each([
    ['not JSON', '{"prompt": "x"', 'REQUEST_INVALID_JSON', '(message)'],
    ['a JSON array', '[1,2]', 'REQUEST_INVALID', '(root)'],
    ['no prompt', { inputs: ['a.png'] }, 'REQUEST_INVALID', 'prompt'],
    ['prompt and steps', { prompt: 'x', steps: ['y'] }, 'REQUEST_INVALID', 'steps'],
    [
      'an https URL',
      { prompt: 'x', inputs: ['https://e.com/a.png'] },
      'REQUEST_INVALID',
      'inputs[0]',
    ],
    [
      'a ".." segment',
      { prompt: 'x', references: ['a/../b.png'] },
      'REQUEST_INVALID',
      'references[0]',
    ],
    ['a bad request id', { prompt: 'x', requestId: 'no spaces' }, 'REQUEST_INVALID', 'requestId'],
    ['too many variants', { prompt: 'x', variants: 99 }, 'REQUEST_INVALID', 'variants'],
  ])('rejects %s, naming the field', (_case, body, code, field) => {
    const parsed = parse(body);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems.map((p) => [p.code, p.details.field])).toContainEqual([code, field]);
  });

  it('names unknown fields and the known field each resembles', () => {
    const parsed = parse({ promt: 'x', output: { fromat: 'png' }, colour: 'red' });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const byField = Object.fromEntries(parsed.problems.map((p) => [p.details.field, p]));
    expect(byField.promt?.message).toContain('did you mean "prompt"?');
    expect(byField['output.fromat']?.message).toContain('did you mean "format"?');
    expect(byField.colour?.message).toContain('unknown field "colour"');
    expect(byField.colour?.details.didYouMean).toBeUndefined();
    // Every problem at once: the missing prompt is listed too.
    expect(byField.prompt?.code).toBe('REQUEST_INVALID');
  });

  it('refuses a message over the size limit without parsing it, keeping the attribute id', () => {
    const big = Buffer.alloc(MAX + 1, ' ');
    const parsed = parseRequestMessage(message(big, { requestId: 'big-1' }), MAX);
    expect(parsed).toMatchObject({ ok: false, requestId: 'big-1' });
    if (parsed.ok) return;
    expect(parsed.problems[0]?.code).toBe('REQUEST_TOO_LARGE');
  });

  it('answers a message without a usable id as msg-<messageId>', () => {
    expect(parseRequestMessage(message('not json', {}, 'abc'), MAX).requestId).toBe('msg-abc');
    expect(parse('{"requestId": "keep-me", "prompt": 3}').requestId).toBe('keep-me');
  });
});
