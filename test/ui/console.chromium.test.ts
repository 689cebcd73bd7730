/**
 * The sidecar's console in real Chromium, over a real sidecar: search → trace
 * → event → proof verified locally (WebCrypto SHA-256 and Ed25519 against the
 * pinned key); a proof, a checkpoint or a consistency proof tampered on its
 * way from the server is shown as failed; the evidence certificate
 * downloaded from the page is PROVEN by `vcp verify` on its own, and INVALID
 * once edited; keyboard only; a narrow window; the token flow.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/integrity/sign.ts';
import { runVcp } from '../helpers/cli.ts';
import { HAS_CHROMIUM, launchChromium, SKIP_REASON, screenshot, watch } from './browser.ts';
import { type ConsoleFixture, startConsoleFixture } from './fixture.ts';

if (!HAS_CHROMIUM) console.warn(`console.chromium.test.ts skipped: ${SKIP_REASON}`);

/** Flip one hex digit of a hash. */
const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);

/** Change a JSON answer of the real server on its way to the page. */
async function tamper(page: Page, pattern: string, edit: (body: Record<string, unknown>) => void) {
  await page.route(pattern, async (route: Route) => {
    const response = await route.fetch();
    const body = (await response.json()) as Record<string, unknown>;
    edit(body);
    await route.fulfill({ response, json: body });
  });
}

