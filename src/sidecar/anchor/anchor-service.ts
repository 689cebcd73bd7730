/**
 * The anchoring service: closes batches of the Merkle log into signed
 * AnchorRecords and sends each to every anchor target (spec §6.3.3).
 *
 * ## How the server uses it
 *
 * Through `createAnchoringFactory()` (server-adapter.ts), which fits the
 * server's `AnchoringFactory` hook; or directly:
 *
 * ```ts
 * import { createAnchorService, createAnchorTargets } from './anchor/index.ts';
 *
 * const state = await store.open();
 * const service = createAnchorService({
 *   store, tree,                         // the EventStore and the live MerkleTree (or () => tree)
 *   signer, policyId, tier,              // Ed25519 signer, policy id, 'SILVER' | 'GOLD' | 'PLATINUM'
 *   targets: createAnchorTargets({ dataDir, targets: ['tsa:https://…'] }),  // LOCAL_FILE when none
 *   anchors: state.anchors,              // what the store already holds
 *   onEvent: (e) => log(e),              // optional: logs and metrics
 * });
 * await service.start();                 // scheduler on the tier's interval + retries of unfinished targets
 * const { record, unchanged, failed } = await service.anchorNow();  // POST /vcp/anchor
 * service.status();                      // GET /health, GET /metrics (synchronous)
 * service.anchorFor(i);                  // the record covering leaf i (fills merkle_root / anchor_reference)
 * await service.stop({ finalAnchor: true });  // graceful shutdown
 * ```
 *
 * The tree must only hold durable events: append to it after `store.append`
 * resolved (the service reads the batch's first and last event from the store).
 *
 * ## What `anchorNow()` does
 *
 * 1. If the tree has no event beyond the last record's `tree_size`, it returns
 *    the last record with `unchanged: true` (an empty batch is never anchored
 *    twice; with no events at all `record` is `null`).
 * 2. Else it signs a record over the root of the whole tree (`tree_size` =
 *    current size, `event_count`/`first_index`/`first_event_id`/`last_event_id`
 *    describe the new batch, `prev_anchor_id` links to the previous record) and
 *    stores it, with a signed checkpoint note over the same root in its
 *    `checkpoint` field, with `store.putAnchor` BEFORE any target is contacted: the local
 *    copy the spec asks for exists even if every target is down.
 * 3. It calls every target once, in parallel. Each proof that comes back is
 *    added to `anchor_targets` (in configured order) and the record is stored
 *    again; `anchor_target` is the first external target that answered (the
 *    local file if none did yet). Targets that fail are listed in `failed` and
 *    queued.
 *
 * ## Targets that are down
 *
 * One queue per target, oldest record first, retried with exponential
 * backoff and jitter (`retry`), until each record has that target's proof.
 * A success of a fresh anchor drains the target's queue at once. Nothing of
 * the queue is written anywhere: after a restart `start()` derives it again
 * from the records, as every record lacking a proof from a configured target
 * (the most recent `maxBacklog`, default 1 000; older ones are still covered,
 * through consistency proofs, by any later root that target anchors).
 *
 * ## Events and anchors
 *
 * Stored events are never rewritten. Event i is covered by the first record
 * with `tree_size > i` (`anchorFor(i)` / {@link findCoveringAnchor}); the
 * server fills `security.merkle_root` / `anchor_reference` from it when it
 * serves the event.
 *
 * ## Lag
 *
 * `status().lagMs` is how long data has been waiting for a complete anchor:
 * 0 when every event is in a record and no record is queued for a target;
 * otherwise now minus the time of the last record before the waiting data
 * (the record before the oldest one still queued for a target, or the last
 * record when new events wait; or, for new events, `oldestUnanchoredAt()`
 * when the caller provides it). Without that hook it is an upper bound of the
 * oldest waiting event's age; with no earlier record, the service's creation
 * time is used.
 * `lagLimitMs` is the tier's interval: alert when `lagMs` exceeds it.
 */
import { systemClock, type VcpClock } from '../../core/clock.ts';
import type { MerkleMode, Tier } from '../../core/enums.ts';
import { TIER_PROFILES } from '../../core/enums.ts';
import { VcpConfigError, VcpIoError } from '../../core/errors.ts';
import type { AnchorRecord, AnchorTarget } from '../../core/types.ts';
import { createAnchorRecord } from '../../integrity/anchor-record.ts';
import type { Signer } from '../../integrity/sign.ts';
import { attachAnchorCheckpoint } from '../checkpoints.ts';
import type { EventStore } from '../store/store.ts';
import { backoffDelay, type RetryPolicy, resolveRetryPolicy } from './retry.ts';
import { createScheduler, type Scheduler } from './scheduler.ts';
import type { AnchorTargetDriver } from './target.ts';

