import { describe, expect, it } from 'vitest';
import { draftEvent } from '../../src/core/builder.ts';
import { createFixedClock } from '../../src/core/clock.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { createHashChain } from '../../src/integrity/chain.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { createSealer } from '../../src/recorder/sealer.ts';
import { type EncodeScratch, encodeEvents, toJsonl } from '../../src/sinks/_jsonl.ts';
import { serializeEvent } from '../../src/sinks/serialize.ts';

const policy = createPolicy({ policyId: 'local:test:jsonl', hashChain: true });
const clock = createFixedClock();

/** Sealed events of varied sizes and scripts: ASCII, 2-, 3- and 4-byte UTF-8, escapes, long text. */
function sealedMix(n: number): VcpEvent[] {
  const sealer = createSealer({ chain: createHashChain() });
  const out: VcpEvent[] = [];
  for (let i = 0; i < n; i++) {
    const note = ['ascii', 'ünïcødé ✓ 𝄞', 'q"\\\n\u0001', 'x'.repeat(i % 7 === 0 ? 20_000 : 3)][i % 4]!;
    const r = sealer.seal(
      draftEvent('ORD', { trade_data: { order_id: `O-${i}`, price: '1.0850' }, note }, { policy, clock }),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    out.push(r.event);
  }
  return out;
}

describe('encodeEvents (lines written piece by piece from the sealed text)', () => {
  it('gives exactly the bytes of serializeEvent lines, for JSONL and for a JSON array', () => {
    for (const n of [1, 2, 3, 50]) {
      const events = sealedMix(n);
      expect(encodeEvents(events).toString('utf8')).toBe(toJsonl(events));
      const arr = encodeEvents(events, '[', ',', ']').toString('utf8');
      expect(arr).toBe(`[${events.map(serializeEvent).join(',')}]`);
      expect(JSON.parse(arr)).toEqual(JSON.parse(JSON.stringify(events)));
    }
    expect(encodeEvents([], '[', ',', ']').toString()).toBe('[]');
    expect(encodeEvents([]).length).toBe(0);
  });

  it('writes events without attached text (built elsewhere) with JSON.stringify, mixed with sealed ones', () => {
    const sealed = sealedMix(3);
    const plain = sealEvent(
      draftEvent('ORD', { trade_data: { order_id: 'P-1' }, n: '€' }, { policy, clock }),
    );
    const mixed = [sealed[0]!, plain, sealed[1]!, plain, sealed[2]!];
    expect(encodeEvents(mixed).toString('utf8')).toBe(toJsonl(mixed));
    expect(serializeEvent(plain)).toBe(JSON.stringify(plain));
  });

  it('writes the security block as it is when encoded (a signature added after sealing is written)', () => {
    const [e] = sealedMix(1);
    e!.security.signature = 'c2ln';
    e!.security.sign_algo = 'ED25519';
    const line = JSON.parse(encodeEvents([e!]).toString('utf8'));
    expect(line.security.signature).toBe('c2ln');
    expect(line).toEqual(JSON.parse(JSON.stringify(e)));
  });

  it('reuses a scratch buffer across calls, growing it for a bigger batch, with the same bytes', () => {
    const scratch: EncodeScratch = { buf: undefined };
    for (const n of [3, 40, 2, 120, 1]) {
      const events = sealedMix(n);
      const out = encodeEvents(events, '', '\n', '\n', scratch);
      expect(out.toString('utf8')).toBe(toJsonl(events));
      expect(out.buffer).toBe(scratch.buf!.buffer);
    }
  });
});

describe('encodeEvents with a first line larger than its first buffers', () => {
  /** One sealed event whose note holds `chars` characters (3 bytes of room each when encoded). */
  function bigEvent(chars: number, char = 'x'): VcpEvent {
    const r = createSealer().seal(
      draftEvent(
        'ORD',
        { trade_data: { order_id: `B-${chars}` }, note: char.repeat(chars) },
        { policy, clock },
      ),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    return r.event;
  }

  it('grows until the first line fits: never a short buffer, never bytes it did not write', () => {
    // Past 21 845 characters a line needs more than the 64 KiB the encoder tried second; it then
    // returned buf.subarray(0, -1): 65 535 bytes of uninitialised memory (written to the file),
    // or threw on the copy when more events followed.
    // Odd sizes in `€` (3 bytes in UTF-8), even ones in ASCII.
    for (const chars of [21_900, 30_001, 200_001, 1_000_000]) {
      const big = bigEvent(chars, chars % 2 ? '€' : 'x');
      const small = sealedMix(3);
      for (const events of [[big], [big, ...small], [small[0]!, big, small[1]!]]) {
        expect(encodeEvents(events).toString('utf8')).toBe(toJsonl(events));
        expect(encodeEvents(events, '[', ',', ']').toString('utf8')).toBe(
          `[${events.map(serializeEvent).join(',')}]`,
        );
        // A small scratch buffer left by an earlier batch of small events.
        const scratch: EncodeScratch = { buf: undefined };
        encodeEvents(sealedMix(2).slice(1), '', '\n', '\n', scratch);
        expect(encodeEvents(events, '', '\n', '\n', scratch).toString('utf8')).toBe(toJsonl(events));
      }
    }
  });
});
