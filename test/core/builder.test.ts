import { describe, expect, it } from 'vitest';
import { buildEvent, convertFinancialNumbers } from '../../src/core/builder.ts';
import { createFixedClock } from '../../src/core/clock.ts';
import { isDecimalString, toDecimalString } from '../../src/core/decimal.ts';
import { VcpValidationError } from '../../src/core/errors.ts';
import { ERROR_DEFAULT_SEVERITY, EVENT_TYPE_CODES, eventTypeFromCode } from '../../src/core/event-types.ts';
import { createPolicy, isValidPolicyId, policyIdKind } from '../../src/core/policy.ts';
import { isUuidV7 } from '../../src/core/uuidv7.ts';
import { validateEvent } from '../../src/core/validate.ts';

const policy = createPolicy({ policyId: 'com.example.trading:gold-algo-v2', tier: 'GOLD' });
const order = {
  trade_data: {
    order_id: 'ORD-1',
    symbol: 'EURUSD',
    side: 'BUY',
    order_type: 'LIMIT',
    price: '1.0850',
    quantity: '100000',
  },
};

function thrown(fn: () => unknown): VcpValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VcpValidationError);
    return e as VcpValidationError;
  }
  throw new Error('expected a VcpValidationError');
}

describe('event types', () => {
  it('have the registry codes and the documented ERR_* block', () => {
    expect(EVENT_TYPE_CODES).toMatchObject({
      SIG: 1,
      ORD: 2,
      ACK: 3,
      EXE: 4,
      PRT: 5,
      REJ: 6,
      CXL: 7,
      MOD: 8,
      CLS: 9,
    });
    expect(EVENT_TYPE_CODES).toMatchObject({
      ALG: 20,
      RSK: 21,
      AUD: 22,
      HBT: 98,
      ERR: 99,
      REC: 100,
      SNC: 101,
    });
    expect(EVENT_TYPE_CODES.ERR_CONN).toBe(110);
    expect(EVENT_TYPE_CODES.ERR_RECOVER).toBe(118);
    expect(new Set(Object.values(EVENT_TYPE_CODES)).size).toBe(Object.keys(EVENT_TYPE_CODES).length);
    expect(eventTypeFromCode(4)).toBe('EXE');
    expect(ERROR_DEFAULT_SEVERITY).toMatchObject({
      ERR_CONN: 'CRITICAL',
      ERR_TIMEOUT: 'WARNING',
      ERR_RECOVER: 'INFO',
    });
  });
});

describe('policy identification', () => {
  it('accepts the spec §5.5.4 forms and rejects others', () => {
    for (const ok of [
      'org.veritaschain.prod:hft-system-001',
      'com.example.trading:gold-algo-v2',
      'jp.co.broker:silver-mt5-bridge',
      'local:acme:desk-1',
    ]) {
      expect(isValidPolicyId(ok)).toBe(true);
    }
    for (const bad of [
      '',
      'trading',
      'example:x',
      'com.example:',
      ':x',
      'com.example:has space',
      'COM.Example:x',
      42,
    ]) {
      expect(isValidPolicyId(bad)).toBe(false);
    }
  });

  it('keeps each verdict when ids repeat and alternate (the last id is remembered)', () => {
    const sequence: [unknown, 'domain' | 'local' | undefined][] = [
      ['com.example.trading:a', 'domain'],
      ['com.example.trading:a', 'domain'],
      ['local:acme:desk-1', 'local'],
      ['COM.Example:x', undefined],
      ['COM.Example:x', undefined],
      ['com.example.trading:a', 'domain'],
      [42, undefined],
      ['local:acme:desk-1', 'local'],
      ['local:acme:desk-1 ', undefined],
      ['local:acme:desk-1', 'local'],
      [`${'ab.'.repeat(400)}com:x`, 'domain'], // too long to be remembered, still judged
      ['local:acme:desk-1', 'local'],
      [`${'ab.'.repeat(400)}com:x `, undefined],
      [`${'ab.'.repeat(400)}com:x`, 'domain'],
    ];
    for (const [id, kind] of sequence) expect(policyIdKind(id), String(id)).toBe(kind);
  });

  it('builds the full block with verification depth', () => {
    expect(
      createPolicy({ policyId: 'com.example.trading:algo-1', tier: 'PLATINUM', hashChain: true }),
    ).toEqual({
      version: '1.1',
      policy_id: 'com.example.trading:algo-1',
      conformance_tier: 'PLATINUM',
      registration_policy: { issuer: 'trading.example.com' },
      verification_depth: {
        hash_chain_validation: true,
        merkle_proof_required: true,
        external_anchor_required: true,
      },
    });
    const e = thrown(() => createPolicy({ policyId: 'nope', tier: 'BRONZE' as never }));
    expect(e.issues.map((i) => i.path)).toEqual([
      'policy_identification.policy_id',
      'policy_identification.conformance_tier',
    ]);
  });
});