/** What the service needs of the Merkle tree (a `MerkleTree` fits). */
export interface TreeView {
  /** Leaves so far. */
  readonly size: number;
  /** Root (lowercase hex) of the first `size` leaves. */
  root(size?: number): string;
  /** `rfc6962` (default) or `vcp-dup`. */
  readonly mode?: MerkleMode;
}

/** Names a target in events and status. */
export interface TargetRef {
  type: AnchorTarget['type'];
  identifier: string;
}

/** What the service reports through `onEvent` (for logs and metrics). */
export type AnchorServiceEvent =
  | { type: 'anchored'; record: AnchorRecord; durationMs: number; failed: number }
  | {
      type: 'target-ok';
      anchorId: string;
      target: TargetRef;
      attempt: number;
      durationMs: number;
      retry: boolean;
    }
  | {
      type: 'target-failed';
      anchorId: string;
      target: TargetRef;
      attempt: number;
      error: string;
      retryInMs?: number;
    }
  | { type: 'backlog-capped'; target: TargetRef; skipped: number }
  | { type: 'scheduler-error'; error: string };

/** Options of {@link createAnchorService}. */
export interface AnchorServiceOptions {
  store: EventStore;
  /** The live tree, or a function returning it (read at each anchor). */
  tree: TreeView | (() => TreeView);
  /** Signs each root (Ed25519). */
  signer: Signer;
  /** Where roots go. Empty: records are only kept in the store (status says so). */
  targets: readonly AnchorTargetDriver[];
  /** `policy_id` written in every record. */
  policyId: string;
  /** Sets the default interval: PLATINUM 10 min, GOLD 1 h, SILVER 24 h. */
  tier: Tier;
  /** Scheduler interval, ms (overrides the tier's). */
  intervalMs?: number;
  /** Records already stored (`StoreState.anchors`); read from the store when absent. */
  anchors?: readonly AnchorRecord[];
  /** Clock for record timestamps (default the system clock). */
  clock?: VcpClock;
  /** Backoff of failed targets (default 1 s doubling to 5 min, 20 % jitter). */
  retry?: Partial<RetryPolicy>;
  /** How many records per target are re-queued after a restart (default 1 000). */
  maxBacklog?: number;
  /** Close the targets in `stop()` (default true). */
  closeTargets?: boolean;
  /** Kafka partition whose tree this is (cluster mode). */
  partition?: number;
  onEvent?: (event: AnchorServiceEvent) => void;
  /**
   * When the oldest event not in any record was stored (ms since epoch), if
   * the caller tracks it (the server does); makes `lagMs` exact for new
   * events instead of an upper bound.
   */
  oldestUnanchoredAt?: () => number | undefined;
  /** ms since epoch, for lag and retry times (default `Date.now`). */
  now?: () => number;
  /** [0, 1) source for jitter (default `Math.random`). */
  random?: () => number;
}

/** Result of {@link AnchorService.anchorNow}. */
export interface AnchorNowResult {
  /** The new record, or the last one when `unchanged`; `null` only when nothing was ever logged. */
  record: AnchorRecord | null;
  /** True when there was nothing new to anchor. */
  unchanged: boolean;
  /** Targets that did not answer this time (queued for retry). */
  failed: (TargetRef & { reason: string })[];
}

/** One target's retry queue, as `status()` shows it. */
export interface PendingTarget extends TargetRef {
  /** Records waiting for this target's proof. */
  records: number;
  /** Consecutive failures. */
  failures: number;
  lastError?: string;
  /** ISO time of the next attempt, if one is scheduled. */
  nextRetryAt?: string;
}

/** Snapshot for /health and /metrics. */
export interface AnchorStatus {
  tier: Tier;
  /** Scheduler interval = the lag limit, ms. */
  intervalMs: number;
  /** True between `start()` and `stop()`. */
  running: boolean;
  /** Leaves in the tree now. */
  treeSize: number;
  /** `tree_size` of the last record (0 if none). */
  anchoredSize: number;
  /** Events not yet in any record. */
  pendingEvents: number;
  lastAnchor: AnchorRecord | null;
  /** ISO time of the last record, or null. */
  lastAnchorAt: string | null;
  /** Targets with records waiting for a retry. */
  pending: PendingTarget[];
  /** Configured targets; `external: false` ones prove nothing to a third party. */
  targets: (TargetRef & { external: boolean; note?: string })[];
  lagMs: number;
  lagLimitMs: number;
  /** When the scheduler will anchor next (ISO), if running. */
  nextAnchorAt: string | null;
}

