/**
 * The VCP Conformance Test Guide v1.0's test cases (VSO-TEST-001,
 * veritaschain/vcp-conformance-guide @a41c940, §4–§9) that apply to v1.1
 * output, re-written in TypeScript from the guide's Python procedures, each
 * named by its guide id. Where v1.1 changed what a case checks (base64
 * signatures, RFC 6962 trees, the v1.1 EventHash, the optional prev_hash,
 * the new ERR_* types) the case says so in `v11` and checks the v1.1 form;
 * docs/conformance.md lists every guide id, these and the ones not run.
 *
 * Independent of the project's own code on purpose: hashing uses the
 * guide's canonical form (sorted keys, compact separators) and node:crypto,
 * signatures node:crypto's Ed25519, Merkle paths RFC 9162 §2.1.3.2 written
 * out here, so a bug in src/integrity cannot hide itself.
 */
import { createHash, type KeyObject, verify } from 'node:crypto';
import type { VcpEvent } from '../../src/core/types.ts';

/** One producer's output, as the guide's procedures take it. */
export interface ProducerOutput {
  /** `sidecar`, `recorder`, `fix-replay:<log>`, `demo`. */
  name: string;
  /** Events in the order the output holds them (leaf order, which is chain order here). */
  events: VcpEvent[];
  /** Whether this producer chains (`prev_hash`); v1.1 made chaining optional. */
  chained: boolean;
  /** The public keys the producer's events are signed with (the guide's key registry). */
  keys: KeyObject[];
  /** Inclusion proofs as the sidecar serves them (`GET /vcp/events/:id/proof`), if any. */
  proofs?: SidecarProof[];
}

/** `GET /vcp/events/:id/proof`. */
export interface SidecarProof {
  event_id: string;
  event_hash: string;
  merkle_index: number;
  tree_size: number;
  merkle_root: string;
  merkle_mode: string;
  proof: string[];
  anchored: boolean;
  anchor_id?: string;
}

/** A case's outcome (guide §2.3.1; ERROR is a thrown exception). */
export interface CaseResult {
  status: 'pass' | 'fail' | 'warn' | 'skip';
  detail: string;
}

/** One guide test case. */
export interface GuideCase {
  id: string;
  title: string;
  /** CRITICAL in the guide (§2.3.3). */
  critical?: boolean;
  /** How the case applies to v1.1 output ("as written" or what changed). */
  v11: string;
  run(out: ProducerOutput): CaseResult;
}

const pass = (detail = ''): CaseResult => ({ status: 'pass', detail });
const fail = (detail: string): CaseResult => ({ status: 'fail', detail });
const skip = (detail: string): CaseResult => ({ status: 'skip', detail });
const warn = (detail: string): CaseResult => ({ status: 'warn', detail });

type EventCheck = (e: VcpEvent, i: number, out: ProducerOutput) => CaseResult;

/** Run a per-event procedure over every event: the first failure fails the case, naming the event. */
function everyEvent(check: EventCheck): (out: ProducerOutput) => CaseResult {
  return (out) => {
    if (out.events.length === 0) return fail('no events to test');
    let ran = 0;
    const warnings: string[] = [];
    for (let i = 0; i < out.events.length; i++) {
      const e = out.events[i]!;
      const r = check(e, i, out);
      const where = `event ${i} (${e.header?.event_type} ${e.header?.event_id})`;
      if (r.status === 'fail') return fail(`${where}: ${r.detail}`);
      if (r.status === 'warn') warnings.push(`${where}: ${r.detail}`);
      if (r.status !== 'skip') ran++;
    }
    if (warnings.length > 0) return warn(warnings.join('; '));
    return ran === 0 ? skip('no event this case applies to') : pass(`${ran} events`);
  };
}

// The guide reads events as loose dicts (`event.get('header', {})`); so do these procedures.
// biome-ignore lint/suspicious/noExplicitAny: untrusted JSON, read the way the guide's Python reads it
const obj = (v: unknown): Record<string, any> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, never>) : {};
const sec = (e: VcpEvent) => obj(e.security);
const hdr = (e: VcpEvent) => obj(e.header);
const tradeData = (e: VcpEvent) => obj(obj(e.payload).trade_data);

// §5.1
const UUID_V7_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

