import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sourceEventId, traceIdFromKey } from '../../src/adapters/source-ids.ts';
import { isUuidV7, uuidVersion, uuidv7Timestamp } from '../../src/core/uuidv7.ts';

const at = { transport: 'kafka', stream: 'orders', partition: 3, position: '1234' };

/** Slow, obviously-right reference of the documented layout, field by field with BigInt. */
function referenceEventId(parts: string[], ms: number): string {
  const h = createHash('sha256')
    .update(['vcp-source-event/1', ...parts].join('\0'))
    .digest();
  const tail = BigInt(`0x${h.subarray(0, 10).toString('hex')}`); // bytes 0-9 of H → bytes 6-15 of the id
  const versionMask = 0xfn << 76n; // high nibble of byte 6
  const variantMask = 0x3n << 62n; // top two bits of byte 8
  const withBits = (tail & ~versionMask & ~variantMask) | (7n << 76n) | (2n << 62n);
  const v = (BigInt(ms) << 80n) | withBits;
  const hex = v.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe('sourceEventId', () => {
  it('is a valid UUIDv7 whose time is the message time', () => {
    const id = sourceEventId(at, 1735084800123);
    expect(isUuidV7(id)).toBe(true);
    expect(uuidv7Timestamp(id)).toBe(1735084800123);
  });

  it('follows the documented layout exactly (checked against a BigInt reference)', () => {
    for (const [ms, ns] of [
      [0, ''],
      [1, 'cluster-a'],
      [1735084800123, ''],
      [2 ** 48 - 1, 'x'],
    ] as const) {
      expect(sourceEventId(at, ms, ns)).toBe(referenceEventId([ns, 'kafka', 'orders', '3', '1234'], ms));
    }
  });

  it('matches the reference for 2 000 positions, so every hex digit under the version and variant bits occurs', () => {
    const variantDigits = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const position = `${1718000000000 + i}-${i % 7}`;
      const ms = i * 7_919_993;
      const id = sourceEventId(
        { transport: 'redis', stream: 'fills', partition: 0, position },
        ms,
        `ns-${i % 3}`,
      );
      expect(id).toBe(referenceEventId([`ns-${i % 3}`, 'redis', 'fills', '0', position], ms));
      variantDigits.add(id[19]!);
    }
    expect([...variantDigits].sort()).toEqual(['8', '9', 'a', 'b']);
  });

  it('is the same for the same message, different for any other position, stream, transport or namespace', () => {
    const id = sourceEventId(at, 1000);
    expect(sourceEventId({ ...at }, 1000)).toBe(id);
    const others = [
      sourceEventId({ ...at, position: '1235' }, 1000),
      sourceEventId({ ...at, partition: 2 }, 1000),
      sourceEventId({ ...at, stream: 'executions' }, 1000),
      sourceEventId({ ...at, transport: 'redis' }, 1000),
      sourceEventId(at, 1000, 'other-cluster'),
      // Fields are NUL-delimited: moving a digit from the partition to the offset changes the id.
      sourceEventId({ ...at, partition: 31, position: '234' }, 1000),
    ];
    expect(new Set([id, ...others]).size).toBe(others.length + 1);
  });

  it('clamps timestamps it cannot encode instead of producing a malformed id', () => {
    expect(uuidv7Timestamp(sourceEventId(at, -1))).toBe(0);
    expect(uuidv7Timestamp(sourceEventId(at, Number.NaN))).toBe(0);
    expect(uuidv7Timestamp(sourceEventId(at, 2 ** 60))).toBe(2 ** 48 - 1);
    expect(isUuidV7(sourceEventId(at, 1.7))).toBe(true);
  });

  it('gives 10 000 consecutive offsets of one millisecond 10 000 distinct ids', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) ids.add(sourceEventId({ ...at, position: String(i) }, 1000));
    expect(ids.size).toBe(10_000);
  });
});

describe('traceIdFromKey', () => {
  it('is a name-based UUIDv8 (RFC 9562 §5.8): version 8, variant 10', () => {
    const id = traceIdFromKey('ORD-001');
    expect(uuidVersion(id)).toBe(8);
    expect(id[19]).toMatch(/[89ab]/);
  });

  it('gives every event of one order the same trace, and other orders other traces', () => {
    expect(traceIdFromKey('ORD-001')).toBe(traceIdFromKey('ORD-001'));
    expect(traceIdFromKey('ORD-002')).not.toBe(traceIdFromKey('ORD-001'));
    expect(traceIdFromKey('ORD-001', 'desk-b')).not.toBe(traceIdFromKey('ORD-001'));
  });

  it('is the first 128 bits of SHA-256 with version and variant set, as documented', () => {
    for (let i = 0; i < 500; i++) {
      const [key, ns] = [`ORD-${i.toString().padStart(3, '0')}`, i % 2 ? 'desk-b' : ''];
      const h = createHash('sha256').update(`vcp-trace/1\0${ns}\0${key}`).digest();
      h[6] = 0x80 | (h[6]! & 0x0f);
      h[8] = 0x80 | (h[8]! & 0x3f);
      const hex = h.subarray(0, 16).toString('hex');
      expect(traceIdFromKey(key, ns)).toBe(
        `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
      );
    }
  });
});