/** The anchoring service (see the file comment for how the server uses it). */
export interface AnchorService {
  /** Loads the records (if not given), re-queues unfinished targets, starts the scheduler. */
  start(): Promise<void>;
  /** Closes the current batch now and anchors it (see the file comment). */
  anchorNow(): Promise<AnchorNowResult>;
  /** Synchronous snapshot for /health and /metrics (`nowMs`: the time to measure the lag at). */
  status(nowMs?: number): AnchorStatus;
  /** The record covering leaf `index` (first with `tree_size > index`), or undefined if not anchored yet. */
  anchorFor(index: number): AnchorRecord | undefined;
  /** Copies of all records, oldest first (the service's view, proofs included). */
  anchors(): AnchorRecord[];
  /** Asks each target that holds a proof of `record` to check it. */
  verifyRecord(record: AnchorRecord): Promise<(TargetRef & { ok: boolean; reason?: string })[]>;
  /**
   * Stops the scheduler and retries, waits for anchoring in progress, then
   * (with `finalAnchor`) anchors once more, and closes the targets.
   * Unfinished targets are picked up again by the next `start()`.
   */
  stop(options?: { finalAnchor?: boolean }): Promise<void>;
}

/** The first record whose `tree_size` exceeds `index` (records in order, sizes increasing), or undefined. */
export function findCoveringAnchor(
  anchors: readonly AnchorRecord[],
  index: number,
): AnchorRecord | undefined {
  if (!Number.isSafeInteger(index) || index < 0) return undefined;
  let lo = 0;
  let hi = anchors.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (anchors[mid]!.tree_size > index) hi = mid;
    else lo = mid + 1;
  }
  return anchors[lo];
}

