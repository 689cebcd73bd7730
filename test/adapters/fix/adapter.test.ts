import { describe, expect, it } from 'vitest';
import { createFixAdapter, type FixAdapterOptions, toFixTime } from '../../../src/adapters/fix/adapter.ts';
import { deterministicUuidV7 } from '../../../src/adapters/fix/event-id.ts';
import { fixDecimal } from '../../../src/adapters/fix/mapper.ts';
import { createFixedClock } from '../../../src/core/clock.ts';
import { createPolicy } from '../../../src/core/policy.ts';
import type { DraftEvent } from '../../../src/core/types.ts';
import { isUuidV7, uuidv7Timestamp } from '../../../src/core/uuidv7.ts';
import { validateEvent } from '../../../src/core/validate.ts';
import { canonicalize } from '../../../src/integrity/canonical.ts';
import { createTestRecorder } from '../../../src/recorder/test-recorder.ts';
import { buildFix, type Field, pipes } from './fix-builder.ts';

const policy = createPolicy({ policyId: 'local:test:fix-adapter', tier: 'GOLD' });
const C = 'CLIENT12';
const B = 'BROKER01';

/** A message from the client (D/F/G) or the broker (8/9/3/j), numbered per direction. */
function session(begin = 'FIX.4.4') {
  const next = { out: 1, in: 1 };
  const send = (type: string, fields: Field[], extra: Field[] = []) =>
    buildFix(begin, [
      [35, type],
      [34, next.out++],
      [49, C],
      [52, '20240315-13:30:00.123'],
      [56, B],
      ...extra,
      ...fields,
    ]);
  const recv = (type: string, fields: Field[], extra: Field[] = []) =>
    buildFix(begin, [
      [35, type],
      [34, next.in++],
      [49, B],
      [52, '20240315-13:30:00.456'],
      [56, C],
      ...extra,
      ...fields,
    ]);
  return { send, recv, next };
}

function collect(options: Partial<FixAdapterOptions> = {}) {
  const events: DraftEvent[] = [];
  const adapter = createFixAdapter({
    policy,
    onEvent: (d) => events.push(d),
    clock: createFixedClock('1710509400000000000'),
    ...options,
  });
  return { adapter, events, types: () => events.map((e) => e.header.event_type) };
}

/** Every event the adapter makes must be a valid, warning-free v1.1 draft. */
function expectValid(events: DraftEvent[]) {
  for (const e of events) {
    const { errors, warnings } = validateEvent(e);
    expect([...errors, ...warnings], JSON.stringify(e.payload)).toEqual([]);
  }
}

const nos = (id: string, more: Field[] = []): Field[] => [
  [1, 'ACC-7781'],
  [11, id],
  [38, 100],
  [40, 2],
  [44, '187.25'],
  [54, 1],
  [55, 'AAPL'],
  [59, 0],
  ...more,
];
let execSeq = 0;
const er = (cl: string, execType: string, status: string, more: Field[] = []): Field[] => [
  [11, cl],
  [17, `EX-${++execSeq}`],
  [37, 'BRK-1'],
  [39, status],
  [54, 1],
  [55, 'AAPL'],
  [150, execType],
  ...more,
];