// §4.2: the guide's v1.0 registry. v1.1 §3.2.1 adds ERR_* types with no registry number.
const EVENT_TYPE_MAPPING: Record<string, number> = {
  SIG: 1,
  ORD: 2,
  ACK: 3,
  EXE: 4,
  PRT: 5,
  REJ: 6,
  CXL: 7,
  MOD: 8,
  CLS: 9,
  ALG: 20,
  RSK: 21,
  AUD: 22,
  HBT: 98,
  ERR: 99,
  REC: 100,
  SNC: 101,
};
const VALID_EVENT_TYPE_CODES = new Set(Object.values(EVENT_TYPE_MAPPING));
const isV11ErrorType = (t: unknown) => typeof t === 'string' && t.startsWith('ERR_');

const REQUIRED_HEADER_FIELDS = [
  'event_id',
  'trace_id',
  'timestamp_int',
  'timestamp_iso',
  'event_type',
  'event_type_code',
  'timestamp_precision',
  'clock_sync_status',
  'hash_algo',
  'venue_id',
  'symbol',
  'account_id',
];

const FINANCIAL_FIELDS = [
  'price',
  'quantity',
  'executed_qty',
  'remaining_qty',
  'execution_price',
  'commission',
  'slippage',
  'pnl_realized',
  'pnl_unrealized',
];

const GENESIS_PREV_HASH = '0'.repeat(64);
const HEX = /^[0-9a-f]*$/;

/**
 * The guide's `canonicalize_json`: Python `json.dumps(sort_keys=True,
 * separators=(',', ':'), ensure_ascii=False)`. Defined here for the domain
 * VCP events live in (strings, integers, booleans, null); a float has a
 * Python repr that JavaScript cannot tell apart from an integer, so it is refused.
 */
export function guideCanonicalJson(v: unknown): string {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error(`number ${v} is outside the guide's canonical domain`);
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(guideCanonicalJson).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort((a, b) => {
      const x = [...a].map((c) => c.codePointAt(0)!);
      const y = [...b].map((c) => c.codePointAt(0)!);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    });
    return `{${keys.map((k) => `${JSON.stringify(k)}:${guideCanonicalJson(o[k])}`).join(',')}}`;
  }
  throw new Error(`cannot canonicalise a ${typeof v}`);
}

/**
 * HCH-003 in its v1.1 form (spec v1.1 §6.1): SHA-256 of canonical header ‖
 * canonical payload ‖ prev_hash, where the genesis value and an absent
 * prev_hash add nothing and there is no algorithm prefix byte. The guide's
 * v1.0 form (prefix byte, prev_hash always appended) is checked against the
 * guide's own examples in guide-hch003.test.ts.
 */
export function v11EventHash(header: unknown, payload: unknown, prevHash: string | undefined): string {
  const suffix = prevHash !== undefined && prevHash !== GENESIS_PREV_HASH ? prevHash : '';
  return createHash('sha256')
    .update(guideCanonicalJson(header) + guideCanonicalJson(payload) + suffix, 'utf8')
    .digest('hex');
}

/** RFC 9162 §2.1.3.2, with each sibling's side written out as the guide's `position`. */
export function positionedPath(
  index: number,
  size: number,
  path: readonly string[],
): { hash: string; position: 'left' | 'right' }[] | undefined {
  if (index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  const out: { hash: string; position: 'left' | 'right' }[] = [];
  for (const p of path) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      out.push({ hash: p, position: 'left' });
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      out.push({ hash: p, position: 'right' });
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? out : undefined;
}

/**
 * The guide's `compute_merkle_root` with RFC 6962 domain separation, which
 * v1.1 requires (§6.2): leaf = SHA-256(0x00 ‖ event hash bytes), node =
 * SHA-256(0x01 ‖ left ‖ right). The guide's v1.0 procedure hashes the bare
 * concatenation and starts from the event hash itself.
 */
export function computeMerkleRootRfc6962(
  eventHash: string,
  proofPath: readonly { hash: string; position: 'left' | 'right' }[],
): string {
  const h = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
  let current = h(Buffer.from([0]), Buffer.from(eventHash, 'hex'));
  for (const node of proofPath) {
    const sibling = Buffer.from(node.hash, 'hex');
    current =
      node.position === 'left'
        ? h(Buffer.from([1]), sibling, current)
        : h(Buffer.from([1]), current, sibling);
  }
  return current.toString('hex');
}

/** ISO 8601 with any number of fraction digits → ms since the epoch (truncated, as Python does). */
function isoToMs(iso: string): number | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) return undefined;
  const whole = Date.parse(`${m[1]}${m[3] === 'Z' ? 'Z' : m[3]}`);
  if (Number.isNaN(whole)) return undefined;
  return whole + Number((m[2] ?? '').padEnd(3, '0').slice(0, 3));
}

