/**
 * Policy identification (spec §5.5): who operates the log, at which tier,
 * and what a verifier can expect to check.
 */
import { TIERS, type Tier } from './enums.ts';
import { VcpValidationError } from './errors.ts';
import type { PolicyIdentification } from './types.ts';

// <reverse-domain>:<local-id>, e.g. com.example.trading:gold-algo-v2
const REVERSE_DOMAIN = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+';
const LOCAL_ID = '[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?';
const DOMAIN_POLICY_RE = new RegExp(`^${REVERSE_DOMAIN}:${LOCAL_ID}$`);
const LOCAL_POLICY_RE = new RegExp(`^local:${LOCAL_ID}:${LOCAL_ID}$`);

// The last PolicyID judged and its kind: the events of one log (a sidecar's batches, an export) mostly share one,
// and the two expressions cost more than a string comparison on every event.
let lastPolicyId: string | undefined;
let lastPolicyKind: 'domain' | 'local' | undefined;
/** The longest PolicyID remembered: real ones are a reverse domain name and a local id of at most 128 characters. */
const MAX_REMEMBERED_ID = 512;

/** How a PolicyID is formed, or `undefined` when it follows neither convention. */
export function policyIdKind(policyId: unknown): 'domain' | 'local' | undefined {
  if (typeof policyId !== 'string') return undefined;
  if (policyId === lastPolicyId) return lastPolicyKind;
  const kind = LOCAL_POLICY_RE.test(policyId)
    ? 'local'
    : DOMAIN_POLICY_RE.test(policyId)
      ? 'domain'
      : undefined;
  // Only ids of a plausible length are kept: a hostile megabyte-long one must not stay referenced here.
  if (policyId.length <= MAX_REMEMBERED_ID) {
    lastPolicyId = policyId;
    lastPolicyKind = kind;
  }
  return kind;
}

/** True when `policyId` is `<reverse-domain>:<local-id>` or `local:<org>:<id>` (spec §5.5.4). */
export function isValidPolicyId(policyId: unknown): policyId is string {
  return policyIdKind(policyId) !== undefined;
}

/** Options of {@link createPolicy}. */
export interface PolicyOptions {
  /** `<reverse-domain>:<local-id>` (e.g. `com.example.trading:gold-algo-v2`) or `local:<org>:<id>`. */
  policyId: string;
  /** Conformance tier (default `SILVER`). */
  tier?: Tier;
  /** Organisation operating the policy (default: the reverse domain or `<org>` of the PolicyID). */
  issuer?: string;
  policyUri?: string;
  /** Whether events carry `prev_hash` (hash chain). */
  hashChain?: boolean;
}

/**
 * Build a complete `policy_identification` block, validating the PolicyID
 * format and tier. Throws {@link VcpValidationError} naming the field.
 */
export function createPolicy(options: PolicyOptions): PolicyIdentification {
  const tier = options.tier ?? 'SILVER';
  const issues = [];
  if (!isValidPolicyId(options.policyId)) {
    issues.push({
      path: 'policy_identification.policy_id',
      rule: 'policy-id',
      message: `"${String(options.policyId).slice(0, 80)}" must be <reverse-domain>:<local-id> (e.g. com.example.trading:algo-v2) or local:<org>:<id>`,
    });
  }
  if (!TIERS.includes(tier)) {
    issues.push({
      path: 'policy_identification.conformance_tier',
      rule: 'enum',
      message: `must be one of ${TIERS.join(', ')}`,
    });
  }
  if (issues.length) throw new VcpValidationError(issues);
  const issuer = options.issuer ?? defaultIssuer(options.policyId);
  return {
    version: '1.1',
    policy_id: options.policyId,
    conformance_tier: tier,
    registration_policy: options.policyUri ? { issuer, policy_uri: options.policyUri } : { issuer },
    verification_depth: {
      hash_chain_validation: options.hashChain ?? false,
      merkle_proof_required: true,
      external_anchor_required: true,
    },
  };
}

function defaultIssuer(policyId: string): string {
  const parts = policyId.split(':');
  if (parts[0] === 'local') return parts[1] ?? policyId;
  return (parts[0] ?? policyId).split('.').reverse().join('.');
}
