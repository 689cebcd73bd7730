/**
 * The sidecar in cluster mode (`vcp sidecar --ingest kafka://…`, DESIGN
 * decision 10): when one sidecar is not enough, several run in one Kafka
 * consumer group over the events topic (`vcp.events`) that producers write
 * with `KafkaSink` (key = trace id, so one order's events share a partition
 * and keep their order). Each partition is an independent log — its own
 * store, Merkle tree, anchors and proofs, `security.partition` on every
 * event and `partition` on every anchor record — owned by one member at a
 * time; a member that stops or dies hands its partitions to the others.
 *
 * ```ts
 * const sidecar = await startPartitionedSidecar({ config }); // config.ingest from --ingest kafka://…
 * sidecar.done().catch(...);        // rejects if a partition's store failed: stop and let the group move it
 * await sidecar.close();            // finish, commit, leave the group
 * ```
 *
 * Per owned partition a {@link PartitionWorker} takes the records in offset
 * order through the same checks, dedup and group-commit queue as
 * `POST /vcp/log`, and commits offsets only after the events are durable
 * (at-least-once delivery, exactly-once storage: a record read again is a
 * duplicate by event_id). On revocation the worker finishes what is in
 * flight, commits, optionally anchors (`--anchor-on-exit`), closes the store
 * and releases its lock and lease; the new owner waits for them, so a
 * partition never has two writers. A lock left by a killed owner is taken
 * over (same host: its pid is gone; another host: its lease stopped beating,
 * partition-lease.ts), which is safe because the group only hands the
 * partition on after the broker dropped the dead member.
 *
 * Storage must be reachable by every member that may own a partition: a
 * data folder every member shares (the file store, `<data-dir>/p<N>/`), or
 * the PostgreSQL store (`--store postgres://…`, tables `vcp_p<N>_events` /
 * `vcp_p<N>_anchors`, whose appends check that they continue the log, so a
 * stale writer is refused instead of forking it; preferred across
 * machines). All members must sign anchors with the same key (a shared
 * `<data-dir>/signing.key`, `--signing-key-file` or `VCP_SIGNING_KEY`).
 * See README.md in this folder.
 *
 * A member given a partition whose records the group already committed but
 * whose store lacks them (each member with its own data folder: the layout
 * above warns against) never starts a second tree: it rebuilds the
 * partition from the topic when the topic still holds every record, checked
 * against the reachable signed anchors, or refuses it loudly
 * (takeover-check.ts). `/health` shows, for every partition of the topic,
 * its owner, the group's lag, and the partitions no live member serves.
 *
 * HTTP serves the queries over the owned partitions (cluster/routes.ts);
 * `POST /vcp/log` is refused with 405: a cluster takes events from Kafka only.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { VcpConfigError } from '../../core/errors.ts';
import type { Signer } from '../../integrity/sign.ts';
import type { AnchoringFactory } from '../anchoring.ts';
import { bearerChecker } from '../auth.ts';
import type { SidecarConfig } from '../config.ts';
import type { SidecarContext } from '../context.ts';
import { type HttpListener, listenHttp } from '../http-server.ts';
import { healthBody } from '../routes/health.ts';
import { type KeySource, loadSidecarSigner } from '../signing-key.ts';
import { GroupAdmin, type GroupSnapshot } from './group-admin.ts';
import { GroupConsumer, type PartitionOffsets } from './group-consumer.ts';
import { GroupHealth, type OwnPartition } from './group-health.ts';
import type { KafkaIngest } from './ingest-url.ts';
import { renderClusterMetrics } from './metrics.ts';
import { defaultPartitionStore, type PartitionStore, partitionDir } from './partition-store.ts';
import { type PartitionHistory, type PartitionRecord, PartitionWorker } from './partition-worker.ts';
import { type ClusterView, dispatchCluster } from './routes.ts';
import { type SharedAnchors, sharedAnchorsFrom } from './shared-anchors.ts';
import { readPartitionRange } from './topic-reader.ts';

/** Options of {@link startPartitionedSidecar}. */
export interface PartitionedSidecarOptions {
  /** Sidecar configuration; `config.ingest` says where to consume. */
  config: SidecarConfig;
  /** The anchoring service of each partition (called once per partition opened; `ctx.partition` names it). */
  anchoring?: AnchoringFactory;
  /** The anchor signer (default: from config, else `<data-dir>/signing.key`). */
  signer?: Signer;
  /** Each partition's store (default: `<data-dir>/p<N>/`, or PostgreSQL tables `vcp_p<N>_*` with `--store postgres://`). */
  storeFor?: (partition: number) => PartitionStore;
  /** Records buffered across partitions before fetching pauses (default 20 000). */
  maxBuffered?: number;
  /** Records per partition submitted and not yet durable (default 4 096; more wait in the partition's buffer). */
  maxInflightPerPartition?: number;
  /** More `@platformatic/kafka` consumer options (TLS, SASL…). */
  consumerOptions?: Record<string, unknown>;
  /** Log sink, one line per call (default: stderr). */
  log?: (line: string) => void;
  /**
   * Check each partition taken against the group's committed offset, and
   * rebuild or refuse it (takeover-check.ts). Default true; false trusts
   * every store as it is (only for tests of other parts).
   */
  takeoverCheck?: boolean;
}

