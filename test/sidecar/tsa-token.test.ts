/**
 * Offline checking of RFC 3161 tokens: the real GitHub TSA token from the
 * standards vectors, tokens from the real test TSA (OpenSSL), tampered and
 * re-signed tokens, and hostile bytes. A verify function never throws: every
 * bad input is `{ ok: false, reason }`.
 */
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTimeStampResp, verifyTimestampToken } from '../../src/integrity/tsa-token.ts';
import { requestTimestamp } from '../../src/sidecar/anchor/tsa-client.ts';
import { startTestTsa, type TestTsa } from '../fixtures/tsa.ts';

const run = promisify(execFile);

interface GithubVector {
  artifactUtf8: string;
  timeStampRespBase64: string;
  tsaSigningPublicKeyPem: string;
  expect: { genTime: string; signingTime: string; messageImprintHex: string; signerSerialNumberHex: string };
}
const github = JSON.parse(
  await readFile(path.join(import.meta.dirname, '../vectors/data/rfc3161/github_tsa_token.json'), 'utf8'),
) as GithubVector;
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('the GitHub TSA token (standards vector)', () => {
  const resp = parseTimeStampResp(Buffer.from(github.timeStampRespBase64, 'base64'));
  const root = sha256(github.artifactUtf8);

  it('parses as a granted TimeStampResp with a token', () => {
    expect(resp.status).toBe(0);
    expect(resp.statusName).toBe('granted');
    expect(resp.failInfo).toEqual([]);
    expect(resp.token?.length).toBeGreaterThan(500);
  });

  it('verifies with the TSA public key: imprint = SHA-256(artifact), ECDSA P-384/SHA-384 signature', async () => {
    expect(root).toBe(github.expect.messageImprintHex);
    const v = await verifyTimestampToken(resp.token, root, {
      tsaPublicKeyPem: github.tsaSigningPublicKeyPem,
    });
    expect(v).toMatchObject({
      ok: true,
      genTime: new Date(github.expect.signingTime),
      imprintAlgorithm: 'sha256',
      imprintHex: github.expect.messageImprintHex,
      signerDigest: 'sha384',
      trusted: true,
    });
    // Base64 text is accepted as well as DER bytes.
    const b64 = Buffer.from(resp.token!).toString('base64');
    expect(
      (
        await verifyTimestampToken(b64, root.toUpperCase(), {
          tsaPublicKeyPem: github.tsaSigningPublicKeyPem,
        })
      ).ok,
    ).toBe(true);
  });

  it('refuses another artifact, another key, and no key at all', async () => {
    const key = { tsaPublicKeyPem: github.tsaSigningPublicKeyPem };
    const other = await verifyTimestampToken(resp.token, sha256('hello, world'), key);
    expect(other).toMatchObject({ ok: false, reason: expect.stringMatching(/imprint .* is not the root/) });

    const wrongKey = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const v = await verifyTimestampToken(resp.token, root, { tsaPublicKeyPem: String(wrongKey) });
    expect(v).toMatchObject({ ok: false, reason: expect.stringMatching(/signature does not verify/) });

    const none = await verifyTimestampToken(resp.token, root);
    expect(none).toMatchObject({ ok: false, reason: expect.stringMatching(/no signer certificate/) });
  });

  it('refuses the TimeStampResp itself where a token is expected', async () => {
    const v = await verifyTimestampToken(github.timeStampRespBase64, root, {
      tsaPublicKeyPem: github.tsaSigningPublicKeyPem,
    });
    expect(v.ok).toBe(false);
  });
});