function recordMs(record: AnchorRecord): number {
  const ts = record.timestamp;
  if (typeof ts === 'string' && /^\d{1,20}$/.test(ts)) return Number(BigInt(ts) / 1_000_000n);
  const iso = Date.parse(record.anchored_at);
  return Number.isNaN(iso) ? 0 : iso;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const sameTarget = (a: TargetRef, b: TargetRef) => a.type === b.type && a.identifier === b.identifier;

interface Queue {
  ids: string[];
  failures: number;
  lastError?: string;
  timer?: NodeJS.Timeout;
  nextAt?: number;
  draining?: Promise<void>;
  /** Delay drawn (and announced) at the last failure, used by the next schedule. */
  nextDelay?: number;
}

/** Creates the anchoring service. Nothing runs until `start()` or `anchorNow()`. */
export function createAnchorService(options: AnchorServiceOptions): AnchorService {
  const { store, signer, policyId, tier } = options;
  const targets = [...(options.targets ?? [])];
  if (!TIER_PROFILES[tier]) throw new VcpConfigError(`unknown tier ${JSON.stringify(tier)}`);
  if (typeof policyId !== 'string' || policyId === '') throw new VcpConfigError('policyId is required');
  const intervalMs = options.intervalMs ?? TIER_PROFILES[tier].anchorIntervalMs;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0)
    throw new VcpConfigError('intervalMs must be a positive number');
  const retry = resolveRetryPolicy(options.retry);
  const maxBacklog = options.maxBacklog ?? 1000;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const clock = options.clock ?? systemClock;
  const emit = (event: AnchorServiceEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A logging hook must never break anchoring.
    }
  };
  const treeView = (): TreeView => (typeof options.tree === 'function' ? options.tree() : options.tree);
  const refs: TargetRef[] = targets.map((t) => ({ type: t.type, identifier: t.identifier }));
  for (let i = 0; i < refs.length; i++) {
    if (refs.findIndex((r) => sameTarget(r, refs[i]!)) !== i) {
      throw new VcpConfigError(`anchor target ${refs[i]!.type} ${refs[i]!.identifier} is configured twice`);
    }
  }

  const createdAt = now();
  const records: AnchorRecord[] = [];
  const byId = new Map<string, AnchorRecord>();
  const queues: Queue[] = targets.map((): Queue => ({ ids: [], failures: 0 }));
  let loaded: Promise<void> | undefined;
  let lock: Promise<unknown> = Promise.resolve();
  let persistTail: Promise<unknown> = Promise.resolve();
  let stopping = false;
  let started = false;
  let scheduler: Scheduler | undefined;

  const adopt = (list: readonly AnchorRecord[]) => {
    for (const r of list) {
      if (!r || typeof r.anchor_id !== 'string' || byId.has(r.anchor_id)) continue;
      const copy = structuredClone(r);
      records.push(copy);
      byId.set(copy.anchor_id, copy);
    }
  };
  const load = () => {
    loaded ??= (async () => {
      adopt(options.anchors ?? (await store.anchors()));
    })().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };

  /** One anchorNow at a time. */
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = lock.then(fn);
    lock = run.catch(() => undefined);
    return run;
  };

  const hasProof = (record: AnchorRecord, ref: TargetRef) =>
    (record.anchor_targets ?? []).some(
      (t) => sameTarget(t, ref) && typeof t.proof === 'string' && t.proof !== '',
    );

  /** Adds a target's proof to the stored record (serialized; the store sees every version in order). */
  const applyProof = (anchorId: string, proof: AnchorTarget): Promise<void> => {
    const run = persistTail.then(async () => {
      const record = byId.get(anchorId);
      if (!record) return;
      const list = (record.anchor_targets ?? []).filter((t) => !sameTarget(t, proof));
      list.push({ type: proof.type, identifier: proof.identifier, proof: proof.proof });
      // Keep configured order; unknown (old config) entries after.
      const rank = (t: TargetRef) => {
        const i = refs.findIndex((r) => sameTarget(r, t));
        return i === -1 ? refs.length : i;
      };
      list.sort((a, b) => rank(a) - rank(b));
      record.anchor_targets = list;
      const external = list.find((t) => targets[rank(t)]?.external === true);
      const chosen = external ?? list[0];
      if (chosen) record.anchor_target = { ...chosen };
      await store.putAnchor(structuredClone(record));
    });
    persistTail = run.catch(() => undefined);
    return run;
  };

  /** One call of target i for a record: proof stored on success; throws on failure. */
  const callTarget = async (i: number, record: AnchorRecord): Promise<number> => {
    const target = targets[i]!;
    const t0 = performance.now();
    const proof = await target.anchor(structuredClone(record));
    if (
      !proof ||
      proof.type !== target.type ||
      typeof proof.identifier !== 'string' ||
      typeof proof.proof !== 'string' ||
      proof.proof === ''
    ) {
      throw new VcpIoError(`anchor target ${target.type} ${target.identifier} returned no usable proof`);
    }
    await applyProof(record.anchor_id, { ...proof, identifier: target.identifier });
    return performance.now() - t0;
  };

  const schedule = (i: number) => {
    const q = queues[i]!;
    if (stopping || q.timer || q.draining || q.ids.length === 0) return;
    const delay = q.nextDelay ?? backoffDelay(Math.max(1, q.failures), retry, random);
    delete q.nextDelay;
    q.nextAt = now() + delay;
    q.timer = setTimeout(() => {
      q.timer = undefined;
      q.nextAt = undefined;
      void drain(i);
    }, delay);
    q.timer.unref();
  };

  /** Works through target i's queue, oldest first, until it is empty or the target fails again. */
  const drain = (i: number): Promise<void> => {
    const q = queues[i]!;
    if (q.draining) return q.draining;
    if (q.timer) clearTimeout(q.timer);
    q.timer = undefined;
    q.nextAt = undefined;
    q.draining = (async () => {
      while (!stopping && q.ids.length > 0) {
        const id = q.ids[0]!;
        const record = byId.get(id);
        if (!record || hasProof(record, refs[i]!)) {
          q.ids.shift();
          continue;
        }
        const attempt = q.failures + 1;
        try {
          const durationMs = await callTarget(i, record);
          q.ids.shift();
          q.failures = 0;
          delete q.lastError;
          emit({ type: 'target-ok', anchorId: id, target: refs[i]!, attempt, durationMs, retry: true });
        } catch (error) {
          q.failures++;
          q.lastError = errorText(error);
          const retryInMs = backoffDelay(q.failures, retry, random);
          q.nextDelay = retryInMs;
          emit({
            type: 'target-failed',
            anchorId: id,
            target: refs[i]!,
            attempt,
            error: q.lastError,
            retryInMs,
          });
          break;
        }
      }
    })().finally(() => {
      q.draining = undefined;
      schedule(i);
    });
    return q.draining;
  };

  const enqueue = (i: number, id: string) => {
    const q = queues[i]!;
    if (!q.ids.includes(id)) q.ids.push(id);
  };

  /** First attempt of target i for a fresh record. */
  const firstAttempt = async (
    i: number,
    record: AnchorRecord,
  ): Promise<(TargetRef & { reason: string }) | undefined> => {
    const q = queues[i]!;
    try {
      const durationMs = await callTarget(i, record);
      emit({
        type: 'target-ok',
        anchorId: record.anchor_id,
        target: refs[i]!,
        attempt: 1,
        durationMs,
        retry: false,
      });
      if (q.ids.length > 0) {
        // The target is back: work off its backlog now rather than at the next backoff tick.
        q.failures = 0;
        void drain(i);
      }
      return undefined;
    } catch (error) {
      const reason = errorText(error);
      q.failures++;
      q.lastError = reason;
      enqueue(i, record.anchor_id);
      // Announce the wait that will really happen: a new timer, or the one already running.
      let retryInMs: number | undefined;
      if (!stopping && !q.timer && !q.draining) {
        retryInMs = backoffDelay(q.failures, retry, random);
        q.nextDelay = retryInMs;
      } else if (q.nextAt !== undefined) {
        retryInMs = Math.max(0, q.nextAt - now());
      }
      emit({
        type: 'target-failed',
        anchorId: record.anchor_id,
        target: refs[i]!,
        attempt: 1,
        error: reason,
        ...(retryInMs !== undefined ? { retryInMs } : {}),
      });
      schedule(i);
      return { ...refs[i]!, reason };
    }
  };

  const anchorNow = (): Promise<AnchorNowResult> =>
    exclusive(async () => {
      await load();
      const t0 = performance.now();
      const view = treeView();
      const size = view.size;
      const last = records.at(-1);
      const anchoredSize = last?.tree_size ?? 0;
      if (size < anchoredSize) {
        throw new VcpIoError(
          `the tree has ${size} leaves but the last anchor covers ${anchoredSize}: events were lost`,
        );
      }
      if (size === anchoredSize) {
        return { record: last ? structuredClone(last) : null, unchanged: true, failed: [] };
      }
      const [first, lastEvent] = await Promise.all([
        store.getByIndex(anchoredSize),
        store.getByIndex(size - 1),
      ]);
      if (!first || !lastEvent) {
        throw new VcpIoError(
          `the store has no event at index ${first ? size - 1 : anchoredSize}; cannot anchor`,
        );
      }
      const placeholder: AnchorTarget = refs[0]
        ? { type: refs[0].type, identifier: refs[0].identifier, proof: '' }
        : { type: 'LOCAL_FILE', identifier: store.name, proof: '' };
      const record = createAnchorRecord(
        {
          merkle_root: view.root(size),
          tree_size: size,
          merkle_mode: view.mode ?? 'rfc6962',
          event_count: size - anchoredSize,
          first_event_id: first.eventId,
          last_event_id: lastEvent.eventId,
          first_index: anchoredSize,
          policy_id: policyId,
          ...(last ? { prev_anchor_id: last.anchor_id } : {}),
          ...(options.partition !== undefined ? { partition: options.partition } : {}),
        },
        { signer, clock, target: placeholder },
      );
      // Its signed checkpoint is part of the record from the start (the database target hashes it).
      attachAnchorCheckpoint(record, signer);
      // The local copy first: it exists even if every target is down.
      await store.putAnchor(structuredClone(record));
      records.push(record);
      byId.set(record.anchor_id, record);
      const results = await Promise.all(targets.map((_, i) => firstAttempt(i, record)));
      const failed = results.filter((r): r is TargetRef & { reason: string } => r !== undefined);
      await persistTail;
      const out = structuredClone(record);
      emit({ type: 'anchored', record: out, durationMs: performance.now() - t0, failed: failed.length });
      scheduler?.reschedule();
      return { record: structuredClone(out), unchanged: false, failed };
    });

  /** Re-queues, per target, the records that lack its proof (newest `maxBacklog`). */
  const requeue = () => {
    targets.forEach((_, i) => {
      const missing = records.filter((r) => !hasProof(r, refs[i]!)).map((r) => r.anchor_id);
      const skipped = Math.max(0, missing.length - maxBacklog);
      if (skipped > 0) emit({ type: 'backlog-capped', target: refs[i]!, skipped });
      for (const id of missing.slice(skipped)) enqueue(i, id);
      if (queues[i]!.ids.length > 0) void drain(i);
    });
  };

  /**
   * Start of the wait measured by `lagMs`: the time of the record before the
   * oldest one still queued for some target (records past `maxBacklog` are not
   * queued and do not count), else of the last record if events are waiting.
   */
  const lagSince = (): number | undefined => {
    const queued = new Set(queues.flatMap((q) => q.ids));
    if (queued.size > 0) {
      const oldest = records.findIndex((r) => queued.has(r.anchor_id));
      if (oldest !== -1) {
        const before = records[oldest - 1];
        return before ? recordMs(before) : createdAt;
      }
    }
    const last = records.at(-1);
    if (treeView().size > (last?.tree_size ?? 0)) {
      return options.oldestUnanchoredAt?.() ?? (last ? recordMs(last) : createdAt);
    }
    return undefined;
  };

  return {
    async start() {
      if (started) return;
      await load();
      stopping = false;
      started = true;
      requeue();
      scheduler = createScheduler({
        intervalMs,
        now,
        dueAt: () => {
          const last = records.at(-1);
          return (last ? recordMs(last) : createdAt) + intervalMs;
        },
        run: () => anchorNow(),
        onError: (error) => emit({ type: 'scheduler-error', error: errorText(error) }),
      });
      scheduler.start();
    },

    anchorNow,

    status(nowMs: number = now()): AnchorStatus {
      const size = treeView().size;
      const last = records.at(-1) ?? null;
      const anchoredSize = last?.tree_size ?? 0;
      const since = lagSince();
      const pending: PendingTarget[] = [];
      queues.forEach((q, i) => {
        if (q.ids.length === 0) return;
        const p: PendingTarget = { ...refs[i]!, records: q.ids.length, failures: q.failures };
        if (q.lastError) p.lastError = q.lastError;
        if (q.nextAt !== undefined) p.nextRetryAt = new Date(q.nextAt).toISOString();
        pending.push(p);
      });
      const nextRun = scheduler?.nextRunAt;
      return {
        tier,
        intervalMs,
        running: started && !stopping,
        treeSize: size,
        anchoredSize,
        pendingEvents: Math.max(0, size - anchoredSize),
        lastAnchor: last ? structuredClone(last) : null,
        lastAnchorAt: last ? last.anchored_at : null,
        pending,
        targets: targets.map((t, i) => ({
          ...refs[i]!,
          external: t.external,
          ...(t.external ? {} : { note: 'not an external anchor: development only' }),
        })),
        lagMs: since === undefined ? 0 : Math.max(0, nowMs - since),
        lagLimitMs: intervalMs,
        nextAnchorAt: nextRun === undefined ? null : new Date(nextRun).toISOString(),
      };
    },

    anchorFor(index: number) {
      const r = findCoveringAnchor(records, index);
      return r ? structuredClone(r) : undefined;
    },

    anchors() {
      return structuredClone(records);
    },

    async verifyRecord(record: AnchorRecord) {
      const out: (TargetRef & { ok: boolean; reason?: string })[] = [];
      // Records from other producers may carry only the single `anchor_target`.
      const single = record?.anchor_target?.proof ? [record.anchor_target] : [];
      for (const proof of record?.anchor_targets ?? single) {
        const i = refs.findIndex((r) => sameTarget(r, proof));
        const target = targets[i];
        if (!target?.verify) {
          out.push({
            type: proof.type,
            identifier: proof.identifier,
            ok: false,
            reason: 'no configured target can check this proof',
          });
          continue;
        }
        try {
          const res = await target.verify(record, proof);
          out.push({
            type: proof.type,
            identifier: proof.identifier,
            ok: res.ok,
            ...(res.reason ? { reason: res.reason } : {}),
          });
        } catch (error) {
          out.push({ type: proof.type, identifier: proof.identifier, ok: false, reason: errorText(error) });
        }
      }
      return out;
    },

    async stop(stopOptions: { finalAnchor?: boolean } = {}) {
      await scheduler?.stop();
      scheduler = undefined;
      stopping = true;
      for (const q of queues) {
        if (q.timer) clearTimeout(q.timer);
        q.timer = undefined;
        q.nextAt = undefined;
      }
      await lock;
      if (stopOptions.finalAnchor) {
        try {
          await anchorNow();
        } catch (error) {
          emit({ type: 'scheduler-error', error: `final anchor: ${errorText(error)}` });
        }
      }
      await Promise.all(queues.map((q) => q.draining));
      await persistTail;
      started = false;
      if (options.closeTargets !== false) {
        await Promise.all(targets.map((t) => t.close?.().catch(() => undefined)));
      }
    },
  };
}
