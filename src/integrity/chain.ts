/**
 * The optional hash chain (spec §6.1.2): each sealed event records the
 * previous one's hash in `prev_hash`; the first records the genesis value.
 */
import { VcpValidationError } from '../core/errors.ts';
import { isLowerHex64 } from '../core/hex.ts';
import { GENESIS_HASH } from './event-hash.ts';

/** Mutable chain state owned by one recorder (or one partition). */
export interface HashChain {
  /** The hash the next event links to (`"0"×64` before the first). */
  readonly prev: string;
  /** Number of events linked so far. */
  readonly length: number;
  /** Record `eventHash` as the newest link. */
  advance(eventHash: string): void;
}

/** Start a chain, optionally resuming after `lastHash` (e.g. after a restart). */
export function createHashChain(lastHash: string = GENESIS_HASH, length = 0): HashChain {
  if (!isLowerHex64(lastHash)) {
    throw new VcpValidationError({
      path: 'lastHash',
      rule: 'hex32',
      message: 'a chain resumes from 64 lowercase hex characters',
    });
  }
  let prev = lastHash;
  let count = length;
  return {
    get prev() {
      return prev;
    },
    get length() {
      return count;
    },
    advance(eventHash: string) {
      prev = eventHash;
      count++;
    },
  };
}
