import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/main.ts';
import type { RunSummary } from '../../infra/runner/run-drop.ts';
import { chromiumAvailability, launchChromium } from '../support/chromium.ts';
import { capture, MARKUP_NAME, OFFLINE_ENV, runReportFixture } from '../support/report-fixture.ts';

/** The report as a person sees it: opened from file:// in headless Chromium. */

const available = chromiumAvailability();

interface Opened {
  page: Page;
  consoleErrors: string[];
  failedRequests: string[];
}

let root: string;
let fixture: Awaited<ReturnType<typeof runReportFixture>>;
let browser: { context: BrowserContext; close: () => Promise<void> };

beforeAll(async () => {
  if (!available.ok) return;
  root = await mkdtemp(join(tmpdir(), 'bananaflow-report-browser-'));
  fixture = await runReportFixture(root);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function open(file: string): Promise<Opened> {
  const page = await browser.context.newPage();
  const consoleErrors: string[] = [];
  const failedRequests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  page.on('requestfailed', (request) => failedRequests.push(request.url()));
  page.on('response', (response) => {
    if (response.status() >= 400) failedRequests.push(`${response.status()} ${response.url()}`);
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, consoleErrors, failedRequests };
}

/** Loads every lazy image and returns each one's natural width (0 = did not decode). */
function decodeAll(page: Page): Promise<Array<{ src: string; width: number }>> {
  return page.evaluate(`Promise.all([...document.images].map(async (img) => {
    img.loading = 'eager';
    await img.decode().catch(() => {});
    return { src: img.getAttribute('src'), width: img.naturalWidth };
  }))`);
}

const totalOf = (page: Page, key: string) =>
  page.locator(`[data-total="${key}"]`).getAttribute('data-value').then(Number);

async function breakdown(page: Page, id: string): Promise<Record<string, number>> {
  const rows = page.locator(`table[data-breakdown="${id}"] tr[data-key]`);
  const out: Record<string, number> = {};
  for (const row of await rows.all()) {
    out[(await row.getAttribute('data-key')) ?? ''] = Number(
      await row.locator('td').getAttribute('data-value'),
    );
  }
  return out;
}

const visibleCards = (page: Page) => page.locator('article.card:visible');

describe.skipIf(!available.ok)('the run report in headless Chromium', () => {
  it('loads from file:// with no console error and no failed request, and every image decodes', async () => {
    const { page, consoleErrors, failedRequests } = await open(join(fixture.out, 'report.html'));
    const images = await decodeAll(page);
    expect(images.length).toBeGreaterThan(10);
    expect(images.filter((image) => image.width === 0)).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
    await page.close();
  });

  it('shows the totals of the run summary', async () => {
    const { page } = await open(join(fixture.out, 'report.html'));
    const summary: RunSummary = fixture.summary;
    expect(await totalOf(page, 'jobs')).toBe(summary.jobs);
    expect(await totalOf(page, 'images')).toBe(summary.succeeded);
    expect(await totalOf(page, 'failed')).toBe(summary.failed);
    expect(await totalOf(page, 'sidecarProblems')).toBe(summary.sidecarProblems.length);
    expect(await totalOf(page, 'costUsd')).toBeCloseTo(summary.costUsd, 6);
    expect(await breakdown(page, 'failedByCode')).toEqual(summary.failedByCode);
    const byModel = await breakdown(page, 'costByModel');
    const modelSum = Object.values(byModel).reduce((sum, usd) => sum + usd, 0);
    expect(modelSum).toBeCloseTo(summary.costUsd, 5);
    await page.close();
  });

  it('filters by status, model and tag, and sorts by cost', async () => {
    const { page } = await open(join(fixture.out, 'report.html'));
    const all = await visibleCards(page).count();
    const rowsOf = (status: string) => fixture.summary.rows.filter((r) => r.status === status);
    await page.selectOption('select[name=status]', 'failed');
    expect(await visibleCards(page).count()).toBe(
      rowsOf('failed').length + fixture.summary.sidecarProblems.length,
    );
    expect(await page.locator('article.card.status-succeeded:visible').count()).toBe(0);
    await page.selectOption('select[name=status]', 'succeeded');
    expect(await visibleCards(page).count()).toBe(rowsOf('succeeded').length);
    await page.selectOption('select[name=status]', '');
    expect(await visibleCards(page).count()).toBe(all);

    await page.selectOption('select[name=tag]', 'client=acme');
    const tagged = await visibleCards(page).evaluateAll((cards) =>
      cards.map((card) => card.getAttribute('data-tags')),
    );
    expect(tagged.length).toBe(2);
    for (const tags of tagged) expect(JSON.parse(tags ?? '[]')).toContain('client=acme');
    await page.selectOption('select[name=tag]', 'series=bruno');
    expect(await page.locator('section.group:visible article.card:visible').count()).toBe(2);
    await page.selectOption('select[name=tag]', '');

    const [model] = Object.keys(await breakdown(page, 'costByModel'));
    await page.selectOption('select[name=model]', model ?? '');
    const models = await visibleCards(page).evaluateAll((cards) =>
      cards.map((card) => card.getAttribute('data-model')),
    );
    expect(models.length).toBeGreaterThan(0);
    expect(new Set(models)).toEqual(new Set([model]));
    await page.selectOption('select[name=model]', '');
    await page.selectOption('select[name=status]', 'succeeded');

    await page.selectOption('select[name=sort]', 'cost-desc');
    const costs = await page
      .locator('#cards > article.card:visible')
      .evaluateAll((cards) => cards.map((card) => Number(card.getAttribute('data-cost'))));
    expect(costs.length).toBeGreaterThan(2);
    expect(costs).toEqual([...costs].sort((a, b) => b - a));
    await page.close();
  });

  it('escapes a <script> prompt and a file name with markup: shown as text, never run', async () => {
    const { page } = await open(join(fixture.out, 'report.html'));
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.locator('.prompt', { hasText: '<script>window.__pwned' }).count()).toBe(1);
    expect(await page.locator('figcaption', { hasText: MARKUP_NAME }).first().isVisible()).toBe(
      true,
    );
    expect(await page.locator('b[onmouseover]').count()).toBe(0);
    await page.close();
  });

  it('regenerated after damage: a missing image is a visible placeholder and foreign or corrupt records are unreadable cards', async () => {
    await unlink(join(fixture.drop, 'cat.png'));
    await writeFile(join(fixture.out, 'corrupt.png.json'), '{ "status": "succ');
    await writeFile(join(fixture.out, 'notes.json'), JSON.stringify({ hello: 'world' }));
    const cli = capture();
    const reportFile = join(root, 'elsewhere', 'damaged.html');
    expect(await main(['report', fixture.out, '--out', reportFile], OFFLINE_ENV, cli.io)).toBe(0);
    expect(cli.out()).toContain(reportFile);

    const { page, consoleErrors, failedRequests } = await open(reportFile);
    expect(await totalOf(page, 'unreadable')).toBe(2);
    await page.selectOption('select[name=status]', 'unreadable');
    expect(await visibleCards(page).count()).toBe(2);
    await page.selectOption('select[name=status]', '');
    const placeholder = page.locator('.placeholder', { hasText: 'missing' }).first();
    expect(await placeholder.isVisible()).toBe(true);
    const box = await placeholder.boundingBox();
    expect(box?.width).toBeGreaterThan(40);
    const images = await decodeAll(page);
    expect(images.filter((image) => image.width === 0)).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
    await page.close();
  });
});