/** One owned partition, as `/health` and tests see it. */
export interface PartitionStatus {
  partition: number;
  state: PartitionWorker['state'];
  /** Its log (store, tree, anchoring…) once open. */
  ctx: SidecarContext | undefined;
  /** Offset after the last durable record taken here. */
  durableOffset: bigint | undefined;
  /** Offset after the last record whose commit the broker acknowledged. */
  committedOffset: bigint | undefined;
}

/** A running cluster-mode sidecar. */
export interface PartitionedSidecar {
  readonly url: string;
  readonly port: number;
  readonly ingest: KafkaIngest;
  readonly keySource: KeySource | 'option';
  readonly publicKeyPath: string | undefined;
  readonly signer: Signer;
  /** The partitions this member owns now. */
  partitions(): PartitionStatus[];
  /** Broker-side offsets of the owned partitions (high watermark, committed, lag), or undefined if unknown now. */
  offsets(): Promise<Map<number, PartitionOffsets> | undefined>;
  /** Settles when the sidecar stopped: resolves after `close()`, rejects on a failure (a store, the consumer). */
  done(): Promise<void>;
  /**
   * Graceful shutdown: stop serving and consuming, finish and commit what is
   * in flight, optionally anchor each partition, close the stores, leave the
   * group (the others take the partitions over at once). Idempotent.
   */
  close(options?: { anchor?: boolean; timeoutMs?: number }): Promise<void>;
}

