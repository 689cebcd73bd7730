/**
 * Optional capability of a store: whether it still accepts writes, and the
 * result of its last background scrub. The file store has it (lock loss,
 * failed fsync, scrub damage all stop its writes); /health and /metrics
 * show it when present.
 */
import type { ScrubStatus } from './file/scrub.ts';
import type { EventStore } from './store.ts';

export type { ScrubStatus } from './file/scrub.ts';

/** What a store says about its own health. */
export interface StoreHealthReport {
  /** False once the store refuses writes (the server answers 503). */
  writable: boolean;
  /** Why it refuses writes, or null. */
  problem: string | null;
  /** The last scrub, or null when the store has none. */
  scrub: ScrubStatus | null;
}

/** A store that can report {@link StoreHealthReport}. */
export interface StoreHealthSource {
  storeHealth(): StoreHealthReport;
}

/** The store's health report, if it offers one. */
export function storeHealthOf(store: EventStore): StoreHealthReport | undefined {
  const s = store as EventStore & Partial<StoreHealthSource>;
  return typeof s.storeHealth === 'function' ? s.storeHealth() : undefined;
}
