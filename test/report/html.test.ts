import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from '../../infra/report/html.ts';

describe('html templates escape what they are given', () => {
  it.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['a & b', 'a &amp; b'],
    [`" onload='x'`, '&quot; onload=&#39;x&#39;'],
    ['plain', 'plain'],
  ])('%s', (text, escaped) => {
    expect(escapeHtml(text)).toBe(escaped);
    expect(html`<p title="${text}">${text}</p>`.text).toBe(`<p title="${escaped}">${escaped}</p>`);
  });

  it('keeps nested templates and arrays of them, and drops empty values', () => {
    const items = ['<a>', 'b'].map((item) => html`<li>${item}</li>`);
    expect(html`<ul>${items}${undefined}${false}</ul>`.text).toBe(
      '<ul><li>&lt;a&gt;</li><li>b</li></ul>',
    );
  });
});
