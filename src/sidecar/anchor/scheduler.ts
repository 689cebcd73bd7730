/**
 * The anchoring clock: runs a job when it is due (the tier's interval after
 * the last anchor, or after the last run, whichever is later), one run at a
 * time, on an `unref()`'d timer so it never keeps the process alive.
 *
 * "Due" is computed again after every run, so an on-demand anchor pushes the
 * next scheduled one back, and a sidecar that was down longer than the
 * interval anchors right after it starts.
 */

/** Options of {@link createScheduler}. */
export interface SchedulerOptions {
  /** Interval between runs, ms. */
  intervalMs: number;
  /** When the next run is due by the data (e.g. last anchor time + interval), ms since epoch. */
  dueAt: () => number;
  /** The job. A rejection is passed to `onError` and retried with backoff (capped at the interval). */
  run: () => Promise<unknown>;
  onError?: (error: unknown) => void;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
}

/** A running schedule. */
export interface Scheduler {
  /** Arms the timer (idempotent). */
  start(): void;
  /** Disarms it; resolves once a run in progress has finished. */
  stop(): Promise<void>;
  /** Re-computes the due time now (call after an on-demand run). */
  reschedule(): void;
  /** When the next run will start (ms since epoch), or undefined when stopped. */
  readonly nextRunAt: number | undefined;
}

/** Largest delay `setTimeout` takes (about 24.8 days). */
const MAX_TIMEOUT = 2 ** 31 - 1;

/** Creates a {@link Scheduler}. */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const now = options.now ?? Date.now;
  const interval = options.intervalMs;
  let timer: NodeJS.Timeout | undefined;
  let nextRunAt: number | undefined;
  let running: Promise<void> | undefined;
  let active = false;
  let lastRunAt: number | undefined;
  let failures = 0;

  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    nextRunAt = undefined;
    if (!active || running) return;
    let due = Math.max(options.dueAt(), lastRunAt === undefined ? 0 : lastRunAt + interval);
    // After a failed run: back off 1 s, 2 s, 4 s … up to a minute (never past the interval).
    if (failures > 0) due = Math.max(due, now() + Math.min(interval, 1000 * 2 ** Math.min(failures - 1, 6)));
    const delay = Math.min(Math.max(0, due - now()), MAX_TIMEOUT);
    nextRunAt = now() + delay;
    timer = setTimeout(fire, delay);
    timer.unref();
  };

  const fire = () => {
    timer = undefined;
    nextRunAt = undefined;
    if (!active) return;
    running = (async () => {
      try {
        await options.run();
        failures = 0;
      } catch (error) {
        failures++;
        options.onError?.(error);
      } finally {
        lastRunAt = now();
        running = undefined;
      }
    })();
    void running.then(arm);
  };

  return {
    start() {
      if (active) return;
      active = true;
      arm();
    },
    async stop() {
      active = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      nextRunAt = undefined;
      await running;
    },
    reschedule() {
      arm();
    },
    get nextRunAt() {
      return nextRunAt;
    },
  };
}
