import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isLowerHex64 } from '../../src/core/hex.ts';

describe('isLowerHex64 (every hash field of an event, anchor and checkpoint)', () => {
  const hash = createHash('sha256').update('vcp').digest('hex');

  it('accepts a SHA-256 digest as node:crypto writes it, and every lowercase hex digit', () => {
    expect(isLowerHex64(hash)).toBe(true);
    expect(isLowerHex64('0123456789abcdef'.repeat(4))).toBe(true);
  });

  it('refuses what /^[0-9a-f]{64}$/ refuses: case, length, other characters', () => {
    const re = /^[0-9a-f]{64}$/;
    const near = [
      hash.toUpperCase(),
      hash.slice(1),
      `${hash}0`,
      `${hash.slice(0, 63)}g`,
      `${hash.slice(0, 63)}\n`,
      `${hash.slice(0, 63)}٣`, // an Arabic-Indic digit
      `${hash.slice(0, 63)}ａ`, // fullwidth a
      `${hash.slice(0, 62)}😀`,
      ` ${hash.slice(1)}`,
      '',
    ];
    for (const s of near) expect([s, isLowerHex64(s)]).toEqual([s, re.test(s)]);
    for (let code = 0; code < 0x3000; code++) {
      const s = hash.slice(0, 40) + String.fromCharCode(code) + hash.slice(41);
      expect(isLowerHex64(s)).toBe(re.test(s));
    }
  });

  it('refuses every non-string, even one whose text would match (no coercion)', () => {
    for (const v of [[hash], { toString: () => hash }, undefined, null, 1e63, Buffer.from(hash)])
      expect(isLowerHex64(v)).toBe(false);
  });
});
