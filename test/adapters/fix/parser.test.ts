import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLogLine } from '../../../src/adapters/fix/log-reader.ts';
import { type FixParseResult, parseFixMessage, printableRaw } from '../../../src/adapters/fix/parser.ts';
import { buildFix, checksumOf, type Field, pipes } from './fix-builder.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');

/** The FIX 4.2 ExecutionReport of Wikipedia's "Financial Information eXchange" article (BodyLength 178, CheckSum 128). */
const WIKIPEDIA_42 =
  '8=FIX.4.2|9=178|35=8|49=PHLX|56=PERS|52=20071123-05:30:00.000|11=ATOMNOCCC9990900|20=3|150=E|39=E|55=MSFT|167=CS|54=1|38=15|40=2|44=15|58=PHLX EQUITY TESTING|59=0|47=C|32=0|31=0|151=15|14=0|6=0|10=128|';

const NOS_44: Field[] = [
  [35, 'D'],
  [34, 2],
  [49, 'CLIENT12'],
  [52, '20240315-13:30:00.123'],
  [56, 'BROKER01'],
  [11, 'ORD-1001'],
  [38, 100],
  [40, 2],
  [44, '187.25'],
  [54, 1],
  [55, 'AAPL'],
  [59, 0],
];

function ok(r: FixParseResult) {
  if (!r.ok) throw new Error(`expected a message, got ${r.error.code}: ${r.error.reason}`);
  return r.message;
}

function err(r: FixParseResult) {
  if (r.ok) throw new Error(`expected a refusal, got a ${r.message.msgType} message`);
  return r.error;
}

describe('parseFixMessage: valid messages', () => {
  it('accepts the known-good FIX 4.2 example with "|" and with SOH, fields in order', () => {
    for (const text of [WIKIPEDIA_42, WIKIPEDIA_42.replace(/\|/g, '\x01')]) {
      const m = ok(parseFixMessage(text));
      expect(m.beginString).toBe('FIX.4.2');
      expect(m.msgType).toBe('8');
      expect(m.get(58)).toBe('PHLX EQUITY TESTING');
      expect(m.get(151)).toBe('15');
      expect(m.fields.map(([t]) => t).slice(0, 5)).toEqual([8, 9, 35, 49, 56]);
      expect(m.fields.at(-1)).toEqual([10, '128']);
      expect(m.delimiter).toBe(text.includes('|') ? '|' : '\x01');
    }
  });

  it('accepts every message of the hand-checked 4.2, 4.4 and 5.0SP2 (FIXT.1.1) logs', () => {
    const seen = new Set<string>();
    for (const file of ['quickfix-fix42.log', 'quickfixj-fix44.log', 'fixt11-fix50sp2.log']) {
      const text = readFileSync(join(FIXTURES, file), 'latin1');
      for (const line of text.split('\n').filter(Boolean)) {
        const entry = parseLogLine(line);
        const m = ok(parseFixMessage(entry.message!));
        // The CheckSum in the file agrees with an independent recomputation.
        expect(m.get(10)).toBe(checksumOf(entry.message!));
        seen.add(m.beginString);
        if (m.beginString === 'FIXT.1.1') expect(m.get(1128)).toBe('9');
      }
    }
    expect([...seen].sort()).toEqual(['FIX.4.2', 'FIX.4.4', 'FIXT.1.1']);
  });

  it('builds and parses the same message for 4.2, 4.4 and FIXT.1.1, SOH and "|"', () => {
    for (const begin of ['FIX.4.2', 'FIX.4.4', 'FIXT.1.1']) {
      for (const delimiter of ['\x01', '|'] as const) {
        const m = ok(parseFixMessage(buildFix(begin, NOS_44, { delimiter })));
        expect(m.beginString).toBe(begin);
        expect(m.get(44)).toBe('187.25');
        expect(m.get(11)).toBe('ORD-1001');
      }
    }
  });

  it('keeps repeating groups: every instance in order, the first in get()', () => {
    const m = ok(
      parseFixMessage(
        buildFix('FIX.4.4', [
          ...NOS_44,
          [453, 3],
          [448, 'TRDR01'],
          [447, 'D'],
          [452, 11],
          [448, 'ALGO-7'],
          [447, 'D'],
          [452, 12],
          [448, 'DESK'],
          [447, 'C'],
          [452, 36],
        ]),
      ),
    );
    expect(m.get(448)).toBe('TRDR01');
    expect(m.getAll(448)).toEqual(['TRDR01', 'ALGO-7', 'DESK']);
    expect(m.getAll(452)).toEqual(['11', '12', '36']);
    expect(m.has(453)).toBe(true);
    expect(m.has(9999)).toBe(false);
  });

  it('reads a data field by its length, even when it holds the delimiter', () => {
    const raw = 'ab\x01cd|ef';
    const m = ok(
      parseFixMessage(buildFix('FIX.4.4', [...NOS_44, [95, raw.length], [96, raw], [58, 'after']])),
    );
    expect(m.get(96)).toBe(raw);
    expect(m.get(58)).toBe('after');
  });

  it('takes Buffers as bytes and decodes UTF-8 text values', () => {
    const text = 'Ordre annulé — prix trop élevé';
    const bytes = Buffer.from(
      buildFix('FIX.4.4', [...NOS_44, [58, Buffer.from(text, 'utf8').toString('latin1')]]),
      'latin1',
    );
    const fromBuffer = ok(parseFixMessage(bytes));
    expect(fromBuffer.get(58)).toBe(text);
    // The same message handed over as an already-decoded JS string verifies too.
    const fromString = ok(parseFixMessage(bytes.toString('utf8')));
    expect(fromString.get(58)).toBe(text);
    // And as a latin1 "binary" string.
    expect(ok(parseFixMessage(bytes.toString('latin1'))).get(58)).toBe(text);
  });

  it('accepts a message whose final delimiter was dropped by the log, unless told not to', () => {
    const m = buildFix('FIX.4.4', NOS_44).slice(0, -1);
    expect(ok(parseFixMessage(m)).get(10)).toBe(checksumOf(m));
    expect(err(parseFixMessage(m, { allowMissingFinalDelimiter: false })).code).toBe('truncated');
  });
});