/** The guide's cases that apply to v1.1 (see docs/conformance.md for the rest). */
export const GUIDE_CASES: GuideCase[] = [
  {
    id: 'SCH-001',
    title: 'event structure',
    critical: true,
    v11: 'as written',
    run: everyEvent((e) => {
      for (const s of ['header', 'payload', 'security'] as const) {
        const v = (e as unknown as Record<string, unknown>)[s];
        if (v === undefined) return fail(`Missing required section: ${s}`);
        if (v === null || typeof v !== 'object' || Array.isArray(v))
          return fail(`Section '${s}' must be an object`);
      }
      return pass();
    }),
  },
  {
    id: 'SCH-002',
    title: 'header required fields',
    v11: 'as written (v1.1 keeps the 12 fields and adds vcp_version)',
    run: everyEvent((e) => {
      const missing = REQUIRED_HEADER_FIELDS.filter((f) => !(f in hdr(e)));
      return missing.length ? fail(`Missing header fields: ${missing.join(', ')}`) : pass();
    }),
  },
  {
    id: 'SCH-003',
    title: 'security required fields',
    v11: 'event_hash as written; prev_hash only where the producer chains (v1.1 made PrevHash OPTIONAL)',
    run: everyEvent((e, _i, out) => {
      if (!('event_hash' in sec(e))) return fail('Missing security.event_hash');
      if (out.chained && !('prev_hash' in sec(e))) return fail('Missing security.prev_hash');
      return pass();
    }),
  },
  {
    id: 'SCH-010',
    title: 'event type code range',
    v11: 'v1.0 registry types as written; the v1.1 ERR_* types have no registry code (this package uses 110–118)',
    run: everyEvent((e) => {
      if (isV11ErrorType(hdr(e).event_type)) return skip('v1.1 ERR_* type');
      const code = hdr(e).event_type_code;
      return VALID_EVENT_TYPE_CODES.has(code) ? pass() : fail(`Invalid event_type_code: ${code}`);
    }),
  },
  {
    id: 'SCH-011',
    title: 'event type consistency',
    v11: 'v1.0 registry types as written; ERR_* types as for SCH-010',
    run: everyEvent((e) => {
      const { event_type: t, event_type_code: code } = hdr(e);
      if (isV11ErrorType(t)) return skip('v1.1 ERR_* type');
      const expected = EVENT_TYPE_MAPPING[t as string];
      if (expected === undefined) return fail(`Unknown event_type: ${t}`);
      return code === expected ? pass() : fail(`event_type '${t}' should have code ${expected}, got ${code}`);
    }),
  },
  {
    id: 'SCH-012',
    title: 'hash algorithm values',
    v11: 'as written',
    run: everyEvent((e) =>
      ['SHA256', 'SHA3_256', 'BLAKE3'].includes(hdr(e).hash_algo)
        ? pass()
        : fail(`Invalid hash_algo: ${hdr(e).hash_algo}`),
    ),
  },
  {
    id: 'SCH-020',
    title: 'trade data fields for ORD',
    v11: 'as written',
    run: everyEvent((e) => {
      if (hdr(e).event_type !== 'ORD') return skip('Not an ORD event');
      const missing = ['order_id', 'side', 'price', 'quantity'].filter((f) => !(f in tradeData(e)));
      return missing.length ? fail(`ORD event missing trade_data fields: ${missing.join(', ')}`) : pass();
    }),
  },
  {
    id: 'SCH-021',
    title: 'trade data fields for EXE',
    v11: 'as written',
    run: everyEvent((e) => {
      if (hdr(e).event_type !== 'EXE') return skip('Not an EXE event');
      const missing = ['order_id', 'execution_price', 'executed_qty'].filter((f) => !(f in tradeData(e)));
      return missing.length ? fail(`EXE event missing trade_data fields: ${missing.join(', ')}`) : pass();
    }),
  },
  {
    id: 'SCH-030',
    title: 'price as string',
    critical: true,
    v11: 'as written',
    run: everyEvent((e) => {
      const td = tradeData(e);
      if (!('price' in td)) return skip('No price field present');
      if (typeof td.price !== 'string')
        return fail(`price must be string, got ${typeof td.price}: ${td.price}`);
      // Python float() accepts the string: a plain decimal here (VCP numeric strings).
      return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(td.price.trim())
        ? pass()
        : fail(`price string is not a valid number: ${td.price}`);
    }),
  },
  {
    id: 'SCH-031',
    title: 'all financial fields as strings',
    v11: 'as written',
    run: everyEvent((e) => {
      const td = tradeData(e);
      const bad = FINANCIAL_FIELDS.filter((f) => f in td && typeof td[f] !== 'string');
      return bad.length
        ? fail(`Non-string financial fields: ${bad.map((f) => `${f}: ${typeof td[f]}`).join(', ')}`)
        : pass();
    }),
  },
  {
    id: 'SCH-032',
    title: 'VCP-RISK snapshot values as strings',
    v11: 'as written',
    run: everyEvent((e) => {
      const snapshot = obj(obj(obj(e.payload).vcp_risk).snapshot);
      if (Object.keys(snapshot).length === 0) return skip('No risk snapshot present');
      const bad = Object.entries(snapshot).filter(([, v]) => typeof v !== 'string');
      return bad.length
        ? fail(`Non-string risk snapshot values: ${bad.map(([k, v]) => `${k}: ${typeof v}`).join(', ')}`)
        : pass();
    }),
  },
  {
    id: 'UID-001',
    title: 'event_id UUID v7 format',
    critical: true,
    v11: 'as written',
    run: everyEvent((e) =>
      UUID_V7_PATTERN.test(String(hdr(e).event_id ?? ''))
        ? pass()
        : fail(`event_id is not valid UUID v7: ${hdr(e).event_id}`),
    ),
  },
  {
    id: 'UID-002',
    title: 'trace_id UUID v7 format',
    v11: 'as written',
    run: everyEvent((e) =>
      UUID_V7_PATTERN.test(String(hdr(e).trace_id ?? ''))
        ? pass()
        : fail(`trace_id is not valid UUID v7: ${hdr(e).trace_id}`),
    ),
  },
  {
    id: 'UID-010',
    title: 'UUID v7 time component',
    v11: 'as written',
    run: everyEvent((e) => {
      const ts = Number.parseInt(
        String(hdr(e).event_id ?? '')
          .replaceAll('-', '')
          .slice(0, 12),
        16,
      );
      if (Number.isNaN(ts)) return fail('Could not parse UUID timestamp');
      return ts < 1577836800000 || ts > 4102444800000 ? fail(`UUID timestamp out of range: ${ts}ms`) : pass();
    }),
  },
  {
    id: 'UID-011',
    title: 'sequential UUID ordering',
    v11: 'as written, over the output in its own order',
    run: (out) => {
      if (out.events.length < 2) return skip('Need at least 2 events');
      for (let i = 1; i < out.events.length; i++) {
        const prev = String(hdr(out.events[i - 1]!).event_id);
        const curr = String(hdr(out.events[i]!).event_id);
        if (!(curr > prev)) return fail(`Event ${i} UUID not greater than event ${i - 1}: ${prev} / ${curr}`);
      }
      return pass(`${out.events.length} events`);
    },
  },
  {
    id: 'UID-020',
    title: 'event_id uniqueness',
    v11: 'as written',
    run: (out) => {
      const seen = new Set<string>();
      const dups = new Set<string>();
      for (const e of out.events) {
        const id = String(hdr(e).event_id);
        if (seen.has(id)) dups.add(id);
        seen.add(id);
      }
      return dups.size ? fail(`Duplicate event_ids found: ${[...dups].join(', ')}`) : pass();
    },
  },
  {
    id: 'TST-001',
    title: 'timestamp formats match',
    v11: 'as written (1 s tolerance, ms resolution)',
    run: everyEvent((e) => {
      const { timestamp_int: tsInt, timestamp_iso: tsIso } = hdr(e);
      if (typeof tsInt !== 'string' || !/^\d+$/.test(tsInt)) return fail(`Invalid timestamp_int: ${tsInt}`);
      const ms = Number(BigInt(tsInt) / 1_000_000n);
      const isoMs = typeof tsIso === 'string' ? isoToMs(tsIso) : undefined;
      if (isoMs === undefined) return fail(`Invalid timestamp_iso: ${tsIso}`);
      return Math.abs(ms - isoMs) > 1000
        ? fail(`Timestamp mismatch: timestamp_int ${ms}ms, timestamp_iso ${isoMs}ms (${tsIso})`)
        : pass();
    }),
  },
  {
    id: 'TST-002',
    title: 'timestamp_int is a string',
    v11: 'as written',
    run: everyEvent((e) =>
      typeof hdr(e).timestamp_int === 'string'
        ? pass()
        : fail(`timestamp_int must be string, got ${typeof hdr(e).timestamp_int}`),
    ),
  },
  {
    id: 'TST-010',
    title: 'precision declaration accuracy',
    v11: 'as written',
    run: everyEvent((e) => {
      const { timestamp_precision: p, timestamp_int: tsInt } = hdr(e);
      let ns: bigint;
      try {
        ns = BigInt(tsInt);
      } catch {
        return fail(`Invalid timestamp_int: ${tsInt}`);
      }
      if (p === 'MILLISECOND' && ns % 1_000_000n !== 0n)
        return fail(`MILLISECOND precision should not have sub-ms precision: ${tsInt}`);
      if (p === 'MICROSECOND' && ns % 1_000n !== 0n)
        return fail(`MICROSECOND precision should not have nanosecond precision: ${tsInt}`);
      return pass();
    }),
  },
  {
    id: 'TST-020',
    title: 'valid clock sync status',
    v11: 'as written',
    run: everyEvent((e) =>
      ['PTP_LOCKED', 'NTP_SYNCED', 'BEST_EFFORT', 'UNRELIABLE'].includes(hdr(e).clock_sync_status)
        ? pass()
        : fail(`Invalid clock_sync_status: ${hdr(e).clock_sync_status}`),
    ),
  },
  {
    id: 'TST-021',
    title: 'clock sync tier requirements',
    v11: 'as written, with the tier each event declares in policy_identification.conformance_tier',
    run: everyEvent((e) => {
      const tier = obj(e.policy_identification).conformance_tier;
      const allowed: Record<string, string[]> = {
        SILVER: ['PTP_LOCKED', 'NTP_SYNCED', 'BEST_EFFORT', 'UNRELIABLE'],
        GOLD: ['PTP_LOCKED', 'NTP_SYNCED'],
        PLATINUM: ['PTP_LOCKED'],
      };
      const status = hdr(e).clock_sync_status;
      if (!(tier in allowed)) return fail(`no conformance tier declared (${tier})`);
      return allowed[tier]!.includes(status)
        ? pass()
        : fail(`${tier} tier requires clock_sync_status in ${allowed[tier]!.join('/')}, got: ${status}`);
    }),
  },
  {
    id: 'HCH-001',
    title: 'genesis event prev_hash',
    critical: true,
    v11: 'as written, where the producer chains (v1.1 PrevHash is OPTIONAL)',
    run: (out) => {
      if (!out.chained) return skip('producer does not chain');
      const first = out.events[0];
      if (!first) return fail('no events');
      const prev = sec(first).prev_hash ?? '';
      return prev === GENESIS_PREV_HASH
        ? pass()
        : fail(`Genesis event must have prev_hash of 64 zeros, got: ${prev}`);
    },
  },
  {
    id: 'HCH-010',
    title: 'chain linkage',
    v11: 'as written, where the producer chains',
    run: (out) => {
      if (!out.chained) return skip('producer does not chain');
      if (out.events.length < 2) return skip('Need at least 2 events');
      for (let i = 1; i < out.events.length; i++) {
        const prevEventHash = sec(out.events[i - 1]!).event_hash ?? '';
        const currPrevHash = sec(out.events[i]!).prev_hash ?? '';
        if (currPrevHash !== prevEventHash)
          return fail(`Chain broken at event ${i}: ${prevEventHash} / prev_hash ${currPrevHash}`);
      }
      return pass(`${out.events.length} links`);
    },
  },
  {
    id: 'HCH-003',
    title: 'hash calculation',
    critical: true,
    v11: 'v1.1 form (spec §6.1: no algorithm prefix byte; genesis or absent prev_hash adds nothing); the v1.0 form is checked on the guide’s examples in guide-hch003.test.ts',
    run: everyEvent((e) => {
      if (hdr(e).hash_algo !== 'SHA256') return skip(`hash_algo ${hdr(e).hash_algo}: SHA-256 only here`);
      const expected = v11EventHash(e.header, e.payload, sec(e).prev_hash);
      return sec(e).event_hash === expected
        ? pass()
        : fail(`Hash mismatch: expected ${expected}, got ${sec(e).event_hash}`);
    }),
  },
  {
    id: 'HCH-004',
    title: 'hash length',
    v11: 'as written; prev_hash where present (v1.1 PrevHash is OPTIONAL)',
    run: everyEvent((e) => {
      for (const field of ['event_hash', 'prev_hash']) {
        const value = sec(e)[field];
        if (value === undefined && field === 'prev_hash') continue;
        if (typeof value !== 'string' || value.length !== 64)
          return fail(`${field} must be 64 characters, got ${String(value).length}`);
        if (!HEX.test(value.toLowerCase())) return fail(`${field} must be hexadecimal: ${value}`);
      }
      return pass();
    }),
  },
  {
    id: 'HCH-020',
    title: 'tamper detection',
    v11: 'as written, with the v1.1 hash (HCH-003); the verifier’s verdict on the edited output is checked beside it',
    run: everyEvent((e) => {
      const tampered = structuredClone(e);
      tampered.header.symbol = 'TAMPERED';
      if (e.header.symbol === 'TAMPERED') return skip('symbol already TAMPERED');
      const newHash = v11EventHash(tampered.header, tampered.payload, sec(tampered).prev_hash);
      return newHash === sec(e).event_hash
        ? fail('Tampering not detected - hash should change when data changes')
        : pass();
    }),
  },
  {
    id: 'SIG-001',
    title: 'signature algorithm',
    critical: true,
    v11: 'as written (Gold/Platinum; every producer here signs)',
    run: everyEvent((e) =>
      ['ED25519', 'ECDSA_SECP256K1', 'RSA_2048', 'DILITHIUM2', 'FALCON512'].includes(sec(e).sign_algo)
        ? pass()
        : fail(`Invalid sign_algo: ${sec(e).sign_algo}`),
    ),
  },
  {
    id: 'SIG-002',
    title: 'Ed25519 signature verification',
    v11: 'v1.1 encoding: signature base64 (spec §6.3), not hex; message = the 32 raw EventHash bytes, as in the guide',
    run: everyEvent((e, _i, out) => {
      if (sec(e).sign_algo !== 'ED25519') return skip('Not an Ed25519 signature');
      const signature = Buffer.from(String(sec(e).signature ?? ''), 'base64');
      const message = Buffer.from(String(sec(e).event_hash ?? ''), 'hex');
      if (signature.length !== 64 || message.length !== 32)
        return fail(`signature ${signature.length} bytes, hash ${message.length} bytes`);
      return out.keys.some((k) => verify(null, message, k, signature))
        ? pass()
        : fail('Ed25519 signature verification failed');
    }),
  },
  {
    id: 'SIG-020',
    title: 'key rotation support',
    v11: 'as written: the registry is the key ids (SHA-256 fingerprints) of the producer’s public keys',
    run: (out) => {
      const registry = new Set(
        out.keys.map((k) =>
          createHash('sha256')
            .update(k.export({ format: 'der', type: 'spki' }).subarray(-32))
            .digest('hex')
            .slice(0, 32),
        ),
      );
      for (const e of out.events) {
        const keyId = sec(e).signing_key_id;
        if (keyId && !registry.has(keyId)) return fail(`Unknown signing key: ${keyId}`);
      }
      return pass(`${registry.size} key(s)`);
    },
  },
  {
    id: 'MKL-001',
    title: 'proof path structure',
    v11: 'RFC 6962 form: v1.0 named the path `proof_path` of {hash, position} nodes; an RFC 6962 audit path is `proof` (hashes) + `merkle_index`, the sides following from index and size',
    run: (out) => {
      if (!out.proofs) return skip('this output carries no inclusion proofs');
      for (const [i, p] of out.proofs.entries()) {
        const required = ['event_hash', 'merkle_root', 'proof', 'tree_size', 'merkle_index'];
        const missing = required.filter((f) => !(f in p));
        if (missing.length) return fail(`proof ${i}: Missing proof fields: ${missing.join(', ')}`);
        if (
          !Array.isArray(p.proof) ||
          p.proof.some((h) => typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h))
        )
          return fail(`proof ${i}: path nodes must be 32-byte hex hashes`);
        if (!positionedPath(p.merkle_index, p.tree_size, p.proof))
          return fail(`proof ${i}: path length does not fit index ${p.merkle_index} of size ${p.tree_size}`);
      }
      return pass(`${out.proofs.length} proofs`);
    },
  },
  {
    id: 'MKL-002',
    title: 'Merkle proof verification',
    v11: 'RFC 6962 form: leaf and node hashes take the 0x00 / 0x01 prefixes v1.1 requires; positions from RFC 9162 §2.1.3.2',
    run: (out) => {
      if (!out.proofs) return skip('this output carries no inclusion proofs');
      for (const [i, p] of out.proofs.entries()) {
        const path = positionedPath(p.merkle_index, p.tree_size, p.proof);
        if (!path) return fail(`proof ${i}: malformed path`);
        const root = computeMerkleRootRfc6962(p.event_hash, path);
        if (root !== p.merkle_root)
          return fail(`proof ${i}: computed root ${root}, expected root ${p.merkle_root}`);
      }
      return pass(`${out.proofs.length} proofs`);
    },
  },
  {
    id: 'MKL-010',
    title: 'root consistency across events',
    v11: 'as written (proofs against one anchor share one root and tree size)',
    run: (out) => {
      if (!out.proofs) return skip('this output carries no inclusion proofs');
      const roots = new Set(out.proofs.map((p) => p.merkle_root));
      const sizes = new Set(out.proofs.map((p) => p.tree_size));
      return roots.size > 1 || sizes.size > 1
        ? warn(`Multiple Merkle roots found: ${[...roots].join(', ')}`)
        : pass();
    },
  },
];

