/**
 * The VCP v1.1 event in its snake_case wire form (DESIGN decision 1).
 *
 * Money, prices and quantities are decimal strings; int64 values
 * (`timestamp_int`, dates in policies) are decimal strings too, because
 * RFC 8785 serialises numbers as IEEE doubles and would change them.
 * Payload modules are open: extra fields are kept and hashed.
 */
import type {
  AnchorTargetType,
  ClockSyncStatus,
  HashAlgo,
  MerkleMode,
  Severity,
  SignAlgo,
  Tier,
  TimestampPrecision,
} from './enums.ts';
import type { EventType } from './event-types.ts';

/** Event header: 13 fields plus the optional `operator_id`. Hashed. */
export interface VcpHeader {
  /** UUIDv7 of this event. */
  event_id: string;
  /** UUIDv7 shared by every event of one order or request. */
  trace_id: string;
  /** Nanoseconds since the Unix epoch, decimal string, truncated to `timestamp_precision`. */
  timestamp_int: string;
  /** The same instant in ISO 8601 UTC with 3/6/9 fraction digits and `Z`. */
  timestamp_iso: string;
  event_type: EventType;
  event_type_code: number;
  timestamp_precision: TimestampPrecision;
  clock_sync_status: ClockSyncStatus;
  hash_algo: HashAlgo;
  venue_id: string;
  symbol: string;
  account_id: string;
  vcp_version: '1.1';
  /** Person or system that acted, where known. */
  operator_id?: string;
}

/** Open record of extra string-keyed fields a module may carry. */
export type Extra = { [key: string]: unknown };

/** VCP-TRADE: order and execution data. Every number is a decimal string. */
export interface TradeData extends Extra {
  order_id?: string;
  client_order_id?: string;
  broker_order_id?: string;
  orig_client_order_id?: string;
  exec_id?: string;
  symbol?: string;
  side?: string;
  order_type?: string;
  time_in_force?: string;
  price?: string;
  quantity?: string;
  stop_price?: string;
  execution_price?: string;
  executed_qty?: string;
  last_px?: string;
  last_qty?: string;
  avg_px?: string;
  cum_qty?: string;
  leaves_qty?: string;
  commission?: string;
  slippage?: string;
  currency?: string;
  order_status?: string;
  reject_reason?: string;
}

/** VCP-RISK: risk parameters in force and checks applied. Numeric values are decimal strings. */
export interface RiskData extends Extra {
  risk_profile_id?: string;
  max_position_size?: string;
  max_order_size?: string;
  max_daily_loss?: string;
  current_exposure?: string;
  exposure_utilization?: string;
  triggered_controls?: string[];
  checks?: { name: string; result: 'PASS' | 'FAIL' | 'WARN' | string; value?: string; limit?: string }[];
}

/** VCP-GOV: algorithm governance and AI transparency. */
export interface GovernanceData extends Extra {
  algo_id?: string;
  algo_version?: string;
  algo_type?: string;
  model_hash?: string;
  decision_factors?: { name: string; value: string; weight?: string }[];
  confidence_score?: string;
  explainability_method?: string;
  human_oversight?: boolean;
  approved_by?: string;
}

/** VCP-PRIVACY: crypto-shredding and personal-data handling. */
export interface PrivacyData extends Extra {
  data_classification?: string;
  pii_fields?: string[];
  encryption_key_id?: string;
  shredded?: boolean;
  legal_basis?: string;
}

/** VCP-RECOVERY: chain disruption and recovery. */
export interface RecoveryData extends Extra {
  recovery_type?: string;
  gap_start?: string;
  gap_end?: string;
  missing_event_count?: string;
  last_good_event_id?: string;
  reason?: string;
}

/** Error details of an `ERR_*` event (spec §3.2.1). */
export interface ErrorDetails extends Extra {
  error_code: string;
  error_message: string;
  severity: Severity;
  affected_component: string;
  recovery_action?: string;
  correlated_event_id?: string;
}

/** VCP-XREF: cross-reference for dual logging (spec §5.6). */
export interface XrefData extends Extra {
  version?: '1.1';
  cross_reference_id: string;
  party_role: 'INITIATOR' | 'COUNTERPARTY' | 'OBSERVER';
  counterparty_id: string;
  shared_event_key?: {
    order_id?: string;
    alternate_keys?: string[];
    timestamp?: string;
    tolerance_ms?: number;
  };
  expected_counterparty_hash?: string;
  reconciliation_status?: 'PENDING' | 'MATCHED' | 'DISCREPANCY' | 'TIMEOUT';
  discrepancy_details?: {
    field: string;
    local_value: string;
    counterparty_value: string;
    severity: Severity;
  };
}

