/**
 * The published VCP evidence packs (test/fixtures/evidence-packs, see its
 * SOURCE.md), verified as an auditor would: each pack's convention is
 * detected and named, honest data is never called tampered, any edit to an
 * event is INVALID, and the verdict follows the contract (signed and
 * anchored → PROVEN once an unverifiable external anchor is accepted;
 * unsigned → UNPROVEN, "consistent but unauthenticated").
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.ts';
import { verifyCommand } from '../../src/cli/verify-command.ts';

const PACKS = new URL('../fixtures/evidence-packs/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'vcp-packs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const rtaKey = join(work, 'rta.hex');
writeFileSync(
  rtaKey,
  (
    JSON.parse(readFileSync(join(PACKS, 'rta/evidence/04_anchor/public_key.json'), 'utf8')) as {
      PublicKey: string;
    }
  ).PublicKey,
);
const nasdaqKey = join(PACKS, 'nasdaq/keys/signer_ed25519_pub.pem');

async function verify(...argv: string[]) {
  let out = '';
  const io: CliIo = {
    out: (t) => {
      out += t;
    },
    err: () => {},
    errIsTty: false,
    env: {},
    cwd: PACKS,
  };
  const code = await verifyCommand([...argv, '--json'], io);
  const r = JSON.parse(out);
  return { code, r, codes: r.findings.map((f: { code: string }) => f.code) as string[] };
}

/** A copy of a pack folder with one file changed. */
function edited(pack: string, file: string, edit: (text: string) => string): string {
  const dir = mkdtempSync(join(work, `${pack.replace(/\W/g, '-')}-`));
  cpSync(join(PACKS, pack), dir, { recursive: true });
  writeFileSync(join(dir, file), edit(readFileSync(join(dir, file), 'utf8')));
  return dir;
}

describe('RTA reference pack (Python json.dumps, hex signatures, OpenTimestamps anchor)', () => {
  it('is read as a folder, its convention named and flagged as weaker than RFC 8785', async () => {
    const { code, r, codes } = await verify('rta', '--pubkey', rtaKey);
    expect(r.profile.name).toBe('rta-python');
    expect(r.profile.weaker_than_rfc8785).toMatch(/json\.dumps/);
    expect(r.source.events_file).toBe('evidence/01_trade_logs/vcp_rta_events.jsonl');
    expect(r.input).toMatchObject({ events: 40 });
    expect(r.checks.event_hash).toMatchObject({ passed: 40, invalid: 0 });
    expect(r.checks.signature.passed).toBe(40);
    expect(r.logs[0]).toMatchObject({
      merkle_mode: 'vcp-dup',
      root: '86c05dbad79ffe6fdb5c3063128df0af0bcb5a3e95f4586348f13ca49778a47e',
    });
    // Signed events, signed anchor, root rebuilt: only the OpenTimestamps anchor cannot be checked offline.
    expect(codes).toContain('external-proof-unchecked');
    expect(r.verdict).toBe('UNPROVEN');
    expect(code).toBe(3);
  });

  it('is PROVEN when the unverifiable external anchor is accepted', async () => {
    const { code, r } = await verify('rta', '--pubkey', rtaKey, '--insecure-allow-local-anchors');
    expect(r.verdict).toBe('PROVEN');
    expect(code).toBe(0);
    expect(r.logs[0].proven_up_to).toMatchObject({ treeSize: 40, via: 'anchor' });
  });

  it('names the key the pack ships, and never trusts it', async () => {
    const { codes, r } = await verify('rta');
    expect(codes).toContain('no-trusted-key');
    expect(r.findings.find((f: { code: string }) => f.code === 'pack-note').message).toMatch(
      /ships public key .* proves nothing/,
    );
  });

  it("the pack's own tampered chain is INVALID", async () => {
    const { code, codes } = await verify(
      'rta/evidence/03_tamper_detection/tampered_chain.jsonl',
      '--pubkey',
      rtaKey,
    );
    expect(code).toBe(1);
    expect(codes.some((c) => c === 'hash-mismatch' || c === 'chain-gap' || c === 'signature-invalid')).toBe(
      true,
    );
  });

  it('any edit to an event is INVALID, never "another convention"', async () => {
    const dir = edited('rta', 'evidence/01_trade_logs/vcp_rta_events.jsonl', (t) =>
      t.replace('"Confidence": 0.6589', '"Confidence": 0.9589'),
    );
    const { code, codes } = await verify(dir, '--pubkey', rtaKey, '--insecure-allow-local-anchors');
    expect(code).toBe(1);
    expect(codes).toContain('hash-mismatch');
  });

  it('honest data under a declared other convention is UNPROVEN with the convention named, not tampered', async () => {
    const { r, codes } = await verify(
      'rta/evidence/01_trade_logs/vcp_rta_events.jsonl',
      '--profile',
      'nasdaq-whole-event',
      '--pubkey',
      rtaKey,
    );
    expect(codes).toContain('hash-other-convention');
    expect(codes).not.toContain('hash-mismatch');
    expect(r.findings.find((f: { code: string }) => f.code === 'hash-other-convention').message).toMatch(
      /rta-python/,
    );
  });
});

