import * as nodeCrypto from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { afterAll, describe, expect, it } from 'vitest';
import { VcpConfigError, VcpCryptoError } from '../../src/core/errors.ts';
import {
  exportPrivateKey,
  exportPublicKey,
  generateKeyPair,
  KEY_ID_HEX_LENGTH,
  keyId,
  loadPrivateKey,
  loadPrivateKeyFile,
  loadPrivateKeyFromEnv,
  loadPublicKey,
  loadPublicKeyFile,
  MAX_KEY_FILE_BYTES,
  publicKeyBytes,
  publicKeyFromRaw,
  publicKeyOf,
} from '../../src/integrity/keys.ts';
import { createSigner } from '../../src/integrity/sign.ts';

const h = (s: string) => Buffer.from(s, 'hex');
const dir = mkdtempSync(join(tmpdir(), 'vcp-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pair = generateKeyPair();
const SEED_HEX = exportPrivateKey(pair.privateKey, 'hex');
const PUB_HEX = exportPublicKey(pair.publicKey, 'hex');

/** Call fn, expect an error of class `type`, and check its message never carries the secret. */
function expectError(
  fn: () => unknown,
  type: typeof VcpCryptoError | typeof VcpConfigError,
  re?: RegExp,
): Error {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(type);
  const msg = (err as Error).message;
  if (re) expect(msg).toMatch(re);
  // No 8-character window of the secret, in hex or base64/base64url, appears in the message.
  const secretForms = [SEED_HEX, h(SEED_HEX).toString('base64'), h(SEED_HEX).toString('base64url')];
  for (const f of secretForms) {
    for (let i = 0; i + 8 <= f.length; i += 4) expect(msg).not.toContain(f.slice(i, i + 8));
  }
  return err as Error;
}

describe('keyId', () => {
  it('is 32 lowercase hex chars = SHA-256(raw public key)[0..16)', () => {
    expect(KEY_ID_HEX_LENGTH).toBe(32);
    expect(pair.keyId).toMatch(/^[0-9a-f]{32}$/);
    expect(pair.keyId).toBe(nodeCrypto.createHash('sha256').update(h(PUB_HEX)).digest('hex').slice(0, 32));
  });

  it('is the same whichever form the public key is given in', () => {
    const forms = [
      pair.publicKey,
      exportPublicKey(pair.publicKey, 'pem'),
      exportPublicKey(pair.publicKey, 'jwk'),
      JSON.stringify(exportPublicKey(pair.publicKey, 'jwk')),
      PUB_HEX,
      PUB_HEX.toUpperCase(),
      h(PUB_HEX),
      pair.publicKey.export({ format: 'der', type: 'spki' }),
      Buffer.from(`${PUB_HEX}\n`),
      publicKeyOf(pair.privateKey),
    ];
    for (const f of forms) expect(keyId(f as never)).toBe(pair.keyId);
  });

  it('differs between keys', () => {
    expect(generateKeyPair().keyId).not.toBe(pair.keyId);
  });
});

describe('private key round trips: PEM ↔ JWK ↔ hex ↔ bytes give one key', () => {
  const pem = exportPrivateKey(pair.privateKey, 'pem');
  const jwk = exportPrivateKey(pair.privateKey, 'jwk');
  const der = pair.privateKey.export({ format: 'der', type: 'pkcs8' });

  it('exports the documented shapes', () => {
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
    expect(jwk).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      d: h(SEED_HEX).toString('base64url'),
      x: h(PUB_HEX).toString('base64url'),
    });
    expect(SEED_HEX).toMatch(/^[0-9a-f]{64}$/);
    expect(exportPublicKey(pair.publicKey, 'jwk')).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: h(PUB_HEX).toString('base64url'),
    });
    expect(exportPublicKey(pair.publicKey, 'pem')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });

  const forms: [string, unknown][] = [
    ['KeyObject', pair.privateKey],
    ['PEM', pem],
    ['PEM with CRLF and surrounding blanks', `\r\n  ${pem.replace(/\n/g, '\r\n')}  \n`],
    ['PEM bytes', Buffer.from(pem)],
    ['JWK object', jwk],
    ['JWK without x', { kty: 'OKP', crv: 'Ed25519', d: jwk.d }],
    ['JWK JSON text', JSON.stringify(jwk)],
    ['JWK with extra members', { ...jwk, kid: 'k1', use: 'sig', alg: 'EdDSA' }],
    ['hex seed', SEED_HEX],
    ['HEX seed uppercase', SEED_HEX.toUpperCase()],
    ['hex seed with newline', `${SEED_HEX}\n`],
    ['hex seed ‖ public (128 chars)', SEED_HEX + PUB_HEX],
    ['hex text as bytes', Buffer.from(`${SEED_HEX}\n`)],
    ['raw 32-byte seed', h(SEED_HEX)],
    ['raw 64 bytes seed ‖ public', h(SEED_HEX + PUB_HEX)],
    ['DER PKCS#8', der],
    ['Uint8Array (not Buffer)', new Uint8Array(h(SEED_HEX))],
  ];
  for (const [name, input] of forms) {
    it(`loads ${name}`, () => {
      const key = loadPrivateKey(input as never);
      expect(key.asymmetricKeyType).toBe('ed25519');
      expect(key.type).toBe('private');
      expect(exportPrivateKey(key, 'hex')).toBe(SEED_HEX);
      expect(keyId(publicKeyOf(key))).toBe(pair.keyId);
    });
  }

  it("raw keys whose bytes start like text ('{', '-', whitespace then '{') still load as raw keys", () => {
    // About 1 random seed in 100 starts so; they used to be read as broken JWK/PEM text.
    for (const head of ['7b', '2d', '207b', '0a2d', '097b7b']) {
      const seed = Buffer.concat([h(head), nodeCrypto.randomBytes(32 - head.length / 2)]);
      const key = loadPrivateKey(seed);
      expect(exportPrivateKey(key, 'hex'), head).toBe(seed.toString('hex'));
      const pub = publicKeyOf(key).export({ format: 'der', type: 'spki' }).subarray(-32);
      expect(exportPrivateKey(loadPrivateKey(Buffer.concat([seed, pub])), 'hex')).toBe(seed.toString('hex'));
      const rawPub = Buffer.concat([h(head), pub.subarray(head.length / 2)]);
      // A public key starting so is a valid point or clearly refused as one, never parsed as text.
      try {
        expect(keyId(loadPublicKey(rawPub))).toMatch(/^[0-9a-f]{32}$/);
      } catch (e) {
        expect((e as Error).message).not.toMatch(/JSON|PEM/);
      }
    }
    // Text is still text: a JWK and a PEM given as bytes.
    expect(
      exportPrivateKey(
        loadPrivateKey(Buffer.from(JSON.stringify(exportPrivateKey(pair.privateKey, 'jwk')))),
        'hex',
      ),
    ).toBe(SEED_HEX);
    expect(
      exportPrivateKey(
        loadPrivateKey(Buffer.from(exportPrivateKey(pair.privateKey, 'pem') as string)),
        'hex',
      ),
    ).toBe(SEED_HEX);
  });

  it('loads an encrypted PKCS#8 PEM with its passphrase, and says what is wrong without it', () => {
    const enc = pair.privateKey.export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'pw',
    });
    expect(exportPrivateKey(loadPrivateKey(enc, { passphrase: 'pw' }), 'hex')).toBe(SEED_HEX);
    expectError(() => loadPrivateKey(enc), VcpCryptoError, /encrypted; pass the passphrase/);
    expectError(() => loadPrivateKey(enc, { passphrase: 'nope' }), VcpCryptoError, /wrong passphrase/);
  });
});

