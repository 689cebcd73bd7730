/**
 * The single writer: a queue of prepared requests, committed in groups.
 *
 * While one group's `append` (write + fdatasync) runs, new requests queue
 * up; the next group takes everything queued (up to `maxGroupEvents`), so
 * many concurrent requests share one fsync (group commit). Per group:
 *
 * 1. dedup: look every id up (in the group itself, then in the store) —
 *    same id and same EventHash is a duplicate (answered with the stored
 *    index, `duplicate: true`); same id, other hash is a 409 for the whole
 *    request (all-or-nothing);
 * 2. assign leaf indexes, contiguous, in arrival order;
 * 3. `store.append` the new events and wait until it is durable;
 * 4. append their hashes to the in-memory tree and answer.
 *
 * Being the only writer and running groups one after another, steps 1–4 need
 * no locks: no other append can slip between a lookup and its commit.
 */
import type { ValidationIssue } from '../core/errors.ts';
import type { VcpEvent } from '../core/types.ts';
import { HttpError } from './http.ts';
import type { PreparedEvent } from './ingest.ts';
import { ThreadPrepared } from './ingest-pool.ts';
import type { SidecarMetrics } from './metrics.ts';
import type { StoredEventWithRaw } from './store/file-store.ts';
import type { EventStore, StoredEvent } from './store/store.ts';
import type { TreeState } from './tree-state.ts';

/**
 * One event handed to the store. `event` is read from the prepared event only
 * when the store asks for it: the file store writes `rawEvent` and the
 * security block instead, so an event prepared on an ingest thread is never
 * parsed again on the HTTP thread.
 */
class ToStore implements StoredEventWithRaw {
  readonly index: number;
  readonly eventId: string;
  readonly eventHash: string;
  readonly receivedAt: string;
  readonly rawEvent: string | Uint8Array;
  readonly rawSecurity: VcpEvent['security'] | undefined;
  readonly rawSecurityJson: string | undefined;
  readonly #prepared: PreparedEvent;

  constructor(index: number, e: PreparedEvent, receivedAt: string) {
    this.index = index;
    this.eventId = e.eventId;
    this.eventHash = e.eventHash;
    this.receivedAt = receivedAt;
    this.#prepared = e;
    if (e instanceof ThreadPrepared) {
      e.merkleIndex = index;
      this.rawEvent = e.rawBytes ?? e.raw;
      this.rawSecurityJson = e.securityJson();
      this.rawSecurity = undefined;
    } else {
      e.security.merkle_index = index;
      this.rawEvent = e.raw;
      this.rawSecurity = e.security;
      this.rawSecurityJson = undefined;
    }
  }

  get event(): VcpEvent {
    return this.#prepared.event;
  }
}

/** The answer for one event. */
export interface CommitResult {
  status: 'ok';
  event_id: string;
  event_hash: string;
  merkle_index: number;
  warnings?: ValidationIssue[];
  duplicate?: true;
}

interface Pending {
  events: PreparedEvent[];
  batch: boolean;
  receivedAt: string;
  resolve: (results: CommitResult[]) => void;
  reject: (err: unknown) => void;
  settled?: boolean;
}

/**
 * Optional capability of a store: a synchronous, exact answer to "is this
 * id stored, and at which index" (the file store's in-memory index has it).
 */
export interface SyncIdIndex {
  indexOf(eventId: string): number | undefined;
}

/** Options of {@link CommitQueue}. */
export interface CommitQueueOptions {
  /** Most events waiting at once; beyond, `submit` refuses with 429. */
  maxQueueEvents: number;
  /** Most events in one group commit (default 8192). */
  maxGroupEvents?: number;
  metrics?: SidecarMetrics;
  log?: (message: string) => void;
}

/** The commit queue. See the module comment. */
export class CommitQueue {
  readonly #store: EventStore;
  readonly #tree: TreeState;
  readonly #maxQueue: number;
  readonly #maxGroup: number;
  readonly #metrics: SidecarMetrics | undefined;
  readonly #log: (message: string) => void;
  #queue: Pending[] = [];
  #queued = 0;
  #running = false;
  #closed = false;
  #idle: (() => void)[] = [];
  #lastFailure: { at: string; message: string } | undefined;

  constructor(store: EventStore, tree: TreeState, options: CommitQueueOptions) {
    this.#store = store;
    this.#tree = tree;
    this.#maxQueue = options.maxQueueEvents;
    this.#maxGroup = options.maxGroupEvents ?? 8192;
    this.#metrics = options.metrics;
    this.#log = options.log ?? (() => {});
  }

  /** The last commit's failure, until a later commit succeeds (a full disk, an unreachable database). */
  get lastFailure(): { at: string; message: string } | undefined {
    return this.#lastFailure;
  }

  /** Events submitted and not yet answered. */
  get depth(): number {
    return this.#queued;
  }

