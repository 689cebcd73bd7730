/**
 * `vcp verify --html` in real Chromium: the report of a real sidecar export
 * (PROVEN), and of the same export with one price changed (INVALID, the
 * failing event marked in its trace's timeline). The page loads nothing from
 * anywhere, breaks no CSP rule, runs no markup from the events, and prints.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVcp } from '../helpers/cli.ts';
import { HAS_CHROMIUM, launchChromium, SKIP_REASON, screenshot, watch } from './browser.ts';
import { type ConsoleFixture, startConsoleFixture } from './fixture.ts';

if (!HAS_CHROMIUM) console.warn(`report.chromium.test.ts skipped: ${SKIP_REASON}`);

describe.skipIf(!HAS_CHROMIUM)('HTML report in Chromium', () => {
  let fx: ConsoleFixture;
  let browser: Browser;
  let lines: string[];

  beforeAll(async () => {
    fx = await startConsoleFixture();
    lines = (await (await fetch(`${fx.sidecar.url}/vcp/export`)).text()).trimEnd().split('\n');
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fx?.close();
  });

  async function report(name: string, exportLines: string[]) {
    await writeFile(join(fx.dir, `${name}.jsonl`), `${exportLines.join('\n')}\n`);
    const r = await runVcp(
      fx.dir,
      'verify',
      `${name}.jsonl`,
      '--pubkey',
      'pinned.pub',
      '--insecure-allow-local-anchors',
      '--html',
      `${name}.html`,
    );
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const seen = watch(page);
    await page.goto(`file://${join(fx.dir, `${name}.html`)}`);
    await page.waitForSelector('body[data-timelines="ready"]');
    return { r, page, seen, html: await readFile(join(fx.dir, `${name}.html`), 'utf8') };
  }

  it('a valid export: PROVEN in words at the top, coverage drawn, timelines per trace, no network, no CSP violation', async () => {
    const { r, page, seen, html } = await report('valid', lines);
    expect(r.code).toBe(0);
    await expect(page.locator('#verdict h1').textContent()).resolves.toContain('PROVEN');
    expect(await page.locator('#verdict').getAttribute('class')).toContain('proven');
    // One bar per statement (2 anchors + the closing checkpoint), all trusted.
    expect(await page.locator('figure.coverage rect.trusted').count()).toBe(3);
    expect(await page.locator('figure.coverage rect.untrusted').count()).toBe(0);
    expect(await page.locator('section.trace').count()).toBe(fx.traces.length);
    expect(await page.locator('.timeline li.failed').count()).toBe(0);
    expect(await page.locator('.timeline .mark.ok').count()).toBe(fx.events.length);
    // The hostile order id is shown as text, and ran nothing.
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await page.locator('#trace-filter').fill('script');
    expect(await page.locator('section.trace').count()).toBe(1);
    await expect(page.locator('section.trace').first().textContent()).resolves.toContain(
      '</script><script>window.__pwned=1',
    );
    await page.locator('#trace-filter').fill('');
    expect(seen.requests.every((u) => u.startsWith('file://'))).toBe(true);
    expect(seen.errors).toEqual([]);
    expect(html).toContain('http-equiv="Content-Security-Policy"');
    expect(html).not.toContain('<script>window.__pwned');
    await screenshot(page, 'report-valid');
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  });

  it('a tampered export: INVALID at the top, the changed event marked in its trace at its line', async () => {
    // Change the price of the second order's ORD event (line 2 is the first event; META is line 1).
    const at = lines.findIndex((l) => l.includes('"ORD-2"') && l.includes('"event_type":"ORD"'));
    expect(at).toBeGreaterThan(0);
    const tampered = [...lines];
    tampered[at] = tampered[at]!.replace('"price":"1.0850"', '"price":"1.0950"');
    const { r, page, seen } = await report('tampered', tampered);
    expect(r.code).toBe(1);
    await expect(page.locator('#verdict h1').textContent()).resolves.toContain('INVALID');
    const failed = page.locator(`#event-line-${at + 1}`);
    expect(await failed.getAttribute('class')).toContain('failed');
    await expect(failed.locator('.problem').first().textContent()).resolves.toContain('hash-mismatch');
    // Traces with problems come first, and the findings table names the line.
    expect(await page.locator('section.trace').first().getAttribute('class')).toContain('has-problems');
    await expect(page.locator('table.findings').textContent()).resolves.toContain('hash-mismatch');
    await page.locator('#only-problems').check();
    expect(await page.locator('section.trace').count()).toBe(1);
    expect(seen.errors).toEqual([]);
    await failed.scrollIntoViewIfNeeded();
    await screenshot(page, 'report-tampered');
    await page.close();
  });

  it("another producer's evidence pack (veritaschain RTA reference): UNPROVEN, the pack's files and roles listed, timelines drawn", async () => {
    const pack = join(import.meta.dirname, '../fixtures/evidence-packs/rta');
    const r = await runVcp(fx.dir, 'verify', pack, '--html', 'pack.html');
    expect(r.code).toBe(3);
    const page = await browser.newPage();
    const seen = watch(page);
    await page.goto(`file://${join(fx.dir, 'pack.html')}`);
    await page.waitForSelector('body[data-timelines="ready"]');
    await expect(page.locator('#verdict h1').textContent()).resolves.toContain('UNPROVEN');
    await expect(page.locator('dl.facts').first().textContent()).resolves.toContain('vcp_rta_events.jsonl');
    expect(await page.locator('.timeline li').count()).toBeGreaterThan(0);
    expect(seen.errors).toEqual([]);
    await screenshot(page, 'report-evidence-pack');
    await page.close();
  });

  it('an export cut after its last anchor: UNPROVEN, the uncovered tail drawn and its events marked "?"', async () => {
    const { r, page, seen } = await report('cut', lines.slice(0, -1));
    expect(r.code).toBe(3);
    await expect(page.locator('#verdict h1').textContent()).resolves.toContain('UNPROVEN');
    expect(await page.locator('figure.coverage rect.gap').count()).toBe(1);
    // The last order flow (4 events) came after the last anchor.
    expect(await page.locator('.timeline .mark.warn').count()).toBe(4);
    expect(seen.errors).toEqual([]);
    await screenshot(page, 'report-unproven');
    await page.close();
  });
});
