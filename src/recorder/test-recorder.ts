/**
 * `createTestRecorder()`: a recorder wired to a `MemorySink`, for users' own
 * tests (and ours). No exit hooks, policy `local:test:recorder`, tier SILVER;
 * optionally a fixed clock and deterministic event ids, so sealed events (and
 * their hashes) are the same on every run.
 *
 * ```ts
 * const { recorder, sink } = createTestRecorder({ deterministic: true });
 * recorder.record('ORD', { trade_data: { order_id: 'O-1', price: '1.0850', quantity: '100000' } });
 * await recorder.flush();
 * sink.events[0].security.event_hash; // the same every run
 * ```
 */
import { createFixedClock } from '../core/clock.ts';
import { createUuidV7Generator } from '../core/uuidv7.ts';
import { MemorySink } from '../sinks/memory.ts';
import { createRecorder, type Recorder, type RecorderOptions } from './recorder.ts';

/** Options of {@link createTestRecorder}: any recorder option, plus determinism switches. */
export interface TestRecorderOptions extends Partial<Omit<RecorderOptions, 'sink'>> {
  /** The memory sink to use (default: a new one). */
  sink?: MemorySink;
  /** Both `fixedClock` and `deterministicIds`. */
  deterministic?: boolean;
  /**
   * A fixed clock (`createFixedClock`): `true` starts at 2024-12-25T00:00:00Z, a string
   * (ns since epoch) or Date sets the start; each reading advances 1 ms.
   */
  fixedClock?: boolean | string | Date;
  /** Deterministic UUIDv7 ids: `true` (seed 1) or a numeric seed. */
  deterministicIds?: boolean | number;
}

/** Default start of the fixed clock: 2024-12-25T00:00:00Z in ns. */
const FIXED_START = '1735084800000000000';

/** mulberry32: a tiny seeded PRNG, enough for reproducible test ids (not for anything secret). */
function seededBytes(seed: number): (bytes: Uint8Array) => void {
  let a = seed >>> 0 || 1;
  return (bytes) => {
    for (let i = 0; i < bytes.length; i++) {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      bytes[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
    }
  };
}

/** A recorder and the memory sink it writes to. */
export function createTestRecorder(options: TestRecorderOptions = {}): {
  recorder: Recorder;
  sink: MemorySink;
} {
  const { sink = new MemorySink(), deterministic, fixedClock, deterministicIds, ...rest } = options;
  const clockStart = fixedClock ?? (deterministic ? true : undefined);
  const idSeed = deterministicIds ?? (deterministic ? true : undefined);
  const recorderOptions: RecorderOptions = {
    policyId: rest.policy ? undefined : 'local:test:recorder',
    tier: 'SILVER',
    exitHooks: false,
    ...rest,
    sink,
  };
  if (clockStart !== undefined && clockStart !== false && !rest.clock) {
    recorderOptions.clock = createFixedClock(clockStart === true ? FIXED_START : clockStart);
  }
  if (idSeed !== undefined && idSeed !== false && !rest.newId) {
    const startMs = Number(BigInt(typeof clockStart === 'string' ? clockStart : FIXED_START) / 1_000_000n);
    recorderOptions.newId = createUuidV7Generator(() => startMs, seededBytes(idSeed === true ? 1 : idSeed));
  }
  return { recorder: createRecorder(recorderOptions), sink };
}