  /**
   * Queue a request's events; resolves with one result per event (in order)
   * once the new ones are durable. Rejects with 429 when the queue is full,
   * 503 while shutting down or when the store fails, 409 on a conflict.
   */
  submit(
    events: PreparedEvent[],
    batch: boolean,
    receivedAt = new Date().toISOString(),
  ): Promise<CommitResult[]> {
    if (this.#closed) {
      return Promise.reject(
        new HttpError(503, 'shutting_down', 'the sidecar is shutting down', {}, { connection: 'close' }),
      );
    }
    if (this.#queued + events.length > this.#maxQueue) {
      return Promise.reject(
        new HttpError(
          429,
          'too_many_requests',
          `the ingest queue is full (${this.#queued} events waiting for their fsync); retry shortly`,
          { queue_depth: this.#queued, limit: this.#maxQueue },
          { 'retry-after': '1' },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ events, batch, receivedAt, resolve, reject });
      this.#queued += events.length;
      if (!this.#running) void this.#run();
    });
  }

  /** Refuse new work (503); what is queued still commits. */
  close(): void {
    this.#closed = true;
  }

  /** Resolves when nothing is queued or committing. */
  drain(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length) {
        let n = 0;
        let take = 0;
        while (
          take < this.#queue.length &&
          (take === 0 || n + this.#queue[take]!.events.length <= this.#maxGroup)
        ) {
          n += this.#queue[take]!.events.length;
          take++;
        }
        const group = this.#queue.splice(0, take);
        try {
          await this.#commit(group);
          this.#lastFailure = undefined;
        } catch (e) {
          this.#log(`commit failed: ${(e as Error).message}`);
          if (!(e instanceof HttpError) || e.status >= 500)
            this.#lastFailure = { at: new Date().toISOString(), message: (e as Error).message };
          const err =
            e instanceof HttpError
              ? e
              : new HttpError(
                  503,
                  'storage_unavailable',
                  'the events could not be stored; nothing of this request was kept',
                  {},
                  { 'retry-after': String((e as { retryAfterSeconds?: number }).retryAfterSeconds ?? 1) },
                );
          for (const p of group) this.#settle(p, undefined, err);
          this.#metrics?.reject('storage', n);
        }
      }
    } finally {
      this.#running = false;
      const idle = this.#idle.splice(0);
      for (const f of idle) f();
    }
  }

  #settle(p: Pending, results: CommitResult[] | undefined, err?: unknown): void {
    if (p.settled) return;
    p.settled = true;
    this.#queued -= p.events.length;
    if (results) p.resolve(results);
    else p.reject(err);
  }

  async #commit(group: Pending[]): Promise<void> {
    // 1. Look up every id in the store. A store with a synchronous index
    //    (the file store) answers "absent" without a promise per event; only hits are read.
    //    Ids are looked up as sent (a store may compare them exactly); the group
    //    itself compares them case-insensitively, as UUIDs.
    const ids = new Map<string, string>();
    for (const p of group) for (const e of p.events) if (!ids.has(e.key)) ids.set(e.key, e.eventId);
    let keyList = [...ids.keys()];
    const sync = this.#store as EventStore & Partial<SyncIdIndex>;
    if (typeof sync.indexOf === 'function')
      keyList = keyList.filter((k) => sync.indexOf!(ids.get(k)!) !== undefined);
    const found = keyList.length
      ? await Promise.all(keyList.map((k) => this.#store.getById(ids.get(k)!)))
      : [];
    const stored = new Map<string, { index: number; hash: string }>();
    for (let k = 0; k < keyList.length; k++) {
      const s: StoredEvent | undefined = found[k];
      if (s) stored.set(keyList[k]!, { index: s.index, hash: s.eventHash });
    }

    // 2. Decide each request in arrival order and assign indexes.
    let next = this.#tree.size;
    const toStore: StoredEventWithRaw[] = [];
    const accepted: { p: Pending; results: CommitResult[] }[] = [];
    let duplicates = 0;
    for (const p of group) {
      const results = new Array<CommitResult>(p.events.length);
      const conflicts: ValidationIssue[] = [];
      const fresh: number[] = [];
      for (let k = 0; k < p.events.length; k++) {
        const e = p.events[k]!;
        const prior = stored.get(e.key);
        if (!prior) {
          fresh.push(k);
          continue;
        }
        if (prior.hash === e.eventHash) {
          const r: CommitResult = {
            status: 'ok',
            event_id: e.eventId,
            event_hash: e.eventHash,
            merkle_index: prior.index,
          };
          if (e.warnings.length) r.warnings = e.warnings;
          r.duplicate = true;
          results[k] = r;
        } else {
          conflicts.push({
            path: `${p.batch ? `[${e.position}].` : ''}header.event_id`,
            rule: 'conflict',
            message: `event_id ${e.eventId} is already stored (merkle_index ${prior.index}) with different content: event_hash ${prior.hash}, this one ${e.eventHash}`,
          });
        }
      }
      if (conflicts.length) {
        this.#metrics?.reject('conflict', p.events.length);
        this.#settle(
          p,
          undefined,
          new HttpError(409, 'conflict', conflicts[0]!.message, {
            errors: conflicts,
            error_count: conflicts.length,
          }),
        );
        continue;
      }
      for (const k of fresh) {
        const e = p.events[k]!;
        const index = next++;
        stored.set(e.key, { index, hash: e.eventHash });
        toStore.push(new ToStore(index, e, p.receivedAt));
        const r: CommitResult = {
          status: 'ok',
          event_id: e.eventId,
          event_hash: e.eventHash,
          merkle_index: index,
        };
        if (e.warnings.length) r.warnings = e.warnings;
        results[k] = r;
      }
      duplicates += p.events.length - fresh.length;
      accepted.push({ p, results });
    }

    // 3. Durable append (one write + one fdatasync for the whole group).
    if (toStore.length) {
      const t0 = process.hrtime.bigint();
      await this.#store.append(toStore);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      this.#metrics?.fsync.observe(seconds);
      this.#metrics?.groupSize.observe(toStore.length);
      // 4. The tree follows the store, then the answers go out.
      const hashes = new Array<string>(toStore.length);
      for (let k = 0; k < toStore.length; k++) hashes[k] = toStore[k]!.eventHash;
      this.#tree.appendCommitted(hashes);
    }
    if (this.#metrics) {
      this.#metrics.ingested += toStore.length;
      this.#metrics.duplicates += duplicates;
    }
    for (const { p, results } of accepted) this.#settle(p, results);
  }
}
