/**
 * The sealer's mark on a sealed event (the texts it hashed, and the hash): the embedded store and
 * every text sink rely on it, so no other code may read it as something else, replace it, or carry
 * it over to another object.
 */
import { describe, expect, it } from 'vitest';
import { draftEvent } from '../../src/core/builder.ts';
import { createPolicy } from '../../src/core/policy.ts';
import { canonicalize } from '../../src/integrity/canonical.ts';
import { createHashChain } from '../../src/integrity/chain.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { markSealed, type SealedTexts, sealedTexts } from '../../src/integrity/sealed-mark.ts';
import { createSealer } from '../../src/recorder/sealer.ts';

const texts = (): SealedTexts => ({
  headerJcs: '{"event_id":"x"}',
  payloadJcs: '{}',
  eventHash: 'a'.repeat(64),
  algo: 'SHA256',
  prevHash: undefined,
});

describe('the sealed mark', () => {
  it('is invisible to JSON, keys, symbols and the prototype, and stays with this very object only', () => {
    const event = { header: { event_id: 'x' }, payload: {} };
    markSealed(event, texts());
    expect(sealedTexts(event)?.headerJcs).toBe('{"event_id":"x"}');
    expect(JSON.stringify(event)).toBe('{"header":{"event_id":"x"},"payload":{}}');
    expect(Reflect.ownKeys(event)).toEqual(['header', 'payload']);
    expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
    for (const copy of [
      { ...event },
      structuredClone(event),
      JSON.parse(JSON.stringify(event)),
      Object.assign({}, event),
    ])
      expect(sealedTexts(copy)).toBeUndefined();
    for (const v of [undefined, null, 1, 'x', Symbol('s'), () => {}]) expect(sealedTexts(v)).toBeUndefined();
  });

  it('cannot be replaced or changed once set', () => {
    const event = {};
    markSealed(event, texts());
    expect(() => markSealed(event, { ...texts(), headerJcs: '{"event_id":"y"}' })).toThrow(TypeError);
    const record = sealedTexts(event)!;
    expect(Object.isFrozen(record)).toBe(true);
    expect(() => {
      (record as { headerJcs: string }).headerJcs = 'changed';
    }).toThrow(TypeError);
    expect(sealedTexts(event)!.headerJcs).toBe('{"event_id":"x"}');
  });

  it('holds what the sealer hashed, in every validate mode', () => {
    const policy = createPolicy({ policyId: 'com.example:mark', tier: 'GOLD' });
    const chain = createHashChain();
    const modes = [true, 'own-draft', false] as const;
    for (const validate of modes) {
      const draft = draftEvent('ORD', { trade_data: { order_id: `O-${validate}` } }, { policy });
      const r = createSealer({ validate, chain }).seal(draft);
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      const mark = sealedTexts(r.event)!;
      expect(mark).toMatchObject({
        headerJcs: canonicalize(draft.header),
        payloadJcs: canonicalize(draft.payload),
        eventHash: r.event.security.event_hash,
        prevHash: r.event.security.prev_hash,
        algo: 'SHA256',
      });
      expect(computeEventHash(r.event, { prevHash: mark.prevHash })).toBe(mark.eventHash);
    }
  });
});
