/**
 * Reading events written by other VCP producers.
 *
 * This package writes snake_case (`header.event_id`); some producers write
 * the spec's PascalCase (`Header.EventID`, `Security.EventHash`). The
 * verifier reads both through this view. Hashing always uses the header and
 * payload exactly as written (`rawHeader`, `rawPayload`): renaming fields
 * would change the hash.
 */

/** A producer-neutral view of one event. Fields absent from the input are `undefined`. */
export interface EventView {
  form: 'snake_case' | 'PascalCase';
  header: Record<string, unknown>;
  security: Record<string, unknown> | undefined;
  policy: Record<string, unknown> | undefined;
  /** The header object as written (what was hashed). */
  rawHeader: unknown;
  /** The payload object as written (what was hashed). */
  rawPayload: unknown;
}

const HEADER_MAP: Record<string, string> = {
  EventID: 'event_id',
  EventId: 'event_id',
  TraceID: 'trace_id',
  TraceId: 'trace_id',
  Timestamp: 'timestamp_int',
  TimestampInt: 'timestamp_int',
  TimestampISO: 'timestamp_iso',
  TimestampIso: 'timestamp_iso',
  EventType: 'event_type',
  EventTypeCode: 'event_type_code',
  TimestampPrecision: 'timestamp_precision',
  ClockSyncStatus: 'clock_sync_status',
  HashAlgo: 'hash_algo',
  VenueID: 'venue_id',
  VenueId: 'venue_id',
  Symbol: 'symbol',
  AccountID: 'account_id',
  AccountId: 'account_id',
  VCPVersion: 'vcp_version',
  VcpVersion: 'vcp_version',
  Version: 'vcp_version',
  OperatorID: 'operator_id',
  OperatorId: 'operator_id',
};

const SECURITY_MAP: Record<string, string> = {
  Version: 'version',
  EventHash: 'event_hash',
  PrevHash: 'prev_hash',
  HashAlgo: 'hash_algo',
  Signature: 'signature',
  SignAlgo: 'sign_algo',
  SigningKeyID: 'signing_key_id',
  SigningKeyId: 'signing_key_id',
  KeyID: 'signing_key_id',
  MerkleRoot: 'merkle_root',
  MerkleIndex: 'merkle_index',
  AnchorReference: 'anchor_reference',
};

const POLICY_MAP: Record<string, string> = {
  Version: 'version',
  PolicyID: 'policy_id',
  PolicyId: 'policy_id',
  ConformanceTier: 'conformance_tier',
  RegistrationPolicy: 'registration_policy',
  VerificationDepth: 'verification_depth',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function rename(obj: unknown, map: Record<string, string>): Record<string, unknown> | undefined {
  if (!isObject(obj)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = map[k] ?? k;
    if (!(key in out) || map[k] === undefined)
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * A view of `event` in either form. PascalCase events take their payload from
 * `Payload`, or else from every top-level key other than `Header`,
 * `Security` and `PolicyIdentification` (the spec's examples put
 * `ErrorDetails` and `VCP-XREF` beside `Header`).
 */
export function viewEvent(event: unknown): EventView | undefined {
  if (!isObject(event)) return undefined;
  if ('header' in event || !('Header' in event)) {
    return {
      form: 'snake_case',
      header: isObject(event.header) ? event.header : {},
      security: isObject(event.security) ? event.security : undefined,
      policy: isObject(event.policy_identification) ? event.policy_identification : undefined,
      rawHeader: event.header,
      rawPayload: event.payload,
    };
  }
  let rawPayload: unknown = event.Payload;
  if (rawPayload === undefined) {
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(event)) {
      if (k !== 'Header' && k !== 'Security' && k !== 'PolicyIdentification') {
        Object.defineProperty(rest, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
    }
    rawPayload = rest;
  }
  return {
    form: 'PascalCase',
    header: rename(event.Header, HEADER_MAP) ?? {},
    security: rename(event.Security, SECURITY_MAP),
    policy: rename(event.PolicyIdentification, POLICY_MAP),
    rawHeader: event.Header,
    rawPayload,
  };
}