describe('tokens from the real test TSA', () => {
  let tsa: TestTsa;
  let otherTsa: TestTsa;
  let work: string;
  const root = sha256('a merkle root');
  let token: Uint8Array;

  beforeAll(async () => {
    [tsa, otherTsa] = await Promise.all([startTestTsa({ keyType: 'ec' }), startTestTsa({ keyType: 'ec' })]);
    work = await mkdtemp(path.join(tmpdir(), 'vcp-tsa-token-'));
    token = (await requestTimestamp(tsa.url, root, { caCertPem: tsa.caCertPem })).token;
  });
  afterAll(async () => {
    await Promise.all([tsa?.close(), otherTsa?.close()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('accepts it against the CA, the pinned TSA certificate, or both', async () => {
    for (const trust of [
      { caCertPem: tsa.caCertPem },
      { tsaCertPem: tsa.tsaCertPem },
      { caCertPem: tsa.caCertPem, tsaCertPem: tsa.tsaCertPem },
    ]) {
      const v = await verifyTimestampToken(token, root, trust);
      expect(v).toMatchObject({
        ok: true,
        trusted: true,
        policy: tsa.policy,
        signerSubject: 'O=vcp-instrument tests, CN=Test TSA',
      });
    }
  });

  it('says "not trusted" (but valid) when no trust anchor is given', async () => {
    expect(await verifyTimestampToken(token, root)).toMatchObject({ ok: true, trusted: false });
  });

  it("refuses it against another TSA's CA or certificate", async () => {
    const byCa = await verifyTimestampToken(token, root, { caCertPem: otherTsa.caCertPem });
    expect(byCa).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/does not chain to a trusted CA/),
    });
    const pinned = await verifyTimestampToken(token, root, { tsaCertPem: otherTsa.tsaCertPem });
    expect(pinned).toMatchObject({ ok: false, reason: expect.stringMatching(/pinned TSA certificate/) });
  });

  it('refuses a token for another root', async () => {
    const v = await verifyTimestampToken(token, sha256('another root'), { caCertPem: tsa.caCertPem });
    expect(v).toMatchObject({ ok: false, reason: expect.stringMatching(/is not the root/) });
  });

  it('refuses the token with any byte of the TSTInfo or the signed attributes flipped', async () => {
    const parsed = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(token).content });
    const tst = Buffer.from(parsed.encapContentInfo.eContent!.getValue());
    const attrs = Buffer.from(parsed.signerInfos[0]!.signedAttrs!.encodedValue);
    attrs[0] = 0xa0; // as it appears in the token: [0] IMPLICIT
    const sig = Buffer.from(parsed.signerInfos[0]!.signature.valueBlock.valueHexView);
    const bytes = Buffer.from(token);
    const regions = [tst, attrs, sig].map((r) => {
      const at = bytes.indexOf(r);
      expect(at).toBeGreaterThan(0);
      return [at, at + r.length] as const;
    });
    let checked = 0;
    for (const [from, to] of regions) {
      for (let i = from; i < to; i++) {
        const bad = Buffer.from(bytes);
        bad[i]! ^= 0x01;
        const v = await verifyTimestampToken(bad, root, { caCertPem: tsa.caCertPem });
        if (v.ok) throw new Error(`flipping byte ${i} went unnoticed`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it('refuses a token re-signed by a certificate without the timeStamping EKU, with it non-critical, or without ESS', async () => {
    const cases = [
      { ext: 'basicConstraints = critical, CA:false', reason: /lacks the id-kp-timeStamping/ },
      { ext: 'extendedKeyUsage = timeStamping', reason: /not marked critical/ },
      { ext: 'extendedKeyUsage = critical, timeStamping', reason: /ESS signing-certificate/ },
    ];
    const o = (dir: string, args: string) => run('openssl', args.split(' '), { cwd: dir });
    for (const [n, c] of cases.entries()) {
      const dir = path.join(work, `c${n}`);
      await run('mkdir', ['-p', dir]);
      await writeFile(path.join(dir, 'ext.cnf'), `${c.ext}\n`);
      // A self-signed signer certificate carrying the extension under test.
      await o(
        dir,
        'req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout k.pem -out r.csr -subj /CN=signer',
      );
      await o(dir, 'x509 -req -in r.csr -signkey k.pem -out c.pem -days 2 -extfile ext.cnf');
    }
    // A fresh TSTInfo (genTime not before the certificates), re-signed by each of them.
    const fresh = (await requestTimestamp(tsa.url, root)).token;
    const tst = Buffer.from(
      new pkijs.SignedData({
        schema: pkijs.ContentInfo.fromBER(fresh).content,
      }).encapContentInfo.eContent!.getValue(),
    );
    const tstFile = path.join(work, 'tst.der');
    await writeFile(tstFile, tst);
    for (const [n, c] of cases.entries()) {
      const dir = path.join(work, `c${n}`);
      await o(
        dir,
        `cms -sign -binary -nodetach -outform DER -in ${tstFile} -econtent_type 1.2.840.113549.1.9.16.1.4 -signer c.pem -inkey k.pem -md sha256 -nosmimecap -out t.der`,
      );
      const resigned = await readFile(path.join(dir, 't.der'));
      const v = await verifyTimestampToken(resigned, root);
      expect(v, c.ext).toMatchObject({ ok: false, reason: expect.stringMatching(c.reason) });
    }
  });

  it('OpenSSL agrees: `openssl ts -verify -digest <root>` accepts the token', async () => {
    const file = path.join(work, 'token.der');
    const ca = path.join(work, 'ca.pem');
    await writeFile(file, token);
    await writeFile(ca, tsa.caCertPem);
    const { stdout } = await run('openssl', [
      'ts',
      '-verify',
      '-digest',
      root,
      '-in',
      file,
      '-token_in',
      '-CAfile',
      ca,
    ]);
    expect(stdout).toMatch(/Verification: OK/);
  });
});

describe('hostile input never throws', () => {
  const root = sha256('x');
  const cases: [string, unknown, unknown][] = [
    ['null token', null, root],
    ['number token', 42, root],
    ['object token', { __proto__: null }, root],
    ['empty string', '', root],
    ['not base64', '!!!!', root],
    ['base64 of garbage', 'AAAAAAAA', root],
    ['random DER-ish bytes', new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]), root],
    ['truncated DER', new Uint8Array([0x30, 0x82, 0xff, 0xff, 0x06]), root],
    ['trailing bytes', new Uint8Array([0x05, 0x00, 0x00]), root],
    ['deep indefinite nesting', new Uint8Array(200_000).map((_, i) => (i % 2 ? 0x80 : 0x30)), root],
    ['oversized', 'A'.repeat(3_000_000), root],
    ['bad root', 'AAAA', 'xyz'],
    ['root with a lone surrogate', 'AAAA', `${'a'.repeat(63)}\ud800`],
    ['root as a number', 'AAAA', 12],
  ];
  for (const [name, token, r] of cases) {
    it(name, async () => {
      const v = await verifyTimestampToken(token, r);
      expect(v.ok).toBe(false);
      expect(typeof (v as { reason: string }).reason).toBe('string');
    });
  }

  it('parseTimeStampResp throws a plain error on garbage', () => {
    expect(() => parseTimeStampResp(new Uint8Array([1, 2, 3]))).toThrow(/not an RFC 3161 TimeStampResp/);
    expect(() => parseTimeStampResp(new Uint8Array())).toThrow(/TimeStampResp/);
  });
});