describe('cTrader pack (JSON document, hashes in Header, no signatures)', () => {
  const pack = 'ctrader/evidence/sample_pack_2025Q1';
  it('hashes, chain and root agree: UNPROVEN, consistent but unauthenticated', async () => {
    const { code, r, codes } = await verify(pack, '--pubkey', rtaKey);
    expect(r.profile.name).toBe('ctrader-header-hash');
    expect(r.checks.event_hash).toMatchObject({ passed: 21, invalid: 0 });
    expect(r.logs[0].root).toBe('584bad478f76c56a61df64cfd9d421e46e6ad407b5081094ffc1068aba8aa1a3');
    expect(codes).toContain('unauthenticated');
    expect(r.verdict).toBe('UNPROVEN');
    expect(code).toBe(3);
  });

  it('an edited event is INVALID; rehashed under its own convention, the batch root still catches it', async () => {
    const dir = edited(pack, 'events.json', (t) =>
      t.replace('"DecisionReason": "System initialization', '"DecisionReason": "System Initialization'),
    );
    expect((await verify(dir)).codes).toContain('hash-mismatch');
  });
});

describe('Nasdaq pack (whole-event hash, base64 signatures, events.json and events.jsonl)', () => {
  it('every signature verifies with the published key; the anchor is unsigned, so UNPROVEN', async () => {
    const { r, codes } = await verify('nasdaq', '--pubkey', nasdaqKey, '--insecure-allow-local-anchors');
    expect(r.profile.name).toBe('nasdaq-whole-event');
    expect(r.checks.signature.passed).toBe(22);
    expect(r.checks.event_hash.passed).toBe(22);
    expect(r.source.files).toContainEqual({
      path: 'events.json',
      role: 'the same 22 events as events.jsonl',
    });
    expect(codes).toContain('no-checkpoint');
    expect(r.verdict).toBe('UNPROVEN');
  });

  it('events.json disagreeing with events.jsonl is ambiguous: INVALID', async () => {
    const dir = edited('nasdaq', 'events.json', (t) =>
      t.replace('"Symbol": "AAPL"', '"Symbol": "MSFT"').replace('"Symbol":"AAPL"', '"Symbol":"MSFT"'),
    );
    const { codes, code } = await verify(dir, '--pubkey', nasdaqKey);
    expect(code).toBe(1);
    expect(codes).toContain('pack-inconsistent');
  });

  it('two different event logs in one folder: usage error naming them (exit 2)', async () => {
    const dir = edited('nasdaq', 'events.json', (t) => t);
    cpSync(join(dir, 'events.jsonl'), join(dir, 'other-events.jsonl'));
    let err = '';
    const io: CliIo = {
      out: () => {},
      err: (t) => {
        err += t;
      },
      errIsTty: false,
      env: {},
      cwd: PACKS,
    };
    const e = await verifyCommand([dir], io).catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(/several event logs .*events\.jsonl.*other-events\.jsonl/);
    expect(err).toBe('');
  });

  it('a signed event edited is INVALID', async () => {
    const dir = edited('nasdaq', 'events.jsonl', (t) => t.replace('"Price":185.5', '"Price":185.6'));
    const { codes } = await verify(dir, '--pubkey', nasdaqKey);
    expect(codes).toContain('hash-mismatch');
  });

  it('a placeholder "public key" in a pack is named as not a key (as the IBKR pack ships)', async () => {
    const dir = edited(
      'nasdaq',
      'keys/signer_ed25519_pub.pem',
      () => '-----BEGIN PUBLIC KEY-----\nREPLACE_WITH_ACTUAL_PUBLIC_KEY\n-----END PUBLIC KEY-----\n',
    );
    const { r } = await verify(dir);
    const notes = r.findings
      .filter((f: { code: string }) => f.code === 'pack-note')
      .map((f: { message: string }) => f.message);
    expect(
      notes.some((m: string) =>
        /signer_ed25519_pub\.pem is not a usable Ed25519 public key \(placeholder text\?\)/.test(m),
      ),
    ).toBe(true);
  });
});