describe('public key round trips', () => {
  const forms: [string, unknown][] = [
    ['KeyObject', pair.publicKey],
    ['PEM', exportPublicKey(pair.publicKey, 'pem')],
    ['JWK', exportPublicKey(pair.publicKey, 'jwk')],
    ['JWK text', JSON.stringify(exportPublicKey(pair.publicKey, 'jwk'))],
    ['hex', PUB_HEX],
    ['raw bytes', h(PUB_HEX)],
    ['DER SPKI', pair.publicKey.export({ format: 'der', type: 'spki' })],
    ['PEM bytes', Buffer.from(exportPublicKey(pair.publicKey, 'pem'))],
  ];
  for (const [name, input] of forms) {
    it(`loads ${name}`, () => {
      const key = loadPublicKey(input as never);
      expect(key.type).toBe('public');
      expect(publicKeyBytes(key).toString('hex')).toBe(PUB_HEX);
    });
  }

  it('publicKeyFromRaw takes 64 hex chars or 32 bytes, nothing else', () => {
    expect(exportPublicKey(publicKeyFromRaw(PUB_HEX), 'hex')).toBe(PUB_HEX);
    expect(exportPublicKey(publicKeyFromRaw(h(PUB_HEX)), 'hex')).toBe(PUB_HEX);
    expectError(() => publicKeyFromRaw(PUB_HEX.slice(0, 62)), VcpCryptoError, /64 characters, got 62/);
    expectError(() => publicKeyFromRaw(h(PUB_HEX).subarray(0, 31)), VcpCryptoError, /32 bytes .*got 31/);
    expectError(() => publicKeyFromRaw(42 as never), VcpCryptoError);
  });

  it('Wycheproof group keys in PEM, JWK and DER all load to the raw key given beside them', () => {
    const w = JSON.parse(
      readFileSync(join(import.meta.dirname, '../vectors/data/ed25519/wycheproof_ed25519_test.json'), 'utf8'),
    ) as {
      testGroups: {
        publicKey: { pk: string };
        publicKeyPem: string;
        publicKeyDer: string;
        publicKeyJwk: object;
      }[];
    };
    for (const g of w.testGroups) {
      const want = keyId(g.publicKey.pk);
      expect(keyId(g.publicKeyPem)).toBe(want);
      expect(keyId(g.publicKeyJwk as never)).toBe(want);
      expect(keyId(h(g.publicKeyDer))).toBe(want);
    }
  });
});