describe('FIX → VCP mapping', () => {
  it('NewOrderSingle → ORD with VCP words, exact decimal strings and routing header', () => {
    const { adapter, events } = collect();
    const s = session();
    adapter.onMessage(
      s.send(
        'D',
        nos('O-1', [
          [100, 'XNAS'],
          [15, 'USD'],
          [99, '186.000'],
        ]),
      ),
    );
    const [e] = events;
    expect(e!.header).toMatchObject({
      event_type: 'ORD',
      symbol: 'AAPL',
      account_id: 'ACC-7781',
      venue_id: 'XNAS',
    });
    expect(e!.payload.trade_data).toEqual({
      order_id: 'O-1',
      client_order_id: 'O-1',
      symbol: 'AAPL',
      side: 'BUY',
      order_type: 'LIMIT',
      time_in_force: 'DAY',
      price: '187.25',
      stop_price: '186.000',
      quantity: '100',
      currency: 'USD',
    });
    expect(e!.payload.fix).toMatchObject({
      msg_type: 'D',
      begin_string: 'FIX.4.4',
      msg_seq_num: '1',
      sender_comp_id: C,
    });
    expect(e!.header.trace_id).toBe(e!.header.event_id);
    expectValid(events);
  });

  it('an order life: ACK, PRT, MOD request and confirmation, EXE — one trace, fill figures as strings', () => {
    const { adapter, events, types } = collect();
    const s = session();
    adapter.onMessage(s.send('D', nos('O-1')));
    adapter.onMessage(
      s.recv(
        '8',
        er('O-1', '0', '0', [
          [151, 100],
          [14, 0],
          [6, 0],
        ]),
      ),
    );
    adapter.onMessage(
      s.recv(
        '8',
        er('O-1', 'F', '1', [
          [31, '187.20'],
          [32, 40],
          [151, 60],
          [14, 40],
          [6, '187.20'],
          [12, '0.40'],
          [13, 3],
          [30, 'XNAS'],
        ]),
      ),
    );
    adapter.onMessage(
      s.send('G', [
        [11, 'O-2'],
        [41, 'O-1'],
        [37, 'BRK-1'],
        [38, 100],
        [40, 2],
        [44, '187.10'],
        [54, 1],
        [55, 'AAPL'],
      ]),
    );
    adapter.onMessage(
      s.recv('8', [
        [41, 'O-1'],
        ...er('O-2', '5', '1', [
          [44, '187.10'],
          [151, 60],
          [14, 40],
        ]),
      ]),
    );
    // The fill names only the OrderID: still the same order.
    adapter.onMessage(
      buildFix('FIX.4.4', [
        [35, '8'],
        [34, s.next.in++],
        [49, B],
        [56, C],
        [37, 'BRK-1'],
        [17, 'EX-9'],
        [39, '2'],
        [150, 'F'],
        [31, '187.10'],
        [32, 60],
        [151, 0],
        [14, 100],
        [6, '187.14'],
      ]),
    );
    expect(types()).toEqual(['ORD', 'ACK', 'PRT', 'MOD', 'MOD', 'EXE']);
    expect(new Set(events.map((e) => e.header.trace_id)).size).toBe(1);
    expect(events.every((e) => e.payload.trade_data?.order_id === 'O-1')).toBe(true);
    expect(events[2]!.payload.trade_data).toMatchObject({
      last_px: '187.20',
      last_qty: '40',
      execution_price: '187.20',
      executed_qty: '40',
      leaves_qty: '60',
      cum_qty: '40',
      avg_px: '187.20',
      commission: '0.40',
      commission_type: '3',
      last_mkt: 'XNAS',
      order_status: 'PARTIALLY_FILLED',
    });
    expect(events[3]!.payload.trade_data).toMatchObject({
      order_status: 'PENDING_REPLACE',
      client_order_id: 'O-2',
      orig_client_order_id: 'O-1',
      price: '187.10',
    });
    expect(events[3]!.payload.fix).toMatchObject({ msg_type: 'G' });
    expect(events[4]!.payload.fix).toMatchObject({ msg_type: '8', exec_type: '5' });
    // Remembered per order: the last report had no symbol, side or account.
    expect(events[5]!.header).toMatchObject({ symbol: 'AAPL', account_id: 'ACC-7781', venue_id: B });
    expect(events[5]!.payload.trade_data).toMatchObject({
      side: 'BUY',
      leaves_qty: '0',
      order_status: 'FILLED',
    });
    expectValid(events);
  });

  it('PRT or EXE: OrdStatus first, then LeavesQty; FIX 4.2 ExecType 1/2 and ExecTransType', () => {
    const { adapter, types } = collect();
    const s = session('FIX.4.2');
    const fill = (
      execType: string,
      status: string | undefined,
      leaves: string | undefined,
      more: Field[] = [],
    ) =>
      s.recv('8', [
        [11, 'X'],
        [17, 'E'],
        [37, 'B'],
        ...(status ? ([[39, status]] as Field[]) : []),
        [150, execType],
        [31, '1'],
        [32, '1'],
        ...(leaves !== undefined ? ([[151, leaves]] as Field[]) : []),
        ...more,
      ]);
    adapter.onMessage(fill('1', '1', '5', [[20, '0']])); // PRT
    adapter.onMessage(fill('2', '2', '0', [[20, '0']])); // EXE
    adapter.onMessage(fill('F', undefined, '0.000')); // leaves zero → EXE
    adapter.onMessage(fill('F', undefined, '3')); // PRT
    adapter.onMessage(fill('F', '1', '0')); // OrdStatus says partial → PRT
    adapter.onMessage(fill('2', undefined, undefined)); // only ExecType: fill → EXE
    adapter.onMessage(fill('2', '2', '0', [[20, '1']])); // an execution cancel (bust) → AUD, not a fill
    expect(types()).toEqual(['PRT', 'EXE', 'EXE', 'PRT', 'PRT', 'EXE', 'AUD']);
  });

  it('cancel, expiry, reject with reason; other reports as AUD or skipped', () => {
    const { adapter, events, types } = collect();
    const s = session();
    adapter.onMessage(s.send('D', nos('O-1')));
    adapter.onMessage(
      s.send('F', [
        [11, 'O-2'],
        [41, 'O-1'],
        [54, 1],
        [55, 'AAPL'],
      ]),
    );
    adapter.onMessage(s.recv('8', [[41, 'O-1'], ...er('O-2', '6', '6')]));
    adapter.onMessage(s.recv('8', [[41, 'O-1'], ...er('O-2', '4', '4', [[151, 0]])]));
    adapter.onMessage(s.send('D', nos('O-3')));
    adapter.onMessage(
      s.recv(
        '8',
        er('O-3', '8', '8', [
          [103, 1],
          [58, 'Unknown symbol'],
        ]),
      ),
    );
    adapter.onMessage(s.send('D', nos('O-4')));
    adapter.onMessage(s.recv('8', er('O-4', '8', '8', [[103, 77]])));
    adapter.onMessage(s.send('D', nos('O-5')));
    adapter.onMessage(s.recv('8', er('O-5', 'C', 'C')));
    adapter.onMessage(s.recv('8', er('O-5', 'I', 'C'))); // order status reply
    expect(types()).toEqual(['ORD', 'CXL', 'CXL', 'CXL', 'ORD', 'REJ', 'ORD', 'REJ', 'ORD', 'CXL', 'AUD']);
    expect(events.slice(1, 4).map((e) => e.payload.trade_data?.order_status)).toEqual([
      'PENDING_CANCEL',
      'PENDING_CANCEL',
      'CANCELED',
    ]);
    expect(events[1]!.payload.fix).toMatchObject({ msg_type: 'F' });
    expect(events[5]!.payload.trade_data).toMatchObject({
      reject_reason: 'Unknown symbol',
      ord_rej_reason: 'UNKNOWN_SYMBOL',
    });
    // An OrdRejReason we do not know is kept as given, never invented.
    expect(events[7]!.payload.trade_data).toMatchObject({ reject_reason: '77', ord_rej_reason: '77' });
    expect(events[9]!.payload.trade_data?.order_status).toBe('EXPIRED');
    expectValid(events);

    const quiet = collect({ otherExecutionReports: 'ignore' });
    quiet.adapter.onMessage(s.recv('8', er('O-5', 'I', 'C')));
    expect(quiet.events).toEqual([]);
    expect(quiet.adapter.stats().skipped).toBe(1);
  });

  it('unknown enumeration values are kept as given, known ones named', () => {
    const { adapter, events } = collect();
    const s = session();
    adapter.onMessage(
      s.send('D', [
        [11, 'a'],
        [54, 'Z'],
        [40, 'Q'],
        [59, '9'],
        [55, 'X'],
        [38, 1],
      ]),
    );
    adapter.onMessage(
      s.send('D', [
        [11, 'b'],
        [54, 5],
        [40, 'P'],
        [59, 6],
        [55, 'X'],
        [38, 1],
      ]),
    );
    expect(events[0]!.payload.trade_data).toMatchObject({ side: 'Z', order_type: 'Q', time_in_force: '9' });
    expect(events[1]!.payload.trade_data).toMatchObject({
      side: 'SELL_SHORT',
      order_type: 'PEGGED',
      time_in_force: 'GTD',
    });
  });

  it('FIX numbers stay the strings they were; non-canonical zeros are trimmed; non-numbers are kept aside', () => {
    expect(fixDecimal('187.250')).toBe('187.250');
    expect(fixDecimal('0100.50')).toBe('100.50');
    expect(fixDecimal('.5')).toBe('0.5');
    expect(fixDecimal('5.')).toBe('5');
    expect(fixDecimal('-00.10')).toBe('-0.10');
    for (const bad of ['', '.', '-', '1e5', '+1', '1,5', 'NaN', '1.2.3', '9'.repeat(80)])
      expect(fixDecimal(bad)).toBeUndefined();
    const { adapter, events } = collect();
    adapter.onMessage(
      session().send(
        'D',
        nos('O-1').map(([t, v]): Field => (t === 44 ? [44, 'abc'] : t === 38 ? [38, '000100'] : [t, v])),
      ),
    );
    expect(events[0]!.payload.trade_data?.price).toBeUndefined();
    expect(events[0]!.payload.trade_data?.quantity).toBe('100');
    expect(events[0]!.payload.fix).toMatchObject({ invalid_fields: { '44': 'abc' } });
    expectValid(events);
  });

  it('OrderCancelReject → ERR_REJECT correlated to the request it answers, on the order trace', () => {
    const { adapter, events } = collect();
    const s = session();
    adapter.onMessage(s.send('D', nos('O-1')));
    adapter.onMessage(
      s.send('F', [
        [11, 'O-2'],
        [41, 'O-1'],
        [54, 1],
        [55, 'AAPL'],
      ]),
    );
    adapter.onMessage(
      s.recv('9', [
        [11, 'O-2'],
        [41, 'O-1'],
        [37, 'BRK-1'],
        [39, '2'],
        [102, '0'],
        [434, '1'],
        [58, 'Too late to cancel'],
      ]),
    );
    const [ord, cxl, rej] = events;
    expect(rej!.header.event_type).toBe('ERR_REJECT');
    expect(rej!.header.trace_id).toBe(ord!.header.trace_id);
    expect(rej!.payload.error_details).toMatchObject({
      error_code: 'FIX_CANCEL_REJECTED',
      severity: 'WARNING',
      correlated_event_id: cxl!.header.event_id,
      cxl_rej_reason: 'TOO_LATE_TO_CANCEL',
      cxl_rej_response_to: 'ORDER_CANCEL_REQUEST',
      text: 'Too late to cancel',
    });
    expect(rej!.payload.error_details!.error_message).toBe(
      'cancel request for order O-1 rejected (TOO_LATE_TO_CANCEL): Too late to cancel',
    );
    expect(rej!.payload.trade_data?.order_status).toBe('FILLED');
    expectValid(events);
  });

  it('session and business rejects → ERR_REJECT correlated by RefSeqNum', () => {
    const { adapter, events } = collect();
    const s = session();
    adapter.onMessage(s.send('D', nos('O-1'))); // our seq 1
    adapter.onMessage(
      s.recv('3', [
        [45, 1],
        [371, 44],
        [372, 'D'],
        [373, 5],
        [58, 'bad price'],
      ]),
    );
    adapter.onMessage(
      s.recv('j', [
        [45, 1],
        [372, 'D'],
        [380, 3],
        [379, 'O-1'],
      ]),
    );
    adapter.onMessage(
      s.recv('3', [
        [45, 999],
        [373, 42],
      ]),
    );
    const [ord, rej, biz, orphan] = events;
    expect(rej!.payload.error_details).toMatchObject({
      error_code: 'FIX_SESSION_REJECT',
      correlated_event_id: ord!.header.event_id,
      reject_reason: 'VALUE_INCORRECT',
      ref_tag_id: '44',
    });
    expect(rej!.header.trace_id).toBe(ord!.header.trace_id);
    expect(biz!.payload.error_details).toMatchObject({
      error_code: 'FIX_BUSINESS_REJECT',
      reject_reason: 'UNSUPPORTED_MESSAGE_TYPE',
    });
    expect(orphan!.payload.error_details?.correlated_event_id).toBeUndefined();
    expect(orphan!.payload.error_details?.reject_reason).toBe('42');
    expect(orphan!.header.venue_id).toBe(B);
    expectValid(events);
  });

  it('heartbeats and session messages are skipped unless heartbeats are asked for', () => {
    const s = session();
    const hb = s.recv('0', []);
    const logon = s.recv('A', [
      [98, 0],
      [108, 30],
    ]);
    const quiet = collect();
    quiet.adapter.onMessage(hb);
    quiet.adapter.onMessage(logon);
    expect(quiet.events).toEqual([]);
    expect(quiet.adapter.stats()).toMatchObject({ messages: 2, parsed: 2, skipped: 2, emitted: 0 });
    const loud = collect({ heartbeats: true });
    loud.adapter.onMessage(hb);
    expect(loud.types()).toEqual(['HBT']);
    expectValid(loud.events);
  });

  it('sequence gaps → ERR_SYNC before the message; resends are not recorded twice', () => {
    const { adapter, events, types } = collect();
    const s = session();
    adapter.onMessage(s.send('D', nos('O-1')));
    adapter.onMessage(s.recv('8', er('O-1', '0', '0')));
    const lost = s.recv(
      '8',
      er('O-1', 'F', '1', [
        [31, '1'],
        [32, 10],
        [151, 90],
      ]),
    );
    const later = s.recv(
      '8',
      er('O-1', 'F', '1', [
        [31, '1'],
        [32, 10],
        [151, 80],
      ]),
    );
    adapter.onMessage(later);
    expect(types()).toEqual(['ORD', 'ACK', 'ERR_SYNC', 'PRT']);
    expect(events[2]!.payload.error_details).toMatchObject({
      error_code: 'FIX_SEQUENCE_GAP',
      fix_session: `${B}->${C}`,
      missing_from: '2',
      missing_to: '2',
      missing_count: '1',
    });
    // The counterparty resends 2 (filling the gap) and 3 (already seen).
    const resend = (raw: string) => {
      const fields = pipes(raw)
        .split('|')
        .slice(2, -2)
        .map((f) => f.split('=') as Field);
      return buildFix('FIX.4.4', [...fields.slice(0, 2), [43, 'Y'], ...fields.slice(2)]);
    };
    adapter.onMessage(resend(lost));
    adapter.onMessage(resend(later));
    expect(types()).toEqual(['ORD', 'ACK', 'ERR_SYNC', 'PRT', 'PRT']);
    expect(events[4]!.payload.trade_data?.leaves_qty).toBe('90');
    expect(events[4]!.payload.fix).toMatchObject({ poss_dup: 'Y' });
    expect(adapter.stats()).toMatchObject({ duplicates: 1, sequence: { gaps: 1 } });
    expectValid(events);
  });
});

