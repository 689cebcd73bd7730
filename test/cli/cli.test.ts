import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVcp } from '../helpers/cli.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vcp-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const vcp = (...argv: string[]) => runVcp(dir, ...argv);

describe('vcp demo', () => {
  it('drives a decorated strategy through a real sidecar, anchors, exports and verifies', async () => {
    const r = await vcp('demo', '--dir', 'demo');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/SIG → ORD → ACK → EXE/);
    expect(r.out).toMatch(/reject .*: ERR_REJECT \(quantity 900000 exceeds/);
    // A local-file anchor is development only: the default verdict says so, and what it proves without it.
    expect(r.out).toMatch(/verification: UNPROVEN — \[external-anchor-missing\]/);
    expect(r.out).toMatch(
      /with --insecure-allow-local-anchors: PROVEN: .*5 events, complete up to tree size 5/,
    );
    const lines = (await readFile(join(dir, 'demo/export.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const events = lines.filter((l) => l.header);
    expect(events.map((e) => e.header.event_type)).toEqual(['SIG', 'ORD', 'ACK', 'EXE', 'ERR_REJECT']);
    expect(new Set(events.slice(0, 4).map((e) => e.header.trace_id)).size).toBe(1);
    expect(lines.filter((l) => l.anchor_record)).toHaveLength(1);
  });
});

describe('vcp verify', () => {
  const files = () => [
    'demo/export.jsonl',
    '--pubkey',
    'demo/recorder-signing.pub',
    '--pubkey',
    'demo/sidecar-data/signing.pub',
    '--insecure-allow-local-anchors',
  ];

  it('exits 0 on the untouched demo export', async () => {
    const r = await vcp('verify', ...files());
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^PROVEN: .*5 events, complete up to tree size 5/m);
  });

  it('exits 3 (UNPROVEN), never 0, without a trusted key or with only a local anchor', async () => {
    const noKey = await vcp('verify', 'demo/export.jsonl', '--insecure-allow-local-anchors');
    expect(noKey.code).toBe(3);
    expect(noKey.out).toMatch(/\[no-trusted-key\]/);
    const strict = await vcp('verify', ...files().slice(0, -1));
    expect(strict.code).toBe(3);
    expect(strict.out).toMatch(/\[external-anchor-missing\]/);
  });

  it('exits 1 and names the event and the check after tampering', async () => {
    const path = join(dir, 'demo/export.jsonl');
    const original = await readFile(path, 'utf8');
    await writeFile(path, original.replace('"quantity":"100000"', '"quantity":"900000"'));
    const r = await vcp('verify', ...files());
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✗ line 3 \S+ \[hash-mismatch\] header or payload differs from what was sealed/);
    const json = await vcp('verify', ...files(), '--json');
    const report = JSON.parse(json.out);
    expect(report.verdict).toBe('INVALID');
    expect(json.code).toBe(1);
    expect(report.findings[0]).toMatchObject({ code: 'hash-mismatch', line: 3 });
    await writeFile(path, original);
  });

  it('exits 1 on a line that is not JSON, naming the line', async () => {
    const path = join(dir, 'demo/broken.jsonl');
    const original = await readFile(join(dir, 'demo/export.jsonl'), 'utf8');
    await writeFile(path, `${original}{"header": oops\n`);
    const r = await vcp('verify', 'demo/broken.jsonl');
    expect(r.code).toBe(1);
    const lastLine = original.trimEnd().split('\n').length + 1;
    expect(r.out).toContain(`✗ line ${lastLine} [unreadable-line] malformed JSON`);
  });

  it('exits 2 on usage and input errors', async () => {
    expect((await vcp('verify')).code).toBe(2);
    expect((await vcp('verify', 'missing.jsonl')).err).toMatch(/cannot read .*missing\.jsonl: ENOENT/);
    expect((await vcp('verify', ...files(), '--hash-variant', 'md5')).code).toBe(2);
    expect((await vcp('verify', 'demo/export.jsonl', '--bogus')).code).toBe(2);
    expect((await vcp('nope')).code).toBe(2);
  });
});

describe('vcp keygen', () => {
  it('writes a private key (0600) and a public key, prints the key id, and refuses to overwrite', async () => {
    const r = await vcp('keygen', '--out', 'k1');
    expect(r.code).toBe(0);
    const id = /signing_key_id ([0-9a-f]{32})/.exec(r.out)![1];
    expect(id).toBeDefined();
    expect((await stat(join(dir, 'k1.key'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'k1.pub'), 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    expect(r.out).not.toMatch(/PRIVATE/);
    const again = await vcp('keygen', '--out', 'k1');
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already exists/);
    expect((await vcp('keygen', '--out', 'k2', '--format', 'jwk')).code).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'k2.pub'), 'utf8'))).toMatchObject({
      kty: 'OKP',
      crv: 'Ed25519',
    });
  });
});