describe('buildEvent', () => {
  it('makes a complete, valid v1.1 event', () => {
    const clock = createFixedClock('1735084800123456789');
    const e = buildEvent('ORD', order, {
      policy,
      venueId: 'XLON',
      accountId: 'ACC-7',
      clock,
      traceId: '0193f1e2-0000-7000-8000-000000000001',
    });
    expect(e.header).toEqual({
      event_id: e.header.event_id,
      trace_id: '0193f1e2-0000-7000-8000-000000000001',
      timestamp_int: '1735084800123456000',
      timestamp_iso: '2024-12-25T00:00:00.123456Z',
      event_type: 'ORD',
      event_type_code: 2,
      timestamp_precision: 'MICROSECOND',
      clock_sync_status: 'BEST_EFFORT',
      hash_algo: 'SHA256',
      venue_id: 'XLON',
      symbol: 'EURUSD',
      account_id: 'ACC-7',
      vcp_version: '1.1',
    });
    expect(isUuidV7(e.header.event_id)).toBe(true);
    expect(e.policy_identification).toBe(policy);
    expect(validateEvent(e)).toEqual({ errors: [], warnings: [] });
  });

  it('refuses a policy with no known tier with a VcpValidationError naming it, not a TypeError', () => {
    for (const policy of [
      { policy_id: 'com.example:algo' },
      { policy_id: 'com.example:algo', conformance_tier: 'toString' },
    ]) {
      let error: unknown;
      try {
        buildEvent('ORD', { trade_data: { order_id: 'x' } }, { policy: policy as never });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(VcpValidationError);
      expect((error as VcpValidationError).issues[0]).toMatchObject({
        path: 'policy_identification.conformance_tier',
        rule: 'enum',
      });
    }
  });

  it('rejects a JS number in a financial field, naming the field and the rule', () => {
    const e = thrown(() =>
      buildEvent('ORD', { trade_data: { ...order.trade_data, price: 1.085 as never } }, { policy }),
    );
    expect(e.issues).toContainEqual(
      expect.objectContaining({ path: 'payload.trade_data.price', rule: 'decimal-string' }),
    );
    expect(e.message).toMatch(/payload\.trade_data\.price: financial values must be strings/);
  });

  it('pairs each financial value with its own key even when a getter deletes a property', () => {
    const trade: Record<string, unknown> = {};
    Object.defineProperty(trade, 'a', {
      enumerable: true,
      configurable: true,
      get() {
        delete trade.b;
        return 'x';
      },
    });
    trade.b = 'not-a-decimal-field';
    trade.price = '1,085';
    const { errors } = validateEvent({
      header: {},
      payload: { trade_data: trade },
      policy_identification: policy,
    });
    expect(errors).toContainEqual(
      expect.objectContaining({ path: 'payload.trade_data.price', rule: 'decimal-string' }),
    );
  });

  it('rejects numbers nested in vcp_risk and non-decimal strings', () => {
    const e = thrown(() =>
      buildEvent(
        'RSK',
        { vcp_risk: { checks: [{ name: 'max', result: 'PASS', value: 3 as never }], max_order_size: '1e6' } },
        { policy },
      ),
    );
    expect(e.issues.map((i) => i.path).sort()).toEqual([
      'payload.vcp_risk.checks[0].value',
      'payload.vcp_risk.max_order_size',
    ]);
  });

  it('converts numbers on request, without float noise', () => {
    const e = buildEvent(
      'EXE',
      {
        trade_data: {
          order_id: 'O',
          execution_price: 0.1 + 0.2,
          executed_qty: 100000,
          commission: 1e-7,
          slippage: -0,
        } as never,
      },
      { policy, numbers: 'convert' },
    );
    expect(e.payload.trade_data).toMatchObject({
      execution_price: '0.3',
      executed_qty: '100000',
      commission: '0.0000001',
      slippage: '0',
    });
  });

  it('conversion refuses values that already lost precision', () => {
    expect(() => toDecimalString(2 ** 60)).toThrow(/beyond 2\^53/);
    expect(() => toDecimalString(Number.NaN)).toThrow(VcpValidationError);
    expect(() => toDecimalString(Number.POSITIVE_INFINITY)).toThrow(/cannot be a financial value/);
    expect(toDecimalString(1.085)).toBe('1.085');
    expect(toDecimalString(1.5e-7)).toBe('0.00000015');
    expect(toDecimalString(2 ** 52)).toBe('4503599627370496');
    expect(toDecimalString(123456.789)).toBe('123456.789');
    expect(isDecimalString('1.0850')).toBe(true);
    for (const bad of ['1e5', '+1', '01', '.5', '1.', 'NaN', '', ' 1'])
      expect(isDecimalString(bad)).toBe(false);
  });

  it('conversion keeps a __proto__ key as data and does not pollute prototypes', () => {
    const payload = JSON.parse('{"trade_data":{"__proto__":{"polluted":1},"price":1.5}}');
    const out = convertFinancialNumbers(payload);
    expect(Object.keys(out.trade_data!)).toEqual(['__proto__', 'price']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out.trade_data)).toBe(Object.prototype);
  });

  it('requires a policy and a known event type', () => {
    expect(thrown(() => buildEvent('ORD', order, {})).path).toBe('policy_identification');
    expect(thrown(() => buildEvent('FOO' as never, order, { policy })).rule).toBe('event-type');
  });

  it('ERR_* events need error_details with a valid severity', () => {
    const e = thrown(() =>
      buildEvent(
        'ERR_REJECT',
        {
          error_details: {
            error_code: 'X',
            error_message: 'no',
            severity: 'BAD',
            affected_component: 'gw',
          } as never,
        },
        { policy },
      ),
    );
    expect(e.issues[0]).toMatchObject({ path: 'payload.error_details.severity', rule: 'enum' });
    expect(() => buildEvent('ERR_REJECT', {}, { policy })).toThrow(/should carry error_details/);
  });
});

