/**
 * The RFC 6962 hashing scheme: leaf = SHA-256(0x00 ‖ data), node =
 * SHA-256(0x01 ‖ left ‖ right), empty = SHA-256(""), checked against
 * transparency-dev/merkle's hasher vectors and an independent SHA-256.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VcpValidationError } from '../../src/core/errors.ts';
import {
  _binFromBytes,
  _binFromHex,
  _binToHex,
  _leafBin,
  _leafBinFromHex,
  _nodeBin,
  _nodeBinAdjacent,
} from '../../src/integrity/merkle/hasher.ts';
import {
  _hashChildren,
  _hashLeaf,
  _parseHash,
  EMPTY_ROOT_HEX,
  isHash32Hex,
  leafHash,
  nodeHash,
} from '../../src/integrity/merkle/index.ts';

const golden = JSON.parse(
  readFileSync(path.join(import.meta.dirname, '../vectors/data/rfc6962/golden_8leaf_tree.json'), 'utf8'),
) as { hasher: { desc: string; want: string; leafInputHex?: string; leftHex?: string; rightHex?: string }[] };

const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest('hex');
const EVENT = '6f2c1d3b5a4e9c8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0';

function validationError(fn: () => unknown): VcpValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VcpValidationError);
    return e as VcpValidationError;
  }
  throw new Error('expected a VcpValidationError');
}

describe('RFC 6962 hasher', () => {
  it('matches transparency-dev/merkle rfc6962_test.go vectors (empty, leaf, children)', () => {
    const [empty, emptyLeaf, leaf, children] = golden.hasher;
    expect(EMPTY_ROOT_HEX).toBe(empty!.want);
    expect(_hashLeaf(Buffer.from(emptyLeaf!.leafInputHex!, 'hex')).toString('hex')).toBe(emptyLeaf!.want);
    expect(_hashLeaf(Buffer.from(leaf!.leafInputHex!, 'hex')).toString('hex')).toBe(leaf!.want);
    const l = Buffer.from(children!.leftHex!, 'hex');
    const r = Buffer.from(children!.rightHex!, 'hex');
    expect(_hashChildren(l, r).toString('hex')).toBe(children!.want);
  });

  it('leafHash(event hash) = SHA-256(0x00 ‖ the 32 raw bytes), lowercase hex', () => {
    expect(leafHash(EVENT)).toBe(sha(Buffer.from([0]), Buffer.from(EVENT, 'hex')));
    expect(leafHash(EVENT.toUpperCase())).toBe(leafHash(EVENT));
    expect(leafHash(EVENT)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('nodeHash(left, right) = SHA-256(0x01 ‖ left ‖ right), order matters', () => {
    const a = leafHash(EVENT);
    const b = leafHash('00'.repeat(32));
    expect(nodeHash(a, b)).toBe(sha(Buffer.from([1]), Buffer.from(a, 'hex'), Buffer.from(b, 'hex')));
    expect(nodeHash(a, b)).not.toBe(nodeHash(b, a));
    expect(nodeHash(a.toUpperCase(), b)).toBe(nodeHash(a, b));
  });

  it('domain separation: a leaf over 64 bytes differs from the node over the same bytes', () => {
    const l = Buffer.alloc(32, 1);
    const r = Buffer.alloc(32, 2);
    expect(_hashLeaf(Buffer.concat([l, r])).equals(_hashChildren(l, r))).toBe(false);
  });

  it('the latin1-string fast paths (reused scratch buffers) give the same bytes, call after call', () => {
    for (let i = 0; i < 50; i++) {
      const d = createHash('sha256').update(String(i)).digest();
      const e = createHash('sha256').update(`x${i}`).digest();
      const leafD = _leafBin(d);
      expect(_binToHex(leafD)).toBe(sha(Buffer.from([0]), d));
      expect(_leafBinFromHex(d.toString('hex').toUpperCase())).toBe(leafD);
      expect(_binToHex(_leafBin(Buffer.concat([d, e])))).toBe(sha(Buffer.from([0]), d, e));
      expect(_binToHex(_nodeBin(_binFromBytes(d), _binFromBytes(e)))).toBe(sha(Buffer.from([1]), d, e));
      const both = Buffer.concat([Buffer.alloc(5), d, e]);
      expect(_binToHex(_nodeBinAdjacent(both, 5))).toBe(sha(Buffer.from([1]), d, e));
      expect(_binFromHex(d.toString('hex'))).toBe(_binFromBytes(d));
    }
  });

  it('leafHash rejects anything but 64 hex digits with path eventHash, rule hex32', () => {
    const bad: unknown[] = [
      '',
      EVENT.slice(0, 63),
      `${EVENT}0`,
      `${EVENT.slice(0, 62)}zz`,
      `0x${EVENT.slice(2)}`,
      ` ${EVENT.slice(1)}`,
      `${EVENT.slice(0, 63)}\u00e9`,
      `${EVENT.slice(0, 63)}\ud800`,
      // Low byte a hex digit ('\u0161' → 'a', '\u0130' → '0'): Buffer's hex decoder alone reads them as digits.
      '\u0161'.repeat(64),
      `\u0130${EVENT.slice(1)}`,
      null,
      undefined,
      42,
      Buffer.from(EVENT, 'hex'),
      { toString: () => EVENT },
    ];
    for (const v of bad) {
      const e = validationError(() => leafHash(v as string));
      expect(e.path).toBe('eventHash');
      expect(e.rule).toBe('hex32');
      expect(e.message).toMatch(/64 hex digits/);
    }
  });

  it('nodeHash names the bad side', () => {
    expect(validationError(() => nodeHash('zz', EVENT)).path).toBe('left');
    expect(validationError(() => nodeHash(EVENT, EVENT.slice(1))).path).toBe('right');
    expect(validationError(() => nodeHash(EVENT, `${EVENT.slice(0, 63)}\u0161`)).path).toBe('right');
  });

  it('error messages do not echo long input', () => {
    const e = validationError(() => leafHash('a'.repeat(10_000)));
    expect(e.message.length).toBeLessThan(200);
  });

  it('isHash32Hex / _parseHash accept either case and nothing else', () => {
    expect(isHash32Hex(EVENT)).toBe(true);
    expect(isHash32Hex(EVENT.toUpperCase())).toBe(true);
    expect(isHash32Hex(EVENT.slice(2))).toBe(false);
    expect(isHash32Hex(`${EVENT.slice(0, 63)}g`)).toBe(false);
    expect(isHash32Hex(123)).toBe(false);
    expect(_parseHash(EVENT.toUpperCase())?.toString('hex')).toBe(EVENT);
    expect(_parseHash('\u0161'.repeat(64))).toBeUndefined();
    expect(_binFromHex(`${EVENT.slice(0, 63)}\u0130`)).toBeUndefined();
  });
});
