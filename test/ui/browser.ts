/**
 * The real browser for the auditor's-view tests: Debian's `chromium` package
 * (`apt-get install -y chromium`), driven headless by playwright-core —
 * never a downloaded browser. Tests skip with a message when it is missing.
 * Screenshots go to test-artifacts/screenshots/ (git-ignored; CI keeps them).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** The browser binary (override with VCP_CHROMIUM). */
export const CHROMIUM = process.env.VCP_CHROMIUM ?? '/usr/bin/chromium';
/** Whether the browser tests can run. */
export const HAS_CHROMIUM = existsSync(CHROMIUM);
/** Why they are skipped, when they are. */
export const SKIP_REASON = `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set VCP_CHROMIUM) to run the browser tests`;

const SHOTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'screenshots');

/** Launch headless Chromium (no sandbox: CI containers run as root). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/** Save a full-page screenshot as a CI artefact; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Collect what a page logs as errors and every request it makes. */
export function watch(page: Page): { errors: string[]; requests: string[] } {
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  return { errors, requests };
}