describe('validateEvent on what clients send', () => {
  it('accepts the integration guide Python client event with warnings for each v1.1 gap', () => {
    const guide = {
      header: {
        event_id: '550e8400-e29b-41d4-a716-446655440000',
        event_type: 'ORD',
        timestamp_iso: '2025-12-25T12:00:00.123456+00:00',
        timestamp_int: '1766664000123',
        timestamp_precision: 'MILLISECOND',
        clock_sync_status: 'BEST_EFFORT',
        vcp_version: '1.1',
        hash_algo: 'SHA256',
      },
      payload: order,
      policy_identification: {
        version: '1.1',
        policy_id: 'com.mycompany:trading-system-v1',
        conformance_tier: 'SILVER',
        verification_depth: {
          hash_chain_validation: false,
          merkle_proof_required: true,
          external_anchor_required: true,
        },
      },
    };
    const r = validateEvent(guide);
    expect(r.errors).toEqual([]);
    const rules = r.warnings.map((w) => `${w.path}:${w.rule}`);
    expect(rules).toEqual(
      expect.arrayContaining([
        'header.event_id:uuidv7',
        'header.trace_id:required',
        'header.event_type_code:required',
        'header.timestamp_int:timestamp-consistency',
        'header.venue_id:required',
        'policy_identification.registration_policy:required',
      ]),
    );
    expect(r.warnings.find((w) => w.rule === 'timestamp-consistency')!.message).toMatch(
      /looks like milliseconds/,
    );
  });

  it('returns errors, never throws, on hostile input', () => {
    for (const bad of [
      null,
      42,
      'x',
      [],
      { header: [], payload: 'x' },
      { header: { event_id: 5 }, payload: {} },
    ]) {
      const r = validateEvent(bad);
      expect(r.errors.length).toBeGreaterThan(0);
    }
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 10_000; i++) cur = cur.x = {} as Record<string, unknown>;
    expect(() => validateEvent({ header: {}, payload: { trade_data: deep } })).not.toThrow();
  });

  it('prefixes paths for batch items', () => {
    const r = validateEvent({ header: {}, payload: {} }, { pathPrefix: '[3].' });
    expect(r.errors[0]!.path.startsWith('[3].header')).toBe(true);
  });
});

describe('validateOwnDraft (the recorder’s fast check)', () => {
  it('finds exactly the errors validateEvent finds on drafts built by draftEvent', async () => {
    const { draftEvent } = await import('../../src/core/builder.ts');
    const { validateOwnDraft } = await import('../../src/core/validate.ts');
    const payloads: unknown[] = [
      order,
      { trade_data: { price: 1.5 } },
      { trade_data: { quantity: '1e5', nested: [{ v: 3 }] } },
      { vcp_risk: 'high' },
      { error_details: { severity: 'LOUD' } },
      { trade_data: Object.create({ inherited: 1 }) },
      {},
    ];
    for (const p of payloads) {
      for (const type of ['ORD', 'ERR_REJECT', 'RSK'] as const) {
        const d = draftEvent(type, p as never, { policy });
        expect(validateOwnDraft(d)).toEqual(validateEvent(d).errors);
      }
    }
    const bad = draftEvent('ORD', order, { policy, venueId: 7 as never, traceId: {} as never });
    expect(validateOwnDraft(bad).map((e) => e.path)).toEqual(validateEvent(bad).errors.map((e) => e.path));
  });
});
