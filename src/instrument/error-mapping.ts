/**
 * Which `ERR_*` event a thrown value becomes, and the `error_details` that
 * describe it (spec §3.2.1). Everything here must cope with hostile values —
 * getters that throw, proxies, `null`, strings — because it runs on the
 * error path of a trading call, where the only thing allowed to escape is
 * the caller's own error.
 */
import type { Severity } from '../core/enums.ts';
import { ERROR_DEFAULT_SEVERITY, type ErrorEventType, isErrorEventType } from '../core/event-types.ts';
import type { ErrorDetails } from '../core/types.ts';

/** Longest `error_message` kept; longer messages are cut and marked. */
export const MAX_ERROR_MESSAGE = 1024;

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ETIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_TIMEOUT',
]);
const CONN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ERR_CONN',
]);
const AUTH_CODES = new Set(['EAUTH', 'UNAUTHORIZED', 'UNAUTHENTICATED', 'FORBIDDEN', 'EACCES', 'ERR_AUTH']);

/** Read a property without letting a throwing getter or proxy trap escape. */
function prop(value: unknown, key: string): unknown {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function statusOf(err: unknown): number | undefined {
  for (const key of ['status', 'statusCode']) {
    const v = prop(err, key);
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^\d{3}$/.test(v)) return Number(v);
  }
  const response = prop(err, 'response');
  const v = prop(response, 'status') ?? prop(response, 'statusCode');
  return typeof v === 'number' ? v : undefined;
}

function mapOne(err: unknown): ErrorEventType | undefined {
  // An error may say what it is: `err.vcpErrorType = 'ERR_RISK'`.
  const declared = prop(err, 'vcpErrorType');
  if (isErrorEventType(declared)) return declared;

  const code = text(prop(err, 'code'))?.toUpperCase() ?? '';
  const name = text(prop(err, 'name')) ?? '';
  const message = text(prop(err, 'message')) ?? (typeof err === 'string' ? err : '');
  const status = statusOf(err);
  const label = `${name} ${code}`;

  if (isErrorEventType(code)) return code;
  if (TIMEOUT_CODES.has(code) || /timeout|timed ?out/i.test(label) || status === 408 || status === 504) {
    return 'ERR_TIMEOUT';
  }
  if (CONN_CODES.has(code) || /connection|ECONN/i.test(label)) return 'ERR_CONN';
  if (AUTH_CODES.has(code) || status === 401 || status === 403 || /auth|forbidden/i.test(label))
    return 'ERR_AUTH';
  // Risk before reject: a "RiskRejected" error is a risk-limit breach.
  if (/risk/i.test(label)) return 'ERR_RISK';
  if (/reject/i.test(label)) return 'ERR_REJECT';
  if (name === 'SyntaxError' || /pars(e|ing)|validation/i.test(label)) return 'ERR_PARSE';
  if (/clock ?sync|sequence ?gap/i.test(label)) return 'ERR_SYNC';
  // Some libraries only say it in the message (`socket hang up`, `connect ETIMEDOUT 1.2.3.4:443`).
  if (/\bETIMEDOUT\b|timed out/i.test(message)) return 'ERR_TIMEOUT';
  if (/\bECONNREFUSED\b|\bECONNRESET\b|socket hang up/i.test(message)) return 'ERR_CONN';
  return undefined;
}

/**
 * The `ERR_*` type for a thrown value. In order: an `ERR_*` name in
 * `err.vcpErrorType` or `err.code`; timeouts (`ETIMEDOUT`, undici timeouts,
 * `TimeoutError`, HTTP 408/504) → `ERR_TIMEOUT`; connection failures
 * (`ECONNREFUSED`, `ECONNRESET`, `EPIPE`, `ENOTFOUND`, …) → `ERR_CONN`;
 * HTTP 401/403 or an auth-named error → `ERR_AUTH`; a name or code
 * containing `Risk` → `ERR_RISK`, `Reject` → `ERR_REJECT`; `SyntaxError`
 * or parse/validation errors → `ERR_PARSE`; then the same checks on
 * `err.cause` (three levels); otherwise `ERR_SYSTEM`.
 */
export function mapErrorToEventType(err: unknown): ErrorEventType {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const t = mapOne(current);
    if (t) return t;
    current = prop(current, 'cause');
  }
  return 'ERR_SYSTEM';
}

/** A short machine-readable code for a thrown value: `err.code`, else `err.name`, else its type. */
export function errorCodeOf(err: unknown): string {
  const code = text(prop(err, 'code'));
  if (code) return code.slice(0, 128);
  const name = text(prop(err, 'name'));
  if (name) return name.slice(0, 128);
  if (err === null) return 'null';
  return typeof err === 'object' ? 'NonErrorObject' : `NonError(${typeof err})`;
}

/** The message of a thrown value, never throwing, cut to `MAX_ERROR_MESSAGE` (1 024) characters. */
export function errorMessageOf(err: unknown): string {
  let msg = text(prop(err, 'message'));
  if (msg === undefined) {
    try {
      msg = typeof err === 'symbol' ? err.toString() : String(err);
    } catch {
      msg = '(unprintable thrown value)';
    }
  }
  if (msg.length > MAX_ERROR_MESSAGE) msg = `${msg.slice(0, MAX_ERROR_MESSAGE)}…(${msg.length} chars)`;
  return msg;
}

/** Inputs of {@link buildErrorDetails}. */
export interface ErrorDetailsInput {
  type: ErrorEventType;
  error: unknown;
  /** Class or component that failed. */
  component: string;
  /** Overrides the type's default severity. */
  severity?: Severity;
  /** Id of the event this error relates to (e.g. the ORD before it in the same trace). */
  correlatedEventId?: string | undefined;
}

/** The `error_details` block for an `ERR_*` event. */
export function buildErrorDetails(input: ErrorDetailsInput): ErrorDetails {
  const details: ErrorDetails = {
    error_code: errorCodeOf(input.error),
    error_message: errorMessageOf(input.error),
    severity: input.severity ?? ERROR_DEFAULT_SEVERITY[input.type],
    affected_component: input.component,
  };
  if (input.correlatedEventId) details.correlated_event_id = input.correlatedEventId;
  return details;
}
