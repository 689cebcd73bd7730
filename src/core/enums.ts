/**
 * The VCP v1.1 standard enumerations (spec §1.5, §2), as `as const` tuples so
 * they exist at run time for validation and as union types for the compiler.
 */

/** Hash algorithms for EventHash (spec §1.5.2). SHA3_512 is reserved by the spec and not accepted. */
export const HASH_ALGOS = ['SHA256', 'SHA3_256', 'BLAKE3'] as const;
/** One of {@link HASH_ALGOS}. */
export type HashAlgo = (typeof HASH_ALGOS)[number];

/** Signature algorithms (spec §1.5.1). This package signs with ED25519 only. */
export const SIGN_ALGOS = ['ED25519', 'ECDSA_SECP256K1', 'RSA_2048', 'DILITHIUM2', 'FALCON512'] as const;
/** One of {@link SIGN_ALGOS}. */
export type SignAlgo = (typeof SIGN_ALGOS)[number];

/** Clock synchronisation states (spec §1.5.3). */
export const CLOCK_SYNC_STATUSES = ['PTP_LOCKED', 'NTP_SYNCED', 'BEST_EFFORT', 'UNRELIABLE'] as const;
/** One of {@link CLOCK_SYNC_STATUSES}. */
export type ClockSyncStatus = (typeof CLOCK_SYNC_STATUSES)[number];

/** Timestamp precisions (spec §1.5.4) and the fraction digits each puts in `timestamp_iso`. */
export const TIMESTAMP_PRECISIONS = ['NANOSECOND', 'MICROSECOND', 'MILLISECOND'] as const;
/** One of {@link TIMESTAMP_PRECISIONS}. */
export type TimestampPrecision = (typeof TIMESTAMP_PRECISIONS)[number];

/** Fraction digits of `timestamp_iso` for each precision. */
export const PRECISION_DIGITS: Readonly<Record<TimestampPrecision, 3 | 6 | 9>> = {
  MILLISECOND: 3,
  MICROSECOND: 6,
  NANOSECOND: 9,
};

/** Conformance tiers (spec §2.1). */
export const TIERS = ['SILVER', 'GOLD', 'PLATINUM'] as const;
/** One of {@link TIERS}. */
export type Tier = (typeof TIERS)[number];

/** What each tier requires by default: anchor interval, precision and clock status (spec §2.1–2.2). */
export const TIER_PROFILES: Readonly<
  Record<Tier, { anchorIntervalMs: number; precision: TimestampPrecision; clockSyncStatus: ClockSyncStatus }>
> = {
  PLATINUM: { anchorIntervalMs: 10 * 60_000, precision: 'NANOSECOND', clockSyncStatus: 'PTP_LOCKED' },
  GOLD: { anchorIntervalMs: 60 * 60_000, precision: 'MICROSECOND', clockSyncStatus: 'NTP_SYNCED' },
  SILVER: { anchorIntervalMs: 24 * 60 * 60_000, precision: 'MILLISECOND', clockSyncStatus: 'BEST_EFFORT' },
};

/** Error severities (spec §3.2.1). */
export const SEVERITIES = ['CRITICAL', 'WARNING', 'INFO'] as const;
/** One of {@link SEVERITIES}. */
export type Severity = (typeof SEVERITIES)[number];

/** Order sides as VCP writes them. */
export const SIDES = ['BUY', 'SELL'] as const;
/** One of {@link SIDES} (other values are kept as given by adapters, never invented). */
export type Side = (typeof SIDES)[number];

/** Merkle tree construction modes (DESIGN decision 4). */
export const MERKLE_MODES = ['rfc6962', 'vcp-dup'] as const;
/** One of {@link MERKLE_MODES}. */
export type MerkleMode = (typeof MERKLE_MODES)[number];

/** Anchor target kinds (spec §6.3.3). */
export const ANCHOR_TARGET_TYPES = ['BLOCKCHAIN', 'TSA', 'DATABASE', 'PUBLIC_SERVICE', 'LOCAL_FILE'] as const;
/** One of {@link ANCHOR_TARGET_TYPES}. `LOCAL_FILE` is this package's development target, not external. */
export type AnchorTargetType = (typeof ANCHOR_TARGET_TYPES)[number];

/** The protocol version this package writes. */
export const VCP_VERSION = '1.1';

/**
 * Why header settings that go into every event (a recorder's or a tap's) are not VCP values, naming each
 * (`clockSyncStatus`, `hashAlgo`, `precision`); undefined when all given ones are. The sidecar would refuse
 * every event carrying a bad one, and a bad hash algorithm cannot hash at all.
 */
export function headerSettingsIssue(settings: {
  clockSyncStatus?: unknown;
  hashAlgo?: unknown;
  precision?: unknown;
}): string | undefined {
  const bad = (name: string, value: unknown, allowed: readonly string[]) =>
    value !== undefined && !allowed.includes(value as string)
      ? `${name} must be one of ${allowed.join(', ')}, not ${String(value).slice(0, 40)}`
      : undefined;
  return (
    bad('clockSyncStatus', settings.clockSyncStatus, CLOCK_SYNC_STATUSES) ??
    bad('hashAlgo', settings.hashAlgo, HASH_ALGOS) ??
    bad('precision', settings.precision, TIMESTAMP_PRECISIONS)
  );
}
