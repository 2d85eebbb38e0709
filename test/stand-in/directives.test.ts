import { describe, expect, it } from 'vitest';
import {
  DirectiveError,
  DirectiveFaults,
  everyNthCall,
  parseDirectives,
  requestKey,
  scheduledFault,
  stripDirectives,
} from '../../infra/gemini-stand-in/faults.ts';
import { escapeXml } from '../../infra/gemini-stand-in/render-image.ts';

describe('parseDirectives', () => {
  it.each([
    ['plain prompt', { fail: [], retryDelay: '1s' }],
    ['x [standin:fail=429,503] y', { fail: [429, 503], retryDelay: '1s' }],
    ['[standin:always=500]', { fail: [], always: 500, retryDelay: '1s' }],
    ['[standin:retry-delay=2s][standin:fail=429]', { fail: [429], retryDelay: '2s' }],
    ['[standin:retry-delay=1500ms]', { fail: [], retryDelay: '1.5s' }],
    ['[standin:outcome=blocked-output]', { fail: [], retryDelay: '1s', outcome: 'blocked-output' }],
    ['[STANDIN:outcome=hang]', { fail: [], retryDelay: '1s', outcome: 'hang' }],
  ])('%s', (text, expected) => {
    expect(parseDirectives(text)).toEqual(expected);
  });

  it.each([
    '[standin:fial=429]',
    '[standin:fail=200]',
    '[standin:fail=abc]',
    '[standin:outcome=exploded]',
    '[standin:retry-delay=soon]',
  ])('rejects the misspelt directive %s', (text) => {
    expect(() => parseDirectives(text)).toThrow(DirectiveError);
  });

  it('strips directives from the stamped text', () => {
    expect(stripDirectives('make it  blue [standin:fail=503] please')).toBe('make it blue please');
  });
});

describe('DirectiveFaults', () => {
  it('fails the first calls of a request in order, then lets it succeed', () => {
    const faults = new DirectiveFaults();
    const directives = parseDirectives('[standin:fail=429,503][standin:retry-delay=3s]');
    const seen = [1, 2, 3, 4].map(() => faults.faultFor('key-a', directives));
    expect(seen).toEqual([
      { status: 429, retryDelay: '3s' },
      { status: 503, retryDelay: '3s' },
      undefined,
      undefined,
    ]);
    // Another request key has its own count.
    expect(faults.faultFor('key-b', directives)).toEqual({ status: 429, retryDelay: '3s' });
    faults.reset();
    expect(faults.faultFor('key-a', directives)).toEqual({ status: 429, retryDelay: '3s' });
  });

  it('takes outcomes as one-off faults too (hang, malformed, truncated), in order', () => {
    const faults = new DirectiveFaults();
    const directives = parseDirectives('[standin:fail=hang,500,truncated]');
    expect([1, 2, 3, 4].map(() => faults.faultFor('k', directives))).toEqual([
      { outcome: 'hang' },
      { status: 500, retryDelay: '1s' },
      { outcome: 'truncated' },
      undefined,
    ]);
    expect(() => parseDirectives('[standin:fail=hung]')).toThrow(/not an HTTP error status/);
  });

  it('fails every call with always=, and fails before an outcome', () => {
    const faults = new DirectiveFaults();
    const always = parseDirectives('[standin:always=500]');
    expect([1, 2, 3].map(() => faults.faultFor('k', always))).toEqual([
      { status: 500, retryDelay: '1s' },
      { status: 500, retryDelay: '1s' },
      { status: 500, retryDelay: '1s' },
    ]);
    const then = parseDirectives('[standin:fail=503][standin:outcome=text-only]');
    expect(faults.faultFor('t', then)).toEqual({ status: 503, retryDelay: '1s' });
    expect(faults.faultFor('t', then)).toEqual({ outcome: 'text-only' });
  });
});

describe('fault schedules', () => {
  const info = (callNumber: number) => ({ callNumber, model: 'm', requestKey: 'k', prompt: '' });

  it('takes a list entry per call number', () => {
    const schedule = [{ status: 503 }, undefined, { outcome: 'malformed' as const }];
    expect([1, 2, 3, 4].map((n) => scheduledFault(schedule, info(n)))).toEqual([
      { status: 503 },
      undefined,
      { outcome: 'malformed' },
      undefined,
    ]);
  });

  it('injects every n-th call', () => {
    const schedule = everyNthCall(7, { status: 503 });
    const failing = Array.from({ length: 21 }, (_, i) => i + 1).filter(
      (n) => scheduledFault(schedule, info(n)) !== undefined,
    );
    expect(failing).toEqual([7, 14, 21]);
  });
});

describe('requestKey and escaping', () => {
  it('keeps differently split texts apart and depends on the model', () => {
    expect(requestKey('m', ['ab', 'c'])).not.toBe(requestKey('m', ['a', 'bc']));
    expect(requestKey('m', ['a'])).not.toBe(requestKey('n', ['a']));
    expect(requestKey('m', ['a'])).toBe(requestKey('m', ['a']));
  });

  it('escapes XML specials', () => {
    expect(escapeXml(`<a href="x">Tom & 'Jerry'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;',
    );
  });
});