/** Event payload: any of the modules, plus free extra fields. Hashed. */
export interface VcpPayload extends Extra {
  trade_data?: TradeData;
  vcp_risk?: RiskData;
  vcp_gov?: GovernanceData;
  vcp_privacy?: PrivacyData;
  vcp_recovery?: RecoveryData;
  error_details?: ErrorDetails;
  vcp_xref?: XrefData;
}

/** Spec §5.5 policy identification. Not hashed (spec §6.1). */
export interface PolicyIdentification {
  version: '1.1';
  /** `<reverse-domain>:<local-id>` or `local:<org>:<id>`. */
  policy_id: string;
  conformance_tier: Tier;
  registration_policy?: {
    issuer: string;
    policy_uri?: string;
    /** int64 ns since epoch as a decimal string. */
    effective_date?: string;
    expiration_date?: string;
  };
  verification_depth: {
    hash_chain_validation: boolean;
    merkle_proof_required: boolean;
    external_anchor_required: boolean;
  };
}

/** Spec §6.4 security block: what sealing adds. Not hashed. */
export interface VcpSecurity {
  version?: '1.1';
  /** Lowercase hex of H(JCS(header) ‖ JCS(payload) [‖ prev_hash]). */
  event_hash: string;
  /** Previous event's hash when chaining; `"0"×64` for the first event of a chain. */
  prev_hash?: string;
  hash_algo: HashAlgo;
  /** Base64 Ed25519 signature over the 32 raw bytes of `event_hash`. */
  signature?: string;
  sign_algo?: SignAlgo;
  /** Fingerprint of the signing public key. */
  signing_key_id?: string;
  /** Root of the tree this event was anchored in (filled by the sidecar). */
  merkle_root?: string;
  /** Leaf index in that tree. */
  merkle_index?: number;
  /** `anchor_id` of the AnchorRecord covering this event. */
  anchor_reference?: string;
  /** Kafka partition whose tree holds this event (sidecar cluster mode); absent means one tree. */
  partition?: number;
}

/** A complete, sealed VCP event. */
export interface VcpEvent {
  header: VcpHeader;
  payload: VcpPayload;
  security: VcpSecurity;
  policy_identification: PolicyIdentification;
}

/** An event before sealing: everything but `security`. */
export interface DraftEvent {
  header: VcpHeader;
  payload: VcpPayload;
  policy_identification: PolicyIdentification;
}

/** Where and how a Merkle root was anchored (spec §6.3.3). */
export interface AnchorTarget {
  type: AnchorTargetType;
  /** TSA URL, table name, file path, chain id. */
  identifier: string;
  /** Target-specific proof: base64 TSA token, row hash, transaction id. */
  proof: string;
}

/**
 * An AnchorRecord (spec §6.3.3 in snake_case) plus the fields this package
 * needs to make it checkable on its own: its id, the tree size and mode.
 */
export interface AnchorRecord {
  anchor_id: string;
  merkle_root: string;
  /** Number of leaves the root covers (the whole tree, from index 0). */
  tree_size: number;
  merkle_mode: MerkleMode;
  /** Events newly covered by this anchor (the batch). */
  event_count: number;
  first_event_id: string;
  last_event_id: string;
  /** Index of the first leaf of this batch. */
  first_index?: number;
  /** Anchor time: ns since epoch, decimal string. */
  timestamp: string;
  /** Same instant in ISO 8601 (the guide's `anchored_at`). */
  anchored_at: string;
  policy_id: string;
  /** Base64 signature over the 32 raw bytes of `merkle_root`. */
  signature: string;
  sign_algo: SignAlgo;
  signing_key_id: string;
  anchor_target: AnchorTarget;
  /** Every target the root was sent to, when more than one. */
  anchor_targets?: AnchorTarget[];
  /** Previous anchor's id, so records form a chain. */
  prev_anchor_id?: string;
  /** Kafka partition (sidecar cluster mode): each partition has its own tree. */
  partition?: number;
  /**
   * A C2SP signed checkpoint note over the same `tree_size` and `merkle_root`
   * (export format v2), signed by the same key when the record was made.
   */
  checkpoint?: string;
}
