/**
 * Making events: `buildEvent` returns a complete, validated draft (header,
 * payload, policy) ready for sealing; `draftEvent` is its unvalidated fast
 * half, used on the caller's path by the recorder, which validates later,
 * off that path.
 */
import { systemClock, type VcpClock } from './clock.ts';
import { toDecimalString } from './decimal.ts';
import { type HashAlgo, TIER_PROFILES, type TimestampPrecision } from './enums.ts';
import { VcpValidationError } from './errors.ts';
import { EVENT_TYPE_CODES, type EventType } from './event-types.ts';
import { createPolicy } from './policy.ts';
import type { DraftEvent, PolicyIdentification, VcpHeader, VcpPayload } from './types.ts';
import { uuidv7 } from './uuidv7.ts';
import { validateEvent } from './validate.ts';

/** What an event needs besides its type and payload. */
export interface EventOptions {
  /** The policy block (from {@link createPolicy}); or give `policyId` (+ `tier`) and one is made. */
  policy?: PolicyIdentification;
  policyId?: string;
  tier?: PolicyIdentification['conformance_tier'];
  /** Trace id (default: a new UUIDv7 — one event, one trace). */
  traceId?: string;
  venueId?: string;
  /** Default: `payload.trade_data.symbol`, else empty. */
  symbol?: string;
  accountId?: string;
  operatorId?: string;
  /** Default: the tier's precision (PLATINUM ns, GOLD µs, SILVER ms). */
  precision?: TimestampPrecision;
  /** Default: the system clock (its `clockSyncStatus` is written to the header). */
  clock?: VcpClock;
  hashAlgo?: HashAlgo;
  /** Event id source (default `uuidv7`). */
  newId?: () => string;
  /**
   * JS numbers in `trade_data` / `vcp_risk`: `'reject'` (default) throws,
   * `'convert'` turns them into decimal strings without float noise.
   */
  numbers?: 'reject' | 'convert';
}

const policyCache = new Map<string, PolicyIdentification>();

function resolvePolicy(options: EventOptions): PolicyIdentification {
  if (options.policy) return options.policy;
  if (!options.policyId) {
    throw new VcpValidationError({
      path: 'policy_identification',
      rule: 'required',
      message: 'give `policy` (createPolicy({...})) or `policyId` — spec §5.5 requires it on every event',
    });
  }
  const key = `${options.policyId}|${options.tier ?? 'SILVER'}`;
  let policy = policyCache.get(key);
  if (!policy) {
    policy = createPolicy({ policyId: options.policyId, tier: options.tier });
    policyCache.set(key, policy);
  }
  return policy;
}

/** The tier's profile; a policy with no known tier is a clear error, not a TypeError. */
function tierProfile(policy: PolicyIdentification): (typeof TIER_PROFILES)[keyof typeof TIER_PROFILES] {
  const profile = Object.hasOwn(TIER_PROFILES, policy?.conformance_tier as string)
    ? TIER_PROFILES[policy.conformance_tier]
    : undefined;
  if (profile === undefined) {
    throw new VcpValidationError({
      path: 'policy_identification.conformance_tier',
      rule: 'enum',
      message: `conformance_tier must be one of ${Object.keys(TIER_PROFILES).join(', ')} (the tier sets the timestamp precision), not ${String(policy?.conformance_tier).slice(0, 40)}`,
    });
  }
  return profile;
}

/**
 * Assemble a draft without validating it (the fast half of {@link buildEvent}).
 * The payload object is used as given, not copied.
 */
export function draftEvent(eventType: EventType, payload: VcpPayload, options: EventOptions): DraftEvent {
  const policy = resolvePolicy(options);
  const clock = options.clock ?? systemClock;
  const precision = options.precision ?? tierProfile(policy).precision;
  const ts = clock.now(precision);
  const id = (options.newId ?? uuidv7)();
  const header: VcpHeader = {
    event_id: id,
    trace_id: options.traceId ?? id,
    timestamp_int: ts.timestamp_int,
    timestamp_iso: ts.timestamp_iso,
    event_type: eventType,
    event_type_code: EVENT_TYPE_CODES[eventType],
    timestamp_precision: precision,
    clock_sync_status: clock.clockSyncStatus,
    hash_algo: options.hashAlgo ?? 'SHA256',
    venue_id: options.venueId ?? '',
    symbol: options.symbol ?? payload?.trade_data?.symbol ?? '',
    account_id: options.accountId ?? '',
    vcp_version: '1.1',
  };
  if (options.operatorId !== undefined) header.operator_id = options.operatorId;
  return { header, payload, policy_identification: policy };
}

/**
 * Make a complete, valid event draft from (event type, payload, options).
 * Throws {@link VcpValidationError} listing every field that breaks a rule
 * (path + rule), e.g. `payload.trade_data.price: financial values must be strings`.
 */
export function buildEvent(eventType: EventType, payload: VcpPayload, options: EventOptions): DraftEvent {
  if (!(eventType in EVENT_TYPE_CODES)) {
    throw new VcpValidationError({
      path: 'header.event_type',
      rule: 'event-type',
      message: `"${String(eventType).slice(0, 40)}" is not a VCP event type`,
    });
  }
  const body = options.numbers === 'convert' ? convertFinancialNumbers(payload) : payload;
  const draft = draftEvent(eventType, body, options);
  const { errors, warnings } = validateEvent(draft);
  // The builder makes strictly conformant events: warnings are errors here.
  const issues = [...errors, ...warnings];
  if (issues.length) throw new VcpValidationError(issues);
  return draft;
}

/**
 * Copy of `payload` where JS numbers inside `trade_data` and `vcp_risk` are
 * decimal strings (15 significant digits, no exponent, no float noise).
 */
export function convertFinancialNumbers(payload: VcpPayload): VcpPayload {
  if (payload === null || typeof payload !== 'object') return payload;
  const out: VcpPayload = { ...payload };
  for (const module of ['trade_data', 'vcp_risk'] as const) {
    const m = payload[module];
    if (m && typeof m === 'object') out[module] = convertDeep(m, `payload.${module}`) as never;
  }
  return out;
}

function convertDeep(value: unknown, path: string, depth = 0): unknown {
  if (typeof value === 'number') return toDecimalString(value, path);
  if (value === null || typeof value !== 'object' || depth > 32) return value;
  if (Array.isArray(value)) return value.map((v, i) => convertDeep(v, `${path}[${i}]`, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // defineProperty keeps a `__proto__` key as data instead of setting the prototype.
    Object.defineProperty(out, k, {
      value: convertDeep(v, `${path}.${k}`, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