describe('FIX adapter: never throws, never stops', () => {
  const s = session();
  const good = s.send('D', nos('O-1'));
  const hostile: [string | Uint8Array, string][] = [
    [good.slice(0, 40), 'FIX_TRUNCATED'],
    [good.replace(/10=\d{3}/, '10=000'), 'FIX_CHECKSUM'],
    [good.replace(/9=\d+/, '9=3'), 'FIX_BODY_LENGTH'],
    [
      buildFix('FIX.4.4', [
        [34, 9],
        [49, C],
        [56, B],
        [11, 'x'],
      ]),
      'FIX_MSG_TYPE',
    ],
    [Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 10, 13]), 'FIX_NOT_FIX'],
    [`8=FIX.4.4\x019=1\x0135=D\x0158=${'y'.repeat(10 * 1024 * 1024)}\x0110=000\x01`, 'FIX_TOO_LARGE'],
    [good.replace('\x0149=', '|49='), 'FIX_MIXED_DELIMITERS'],
    [good.replace('\x0155=AAPL', '\x0155=AAPL\x0155=MSFT'), 'FIX_DUPLICATE_TAG'],
    [good.replace('\x0155=', '\x01x5='), 'FIX_BAD_TAG'],
    [
      buildFix('FIX.4.4', [
        [35, 'D'],
        [34, 'abc'],
        [49, C],
        [56, B],
      ]),
      'FIX_MSG_SEQ_NUM',
    ],
  ];

  it('each bad message becomes one ERR_PARSE with the reason and the raw message; the next good one still maps', () => {
    const { adapter, events } = collect();
    for (const [raw, code] of hostile) {
      const before = events.length;
      adapter.onMessage(raw);
      expect(events.length).toBe(before + 1);
      const e = events.at(-1)!;
      expect(e.header.event_type).toBe('ERR_PARSE');
      expect(e.payload.error_details).toMatchObject({
        error_code: code,
        severity: 'WARNING',
        affected_component: 'fix-adapter',
      });
      expect((e.payload.error_details!.error_message as string).length).toBeGreaterThan(10);
      const fix = e.payload.fix as { raw: string; raw_length: number };
      expect(fix.raw.length).toBeLessThanOrEqual(513);
      expect(fix.raw).not.toContain('\x01');
      expect(fix.raw_length).toBe(typeof raw === 'string' ? raw.length : raw.length);
    }
    adapter.onMessage(s.send('D', nos('O-2')));
    expect(events.at(-1)!.header.event_type).toBe('ORD');
    expect(adapter.stats()).toMatchObject({ parseErrors: hostile.length - 1, internalErrors: 0 }); // 34=abc parses
    expectValid(events);
  });

  it('a string with lone surrogates becomes an ERR_PARSE that is still canonical JSON', () => {
    const { adapter, events } = collect();
    adapter.onMessage('8=FIX.4.4\x019=5\x0135=D\ud800\x0110=000\x01');
    adapter.onMessage('\udfff garbage');
    expect(events.map((e) => e.header.event_type)).toEqual(['ERR_PARSE', 'ERR_PARSE']);
    for (const e of events) expect(() => canonicalize(e.payload)).not.toThrow();
    expect((events[1]!.payload.fix as { raw: string }).raw).toBe('\ufffd garbage');
  });

  it('wrong argument types are ERR_PARSE too', () => {
    const { adapter, types } = collect();
    for (const v of [null, undefined, 42, { raw: 'x' }, Symbol('x')]) adapter.onMessage(v as never);
    expect(types()).toEqual(['ERR_PARSE', 'ERR_PARSE', 'ERR_PARSE', 'ERR_PARSE', 'ERR_PARSE']);
  });

  it('a throwing consumer is counted and reported, not thrown into the FIX engine', () => {
    const seen: unknown[] = [];
    const adapter = createFixAdapter({
      policy,
      onEvent: () => {
        throw new Error('disk full');
      },
      onError: (e) => seen.push(e),
    });
    expect(() => adapter.onMessage(good)).not.toThrow();
    expect(adapter.stats().internalErrors).toBe(1);
    expect((seen[0] as Error).message).toBe('disk full');
    const silent = createFixAdapter({
      policy,
      onEvent: () => {
        throw new Error('x');
      },
      onError: () => {
        throw new Error('handler too');
      },
    });
    expect(() => silent.onMessage(good)).not.toThrow();
  });

  it('refuses to be built without a destination', () => {
    expect(() => createFixAdapter({} as never)).toThrow(/needs a `recorder` or an `onEvent`/);
    expect(() => createFixAdapter({ onEvent: () => {} })).toThrow(/needs a `policy`/);
  });
});

