/**
 * One owned partition in cluster mode: its log (store, Merkle tree, commit
 * queue, anchoring — the same `openSidecarLog` the HTTP sidecar uses), fed
 * with the partition's records in offset order, committing offsets only
 * once the events are durable.
 *
 * Life: `opening` (waits for the store's lock while the previous owner hands
 * over; records queue meanwhile) → [`rebuilding`] → `active` → `closing` (revoked or
 * shutting down: queued records are dropped — the next owner reads them
 * again from the committed offset —, what is in flight is committed, the
 * durable offset committed, optionally anchored, the store closed and its
 * lock released) → `closed`. `failed` when the store refused a write: the
 * partition stops (nothing after the failure is committed) and the owner
 * decides (the sidecar stops, so the group moves the partition).
 *
 * Taking a partition over (with `history`, takeover-check.ts): once the
 * store is open, the group's committed offset is compared with what the
 * store holds (the folder's offset marker, offset-marker.ts). A store that
 * lacks records the group already committed — another member stored them in
 * a folder this one cannot see — is either `rebuilding` from the topic (when
 * it still holds them) and checked against every reachable signed anchor,
 * or `refused`: no tree is served, nothing is committed, the log and
 * `/health` say why. With a folder, the marker is rewritten (durably)
 * before every offset commit, so the group never commits past it.
 *
 * At-least-once, exactly-once in the store:
 *
 * - every record goes through `prepareRecord` (the checks of `POST /vcp/log`)
 *   and the commit queue, which deduplicates by event_id against the
 *   partition's store: a record read again after a crash or a rebalance is
 *   answered as a duplicate and stored once;
 * - the offset committed is the one after the last record whose events are
 *   durable (or that was refused as bad input); records complete in offset
 *   order (a FIFO), so a commit never passes a record still in flight;
 * - a record older than one already taken (`offset < next`) is a re-delivery
 *   (the client rewinds to the committed offset after every rebalance) and
 *   is skipped; a record fetched in an earlier group generation than the one
 *   that gave this worker its partition is stale and dropped, so a record
 *   buffered before a revocation can never jump ahead of the committed offset.
 */

import type { AnchorRecord } from '../../core/types.ts';
import type { Signer } from '../../integrity/sign.ts';
import type { AnchoringFactory } from '../anchoring.ts';
import type { SidecarConfig } from '../config.ts';
import type { SidecarContext } from '../context.ts';
import { HttpError } from '../http.ts';
import type { PrepareOptions } from '../ingest.ts';
import { openSidecarLog, type SidecarLog } from '../log.ts';
import { LockBusyError } from '../store/file/lock.ts';
import { readOffsetMarker, writeOffsetMarker } from './offset-marker.ts';
import { type Lease, type LeaseOptions, type LeaseWatch, tryAcquireLease } from './partition-lease.ts';
import type { PartitionStore } from './partition-store.ts';
import { prepareRecord } from './record-ingest.ts';
import { checkAnchors, decideTakeover } from './takeover-check.ts';
import type { RangeRecord } from './topic-reader.ts';

/** One record of the partition as the worker needs it. */
export interface PartitionRecord {
  offset: bigint;
  value: Buffer | null | undefined;
  /** Consumer-group generation in which the record was fetched. */
  generation: number;
  /** Commit `offset + 1` for this partition (resolves once the broker has it). */
  commit(): Promise<void>;
}

/** Worker state (see the module comment). */
export type PartitionState =
  | 'opening'
  | 'rebuilding'
  | 'active'
  | 'closing'
  | 'closed'
  | 'failed'
  | 'refused';