describe('hostile private key input → VcpCryptoError, never echoing key material', () => {
  const rsa = nodeCrypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ec = nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const x25519 = nodeCrypto.generateKeyPairSync('x25519');
  const ed448 = nodeCrypto.generateKeyPairSync('ed448');
  const jwk = exportPrivateKey(pair.privateKey, 'jwk');
  const other = generateKeyPair();

  const cases: [string, unknown, RegExp][] = [
    ['empty string', '', /empty/],
    ['whitespace', '  \n\t', /empty/],
    ['empty bytes', new Uint8Array(0), /empty/],
    ['garbage text', 'not a key at all', /unrecognised private key format/],
    ['garbage PEM', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----', /could not be parsed/],
    ['truncated PEM', exportPrivateKey(pair.privateKey, 'pem').slice(0, 60), /could not be parsed/],
    [
      'RSA PKCS#8 PEM',
      rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      /Ed25519 private key, got rsa/,
    ],
    [
      'RSA PKCS#1 PEM',
      rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }),
      /unsupported PEM type "RSA PRIVATE KEY"/,
    ],
    [
      'EC SEC1 PEM',
      ec.privateKey.export({ type: 'sec1', format: 'pem' }),
      /unsupported PEM type "EC PRIVATE KEY"/,
    ],
    ['EC PKCS#8 PEM', ec.privateKey.export({ type: 'pkcs8', format: 'pem' }), /got ec/],
    ['X25519 PEM', x25519.privateKey.export({ type: 'pkcs8', format: 'pem' }), /got x25519/],
    ['Ed448 PEM', ed448.privateKey.export({ type: 'pkcs8', format: 'pem' }), /got ed448/],
    ['X25519 DER', x25519.privateKey.export({ type: 'pkcs8', format: 'der' }), /got x25519/],
    ['public PEM', exportPublicKey(pair.publicKey, 'pem'), /public key; a private key is needed/],
    [
      'certificate PEM',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
      /unsupported PEM type "CERTIFICATE"/,
    ],
    ['62 hex chars', SEED_HEX.slice(0, 62), /64 or 128 characters, got 62/],
    ['63 hex chars (odd)', SEED_HEX.slice(0, 63), /64 or 128 characters, got 63/],
    ['66 hex chars', `${SEED_HEX}00`, /64 or 128 characters, got 66/],
    ['non-hex 64 chars', `${SEED_HEX.slice(0, 62)}zz`, /unrecognised private key format/],
    ['0x-prefixed hex', `0x${SEED_HEX}`, /unrecognised private key format/],
    [
      '128 hex with a mismatched public half',
      SEED_HEX + exportPublicKey(other.publicKey, 'hex'),
      /does not match/,
    ],
    [
      '64 raw bytes with a mismatched public half',
      h(SEED_HEX + exportPublicKey(other.publicKey, 'hex')),
      /does not match/,
    ],
    ['31 raw bytes', h(SEED_HEX).subarray(0, 31), /unrecognised private key bytes \(31 bytes\)/],
    [
      '33 raw bytes',
      Buffer.concat([h(SEED_HEX), Buffer.from([1])]),
      /unrecognised private key bytes \(33 bytes\)/,
    ],
    ['broken JSON', `{"kty":"OKP","d":"${jwk.d}"`, /not valid JSON/],
    ['JSON array', '[1,2]', /unrecognised/],
    ['JWK kty RSA', { ...jwk, kty: 'RSA' }, /"kty" must be "OKP"/],
    ['JWK crv X25519', { ...jwk, crv: 'X25519' }, /"crv" must be "Ed25519", got "X25519"/],
    ['JWK crv Ed448', { ...jwk, crv: 'Ed448' }, /got "Ed448"/],
    ['JWK without d (public)', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, /public key \(no "d"\)/],
    ['JWK d too short', { ...jwk, d: jwk.d!.slice(0, 42) }, /"d" must be 43 base64url/],
    [
      'JWK d standard base64 with padding',
      { ...jwk, d: `${h(SEED_HEX).toString('base64')}` },
      /"d" must be 43 base64url/,
    ],
    ['JWK d number', { ...jwk, d: 5 }, /"d" must be/],
    ['JWK x of another key', { ...jwk, x: exportPublicKey(other.publicKey, 'jwk').x }, /"x" does not match/],
    ['JWK x malformed', { ...jwk, x: 'abc' }, /"x" must be 43 base64url/],
    ['JWK __proto__ only', JSON.parse('{"__proto__":{"kty":"OKP","crv":"Ed25519"}}'), /"kty" must be "OKP"/],
    ['empty object', {}, /"kty" must be "OKP" for Ed25519, got undefined/],
    ['array', [SEED_HEX], /cannot load a private key from an array/],
    ['number', 42, /cannot load a private key from a number/],
    ['null', null, /from null/],
    ['undefined', undefined, /from undefined/],
    ['boolean', true, /from a boolean/],
    ['RSA KeyObject', rsa.privateKey, /Ed25519 private key, got rsa/],
    ['public KeyObject', pair.publicKey, /expected a private key, got a public key/],
    ['secret KeyObject', nodeCrypto.createSecretKey(h(SEED_HEX)), /expected a private key, got a secret key/],
  ];
  for (const [name, input, re] of cases) {
    it(name, () => {
      expectError(() => loadPrivateKey(input as never), VcpCryptoError, re);
      expectError(() => createSigner(input as never), VcpCryptoError, re);
    });
  }
});

