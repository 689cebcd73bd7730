/**
 * Exponential backoff with jitter, for anchor targets that are down
 * (spec §6.3.3 "Temporary outage: queue anchoring requests; retry with
 * exponential backoff").
 */
import { VcpConfigError } from '../../core/errors.ts';

/** How long to wait between attempts. */
export interface RetryPolicy {
  /** Delay after the first failure, ms (default 1 000). */
  initialMs: number;
  /** Upper bound of the delay, ms (default 300 000: 5 minutes). */
  maxMs: number;
  /** Growth per failure (default 2). */
  factor: number;
  /**
   * Fraction of the delay that is random (0…1, default 0.2): the delay is
   * drawn from `[d·(1 − jitter), d]`, so several sidecars that lost the same
   * target do not come back in lockstep.
   */
  jitter: number;
}

/** Defaults of {@link RetryPolicy}. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = {
  initialMs: 1_000,
  maxMs: 300_000,
  factor: 2,
  jitter: 0.2,
};

/** Fills in defaults and checks the numbers; throws `VcpConfigError` on nonsense. */
export function resolveRetryPolicy(policy: Partial<RetryPolicy> = {}): RetryPolicy {
  const out = { ...DEFAULT_RETRY, ...policy };
  const positive = (name: keyof RetryPolicy) => {
    const v = out[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new VcpConfigError(`retry.${name} must be a positive number (got ${String(v)})`);
    }
  };
  positive('initialMs');
  positive('maxMs');
  positive('factor');
  if (out.factor < 1) throw new VcpConfigError('retry.factor must be at least 1');
  if (out.maxMs < out.initialMs) throw new VcpConfigError('retry.maxMs must be at least retry.initialMs');
  if (typeof out.jitter !== 'number' || !(out.jitter >= 0 && out.jitter <= 1)) {
    throw new VcpConfigError('retry.jitter must be between 0 and 1');
  }
  return out;
}

/**
 * Delay before retry number `attempt` (1 = after the first failure):
 * `min(maxMs, initialMs · factor^(attempt−1))`, minus up to `jitter` of it.
 * `random` returns a number in [0, 1) (default `Math.random`).
 */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(attempt));
  // Cap the exponent so huge attempt counts cannot overflow to Infinity·0.
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.min(n - 1, 1000));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.max(1, Math.round(base * (1 - policy.jitter * r)));
}