/** What the worker needs of the topic and the group to take a partition over (takeover-check.ts). */
export interface PartitionHistory {
  topic: string;
  /** Where the group starts a partition with no committed offset. */
  startFrom: 'earliest' | 'latest';
  /** The group's committed offset (≤ 0: none) and the topic's first offset, for the partition (throws when unknown now). */
  start(partition: number): Promise<{ committed: bigint; earliest: bigint }>;
  /** Read the records `[from, to)` of the partition, in offset order. */
  read(
    partition: number,
    from: bigint,
    to: bigint,
    onRecords: (records: RangeRecord[]) => Promise<void>,
    stopped: () => boolean,
  ): Promise<void>;
  /** Signed anchor records of the partition kept outside its store (a shared anchor target), if any is reachable. */
  sharedAnchors?(partition: number): Promise<AnchorRecord[]>;
}

/** Why a partition was refused (`state: 'refused'`). */
export interface PartitionRefusal {
  reason: string;
  /** The group's committed offset when it was refused. */
  committedOffset: string;
  /** Offset after the last record the local store holds. */
  localOffset: string;
  /** The store (`file:<dir>` or `postgres:…`). */
  store: string;
  at: string;
}

/** A rebuild from the topic, in progress or done. */
export interface PartitionRebuild {
  from: string;
  to: string;
  /** Offset after the last record replayed so far. */
  reached: string;
  eventsBefore: number;
  eventsAfter: number;
  /** Anchors the rebuilt tree was checked against (its store's and the shared ones). */
  anchorsChecked?: number;
  done: boolean;
}

/** Options of {@link PartitionWorker}. */
export interface PartitionWorkerOptions {
  partition: number;
  /** Group generation that assigned the partition to this member. */
  generation: number;
  config: SidecarConfig;
  signer: Signer;
  anchoring?: AnchoringFactory;
  /** Builds the partition's store (called again for every attempt to open it). */
  openStore(partition: number): PartitionStore;
  /**
   * Most records submitted and not yet durable (default 4 096); the events
   * in flight are also kept below the commit queue's limit (`--max-queue`
   * minus `--max-batch`).
   */
  maxInflight?: number;
  /** Deadline of an offset commit, ms (default 10 000). */
  commitTimeoutMs?: number;
  /** How long to wait between attempts to take a locked store, ms (default 200). */
  lockRetryMs?: number;
  /**
   * The ownership lease of a file store's folder (partition-lease.ts), taken
   * before the store's own lock; `false` to rely on the lock alone (one machine).
   * Not used for stores without a folder (PostgreSQL).
   */
  lease?: LeaseOptions | false;
  /**
   * The topic and the group, to check a store against the committed offset
   * when the partition is taken (and to rebuild it); without it the store is
   * trusted as it is and no offset marker is kept.
   */
  history?: PartitionHistory;
  log(line: string): void;
  /** Told once when the partition failed (a store write failed): its owner should stop. */
  onFailed(error: unknown): void;
  /** Told whenever its queue shrank (the consumer, paused for backpressure, may resume). */
  onDrain?(): void;
}

/** Counters of one worker. */
export interface PartitionCounters {
  /** Records taken (submitted or refused). */
  records: number;
  /** Records refused as bad input, by reason. */
  refused: Map<string, number>;
  /** Records skipped as re-deliveries of ones already taken. */
  redelivered: number;
  /** Records dropped as fetched in an earlier generation, or after revocation (or refusal). */
  dropped: number;
  commitErrors: number;
  /** Records replayed from the topic to rebuild the partition. */
  replayed: number;
}

interface Entry {
  record: PartitionRecord;
  done: boolean;
}

const LOG_REFUSALS = 20;