describe('FIX adapter: time and ids', () => {
  const s = session();
  const d = s.send('D', nos('O-1'));

  it('receivedAt in every form sets the event time with its own precision', () => {
    const { adapter, events } = collect({ sequence: false });
    adapter.onMessage(d, { receivedAt: new Date('2024-03-15T13:30:00.123Z') });
    adapter.onMessage(d, { receivedAt: 1710509400123.456 });
    adapter.onMessage(d, { receivedAt: 1710509400123456789n });
    adapter.onMessage(d, { receivedAt: '20240315-13:30:00.123456' });
    adapter.onMessage(d, { receivedAt: '2024-03-15T14:30:00.1+01:00' });
    expect(
      events.map((e) => [e.header.timestamp_iso, e.header.timestamp_precision, e.header.timestamp_int]),
    ).toEqual([
      ['2024-03-15T13:30:00.123Z', 'MILLISECOND', '1710509400123000000'],
      ['2024-03-15T13:30:00.123456Z', 'MICROSECOND', '1710509400123456000'],
      ['2024-03-15T13:30:00.123456789Z', 'NANOSECOND', '1710509400123456789'],
      ['2024-03-15T13:30:00.123456Z', 'MICROSECOND', '1710509400123456000'],
      ['2024-03-15T13:30:00.100Z', 'MILLISECOND', '1710509400100000000'],
    ]);
    expect(toFixTime('not a time')).toBeUndefined();
    expect(toFixTime(Number.NaN)).toBeUndefined();
    expect(toFixTime(-1n)).toBeUndefined();
    expectValid(events);
  });

  it('live default: the clock; replay mode: SendingTime (52), then the last time seen', () => {
    const live = collect();
    live.adapter.onMessage(d);
    expect(live.events[0]!.header.timestamp_iso).toBe('2024-03-15T13:30:00.000000Z'); // fixed clock, GOLD = µs
    const replay = collect({ timeSource: 'message' });
    replay.adapter.onMessage(d);
    replay.adapter.onMessage(buildFix('FIX.4.4', [[35, 'D'], [49, C], [56, B], ...nos('O-9')])); // no 52
    expect(replay.events.map((e) => e.header.timestamp_iso)).toEqual([
      '2024-03-15T13:30:00.123Z',
      '2024-03-15T13:30:00.123Z',
    ]);
    expect(replay.events[0]!.header.clock_sync_status).toBe('BEST_EFFORT');
  });

  it('with an idSeed, ids (and so trace ids) are the same on every run, and differ per event of a message', () => {
    const run = () => {
      const { adapter, events } = collect({ timeSource: 'message' });
      const t = session();
      adapter.onMessage(t.send('D', nos('O-1')), { idSeed: 'log:1' });
      adapter.onMessage(
        t.recv(
          '8',
          er('O-1', '0', '0', [[58, 'fixed']]).map(([k, v]): Field => (k === 17 ? [17, 'E1'] : [k, v])),
        ),
        {
          idSeed: 'log:2',
        },
      );
      t.next.in = 5; // a gap: ERR_SYNC + PRT from one message
      adapter.onMessage(
        t.recv(
          '8',
          er('O-1', 'F', '1', [
            [31, '1'],
            [32, 1],
            [151, 9],
          ]).map(([k, v]): Field => (k === 17 ? [17, 'E2'] : [k, v])),
        ),
        {
          idSeed: 'log:3',
        },
      );
      return events.map((e) => [e.header.event_type, e.header.event_id, e.header.trace_id]);
    };
    const a = run();
    expect(run()).toEqual(a);
    expect(a.map(([t]) => t)).toEqual(['ORD', 'ACK', 'ERR_SYNC', 'PRT']);
    expect(new Set(a.map(([, id]) => id)).size).toBe(4);
    expect(a[1]![2]).toBe(a[0]![1]); // the order's trace is its first event's id
    expect(a[3]![2]).toBe(a[0]![1]);
    for (const [, id] of a) {
      expect(isUuidV7(id)).toBe(true);
      expect(uuidv7Timestamp(id!)).toBe(Date.parse('2024-03-15T13:30:00.456Z') - (id === a[0]![1] ? 333 : 0));
    }
    expect(deterministicUuidV7(0, 'x', 0)).not.toBe(deterministicUuidV7(0, 'x', 1));
    expect(deterministicUuidV7(2 ** 50, 'x')).toMatch(/^ffffffff-ffff-7/);
  });
});

describe('FIX adapter with a recorder', () => {
  it('records through the recorder with the adapter’s ids and traces', async () => {
    const { recorder, sink } = createTestRecorder({ policy });
    const adapter = createFixAdapter({ recorder });
    const s = session();
    adapter.onMessage(s.send('D', nos('O-1')));
    adapter.onMessage(s.recv('8', er('O-1', '0', '0')));
    adapter.onMessage('garbage');
    await recorder.flush();
    const events = sink.events;
    expect(events.map((e) => e.header.event_type)).toEqual(['ORD', 'ACK', 'ERR_PARSE']);
    expect(events[1]!.header.trace_id).toBe(events[0]!.header.event_id);
    expect(events[0]!.header).toMatchObject({ venue_id: B, symbol: 'AAPL', account_id: 'ACC-7781' });
    expect(events.every((e) => typeof e.security.event_hash === 'string')).toBe(true);
    await recorder.close();
  });
});