/** Start a cluster-mode sidecar: join the group, open the assigned partitions, listen. */
export async function startPartitionedSidecar(
  options: PartitionedSidecarOptions,
): Promise<PartitionedSidecar> {
  const { config } = options;
  const ingest = config.ingest;
  if (!ingest) throw new VcpConfigError('cluster mode needs --ingest kafka://<brokers>/<topic>?group=<id>');
  const log = options.log ?? ((line: string) => process.stderr.write(`vcp sidecar: ${line}\n`));
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new VcpConfigError(`cannot create the data folder ${config.dataDir}: ${(e as Error).message}`);
  }
  let keySource: KeySource | 'option' = 'option';
  let publicKeyPath: string | undefined;
  let signer = options.signer;
  if (!signer) {
    const loaded = await loadSharedSigner(config);
    signer = loaded.signer;
    keySource = loaded.source;
    publicKeyPath = loaded.publicKeyPath;
  }
  const storeFor = options.storeFor ?? ((p: number) => defaultPartitionStore(config, p));
  const maxBuffered = options.maxBuffered ?? 20_000;
  const startedAt = Date.now();
  const admin = new GroupAdmin(ingest, options.consumerOptions);
  const sharedAnchors: SharedAnchors | undefined = sharedAnchorsFrom(
    config.anchorTargets,
    signer,
    config.policyId,
  );
  const history: PartitionHistory = {
    topic: ingest.topic,
    startFrom: ingest.startFrom,
    start: (p) => admin.partitionStart(p),
    read: (partition, from, to, onRecords, stopped) =>
      readPartitionRange({
        ingest,
        partition,
        from,
        to,
        onRecords,
        stopped,
        ...(options.consumerOptions ? { consumerOptions: options.consumerOptions } : {}),
      }),
    ...(sharedAnchors ? { sharedAnchors: (p: number) => sharedAnchors.forPartition(p) } : {}),
  };

  const workers = new Map<number, PartitionWorker>();
  const closing = new Set<Promise<void>>();
  const responses = new Map<number, number>();
  let stopping = false;
  let failure: unknown;
  let settle: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  finished.catch(() => {}); // reported through done()

  const fail = (e: unknown) => {
    if (failure !== undefined || stopping) return;
    failure = e;
    log(`stopping: ${(e as Error)?.message ?? e}`);
    settle!.reject(e);
  };
  const totalQueued = () => {
    let n = 0;
    for (const w of workers.values()) n += w.queued;
    return n;
  };
  const onDrain = () => {
    if (consumer.paused && totalQueued() < maxBuffered / 2) consumer.resume();
  };

  // A foreign holder must have stopped beating for well over a session timeout before its folder is taken.
  const leaseStaleMs = Math.max(30_000, 3 * ingest.sessionTimeoutMs);
  const consumer: GroupConsumer = new GroupConsumer({
    ingest,
    ...(options.consumerOptions ? { consumerOptions: options.consumerOptions } : {}),
    log,
    onFatal: fail,
    onAssignment(partitions, generation) {
      if (stopping) return;
      const keep = new Set(partitions);
      for (const [p, w] of workers) {
        if (keep.has(p)) continue;
        workers.delete(p);
        const done = w
          .close({ anchor: config.anchorOnExit, reason: 'revocation' })
          .catch((e: unknown) => log(`partition ${p}: closing failed: ${(e as Error).message}`));
        closing.add(done);
        void done.finally(() => closing.delete(done));
      }
      for (const p of partitions) {
        if (workers.has(p)) continue;
        const w = new PartitionWorker({
          partition: p,
          generation,
          config,
          signer: signer!,
          ...(options.anchoring ? { anchoring: options.anchoring } : {}),
          openStore: storeFor,
          ...(options.maxInflightPerPartition ? { maxInflight: options.maxInflightPerPartition } : {}),
          lease: { member: consumer.memberId, staleMs: leaseStaleMs },
          ...(options.takeoverCheck === false ? {} : { history }),
          log,
          onFailed: fail,
          onDrain,
        });
        workers.set(p, w);
        void w.open();
      }
      // Revoked partitions' queued records were dropped: fetching may go on.
      onDrain();
    },
    onRecord(partition, record: PartitionRecord) {
      const w = workers.get(partition);
      if (!w || stopping) return; // not ours (any more): its owner reads it from the committed offset
      w.push(record);
      if (!consumer.paused && totalQueued() >= maxBuffered) consumer.pause();
    },
  });

  // The lag of owned partitions, refreshed at most every 500 ms when asked.
  let offsetsCache: { at: number; value: Map<number, PartitionOffsets> | undefined } | undefined;
  let offsetsInflight: Promise<Map<number, PartitionOffsets> | undefined> | undefined;
  const offsets = async (): Promise<Map<number, PartitionOffsets> | undefined> => {
    if (offsetsCache && Date.now() - offsetsCache.at < 500) return offsetsCache.value;
    offsetsInflight ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const value = await Promise.race([
          consumer.offsets([...workers.keys()].sort((a, b) => a - b)),
          new Promise<undefined>((r) => {
            timer = setTimeout(() => r(undefined), 2000);
          }),
        ]);
        offsetsCache = { at: Date.now(), value };
        return value;
      } finally {
        clearTimeout(timer);
        offsetsInflight = undefined;
      }
    })();
    return offsetsInflight;
  };

  // The whole group as the broker sees it, read at most every second (each /health of every member asks).
  const groupHealth = new GroupHealth({
    ...(config.store === 'file' ? { partitionFolder: (p: number) => partitionDir(config.dataDir, p) } : {}),
    leaseStaleMs,
    // A serving owner commits many times a second while records wait; half a session timeout of stillness means none does.
    stallMs: Math.min(5000, Math.max(2000, ingest.sessionTimeoutMs / 2)),
  });
  let snapshotCache: { at: number; value: GroupSnapshot | { error: string } } | undefined;
  let snapshotInflight: Promise<GroupSnapshot | { error: string }> | undefined;
  const groupSnapshot = (): Promise<GroupSnapshot | { error: string }> => {
    if (snapshotCache && Date.now() - snapshotCache.at < 1000) return Promise.resolve(snapshotCache.value);
    snapshotInflight ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const value = await Promise.race([
          admin.snapshot(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('no answer from the broker within 2 s')), 2000);
          }),
        ]).catch((e: unknown) => ({ error: (e as Error)?.message ?? String(e) }));
        snapshotCache = { at: Date.now(), value };
        return value;
      } finally {
        clearTimeout(timer);
        snapshotInflight = undefined;
      }
    })();
    return snapshotInflight;
  };

  const open = () =>
    [...workers.values()]
      .filter((w) => w.state === 'active' && w.ctx)
      .sort((a, b) => a.partition - b.partition)
      .map((w) => ({ partition: w.partition, ctx: w.ctx! }));
  const owned = () => [...workers.keys()].sort((a, b) => a - b);

  const view: ClusterView = {
    ingest,
    get shuttingDown() {
      return stopping;
    },
    open,
    owned,
    log,
    async health() {
      const [offs, snapshot] = await Promise.all([offsets(), groupSnapshot()]);
      const list = owned().map((p) => {
        const w = workers.get(p)!;
        const o = offs?.get(p);
        const entry: Record<string, unknown> = { partition: p, state: w.state };
        if (w.refusal) entry.refusal = w.refusal;
        if (w.rebuild) entry.rebuild = { ...w.rebuild, replayed: w.counters.replayed };
        if (w.waitingForLockSince !== undefined)
          entry.waiting_for_lock_ms = Date.now() - w.waitingForLockSince;
        entry.offsets = {
          durable: w.durableOffset?.toString() ?? null,
          committed: o ? o.committed.toString() : (w.committedOffset?.toString() ?? null),
          high_watermark: o ? o.high.toString() : null,
          lag: o ? o.lag : null,
        };
        entry.records = w.counters.records;
        entry.refused = Object.fromEntries(w.counters.refused);
        entry.redelivered = w.counters.redelivered;
        if (w.ctx) {
          const h = healthBody(w.ctx);
          for (const k of [
            'status',
            'store',
            'tree_size',
            'current_root',
            'pending_events',
            'queue_depth',
            'last_anchor',
            'anchor_lag_ms',
            'anchoring',
          ]) {
            if (h[k] !== undefined) entry[k === 'status' ? 'anchor_status' : k] = h[k];
          }
        }
        return entry;
      });
      const own = new Map<number, OwnPartition>();
      for (const p of owned()) {
        const w = workers.get(p)!;
        own.set(p, { state: w.state, ...(w.refusal ? { refusal: w.refusal.reason } : {}) });
      }
      const group =
        'error' in snapshot
          ? { error: `cannot read the group from the broker: ${snapshot.error}` }
          : (() => {
              const v = groupHealth.view(snapshot, consumer.memberId, own);
              return {
                state: snapshot.state,
                members: snapshot.members,
                lag: v.partitions.reduce((n, p) => n + p.lag, 0),
                partitions: v.partitions,
                unserved: v.unserved,
              };
            })();
      const unserved = 'unserved' in group ? group.unserved : [];
      const degraded =
        'error' in group ||
        unserved.length > 0 ||
        list.some(
          (e) =>
            e.anchor_status === 'degraded' ||
            e.anchor_status === 'failing' ||
            e.state === 'failed' ||
            e.state === 'refused' ||
            (e.waiting_for_lock_ms as number) > 30_000,
        );
      const lags = list.map((e) => (e.offsets as { lag: number | null }).lag);
      const status = stopping
        ? 'shutting_down'
        : !consumer.joined
          ? 'starting'
          : degraded
            ? 'degraded'
            : 'healthy';
      return {
        status: stopping ? 503 : 200,
        body: {
          status,
          mode: 'cluster',
          ingest: {
            topic: ingest.topic,
            group: ingest.groupId,
            brokers: ingest.brokers,
            member_id: consumer.memberId,
            generation: consumer.generation,
            paused: consumer.paused,
          },
          partitions: list,
          owned: owned(),
          // Partitions of the topic that no live member serves (any member's, not only this one's).
          unserved_partitions: unserved.map((u) => u.partition),
          group,
          consumer_lag:
            lags.length && lags.every((l) => l !== null) ? lags.reduce((a, b) => a! + b!, 0) : null,
          merkle_mode: 'rfc6962',
          anchor_lag_limit_ms: config.anchorIntervalMs,
          tier: config.tier,
          strict: config.strict,
          signing_key_id: signer!.keyId,
          uptime_s: Math.round((Date.now() - startedAt) / 1000),
        },
      };
    },
    metrics() {
      return renderClusterMetrics({
        partitions: owned().map((p) => {
          const w = workers.get(p)!;
          return {
            partition: p,
            state: w.state,
            counters: w.counters,
            ctx: w.ctx,
            offsets: offsetsCache?.value?.get(p),
          };
        }),
        responses,
        generation: consumer.generation,
      });
    },
  };

  const check = config.token !== undefined ? bearerChecker(config.token) : undefined;
  const http: HttpListener = await listenHttp({
    host: config.host,
    port: config.port,
    handle: (req, res) => dispatchCluster(view, check, req, res),
    onResponse: (status) => responses.set(status, (responses.get(status) ?? 0) + 1),
    log,
  });
  try {
    await consumer.start();
  } catch (e) {
    await http.stop(0);
    throw e;
  }
  log(
    `listening on ${http.url}, cluster mode: consuming ${ingest.topic} in group ${ingest.groupId} from ${ingest.brokers.join(',')}, ` +
      `store ${config.store === 'file' ? `${config.dataDir}/p<N>` : 'postgres (vcp_p<N>_*)'}, tier ${config.tier}, ` +
      `anchoring every ${Math.round(config.anchorIntervalMs / 1000)}s, signing key id ${signer.keyId}` +
      (config.token ? ', bearer token required' : ''),
  );

  let closingAll: Promise<void> | undefined;
  const close = (opts: { anchor?: boolean; timeoutMs?: number } = {}): Promise<void> => {
    closingAll ??= (async () => {
      stopping = true;
      consumer.stopIntake();
      await http.stop(opts.timeoutMs ?? 10_000);
      const anchor = failure === undefined && (opts.anchor ?? config.anchorOnExit);
      const all = [...workers.values()];
      workers.clear();
      await Promise.all(
        all.map((w) =>
          w
            .close({ anchor, reason: 'exit' })
            .catch((e: unknown) => log(`partition ${w.partition}: closing failed: ${(e as Error).message}`)),
        ),
      );
      await Promise.all([...closing]);
      await consumer.close();
      await admin.close();
      await sharedAnchors?.close();
      log(`stopped (${all.length} partition(s) closed)`);
      if (failure === undefined) settle!.resolve();
    })();
    return closingAll;
  };

  return {
    url: http.url,
    port: http.port,
    ingest,
    keySource,
    publicKeyPath,
    signer,
    partitions: () =>
      owned().map((p) => {
        const w = workers.get(p)!;
        return {
          partition: p,
          state: w.state,
          ctx: w.ctx,
          durableOffset: w.durableOffset,
          committedOffset: w.committedOffset,
        };
      }),
    offsets,
    done: () => finished,
    close,
  };
}

/**
 * The signing key, shared by every member: when several start at once on a
 * fresh shared data folder, one creates `signing.key` and the others, which
 * lost the race (or read it half-written), read it again a moment later.
 */
async function loadSharedSigner(config: SidecarConfig): Promise<ReturnType<typeof loadSidecarSigner>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return loadSidecarSigner(config);
    } catch (e) {
      const generated = !config.signingKeyFile && !config.signingKey;
      if (!generated || attempt >= 10 || !existsSync(join(config.dataDir, 'signing.key'))) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