/** One owned partition; see the module comment. */
export class PartitionWorker {
  readonly partition: number;
  readonly generation: number;
  readonly counters: PartitionCounters = {
    records: 0,
    refused: new Map(),
    redelivered: 0,
    dropped: 0,
    commitErrors: 0,
    replayed: 0,
  };
  readonly #o: PartitionWorkerOptions;
  readonly #prepare: PrepareOptions;
  readonly #maxInflight: number;
  /** Events submitted and not yet durable may not exceed this before another record is taken. */
  readonly #eventBudget: number;
  #inflightEvents = 0;
  #state: PartitionState = 'opening';
  #log: SidecarLog | undefined;
  #opened: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** Records waiting to be processed (while opening, or beyond maxInflight), from `#queueHead` on. */
  #queue: PartitionRecord[] = [];
  #queueHead = 0;
  /** Records taken, in offset order, until done. */
  #fifo: Entry[] = [];
  #fifoHead = 0;
  #inflight = 0;
  /** Next offset expected; lower ones are re-deliveries. */
  #next: bigint | undefined;
  /** Offset after the last record durable or refused (what the next commit sends). */
  #durable: bigint | undefined;
  /** Offset after the last record whose commit the broker acknowledged. */
  #committed: bigint | undefined;
  #toCommit: PartitionRecord | undefined;
  #committing: Promise<void> | undefined;
  #waitingSince: number | undefined;
  #failure: unknown;
  #lease: Lease | undefined;
  readonly #leaseWatch: { last?: LeaseWatch } = {};
  /** The store's folder, when its offset marker is kept (file store with `history`). */
  #markerDir: string | undefined;
  #refusal: PartitionRefusal | undefined;
  #rebuild: PartitionRebuild | undefined;
  /** The store holds every record before this offset: checked against the first record the stream brings. */
  #covered: bigint | undefined;
  /** Replaying records the group committed while the partition was being taken (see #pump). */
  #catchingUp: Promise<void> | undefined;
  #dataDir: string | undefined;