describe('parseFixMessage: hostile input gives a clear reason, never a throw', () => {
  const good = buildFix('FIX.4.4', NOS_44);

  it('wrong CheckSum', () => {
    const bad = good.replace(
      /10=\d{3}/,
      (m) => `10=${String((Number(m.slice(3)) + 1) % 256).padStart(3, '0')}`,
    );
    const e = err(parseFixMessage(bad));
    expect(e.code).toBe('checksum');
    expect(e.reason).toMatch(/CheckSum \(10\) is \d{3} but the message sums to \d{3}/);
  });

  it('wrong BodyLength', () => {
    const e = err(parseFixMessage(good.replace(/9=(\d+)/, (_, n) => `9=${Number(n) + 3}`)));
    expect(e.code).toBe('body-length');
    expect(e.reason).toMatch(/BodyLength \(9\) is \d+ but the body is \d+ bytes/);
    expect(err(parseFixMessage(good.replace(/9=\d+/, '9=abc'))).code).toBe('body-length');
  });

  it('missing or misplaced MsgType (35)', () => {
    const without = buildFix('FIX.4.4', NOS_44.slice(1));
    expect(err(parseFixMessage(without))).toEqual({ code: 'msg-type', reason: 'MsgType (35) is missing' });
    const late = buildFix('FIX.4.4', [NOS_44[1]!, NOS_44[0]!, ...NOS_44.slice(2)]);
    expect(err(parseFixMessage(late)).reason).toMatch(/MsgType \(35\) must be the third field; found tag 34/);
  });

  it('truncated at every position: refused with a reason, never accepted, never thrown', () => {
    for (let cut = 0; cut < good.length - 1; cut++) {
      const e = err(parseFixMessage(good.slice(0, cut)));
      expect(e.reason.length).toBeGreaterThan(5);
    }
    expect(err(parseFixMessage(good.slice(0, good.indexOf('10=')))).reason).toMatch(/truncated/);
  });

  it('any single changed byte is caught', () => {
    for (const msg of [good, buildFix('FIX.4.2', NOS_44, { delimiter: '|' })]) {
      for (let i = 0; i < msg.length; i++) {
        for (const delta of [1, 7, 128]) {
          const c = String.fromCharCode((msg.charCodeAt(i) + delta) % 256);
          const r = parseFixMessage(msg.slice(0, i) + c + msg.slice(i + 1));
          expect(r.ok, `byte ${i} of ${pipes(msg)} changed by ${delta}`).toBe(false);
        }
      }
    }
  });

  it('binary garbage: refused as not FIX', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 24;
    };
    for (let k = 0; k < 200; k++) {
      const bytes = Buffer.from(Array.from({ length: 1 + (rand() % 300) }, rand));
      const r = parseFixMessage(bytes);
      expect(r.ok).toBe(false);
    }
    expect(err(parseFixMessage(Buffer.from([0xff, 0xfe, 0, 1, 2]))).code).toBe('not-fix');
    // Garbage after a valid-looking start is still refused, with a reason.
    expect(err(parseFixMessage(`8=FIX.4.4\x019=5\x01\xff\xfe\x00\x01`)).reason.length).toBeGreaterThan(5);
  });

  it('a 10 MB message is refused by size, quickly, without being scanned', () => {
    const huge = `8=FIX.4.4\x019=10485700\x0135=D\x0158=${'x'.repeat(10 * 1024 * 1024)}\x0110=000\x01`;
    const e = err(parseFixMessage(huge));
    expect(e.code).toBe('too-large');
    expect(e.reason).toMatch(/^message is 104\d{5} bytes, over the 1048576-byte limit$/);
    expect(err(parseFixMessage(Buffer.from(huge, 'latin1'))).code).toBe('too-large');
  });

  it('SOH and "|" mixed, both ways', () => {
    const pipeFirst = buildFix('FIX.4.4', NOS_44, { delimiter: '|' }).replace('|49=', '\x0149=');
    expect(err(parseFixMessage(pipeFirst)).code).toBe('mixed-delimiters');
    const sohFirst = good.replace('\x0134=', '|34=');
    const e = err(parseFixMessage(sohFirst));
    expect(e.code).toBe('mixed-delimiters');
    expect(e.reason).toMatch(/delimiters are mixed/);
  });

  it('duplicate tags outside a repeating group; header tags never repeat', () => {
    const dup = err(parseFixMessage(buildFix('FIX.4.4', [...NOS_44, [55, 'MSFT']])));
    expect(dup.code).toBe('duplicate-tag');
    expect(dup.reason).toMatch(/tag 55 appears more than once outside a repeating group/);
    // A tag that first appeared before the group cannot repeat inside it either.
    const before = err(
      parseFixMessage(buildFix('FIX.4.4', [...NOS_44, [453, 1], [448, 'X'], [11, 'again']])),
    );
    expect(before.code).toBe('duplicate-tag');
    const header = err(parseFixMessage(buildFix('FIX.4.4', [...NOS_44, [453, 2], [448, 'X'], [49, 'EVIL']])));
    expect(header.reason).toBe('header tag 49 appears more than once');
    // Unless the caller says which venue-specific groups exist, or allows duplicates.
    const custom = buildFix('FIX.4.4', [...NOS_44, [9000, 2], [9001, 'a'], [9001, 'b']]);
    expect(err(parseFixMessage(custom)).code).toBe('duplicate-tag');
    expect(ok(parseFixMessage(custom, { groupCountTags: [9000] })).getAll(9001)).toEqual(['a', 'b']);
    expect(
      ok(parseFixMessage(buildFix('FIX.4.4', [...NOS_44, [55, 'X']]), { allowDuplicateTags: true })).get(55),
    ).toBe('AAPL');
  });

  it('non-numeric, zero-led and missing tags, fields without "=", empty values', () => {
    const cases: [string, RegExp][] = [
      [good.replace('\x0155=', '\x01ab='), /tag "ab" at byte \d+ is not a positive integer/],
      [good.replace('\x0155=', '\x01055='), /tag "055" .* not a positive integer/],
      [good.replace('\x0155=', '\x01='), /tag "" .* not a positive integer/],
      [good.replace('\x0155=AAPL', '\x01AAPL'), /field "AAPL" at byte \d+ has no "="/],
    ];
    for (const [text, reason] of cases) {
      const e = err(parseFixMessage(text));
      expect(e.code).toBe('bad-tag');
      expect(e.reason).toMatch(reason);
    }
    expect(err(parseFixMessage(buildFix('FIX.4.4', [...NOS_44, [58, '']]))).reason).toBe(
      'tag 58 has an empty value',
    );
  });

  it('BeginString, trailing data, bad CheckSum field, bad data length', () => {
    expect(err(parseFixMessage(good.replace('FIX.4.4', 'FOO.4.4'))).code).toBe('begin-string');
    expect(err(parseFixMessage(good.replace('8=FIX', '9=FIX'))).code).toBe('not-fix');
    expect(err(parseFixMessage(good.replace('FIX.4.4', 'FIX.4.4.9'))).code).toBe('begin-string');
    expect(err(parseFixMessage(`${good}8=FIX.4.4\x01`)).code).toBe('trailing-data');
    expect(err(parseFixMessage(good.replace(/10=\d{3}/, '10=12'))).code).toBe('checksum');
    const short = buildFix('FIX.4.4', [...NOS_44, [95, 100], [96, 'abc']]);
    expect(err(parseFixMessage(short)).code).toBe('data-length');
    const missing = buildFix('FIX.4.4', [...NOS_44, [95, 3], [58, 'abc']]);
    expect(err(parseFixMessage(missing)).reason).toMatch(/announced data field 96, but tag 58 follows/);
  });

  it('wrong types', () => {
    for (const v of [null, undefined, 42, {}, [], true]) {
      expect(err(parseFixMessage(v as never)).code).toBe('not-fix');
    }
    expect(err(parseFixMessage('')).code).toBe('empty');
  });

  it('printableRaw shows SOH as "|" and cuts long input', () => {
    expect(printableRaw(good)).toBe(pipes(good));
    const long = printableRaw(`8=FIX.4.4\x01${'x'.repeat(5000)}`, 512);
    expect(long.length).toBe(513);
    expect(long.endsWith('…')).toBe(true);
    expect(printableRaw(Buffer.from('8=FIX\x01'))).toBe('8=FIX|');
  });
});