describe('raw key bytes that start with the DER tag (0x30, 1 random key in 256)', () => {
  const seed = Buffer.from(`30${'11'.repeat(31)}`, 'hex');

  it('loads as a raw seed or key at their own length, and is named as raw bytes at any other', () => {
    expect(loadPrivateKey(seed).type).toBe('private');
    expectError(
      () => loadPrivateKey(seed.subarray(0, 31)),
      VcpCryptoError,
      /unrecognised private key bytes \(31 bytes\)/,
    );
    expectError(
      () => loadPrivateKey(Buffer.concat([seed, Buffer.from([1])])),
      VcpCryptoError,
      /unrecognised private key bytes \(33 bytes\)/,
    );
    expectError(
      () => loadPublicKey(seed.subarray(0, 31)),
      VcpCryptoError,
      /unrecognised public key bytes \(31 bytes\)/,
    );
  });

  it('still reads a DER key, and names one cut short as unrecognised bytes', () => {
    const der = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
    expect(loadPrivateKey(der).type).toBe('private');
    const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
    expect(loadPublicKey(spki).type).toBe('public');
    expectError(
      () => loadPrivateKey(der.subarray(0, der.length - 1)),
      VcpCryptoError,
      /unrecognised private key bytes \(47 bytes\)/,
    );
    // A whole DER SEQUENCE that is not a key is still reported as DER.
    expectError(
      () => loadPrivateKey(Buffer.from('3003020101', 'hex')),
      VcpCryptoError,
      /DER private key could not be parsed/,
    );
  });
});

