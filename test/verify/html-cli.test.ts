/**
 * `vcp verify --html`: the same verdict and exit code as without it, for a
 * PROVEN, an INVALID and an UNPROVEN export and a certificate; the file is
 * written whole (never a half-written report) or the command fails with 2
 * naming the path.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runVcp } from '../helpers/cli.ts';
import { makeSignedExport } from '../helpers/signed-export.ts';
import { tempDir } from '../sidecar/helpers.ts';

const folder = tempDir('vcp-html-cli-');
afterAll(() => folder.cleanup());
const ex = makeSignedExport({ n: 12, anchorEvery: 4 });
writeFileSync(join(folder.dir, 'key.pub'), ex.signer.exportPublicKey('pem'));

const variants: Record<string, string[]> = {
  valid: ex.lines,
  tampered: ex.lines.map((l, i) => (i === 3 ? l.replace('"price":"1.0850"', '"price":"1.0851"') : l)),
  cut: ex.lines.slice(0, -1),
};

describe('vcp verify --html', () => {
  for (const [name, lines] of Object.entries(variants))
    it(`${name}: same exit code and verdict with and without --html`, async () => {
      writeFileSync(join(folder.dir, `${name}.jsonl`), `${lines.join('\n')}\n`);
      const args = ['verify', `${name}.jsonl`, '--pubkey', 'key.pub', '--insecure-allow-local-anchors'];
      const plain = await runVcp(folder.dir, ...args);
      const html = await runVcp(folder.dir, ...args, '--html', `${name}.html`);
      expect(html.code).toBe(plain.code);
      expect(html.out).toBe(plain.out);
      const verdict = /verdict\s+(\w+)/.exec(plain.out)![1]!;
      expect(readFileSync(join(folder.dir, `${name}.html`), 'utf8')).toContain(`<h1>${verdict} — `);
    });

  it('an unwritable path is a usage error (2) naming it, and leaves no temporary file', async () => {
    writeFileSync(join(folder.dir, 'v.jsonl'), `${ex.lines.join('\n')}\n`);
    const r = await runVcp(
      folder.dir,
      'verify',
      'v.jsonl',
      '--pubkey',
      'key.pub',
      '--html',
      'missing/dir/r.html',
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain('cannot write --html');
    expect(r.err).toContain('missing/dir/r.html');
    const intoDir = await runVcp(folder.dir, 'verify', 'v.jsonl', '--pubkey', 'key.pub', '--html', '.');
    expect(intoDir.code).toBe(2);
    expect(readdirSync(folder.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // `--html .` names the folder itself: its temporary file sits beside it, and must be gone too.
    expect(readdirSync(dirname(folder.dir)).filter((f) => f.startsWith(`${basename(folder.dir)}.`))).toEqual(
      [],
    );
    expect(existsSync(join(folder.dir, 'missing'))).toBe(false);
  });
});