  constructor(options: PartitionWorkerOptions) {
    this.partition = options.partition;
    this.generation = options.generation;
    this.#o = options;
    const limits = options.config.limits;
    this.#prepare = {
      strict: options.config.strict,
      maxBatchEvents: limits.maxBatchEvents,
      maxEventBytes: limits.maxEventBytes,
    };
    this.#maxInflight = Math.max(1, options.maxInflight ?? 4096);
    // The commit queue refuses (429) beyond maxQueueEvents; a record may hold up to maxBatchEvents
    // events, so a record is only taken while one more full batch would still fit.
    this.#eventBudget = Math.max(1, limits.maxQueueEvents - limits.maxBatchEvents);
  }

  get state(): PartitionState {
    return this.#state;
  }

  /** The partition's log as the routes see it, once open (undefined while opening and after close). */
  get ctx(): SidecarContext | undefined {
    return this.#state === 'active' || this.#state === 'closing' ? this.#log?.ctx : undefined;
  }

  /** Records waiting in this worker (for the consumer's backpressure). */
  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** Records submitted and not yet durable. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Offset after the last durable (or refused) record, if any was taken. */
  get durableOffset(): bigint | undefined {
    return this.#durable;
  }

  /** Offset after the last record whose commit the broker acknowledged. */
  get committedOffset(): bigint | undefined {
    return this.#committed;
  }

  /** Why the partition was refused, if it was. */
  get refusal(): PartitionRefusal | undefined {
    return this.#refusal;
  }

  /** The rebuild from the topic, if one ran or runs. */
  get rebuild(): PartitionRebuild | undefined {
    return this.#rebuild;
  }

  /** Since when (ms) the worker waits for the store's lock, if it does. */
  get waitingForLockSince(): number | undefined {
    return this.#waitingSince;
  }

  /** Open the partition's log (waiting for its lock); resolves when active, or when closed before that. */
  open(): Promise<void> {
    this.#opened ??= this.#open().catch((e: unknown) => this.#fail(e));
    return this.#opened;
  }

  async #open(): Promise<void> {
    const { config, log } = this.#o;
    const retry = this.#o.lockRetryMs ?? 200;
    let lastNote = 0;
    const wait = async (holder: string) => {
      // The previous owner is still handing over (it was revoked in the same rebalance).
      const now = Date.now();
      this.#waitingSince ??= now;
      if (now - lastNote >= 5000) {
        lastNote = now;
        log(`partition ${this.partition}: waiting for the previous owner (${holder}) to hand its store over`);
      }
      await new Promise((r) => setTimeout(r, retry));
    };
    let dataDir: string | undefined;
    for (;;) {
      if (this.#state !== 'opening') return;
      const opened = this.#o.openStore(this.partition);
      const store = opened.store;
      dataDir = opened.dataDir;
      if (dataDir !== undefined && this.#o.lease !== false) {
        const got = tryAcquireLease(dataDir, this.#o.lease ?? {}, this.#leaseWatch);
        if ('busy' in got) {
          await wait(got.busy);
          continue;
        }
        this.#lease = got;
      }
      try {
        this.#log = await openSidecarLog({
          config,
          store,
          signer: this.#o.signer,
          ...(this.#o.anchoring ? { anchoring: this.#o.anchoring } : {}),
          dataDir,
          partition: this.partition,
          log: (line) => log(`partition ${this.partition}: ${line}`),
        });
        break;
      } catch (e) {
        this.#lease?.release();
        this.#lease = undefined;
        if (!(e instanceof LockBusyError)) throw e;
        await wait(`process ${e.owner}`);
      }
    }
    this.#waitingSince = undefined;
    const ctx = this.#log.ctx;
    if (this.#state !== 'opening') {
      await this.#log.close({ anchor: false });
      this.#releaseLease();
      return;
    }
    if (this.#o.history && !(await this.#takeOver(this.#o.history, dataDir))) return;
    ctx.anchoring.start();
    this.#state = 'active';
    log(
      `partition ${this.partition}: open, store ${ctx.store.name} (${ctx.tree.size} events, ${ctx.tree.anchors.length} anchors)`,
    );
    this.#pump();
  }

  /** Still taking the partition over (opening or rebuilding): records queue, and a close ends the attempt. */
  #starting(): boolean {
    return this.#state === 'opening' || this.#state === 'rebuilding';
  }

  /**
   * Compare the open store with the group's committed offset and open,
   * rebuild or refuse (takeover-check.ts). Resolves true when the partition
   * may go active; false when it was refused or closed meanwhile (the log is
   * then closed and the lease released).
   */
  async #takeOver(history: PartitionHistory, dataDir: string | undefined): Promise<boolean> {
    const { log } = this.#o;
    const sidecarLog = this.#log!;
    const ctx = sidecarLog.ctx;
    const p = this.partition;
    const giveUp = async (): Promise<false> => {
      this.#log = undefined;
      await sidecarLog
        .close({ anchor: false })
        .catch((e: unknown) => log(`partition ${p}: closing: ${(e as Error).message}`));
      this.#releaseLease();
      return false;
    };
    // The broker must say what the group committed; until it can, the partition waits (records queue).
    let start: { committed: bigint; earliest: bigint } | undefined;
    for (let attempt = 0; start === undefined; attempt++) {
      if (!this.#starting()) return giveUp();
      try {
        start = await history.start(p);
      } catch (e) {
        if (attempt % 10 === 0)
          log(`partition ${p}: waiting for the broker before taking the partition: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    if (!this.#starting()) return giveUp();
    this.#dataDir = dataDir;
    const refuse = async (reason: string, localOffset: bigint): Promise<false> => {
      this.#markRefused(reason, start.committed, localOffset);
      return giveUp();
    };
    let marker: ReturnType<typeof readOffsetMarker>;
    try {
      marker = dataDir ? readOffsetMarker(dataDir) : undefined;
    } catch (e) {
      return refuse(`its offset marker is unreadable: ${(e as Error).message}`, 0n);
    }
    const decision = decideTakeover({
      topic: history.topic,
      partition: p,
      storeSize: ctx.tree.size,
      folderStore: dataDir !== undefined,
      marker,
      committed: start.committed,
      earliest: start.earliest,
      startFrom: history.startFrom,
    });
    if (decision.action === 'refuse') return refuse(decision.reason, decision.localOffset);
    if (decision.action === 'rebuild') {
      this.#state = 'rebuilding';
      const rebuild: PartitionRebuild = {
        from: decision.from.toString(),
        to: decision.to.toString(),
        reached: decision.from.toString(),
        eventsBefore: ctx.tree.size,
        eventsAfter: ctx.tree.size,
        done: false,
      };
      this.#rebuild = rebuild;
      log(
        `partition ${p}: ${decision.why}; rebuilding it from the topic (offsets ${decision.from}–${decision.to - 1n}, the topic holds them)`,
      );
      try {
        await this.#replay(history, decision.from, decision.to);
      } catch (e) {
        if (!this.#starting()) return giveUp();
        return refuse(`rebuilding from the topic failed: ${(e as Error).message}`, decision.from);
      }
      if (!this.#starting()) return giveUp();
      rebuild.eventsAfter = ctx.tree.size;
      const mismatch = await this.#checkRebuilt(history);
      if (mismatch) return refuse(mismatch, decision.to);
      rebuild.done = true;
      log(
        `partition ${p}: rebuilt from the topic: ${counted(this.counters.replayed, 'record')} replayed, ${rebuild.eventsBefore} → ${rebuild.eventsAfter} events, ` +
          `checked against ${counted(rebuild.anchorsChecked ?? 0, 'signed anchor')}`,
      );
      if (dataDir)
        await writeOffsetMarker(dataDir, { topic: history.topic, partition: p, offset: decision.to });
      if (this.#state !== 'rebuilding') return giveUp(); // closed meanwhile
      this.#state = 'opening';
      this.#covered = decision.to;
    } else {
      this.#covered = decision.covered;
    }
    this.#markerDir = dataDir;
    return true;
  }

  /**
   * Check the rebuilt tree against every signed anchor of the partition it
   * can reach (its store's, and the shared ones): each root must be
   * reproduced. Returns why not, or undefined.
   */
  async #checkRebuilt(history: PartitionHistory): Promise<string | undefined> {
    const ctx = this.#log!.ctx;
    let anchors: AnchorRecord[] = [...ctx.tree.anchors];
    if (history.sharedAnchors) {
      try {
        anchors = anchors.concat(await history.sharedAnchors(this.partition));
      } catch (e) {
        this.#o.log(
          `partition ${this.partition}: the shared anchors cannot be read, the rebuilt tree is checked against its store's only: ${(e as Error).message}`,
        );
      }
    }
    if (this.#rebuild) this.#rebuild.anchorsChecked = anchors.length;
    const bad = checkAnchors(ctx.tree, anchors);
    if (!bad.length) return undefined;
    const b = bad[0]!;
    return (
      `the tree rebuilt from the topic does not reproduce ${bad.length} signed anchor(s) of the partition: anchor ${b.anchor_id} signed root ${b.merkle_root} at tree size ${b.tree_size}, the rebuilt tree ` +
      (b.rebuilt_root ? `gives ${b.rebuilt_root}` : `has only ${ctx.tree.size} events`)
    );
  }

  /** Record and log a refusal (the caller closes the log): no tree, no commit. */
  #markRefused(reason: string, committed: bigint, localOffset: bigint): void {
    const store = this.#log?.ctx.store.name ?? '(unknown)';
    this.#refusal = {
      reason,
      committedOffset: committed.toString(),
      localOffset: localOffset.toString(),
      store,
      at: new Date().toISOString(),
    };
    this.#state = 'refused';
    this.counters.dropped += this.queued;
    this.#queue = [];
    this.#queueHead = 0;
    this.#o.log(
      `ERROR partition ${this.partition} REFUSED: ${reason}. Committed offset ${committed}, store ${store}` +
        (this.#dataDir ? `, data dir ${this.#dataDir}` : '') +
        '. This member serves no tree for it and commits none of its records; give every member the same data folder, or use --store postgres://… (docs/sidecar-cluster.md)',
    );
  }

  /**
   * The group's stream starts at `to` but the store holds records before
   * `from` only: the previous owner committed once more while this member
   * took the partition. Replay the difference from the topic (checked like a
   * rebuild) before the first record is taken; refuse if it cannot be.
   */
  async #catchUp(from: bigint, to: bigint): Promise<void> {
    const history = this.#o.history!;
    const ctx = this.#log!.ctx;
    const p = this.partition;
    this.#state = 'rebuilding';
    const rebuild: PartitionRebuild = {
      from: from.toString(),
      to: to.toString(),
      reached: from.toString(),
      eventsBefore: ctx.tree.size,
      eventsAfter: ctx.tree.size,
      done: false,
    };
    this.#rebuild = rebuild;
    this.#o.log(
      `partition ${p}: the group's records start at offset ${to} but this store holds records before offset ${from} only (the previous owner committed meanwhile); catching up from the topic`,
    );
    let problem: string | undefined;
    try {
      await this.#replay(history, from, to);
      if (this.#state === 'rebuilding') problem = await this.#checkRebuilt(history);
    } catch (e) {
      problem = `catching up offsets ${from}–${to - 1n} from the topic failed: ${(e as Error).message}`;
    }
    if (this.#state !== 'rebuilding') return; // closing: close() finishes
    if (problem) {
      this.#markRefused(problem, to, from);
      const sidecarLog = this.#log!;
      this.#log = undefined;
      await sidecarLog
        .close({ anchor: false })
        .catch((e: unknown) => this.#o.log(`partition ${p}: closing: ${(e as Error).message}`));
      this.#releaseLease();
      return;
    }
    rebuild.done = true;
    this.#o.log(
      `partition ${p}: caught up from the topic: offsets ${from}–${to - 1n}, ${rebuild.eventsBefore} → ${ctx.tree.size} events`,
    );
    this.#catchingUp = undefined;
    this.#state = 'active';
    this.#pump();
  }

  /** Store the records `[from, to)` again, from the topic, through the same checks and dedup; nothing is committed. */
  async #replay(history: PartitionHistory, from: bigint, to: bigint): Promise<void> {
    const ctx = this.#log!.ctx;
    const rebuild = this.#rebuild!;
    await history.read(
      this.partition,
      from,
      to,
      async (records) => {
        let pending: Promise<void>[] = [];
        let events = 0;
        for (const r of records) {
          this.counters.replayed++;
          const out = prepareRecord(r.value, this.partition, this.#prepare);
          if (!out.ok) {
            this.counters.refused.set(out.reason, (this.counters.refused.get(out.reason) ?? 0) + 1);
            continue;
          }
          if (events > 0 && events + out.events.length > this.#eventBudget) {
            await Promise.all(pending);
            pending = [];
            events = 0;
          }
          events += out.events.length;
          pending.push(
            ctx.writer.submit(out.events, out.batch).then(
              () => {},
              (e: unknown) => {
                // Same event_id, other content: refused as when it was first taken.
                if (e instanceof HttpError && e.error === 'conflict') {
                  this.counters.refused.set('conflict', (this.counters.refused.get('conflict') ?? 0) + 1);
                  return;
                }
                throw e;
              },
            ),
          );
        }
        await Promise.all(pending);
        rebuild.reached = (records.at(-1)!.offset + 1n).toString();
        rebuild.eventsAfter = ctx.tree.size;
      },
      () => !this.#starting(),
    );
    rebuild.reached = to.toString();
  }

  /** Take one record of the partition (in offset order). */
  push(record: PartitionRecord): void {
    if (
      this.#state === 'closing' ||
      this.#state === 'closed' ||
      this.#state === 'failed' ||
      this.#state === 'refused'
    ) {
      this.counters.dropped++;
      return;
    }
    if (record.generation < this.generation) {
      this.counters.dropped++;
      return;
    }
    if (this.#next !== undefined && record.offset < this.#next) {
      this.counters.redelivered++;
      return;
    }
    this.#next = record.offset + 1n;
    this.#queue.push(record);
    this.#pump();
  }

  /** Process queued records while the in-flight limit allows. */
  #pump(): void {
    if (this.#state !== 'active') return;
    if (this.#covered !== undefined) {
      const head = this.#queue[this.#queueHead];
      if (!head) return;
      const covered = this.#covered;
      this.#covered = undefined;
      if (head.offset > covered) {
        this.#catchingUp = this.#catchUp(covered, head.offset).catch((e: unknown) => this.#fail(e));
        return;
      }
    }
    const before = this.#queueHead;
    while (
      this.#queueHead < this.#queue.length &&
      this.#inflight < this.#maxInflight &&
      (this.#inflightEvents === 0 || this.#inflightEvents < this.#eventBudget)
    ) {
      this.#take(this.#queue[this.#queueHead++]!);
      if (this.#state !== 'active') return;
    }
    const took = this.#queueHead > before;
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 4096 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    if (took) this.#o.onDrain?.();
  }

  #take(record: PartitionRecord): void {
    const entry: Entry = { record, done: false };
    this.#fifo.push(entry);
    this.counters.records++;
    const out = prepareRecord(record.value, this.partition, this.#prepare);
    const ctx = this.#log!.ctx;
    if (!out.ok) {
      this.#refuse(ctx, record, out.reason, out.message);
      entry.done = true;
      this.#advance();
      return;
    }
    const n = out.events.length;
    this.#inflight++;
    this.#inflightEvents += n;
    ctx.writer.submit(out.events, out.batch).then(
      () => {
        this.#inflight--;
        this.#inflightEvents -= n;
        entry.done = true;
        this.#advance();
        this.#pump();
      },
      (e: unknown) => {
        this.#inflight--;
        this.#inflightEvents -= n;
        if (e instanceof HttpError && e.error === 'conflict') {
          // Same event_id, other content: refused like bad input (nothing of the record was stored).
          this.#refuse(ctx, record, 'conflict', e.message);
          entry.done = true;
          this.#advance();
          this.#pump();
          return;
        }
        // The store failed (or the log is closing): nothing after this record may be committed.
        if (this.#state === 'active') this.#fail(e);
      },
    );
  }

  #refuse(ctx: SidecarContext, record: PartitionRecord, reason: string, message: string): void {
    const n = (this.counters.refused.get(reason) ?? 0) + 1;
    this.counters.refused.set(reason, n);
    ctx.metrics.reject(reason);
    const total = [...this.counters.refused.values()].reduce((a, b) => a + b, 0);
    if (total <= LOG_REFUSALS) {
      this.#o.log(
        `partition ${this.partition}: refused the record at offset ${record.offset} (${reason}): ${message.slice(0, 300)}` +
          (total === LOG_REFUSALS ? ' (further refusals are only counted)' : ''),
      );
    }
  }

  /** Pop finished records off the FIFO head and commit after the last one. */
  #advance(): void {
    let last: PartitionRecord | undefined;
    while (this.#fifoHead < this.#fifo.length && this.#fifo[this.#fifoHead]!.done) {
      last = this.#fifo[this.#fifoHead]!.record;
      this.#fifoHead++;
    }
    if (this.#fifoHead > 1024 && this.#fifoHead * 2 > this.#fifo.length) {
      this.#fifo = this.#fifo.slice(this.#fifoHead);
      this.#fifoHead = 0;
    }
    if (!last) return;
    this.#durable = last.offset + 1n;
    this.#toCommit = last;
    this.#committing ??= this.#commitLoop();
  }

  /** One commit at a time; later requests replace earlier ones (the highest offset wins anyway). */
  async #commitLoop(): Promise<void> {
    const timeout = this.#o.commitTimeoutMs ?? 10_000;
    try {
      while (this.#toCommit) {
        const record = this.#toCommit;
        this.#toCommit = undefined;
        let timer: NodeJS.Timeout | undefined;
        if (this.#markerDir !== undefined && this.#o.history) {
          try {
            // Never let the group commit past what this folder says it holds (offset-marker.ts).
            await writeOffsetMarker(this.#markerDir, {
              topic: this.#o.history.topic,
              partition: this.partition,
              offset: record.offset + 1n,
            });
          } catch (e) {
            this.#fail(
              new Error(`cannot write the offset marker in ${this.#markerDir}: ${(e as Error).message}`),
            );
            return;
          }
        }
        try {
          await Promise.race([
            record.commit(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout);
            }),
          ]);
          const next = record.offset + 1n;
          if (this.#committed === undefined || this.#committed < next) this.#committed = next;
        } catch (e) {
          // The records stay durable; the next owner (or this one) reads them again and finds them stored.
          this.counters.commitErrors++;
          if (this.counters.commitErrors <= LOG_REFUSALS) {
            this.#o.log(
              `partition ${this.partition}: could not commit offset ${record.offset + 1n} (those records will be read again, as duplicates): ${(e as Error)?.message ?? e}`,
            );
          }
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      this.#committing = undefined;
    }
  }

  #fail(e: unknown): void {
    if (this.#state === 'failed' || this.#state === 'closed') return;
    this.#failure = e;
    this.#state = 'failed';
    this.#queue = [];
    this.#queueHead = 0;
    this.#o.log(
      `partition ${this.partition}: stopped: ${(e as Error)?.message ?? e}; nothing after offset ${this.#durable ?? '(none)'} is committed`,
    );
    this.#o.onFailed(e);
  }

  /** Why the worker failed, if it did. */
  get failure(): unknown {
    return this.#failure;
  }

  /**
   * Give the partition up (revoked, or shutting down): drop what is queued,
   * finish what is in flight, commit the durable offset, optionally anchor,
   * close the store (its lock is released). Idempotent.
   */
  close(options: { anchor?: boolean; reason?: string } = {}): Promise<void> {
    this.#closing ??= (async () => {
      const failed = this.#state === 'failed';
      const catchingUp = this.#catchingUp;
      // A catch-up runs on an open log: it closes like an active partition once the replay stopped.
      const wasOpening = this.#starting() && catchingUp === undefined;
      if (this.#state === 'refused') {
        // Its log was closed when it was refused; nothing to commit.
        this.#state = 'closed';
        return;
      }
      if (!failed) this.#state = 'closing';
      this.counters.dropped += this.queued;
      this.#queue = [];
      this.#queueHead = 0;
      if (wasOpening) await this.#opened;
      if (catchingUp) await catchingUp;
      const sidecarLog = this.#log;
      if (sidecarLog && !wasOpening) {
        // Let the commit queue finish the groups in flight, then commit their offset.
        await sidecarLog.ctx.writer.drain();
        if (!failed) this.#advance();
        while (this.#committing) await this.#committing;
        await sidecarLog.close({
          anchor: !failed && (options.anchor ?? false),
          reason: options.reason ?? 'revocation',
        });
        this.#releaseLease();
        this.#o.log(
          `partition ${this.partition}: closed (${options.reason ?? 'revocation'}), ${sidecarLog.ctx.tree.size} events stored` +
            (this.#committed !== undefined ? `, committed up to offset ${this.#committed}` : ''),
        );
      }
      this.#releaseLease();
      if (this.#state !== 'failed') this.#state = 'closed';
    })();
    return this.#closing;
  }

  #releaseLease(): void {
    this.#lease?.release();
    this.#lease = undefined;
  }
}

function counted(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
