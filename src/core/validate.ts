/**
 * Structural validation of VCP events, shared by the builder (strict), the
 * sidecar (errors refuse, warnings report) and the verifier (schema check).
 *
 * `errors` are things that make the event unusable (it cannot be hashed as
 * intended, or a financial value is a float). `warnings` are v1.1
 * conformance gaps that clients written from the integration guide have
 * (UUIDv4 ids, millisecond `timestamp_int`, missing venue/account fields).
 */

import { isDecimalString } from './decimal.ts';
import {
  CLOCK_SYNC_STATUSES,
  HASH_ALGOS,
  type HashAlgo,
  SEVERITIES,
  TIERS,
  TIMESTAMP_PRECISIONS,
  type TimestampPrecision,
} from './enums.ts';
import type { ValidationIssue } from './errors.ts';
import { EVENT_TYPE_CODES, isErrorEventType, isEventType } from './event-types.ts';
import { isLowerHex64 } from './hex.ts';
import { isValidPolicyId } from './policy.ts';
import { checkTimestampPair, isoToTimestampInt, splitTimestampInt } from './timestamp.ts';
import { isUuid, isUuidV7 } from './uuidv7.ts';

/** Outcome of {@link validateEvent}. */
export interface ValidationResult {
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

/** Options of {@link validateEvent}. */
export interface ValidateOptions {
  /** Prefix for every path, e.g. `[3].` for the fourth item of a batch. */
  pathPrefix?: string;
  /** Also require a `security` block with a well-formed event_hash. */
  requireSecurity?: boolean;
}

/** Header fields of v1.1 and whether each is required. */
const HEADER_FIELDS = [
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
  'vcp_version',
  'operator_id',
] as const;
const KNOWN_HEADER = new Set<string>(HEADER_FIELDS);

/** Trade and risk fields that must be decimal strings when present. */
export const DECIMAL_FIELDS = new Set([
  'price',
  'quantity',
  'stop_price',
  'execution_price',
  'executed_qty',
  'last_px',
  'last_qty',
  'avg_px',
  'cum_qty',
  'leaves_qty',
  'commission',
  'slippage',
  'max_position_size',
  'max_order_size',
  'max_daily_loss',
  'current_exposure',
  'exposure_utilization',
]);

// Hoisted: these run once per sealed event.
const FINANCIAL_MODULES = ['trade_data', 'vcp_risk'] as const;
const OBJECT_MODULES = ['vcp_gov', 'vcp_privacy', 'vcp_recovery', 'vcp_xref', 'error_details'] as const;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Validate one event (draft or sealed). Never throws. */
export function validateEvent(event: unknown, options: ValidateOptions = {}): ValidationResult {
  const p = options.pathPrefix ?? '';
  const errors: ValidationIssue[] = [];
  const warnings: ValidationIssue[] = [];
  const err = (path: string, rule: string, message: string) => errors.push({ path: p + path, rule, message });
  const warn = (path: string, rule: string, message: string) =>
    warnings.push({ path: p + path, rule, message });

  if (!isPlainObject(event)) {
    err('', 'object', 'an event must be a JSON object with header and payload');
    return { errors, warnings };
  }
  const header = event.header;
  const payload = event.payload;
  if (!isPlainObject(header)) err('header', 'object', 'header is required and must be an object');
  if (!isPlainObject(payload)) err('payload', 'object', 'payload is required and must be an object');

  if (isPlainObject(header)) checkHeader(header, err, warn);
  if (isPlainObject(payload)) {
    checkPayload(payload, isPlainObject(header) ? header.event_type : undefined, err, warn);
  }
  checkPolicy(event.policy_identification, err, warn);
  if (options.requireSecurity || event.security !== undefined) checkSecurity(event.security, err);
  return { errors, warnings };
}

/** The errors and warnings of a `policy_identification` block alone, as {@link validateEvent} reports them. */
export function validatePolicy(policy: unknown): ValidationResult {
  const errors: ValidationIssue[] = [];
  const warnings: ValidationIssue[] = [];
  checkPolicy(
    policy,
    (path, rule, message) => errors.push({ path, rule, message }),
    (path, rule, message) => warnings.push({ path, rule, message }),
  );
  return { errors, warnings };
}

/**
 * The errors of a draft whose header this package built itself (the
 * recorder's `record()`): the payload in full, and only the header fields a
 * caller can set (trace, venue, symbol, account, operator), which must be
 * strings. Several times cheaper than {@link validateEvent}; same rules.
 */
export function validateOwnDraft(draft: {
  header: Record<string, unknown> | object;
  payload: unknown;
}): ValidationIssue[] {
  const errors: ValidationIssue[] = [];
  const err = (path: string, rule: string, message: string) => errors.push({ path, rule, message });
  const h = draft.header as Record<string, unknown>;
  if (!isEventType(h.event_type)) {
    err('header.event_type', 'event-type', `"${String(h.event_type).slice(0, 40)}" is not a VCP event type`);
  }
  // The caller-settable string fields, by named reads (see checkPayload).
  if (typeof h.trace_id !== 'string') err('header.trace_id', 'string', 'trace_id must be a string');
  if (typeof h.venue_id !== 'string') err('header.venue_id', 'string', 'venue_id must be a string');
  if (typeof h.symbol !== 'string') err('header.symbol', 'string', 'symbol must be a string');
  if (typeof h.account_id !== 'string') err('header.account_id', 'string', 'account_id must be a string');
  if (h.operator_id !== undefined && typeof h.operator_id !== 'string')
    err('header.operator_id', 'string', 'operator_id must be a string');
  if (!isPlainObject(draft.payload)) err('payload', 'object', 'payload is required and must be an object');
  else checkPayload(draft.payload, h.event_type, err, () => {});
  return errors;
}

type Report = (path: string, rule: string, message: string) => void;

function checkHeader(h: Record<string, unknown>, err: Report, warn: Report): void {
  // Identity.
  if (h.event_id === undefined) err('header.event_id', 'required', 'event_id is required');
  else if (!isUuid(h.event_id)) err('header.event_id', 'uuid', 'event_id must be a UUID string');
  else if (!isUuidV7(h.event_id))
    warn('header.event_id', 'uuidv7', 'v1.1 expects a UUIDv7 event_id (time-ordered)');

  if (h.trace_id === undefined) warn('header.trace_id', 'required', 'trace_id is missing');
  else if (typeof h.trace_id !== 'string' || h.trace_id.length === 0 || h.trace_id.length > 128) {
    err('header.trace_id', 'string', 'trace_id must be a non-empty string of at most 128 characters');
  } else if (!isUuid(h.trace_id)) {
    // New traces are UUIDv7; ids taken from W3C traceparent or derived from an order key (v8) are UUIDs too.
    warn('header.trace_id', 'uuid', 'trace_id should be a UUID (new traces use UUIDv7)');
  }

  // Type.
  if (h.event_type === undefined) err('header.event_type', 'required', 'event_type is required');
  else if (!isEventType(h.event_type)) {
    err('header.event_type', 'event-type', `"${String(h.event_type).slice(0, 40)}" is not a VCP event type`);
  } else {
    const code = EVENT_TYPE_CODES[h.event_type];
    if (h.event_type_code === undefined)
      warn('header.event_type_code', 'required', `event_type_code is missing (${code})`);
    else if (h.event_type_code !== code) {
      err(
        'header.event_type_code',
        'event-type-code',
        `${h.event_type} has code ${code}, not ${String(h.event_type_code)}`,
      );
    }
  }

  // Enumerations.
  let precision: TimestampPrecision | undefined;
  if (h.timestamp_precision === undefined)
    warn('header.timestamp_precision', 'required', 'timestamp_precision is missing');
  else if (!TIMESTAMP_PRECISIONS.includes(h.timestamp_precision as TimestampPrecision)) {
    err('header.timestamp_precision', 'enum', `must be one of ${TIMESTAMP_PRECISIONS.join(', ')}`);
  } else precision = h.timestamp_precision as TimestampPrecision;

  if (h.clock_sync_status === undefined)
    warn('header.clock_sync_status', 'required', 'clock_sync_status is missing');
  else if (!CLOCK_SYNC_STATUSES.includes(h.clock_sync_status as never)) {
    err('header.clock_sync_status', 'enum', `must be one of ${CLOCK_SYNC_STATUSES.join(', ')}`);
  }
  if (h.hash_algo === undefined)
    warn('header.hash_algo', 'required', 'hash_algo is missing (SHA256 assumed)');
  else if (!HASH_ALGOS.includes(h.hash_algo as HashAlgo)) {
    err('header.hash_algo', 'enum', `must be one of ${HASH_ALGOS.join(', ')}`);
  }
  if (h.vcp_version === undefined) warn('header.vcp_version', 'required', 'vcp_version is missing');
  else if (h.vcp_version !== '1.1')
    warn('header.vcp_version', 'version', `vcp_version "${String(h.vcp_version)}" is not 1.1`);

  // Timestamps.
  const tInt = h.timestamp_int;
  const tIso = h.timestamp_iso;
  // Each parsed once: this runs for every event the verifier and the sidecar read.
  const split = typeof tInt === 'string' ? splitTimestampInt(tInt) : undefined;
  const iso = typeof tIso === 'string' ? isoToTimestampInt(tIso) : undefined;
  if (tInt === undefined) err('header.timestamp_int', 'required', 'timestamp_int is required');
  else if (typeof tInt !== 'string') {
    err(
      'header.timestamp_int',
      'int64-string',
      'timestamp_int must be a decimal string (int64 values do not survive JSON numbers)',
    );
  } else if (!split) err('header.timestamp_int', 'int64-string', 'timestamp_int must be a decimal integer');
  if (tIso === undefined) err('header.timestamp_iso', 'required', 'timestamp_iso is required');
  else if (!iso) {
    err('header.timestamp_iso', 'iso8601', 'timestamp_iso must be an ISO 8601 timestamp');
  }
  if (precision && split && iso) {
    const problem = checkTimestampPair(tInt, tIso, precision, { split, iso });
    if (problem) {
      const msLike =
        (tInt as string).length <= 13 ? ' (it looks like milliseconds; v1.1 uses nanoseconds)' : '';
      warn('header.timestamp_int', 'timestamp-consistency', problem + msLike);
    }
  }

  // Routing fields v1.1 requires.
  for (const f of ['venue_id', 'symbol', 'account_id'] as const) {
    if (h[f] === undefined) warn(`header.${f}`, 'required', `${f} is missing`);
    else if (typeof h[f] !== 'string') err(`header.${f}`, 'string', `${f} must be a string`);
  }
  if (h.operator_id !== undefined && typeof h.operator_id !== 'string') {
    err('header.operator_id', 'string', 'operator_id must be a string');
  }
  for (const key of Object.keys(h)) {
    if (!KNOWN_HEADER.has(key))
      warn(`header.${key}`, 'unknown-field', `"${key}" is not a v1.1 header field (it is hashed as given)`);
  }
}

function checkPayload(payload: Record<string, unknown>, eventType: unknown, err: Report, warn: Report): void {
  // Named reads, not a loop over module names: a keyed read with a varying name takes V8's
  // generic lookup, and this runs on every sealed event.
  checkFinancialModule(payload.trade_data, 'trade_data', err);
  checkFinancialModule(payload.vcp_risk, 'vcp_risk', err);
  checkObjectModule(payload.vcp_gov, 'vcp_gov', err);
  checkObjectModule(payload.vcp_privacy, 'vcp_privacy', err);
  checkObjectModule(payload.vcp_recovery, 'vcp_recovery', err);
  checkObjectModule(payload.vcp_xref, 'vcp_xref', err);
  checkObjectModule(payload.error_details, 'error_details', err);
  const details = payload.error_details;
  if (isPlainObject(details)) {
    if (typeof details.error_message !== 'string') {
      err(
        'payload.error_details.error_message',
        'required',
        'error_message is required (a human-readable description)',
      );
    }
    if (!SEVERITIES.includes(details.severity as never)) {
      err(
        'payload.error_details.severity',
        'enum',
        `severity is required and must be one of ${SEVERITIES.join(', ')}`,
      );
    }
    if (details.correlated_event_id !== undefined && !isUuid(details.correlated_event_id)) {
      warn('payload.error_details.correlated_event_id', 'uuid', 'correlated_event_id should be a UUID');
    }
  } else if (isErrorEventType(eventType)) {
    warn('payload.error_details', 'required', `${eventType} events should carry error_details (spec §3.2.1)`);
  }
}

function checkFinancialModule(m: unknown, module: (typeof FINANCIAL_MODULES)[number], err: Report): void {
  if (m === undefined) return;
  if (!isPlainObject(m)) err(`payload.${module}`, 'object', `${module} must be an object`);
  else checkNoNumbers(m, `payload.${module}`, err);
}

function checkObjectModule(m: unknown, module: (typeof OBJECT_MODULES)[number], err: Report): void {
  if (m !== undefined && !isPlainObject(m)) err(`payload.${module}`, 'object', `${module} must be an object`);
}

/**
 * Financial modules: every number must be a string; known amount fields must be decimal strings.
 * On the sealing hot path: no entry arrays, and a leaf's path is spelled only when it is wrong.
 */
function checkNoNumbers(
  obj: Record<string, unknown> | unknown[],
  path: string,
  err: Report,
  depth = 0,
): void {
  if (depth > 16) return;
  if (Array.isArray(obj)) {
    const n = obj.length;
    for (let i = 0; i < n; i++) {
      const value = obj[i];
      // A hole or undefined is never valid JSON: the canonicalizer names it; scanning on
      // through a hostile `new Array(1e9)` would only burn time.
      if (value === undefined) return;
      if (typeof value === 'number') numberError(`${path}[${i}]`, value, err);
      else if (value !== null && typeof value === 'object') {
        checkNoNumbers(value as Record<string, unknown>, `${path}[${i}]`, err, depth + 1);
      }
    }
    return;
  }
  // Values by Object.values (one fast builtin pass) rather than a keyed read per key: those
  // reads go through V8's generic (megamorphic) lookup, the larger part of this check's cost.
  const keys = Object.keys(obj);
  const values = Object.values(obj);
  const n = keys.length;
  // A getter that adds or deletes properties can make the two lists disagree: read by key then.
  const byKey = values.length !== n;
  for (let k = 0; k < n; k++) {
    const value = byKey ? obj[keys[k]!] : values[k];
    if (typeof value === 'string') {
      const key = keys[k]!;
      if (DECIMAL_FIELDS.has(key) && !isDecimalString(value)) {
        err(
          `${path}.${key}`,
          'decimal-string',
          `"${value.slice(0, 40)}" is not a decimal string like "1.0850"`,
        );
      }
    } else if (typeof value === 'number') numberError(`${path}.${keys[k]!}`, value, err);
    else if (value !== null && typeof value === 'object') {
      checkNoNumbers(value as Record<string, unknown>, `${path}.${keys[k]!}`, err, depth + 1);
    }
  }
}

function numberError(at: string, value: number, err: Report): void {
  err(
    at,
    'decimal-string',
    `financial values must be strings (got the number ${value}); pass "${value}" or enable number conversion`,
  );
}

function checkPolicy(policy: unknown, err: Report, warn: Report): void {
  if (policy === undefined) {
    warn(
      'policy_identification',
      'required',
      'policy_identification is missing (spec §5.5 requires it on every event)',
    );
    return;
  }
  if (!isPlainObject(policy)) {
    err('policy_identification', 'object', 'policy_identification must be an object');
    return;
  }
  if (typeof policy.policy_id !== 'string')
    err('policy_identification.policy_id', 'required', 'policy_id is required');
  else if (!isValidPolicyId(policy.policy_id)) {
    warn(
      'policy_identification.policy_id',
      'policy-id',
      'policy_id should be <reverse-domain>:<local-id> or local:<org>:<id>',
    );
  }
  if (!TIERS.includes(policy.conformance_tier as never)) {
    err(
      'policy_identification.conformance_tier',
      'enum',
      `conformance_tier must be one of ${TIERS.join(', ')}`,
    );
  }
  if (policy.verification_depth === undefined) {
    warn('policy_identification.verification_depth', 'required', 'verification_depth is missing');
  } else if (!isPlainObject(policy.verification_depth)) {
    err('policy_identification.verification_depth', 'object', 'verification_depth must be an object');
  }
  if (policy.registration_policy === undefined) {
    warn('policy_identification.registration_policy', 'required', 'registration_policy.issuer is missing');
  }
}

function checkSecurity(security: unknown, err: Report): void {
  if (!isPlainObject(security)) {
    err('security', 'object', 'security must be an object');
    return;
  }
  if (security.event_hash !== undefined && !isLowerHex64(security.event_hash)) {
    err('security.event_hash', 'hex32', 'event_hash must be 64 lowercase hex characters');
  }
  if (security.prev_hash !== undefined && !isLowerHex64(security.prev_hash)) {
    err('security.prev_hash', 'hex32', 'prev_hash must be 64 lowercase hex characters');
  }
  if (security.hash_algo !== undefined && !HASH_ALGOS.includes(security.hash_algo as HashAlgo)) {
    err('security.hash_algo', 'enum', `must be one of ${HASH_ALGOS.join(', ')}`);
  }
}