describe.skipIf(!HAS_CHROMIUM)('console in Chromium', () => {
  let fx: ConsoleFixture;
  let browser: Browser;
  beforeAll(async () => {
    fx = await startConsoleFixture();
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fx?.close();
  });

  const open = async (route: string, viewport = { width: 1200, height: 900 }) => {
    const page = await browser.newPage({ viewport, acceptDownloads: true });
    const seen = watch(page);
    await page.goto(`${fx.sidecar.url}/console#${route}`);
    return { page, seen };
  };

  it('search → trace → event: every event verified locally, by keyboard', async () => {
    const trace = fx.traces[2]!;
    const { page, seen } = await open('/search');
    // Keyboard only: Tab from the top to the first search field, type, Enter.
    await page.waitForSelector('#q-trace_id');
    await page.locator('#q-trace_id').focus();
    await page.keyboard.type(trace);
    await page.keyboard.press('Enter');
    await page.waitForSelector('table.hits tbody tr');
    expect(await page.locator('table.hits tbody tr').count()).toBe(4);
    await screenshot(page, 'console-search');
    await page.locator(`a[href="#/trace/${trace}"]`).first().focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('ol.timeline li');
    expect(await page.locator('ol.timeline li .badge').allTextContents()).toEqual([
      'SIG',
      'ORD',
      'ACK',
      'EXE',
    ]);
    await page.getByRole('button', { name: 'Verify all locally' }).click();
    await page.waitForSelector('.banner.ok');
    await expect(page.locator('.banner.ok').textContent()).resolves.toContain('4 event(s) verified locally');
    expect(await page.locator('ol.timeline .mark.ok').count()).toBe(4);
    await screenshot(page, 'console-trace');
    await page.locator('ol.timeline li').nth(1).getByRole('link').click();
    // Right after the click the trace page, with its own `.banner.ok`, is still shown: wait for the event
    // page's verdict (its "Fetching…" banner replaced), not for any banner.
    await page
      .locator('h1', { hasText: /^Event/ })
      .first()
      .waitFor();
    await page.locator('.banner:not(.wait)').first().waitFor();
    await expect(page.locator('.banner').first().textContent()).resolves.toContain('Verified locally');
    expect(await page.locator('ol.steps li.bad').count()).toBe(0);
    await expect(page.locator('ol.steps').textContent()).resolves.toContain(
      'Ed25519 signature by the pinned key',
    );
    // The checkpoint's anchor receipt: its signature over the same root checked here too.
    expect(await page.locator('ul.plain li.ok').count()).toBe(1);
    await screenshot(page, 'console-event-verified');
    expect(seen.errors).toEqual([]);
    await page.close();
  });

  it('search by symbol, type and time range from the form; the focus goes to the content, the sections are a Shift+Tab away', async () => {
    const { page } = await open('/search');
    await page.waitForSelector('#q-symbol');
    // Each page takes the focus to its content: the first Tab lands on the first field, Shift+Tab goes back to the sections.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('q-trace_id');
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Key & token');
    const t = new Date(fx.events[0]!.header.timestamp_iso);
    const local = (d: Date) =>
      new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.locator('#q-symbol').fill('GBPUSD');
    await page.locator('#q-event_type').fill('EXE');
    await page.locator('#q-since').fill(local(new Date(t.getTime() - 60_000)));
    await page.locator('#q-until').fill(local(new Date(t.getTime() + 3_600_000)));
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForSelector('table.hits tbody tr');
    const gbpExe = fx.events.filter(
      (e) => e.header.symbol === 'GBPUSD' && e.header.event_type === 'EXE',
    ).length;
    expect(await page.locator('table.hits tbody tr').count()).toBe(gbpExe);
    // A range that ends before the first event finds nothing.
    await page.locator('#q-until').fill(local(new Date(t.getTime() - 60_000)));
    await page.locator('#q-since').fill(local(new Date(t.getTime() - 120_000)));
    await page.getByRole('button', { name: 'Search' }).click();
    // A locator waits without evaluating strings in the page (the console's CSP forbids eval, which a string
    // predicate to waitForFunction needs once it has to poll).
    await page
      .locator('#results p')
      .filter({ hasText: /^0 match/ })
      .first()
      .waitFor();
    await page.close();
  });

  it('a tampered inclusion proof from the server: the page says FAILED and why', async () => {
    const ev = fx.events[5]!; // trace 1, before the first anchor
    const { page, seen } = await open('/');
    await tamper(page, '**/vcp/events/*/proof?*', (b) => {
      const p = b.proof as string[];
      p[0] = flip(p[0]!);
    });
    await page.goto(`${fx.sidecar.url}/console#/event/${ev.header.event_id}`);
    await page.waitForSelector('.banner.bad');
    const text = await page.locator('.banner.bad').first().textContent();
    expect(text).toContain('Verification FAILED');
    expect(text).toContain('inclusion proof');
    expect(await page.locator('ol.steps li.bad').count()).toBe(1);
    await screenshot(page, 'console-event-tampered-proof');
    expect(seen.errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
    await page.close();
  });

  it('a checkpoint the server re-signed with another key, or whose root it changed: not verified', async () => {
    const ev = fx.events[1]!;
    const other = generateSigningKey();
    const { signCheckpoint, parseSignedNote, parseCheckpointText } = await import(
      '../../src/integrity/checkpoint/index.ts'
    );
    const { page } = await open('/');
    await tamper(page, '**/vcp/checkpoint', (b) => {
      const cp = parseCheckpointText(parseSignedNote(b.note).text);
      b.note = signCheckpoint({ ...cp, time: new Date() }, other);
    });
    await page.goto(`${fx.sidecar.url}/console#/event/${ev.header.event_id}`);
    await page.waitForSelector('.banner.bad');
    await expect(page.locator('.banner.bad').first().textContent()).resolves.toContain(
      'checkpoint signature',
    );
    await page.unrouteAll();
    await tamper(page, '**/vcp/checkpoint', (b) => {
      b.note = (b.note as string).replace(/\n(\d+)\n/, (_m, n) => `\n${Number(n) + 1}\n`); // bigger tree, same signature
    });
    await page.reload();
    await page.waitForSelector('.banner.bad');
    await expect(page.locator('.banner.bad').first().textContent()).resolves.toContain('does not verify');
    await page.close();
  });

  it('an event newer than the newest checkpoint is shown as not yet covered', async () => {
    const last = fx.events[fx.events.length - 1]!;
    const { page } = await open(`/event/${last.header.event_id}`);
    await page.waitForSelector('.banner.warn');
    await expect(page.locator('.banner.warn').textContent()).resolves.toContain('Not yet covered');
    await page.close();
  });

  it('the evidence certificate of a trace: printable page, and a file vcp verify PROVES alone (INVALID once edited)', async () => {
    const trace = fx.traces[1]!; // holds the hostile order id
    const { page, seen } = await open(`/certificate/trace/${trace}`);
    await page.waitForSelector('#download-certificate');
    await expect(page.locator('.banner.ok').first().textContent()).resolves.toContain(
      '4 event(s) are included',
    );
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await screenshot(page, 'console-certificate-trace');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#download-certificate').click(),
    ]);
    const path = join(fx.dir, 'trace-cert.jsonl');
    await download.saveAs(path);
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(seen.errors).toEqual([]);
    await page.close();

    const ok = await runVcp(
      fx.dir,
      'verify',
      'trace-cert.jsonl',
      '--pubkey',
      'pinned.pub',
      '--insecure-allow-local-anchors',
    );
    expect(ok.out).toContain('PROVEN');
    expect(ok.code).toBe(0);
    // Without accepting local anchors: nothing external time-stamps it.
    const strict = await runVcp(fx.dir, 'verify', 'trace-cert.jsonl', '--pubkey', 'pinned.pub');
    expect(strict.code).toBe(3);
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    const edited = lines.map((l) => l.replace('"price":"1.0850"', '"price":"1.0950"'));
    await writeFile(join(fx.dir, 'edited-cert.jsonl'), `${edited.join('\n')}\n`);
    // The certificate of one event, from its page.
    const one = await browser.newPage({ acceptDownloads: true });
    await one.goto(`${fx.sidecar.url}/console#/certificate/event/${fx.events[2]!.header.event_id}`);
    await one.waitForSelector('#download-certificate');
    await expect(one.locator('.banner.ok').first().textContent()).resolves.toContain(
      '1 event(s) are included',
    );
    const [d1] = await Promise.all([
      one.waitForEvent('download'),
      one.locator('#download-certificate').click(),
    ]);
    await d1.saveAs(join(fx.dir, 'event-cert.jsonl'));
    await one.close();
    const single = await runVcp(
      fx.dir,
      'verify',
      'event-cert.jsonl',
      '--pubkey',
      'pinned.pub',
      '--insecure-allow-local-anchors',
    );
    expect(single.code).toBe(0);
    const bad = await runVcp(
      fx.dir,
      'verify',
      'edited-cert.jsonl',
      '--pubkey',
      'pinned.pub',
      '--insecure-allow-local-anchors',
    );
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('hash-mismatch');
  });

  it('consistency between two checkpoints: verified locally; a tampered consistency proof fails', async () => {
    const { page, seen } = await open('/consistency');
    await page.waitForSelector('#cp-old');
    await page.getByRole('button', { name: 'Check consistency' }).click();
    await page.waitForSelector('.banner.ok, .banner.bad');
    await expect(page.locator('.banner').first().textContent()).resolves.toContain(
      'Consistent, verified locally',
    );
    await screenshot(page, 'console-consistency');
    await tamper(page, '**/vcp/consistency?*', (b) => {
      const p = b.proof as string[];
      p[p.length - 1] = flip(p[p.length - 1]!);
    });
    await page.getByRole('button', { name: 'Check consistency' }).click();
    await page.waitForSelector('.banner.bad');
    await expect(page.locator('.banner.bad').textContent()).resolves.toContain('NOT consistent');
    expect(seen.errors).toEqual([]);
    await page.close();
  });

  it('the dashboard checks the newest checkpoint locally; pinning another key makes it fail', async () => {
    const { page } = await open('/');
    await page.waitForSelector('.cards');
    await expect(page.locator('.banner.ok').first().textContent()).resolves.toContain('verified locally');
    await expect(page.locator('.cards').textContent()).resolves.toContain(String(fx.events.length));
    await screenshot(page, 'console-dashboard');
    await page.goto(`${fx.sidecar.url}/console#/settings`);
    await page.locator('#pin').fill(generateSigningKey().exportPublicKey('pem'));
    await page.getByRole('button', { name: 'Pin key' }).click();
    await page.waitForSelector('.banner.ok');
    await page.goto(`${fx.sidecar.url}/console#/event/${fx.events[1]!.header.event_id}`);
    await page.waitForSelector('.banner.bad');
    await expect(page.locator('.banner.bad').first().textContent()).resolves.toContain(
      'not by the pinned key',
    );
    await page.close();
  });

  it('works in a narrow window (360 px): nothing wider than the screen', async () => {
    const { page } = await open(`/event/${fx.events[1]!.header.event_id}`, { width: 360, height: 800 });
    await page.waitForSelector('.banner.ok');
    const [scroll, width] = await page.evaluate<[number, number]>(
      '[document.documentElement.scrollWidth, window.innerWidth]',
    );
    expect(scroll).toBeLessThanOrEqual(width);
    await screenshot(page, 'console-event-narrow');
    await page.close();
  });
});

describe.skipIf(!HAS_CHROMIUM)('console with a bearer token, in Chromium', () => {
  const token = 'console-test-token-0123456789';
  let fx: ConsoleFixture;
  let browser: Browser;
  beforeAll(async () => {
    fx = await startConsoleFixture({ traces: 2, flags: { token } });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fx?.close();
  });

  it('the page asks for the token; with it the data loads', async () => {
    const page = await browser.newPage();
    await page.goto(`${fx.sidecar.url}/console#/`);
    await page.waitForSelector('.banner.bad');
    await expect(page.locator('.banner.bad').textContent()).resolves.toContain('bearer token');
    await page.goto(`${fx.sidecar.url}/console#/settings`);
    await page.locator('#token').fill(token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.goto(`${fx.sidecar.url}/console#/`);
    await page.waitForSelector('.cards');
    await expect(page.locator('.banner.ok').first().textContent()).resolves.toContain('verified locally');
    await page.close();
  });
});