describe('hostile public key input → VcpCryptoError', () => {
  const rsa = nodeCrypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
  const x25519 = nodeCrypto.generateKeyPairSync('x25519');
  const cases: [string, unknown, RegExp][] = [
    ['empty', '', /empty/],
    ['garbage PEM', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', /could not be parsed/],
    ['private PEM', exportPrivateKey(pair.privateKey, 'pem'), /this PEM is a private key/],
    ['private JWK', exportPrivateKey(pair.privateKey, 'jwk'), /contains a private part/],
    ['private KeyObject', pair.privateKey, /use publicKeyOf\(\)/],
    ['RSA public PEM', rsa.publicKey.export({ type: 'spki', format: 'pem' }), /got rsa/],
    ['RSA public KeyObject', rsa.publicKey, /got rsa/],
    ['X25519 public PEM', x25519.publicKey.export({ type: 'spki', format: 'pem' }), /got x25519/],
    ['X25519 JWK', x25519.publicKey.export({ format: 'jwk' }), /"crv" must be "Ed25519", got "X25519"/],
    ['JWK without x', { kty: 'OKP', crv: 'Ed25519' }, /no "x"/],
    ['31-byte hex', PUB_HEX.slice(0, 62), /64 characters, got 62/],
    ['33-byte hex', `${PUB_HEX}00`, /64 characters, got 66/],
    ['odd hex', PUB_HEX.slice(0, 63), /64 characters, got 63/],
    ['31 raw bytes', h(PUB_HEX).subarray(0, 31), /unrecognised public key bytes \(31 bytes\)/],
    ['non-canonical y (p + 1)', `ee${'ff'.repeat(30)}7f`, /not canonically encoded/],
    ['number', 7, /from a number/],
  ];
  for (const [name, input, re] of cases) {
    it(name, () => {
      expectError(() => loadPublicKey(input as never), VcpCryptoError, re);
    });
  }

  it('refuses all 8 small-order points as hex, bytes, JWK and PEM', () => {
    for (const t of ED25519_TORSION_SUBGROUP) {
      const spki = Buffer.concat([h('302a300506032b6570032100'), h(t)]);
      const pem = `-----BEGIN PUBLIC KEY-----\n${spki.toString('base64')}\n-----END PUBLIC KEY-----\n`;
      for (const input of [
        t,
        h(t),
        { kty: 'OKP', crv: 'Ed25519', x: h(t).toString('base64url') },
        pem,
        spki,
      ]) {
        expectError(() => loadPublicKey(input as never), VcpCryptoError, /small-order point/);
      }
      expectError(() => publicKeyFromRaw(t), VcpCryptoError, /small-order point/);
    }
  });

  it('unknown export formats are refused', () => {
    expectError(() => exportPublicKey(pair.publicKey, 'der' as never), VcpCryptoError, /pem, jwk or hex/);
    expectError(() => exportPrivateKey(pair.privateKey, 'der' as never), VcpCryptoError, /pem, jwk or hex/);
  });
});

describe('key files', () => {
  const write = (name: string, data: string | Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  };

  it('sniffs PEM, JWK, hex and raw/DER files', () => {
    const files = [
      write('k.pem', exportPrivateKey(pair.privateKey, 'pem')),
      write('k.jwk', JSON.stringify(exportPrivateKey(pair.privateKey, 'jwk'), null, 2)),
      write('k.hex', `${SEED_HEX}\n`),
      write('k.raw', h(SEED_HEX)),
      write('k.der', pair.privateKey.export({ format: 'der', type: 'pkcs8' })),
    ];
    for (const f of files) expect(createSigner(loadPrivateKeyFile(f)).keyId).toBe(pair.keyId);
    const pubFiles = [
      write('p.pem', exportPublicKey(pair.publicKey, 'pem')),
      write('p.jwk', JSON.stringify(exportPublicKey(pair.publicKey, 'jwk'))),
      write('p.hex', `${PUB_HEX}\n`),
      write('p.raw', h(PUB_HEX)),
    ];
    for (const f of pubFiles) expect(keyId(loadPublicKeyFile(f))).toBe(pair.keyId);
  });

  it('a missing file or a directory → VcpConfigError naming the path', () => {
    const missing = join(dir, 'nope.pem');
    expectError(
      () => loadPrivateKeyFile(missing),
      VcpConfigError,
      /cannot open key file .*nope\.pem: ENOENT/,
    );
    expectError(() => loadPrivateKeyFile(dir), VcpConfigError, /EISDIR/);
    expectError(() => loadPrivateKeyFile(''), VcpConfigError, /non-empty string/);
  });

  // root reads any file, so there is nothing to show when the tests run as root;
  // key-file-unprivileged.test.ts runs this case (and the CLI's) as the user nobody.
  it('an unreadable file → VcpConfigError', (ctx) => {
    if (process.getuid?.() === 0)
      return ctx.skip(
        'running as root, which reads any file: key-file-unprivileged.test.ts runs this as nobody',
      );
    const p = write('locked.pem', exportPrivateKey(pair.privateKey, 'pem'));
    chmodSync(p, 0o000);
    expectError(() => loadPrivateKeyFile(p), VcpConfigError, /EACCES/);
  });

  it('an oversized file, or an endless device, is refused after a bounded read (no hang)', () => {
    const big = write('big.pem', Buffer.alloc(MAX_KEY_FILE_BYTES + 10, 0x41));
    expectError(() => loadPrivateKeyFile(big), VcpConfigError, /larger than 65536 bytes/);
    expectError(() => loadPrivateKeyFile('/dev/zero'), VcpConfigError, /larger than/);
  });

  it('bad contents → VcpCryptoError naming the file, not its contents', () => {
    const p = write('bad.hex', SEED_HEX.slice(0, 60));
    const err = expectError(
      () => loadPrivateKeyFile(p),
      VcpCryptoError,
      /key file .*bad\.hex: private key hex must be/,
    );
    expect(err.message).not.toContain(SEED_HEX.slice(0, 60));
    const pub = write('priv-as-pub.pem', exportPrivateKey(pair.privateKey, 'pem'));
    expectError(() => loadPublicKeyFile(pub), VcpCryptoError, /priv-as-pub\.pem: this PEM is a private key/);
  });
});

describe('keys from the environment', () => {
  it('reads PEM (with literal \\n escapes, as env files store it), JWK and hex', () => {
    const pemEscaped = exportPrivateKey(pair.privateKey, 'pem').replace(/\n/g, '\\n');
    for (const value of [pemEscaped, JSON.stringify(exportPrivateKey(pair.privateKey, 'jwk')), SEED_HEX]) {
      expect(keyId(publicKeyOf(loadPrivateKeyFromEnv('K', { K: value })))).toBe(pair.keyId);
    }
  });

  it('falls back to NAME_FILE (Docker/Kubernetes secrets)', () => {
    const p = join(dir, 'env.pem');
    writeFileSync(p, exportPrivateKey(pair.privateKey, 'pem'));
    expect(keyId(publicKeyOf(loadPrivateKeyFromEnv('VCP_SIGNING_KEY', { VCP_SIGNING_KEY_FILE: p })))).toBe(
      pair.keyId,
    );
  });

  it('neither set → VcpConfigError naming both variables', () => {
    expectError(
      () => loadPrivateKeyFromEnv('VCP_SIGNING_KEY', {}),
      VcpConfigError,
      /VCP_SIGNING_KEY .* VCP_SIGNING_KEY_FILE/,
    );
    expectError(() => loadPrivateKeyFromEnv('K', { K: '  ' }), VcpConfigError, /set K/);
  });

  it('a bad value → VcpCryptoError naming the variable, not the value', () => {
    const err = expectError(
      () => loadPrivateKeyFromEnv('K', { K: SEED_HEX.slice(0, 62) }),
      VcpCryptoError,
      /environment variable K: private key hex must be 64 or 128 characters, got 62/,
    );
    expect(err.message).not.toContain(SEED_HEX.slice(0, 62));
  });
});
