/**
 * The browser's Ed25519 (WebCrypto in Debian's Chromium) against this
 * package's strict RFC 8032 verifier (src/integrity/sign.ts) on the
 * Wycheproof and "Taming the many EdDSAs" (eprint 2020/1244) vectors, run
 * through ui/lib/keys.ts's verifyEd25519 — the function the console uses.
 * Both must agree on every vector: the console must not call "verified" what
 * `vcp verify` refuses.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { rolldown } from 'rolldown';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyEd25519 } from '../../src/integrity/sign.ts';
import { HAS_CHROMIUM, launchChromium, SKIP_REASON } from './browser.ts';

if (!HAS_CHROMIUM) console.warn(`webcrypto-ed25519.chromium.test.ts skipped: ${SKIP_REASON}`);

const DATA = join(import.meta.dirname, '../vectors/data/ed25519');

interface Vector {
  name: string;
  pk: string;
  msg: string;
  sig: string;
}

function vectors(): Vector[] {
  const out: Vector[] = [];
  const w = JSON.parse(readFileSync(join(DATA, 'wycheproof_ed25519_test.json'), 'utf8'));
  for (const g of w.testGroups)
    for (const t of g.tests)
      out.push({ name: `wycheproof ${t.tcId}`, pk: g.publicKey.pk, msg: t.msg, sig: t.sig });
  const e = JSON.parse(readFileSync(join(DATA, 'edge-cases_eprint-2020-1244.json'), 'utf8'));
  e.forEach((t: { message: string; pub_key: string; signature: string }, i: number) => {
    out.push({ name: `eprint-2020-1244 case ${i}`, pk: t.pub_key, msg: t.message, sig: t.signature });
  });
  return out;
}

describe.skipIf(!HAS_CHROMIUM)('Ed25519 in Chromium WebCrypto, as the console calls it', () => {
  let browser: Browser;
  let page: string;
  beforeAll(async () => {
    browser = await launchChromium();
    // The console's own function, bundled for the page as the console bundles it.
    const b = await rolldown({
      input: join(import.meta.dirname, '../../ui/lib/keys.ts'),
      platform: 'browser',
      logLevel: 'silent',
    });
    const { output } = await b.generate({ format: 'iife', name: 'vcpKeys' });
    await b.close();
    page = join(tmpdir(), `vcp-ed25519-${process.pid}.html`);
    writeFileSync(page, `<!doctype html><meta charset="utf-8"><script>${output[0].code}</script>`);
  }, 60_000);
  afterAll(() => browser?.close());

  it('agrees with the strict Node verifier on every vector', async () => {
    const all = vectors();
    const p = await browser.newPage();
    await p.goto(`file://${page}`);
    const browserSays: boolean[] = await p.evaluate(async (vs) => {
      const hex = (h: string) => new Uint8Array((h.match(/../g) ?? []).map((b) => Number.parseInt(b, 16)));
      const k = (
        globalThis as unknown as {
          vcpKeys: { verifyEd25519(a: Uint8Array, b: Uint8Array, c: Uint8Array): Promise<boolean> };
        }
      ).vcpKeys;
      const out: boolean[] = [];
      for (const v of vs) out.push(await k.verifyEd25519(hex(v.pk), hex(v.sig), hex(v.msg)));
      return out;
    }, all);
    const nodeSays = all.map((v) =>
      verifyEd25519(Buffer.from(v.msg, 'hex'), Buffer.from(v.sig, 'hex'), Buffer.from(v.pk, 'hex')),
    );
    const differ = all.flatMap((v, i) =>
      browserSays[i] !== nodeSays[i] ? [`${v.name}: browser ${browserSays[i]}`] : [],
    );
    expect(differ).toEqual([]);
    expect(browserSays.filter(Boolean).length).toBeGreaterThan(50); // the valid ones verify at all
    await p.close();
  });
});