/** Every test case id the guide defines (§4–§12), in its order. */
export const GUIDE_TEST_IDS = [
  ...['SCH-001', 'SCH-002', 'SCH-003', 'SCH-010', 'SCH-011', 'SCH-012', 'SCH-020', 'SCH-021'],
  ...['SCH-030', 'SCH-031', 'SCH-032'],
  ...['UID-001', 'UID-002', 'UID-010', 'UID-011', 'UID-020'],
  ...['TST-001', 'TST-002', 'TST-010', 'TST-020', 'TST-021'],
  ...['HCH-001', 'HCH-010', 'HCH-003', 'HCH-004', 'HCH-020'],
  ...['SIG-001', 'SIG-002', 'SIG-010', 'SIG-020'],
  ...['MKL-001', 'MKL-002', 'MKL-010'],
  ...['EVT-001', 'EVT-002', 'EVT-010', 'EVT-020'],
  ...['INT-001', 'INT-002', 'INT-010', 'INT-011', 'INT-020'],
  ...['PRF-001', 'PRF-002', 'PRF-010'],
];

/** Guide cases not run, and why (rendered in docs/conformance.md). */
export const NOT_RUN: Record<string, string> = {
  'SIG-010':
    'no assertion: the guide’s procedure passes whatever the event holds (Silver delegated signing by VCC)',
  'EVT-001': 'event-type recommendation (WARN only), outside the SCH/UID/TST/HCH/SIG/MKL scope of issue 10',
  'EVT-002': 'event-type recommendation (WARN only), outside the scope of issue 10',
  'EVT-010': 'event-type recommendation (WARN only), outside the scope of issue 10',
  'EVT-020': 'event-type recommendation (WARN only), outside the scope of issue 10',
  'INT-001': 'SDK API and network: needs `vcp_sdk.create_logger` and the VCC sandbox',
  'INT-002': 'SDK API and network: `create_logger(batch_size)`, `get_queue_size()` against the VCC sandbox',
  'INT-010': 'network: VCP Explorer sandbox search',
  'INT-011': 'network: VCP Explorer sandbox; the sidecar’s own proof endpoint is covered by MKL-001/002/010',
  'INT-020': 'SDK API and network: logger → VCC → Explorer round trip',
  'PRF-001': 'performance: timed assertions do not belong in unit tests (bench/ measures throughput)',
  'PRF-002': 'performance and network (VCC submission rate)',
  'PRF-010': 'performance and network (end-to-end latency through VCC and Explorer)',
};
