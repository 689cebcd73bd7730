/**
 * One sidecar log: an opened event store, the Merkle tree rebuilt from it,
 * the commit queue (the single writer), the metrics, and the anchoring
 * service — everything the routes see through a {@link SidecarContext}.
 *
 * The HTTP sidecar (server.ts) opens one; the Kafka cluster mode
 * (cluster/) opens one per owned partition, each with its own store, tree,
 * anchors and proofs (`partition` is then stamped on every anchor record and
 * reported by the routes).
 */
import type { Signer } from '../integrity/sign.ts';
import { type AnchoringContext, type AnchoringFactory, createLocalAnchoring } from './anchoring.ts';
import type { SidecarConfig } from './config.ts';
import type { SidecarContext } from './context.ts';
import { SidecarMetrics } from './metrics.ts';
import type { EventStore } from './store/store.ts';
import { TreeState } from './tree-state.ts';
import { CommitQueue } from './writer.ts';

/** Options of {@link openSidecarLog}. */
export interface OpenLogOptions {
  config: SidecarConfig;
  /** The store, not yet opened: {@link openSidecarLog} opens it (and closes it again if anything else fails). */
  store: EventStore;
  signer: Signer;
  /** The anchoring service (default: the built-in local-file fallback). */
  anchoring?: AnchoringFactory;
  /** Folder for the anchoring service's local copies (the file store's folder), if any. */
  dataDir: string | undefined;
  /** Kafka partition whose log this is (cluster mode); absent for the one log of the HTTP sidecar. */
  partition?: number;
  log: (line: string) => void;
}

/** An open log. */
export interface SidecarLog {
  /** The parts the routes use. */
  readonly ctx: SidecarContext;
  /** Notes from the store's crash recovery. */
  readonly recovery: readonly string[];
  /**
   * Refuse new events (503), commit what is queued, optionally anchor once
   * more, stop anchoring, close the store (releasing its lock). Idempotent.
   * `reason` names the occasion in log lines (`exit`, `revocation`; default `close`).
   */
  close(options?: { anchor?: boolean; reason?: string }): Promise<void>;
}

/** Open the store, rebuild the tree and start nothing yet but the writer; call `ctx.anchoring.start()` to schedule anchoring. */
export async function openSidecarLog(options: OpenLogOptions): Promise<SidecarLog> {
  const { config, store, signer, log } = options;
  const state = await store.open();
  for (const note of state.recovery) log(`recovery: ${note}`);
  const tree = new TreeState(state);
  state.leaves.clear(); // the tree holds them now
  try {
    if (tree.size > tree.anchoredSize) {
      const first = await store.getByIndex(tree.anchoredSize);
      if (first) tree.setUnanchoredSince(Date.parse(first.receivedAt));
    }
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }

  // Assigned below, once every part exists; the metrics' gauges read it lazily.
  let ctx: SidecarContext;
  const metrics = new SidecarMetrics({
    queueDepth: () => ctx.writer.depth,
    treeSize: () => tree.size,
    anchoredSize: () => tree.anchoredSize,
    anchorLagSeconds: () => ctx.anchoring.lagMs() / 1000,
    anchorLagLimitSeconds: () => config.anchorIntervalMs / 1000,
    lastAnchorUnixSeconds: () => {
      const last = tree.lastAnchor;
      return last ? Number(BigInt(last.timestamp) / 1_000_000n) / 1000 : undefined;
    },
  });
  const writer = new CommitQueue(store, tree, { maxQueueEvents: config.limits.maxQueueEvents, metrics, log });

  const anchoringCtx: AnchoringContext = {
    store: observedStore(store, tree, metrics),
    tree,
    anchors: () => tree.anchors,
    unanchoredSinceMs: () => tree.unanchoredSinceMs,
    signer,
    policyId: config.policyId,
    intervalMs: config.anchorIntervalMs,
    dataDir: options.dataDir,
    log,
  };
  if (options.partition !== undefined) anchoringCtx.partition = options.partition;
  let anchoring: SidecarContext['anchoring'];
  try {
    anchoring = await (options.anchoring ?? createLocalAnchoring)(anchoringCtx);
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }

  ctx = {
    config,
    store,
    tree,
    writer,
    anchoring,
    metrics,
    signer,
    log,
    startedAt: Date.now(),
    shuttingDown: false,
  };
  if (options.partition !== undefined) ctx.partition = options.partition;

  let closing: Promise<void> | undefined;
  return {
    ctx,
    recovery: state.recovery,
    close(opts = {}) {
      closing ??= (async () => {
        ctx.shuttingDown = true;
        writer.close();
        await writer.drain();
        if (opts.anchor ?? config.anchorOnExit) {
          try {
            const out = await anchoring.anchorNow();
            if (out && !out.unchanged)
              log(
                `anchored ${out.record.tree_size} events on ${opts.reason ?? 'close'} (anchor ${out.record.anchor_id})`,
              );
          } catch (e) {
            log(`anchoring on ${opts.reason ?? 'close'} failed: ${(e as Error).message}`);
          }
        }
        await anchoring.stop().catch((e: unknown) => log(`stopping anchoring: ${(e as Error).message}`));
        await store.close();
      })();
      return closing;
    },
  };
}

/** The store as the anchoring service sees it: reads pass through; `putAnchor` also updates the tree state. */
function observedStore(store: EventStore, tree: TreeState, metrics: SidecarMetrics): EventStore {
  const onlyServer = () =>
    Promise.reject(new Error('only the sidecar server opens, appends to or closes the store'));
  return {
    name: store.name,
    open: onlyServer,
    append: onlyServer,
    close: () => Promise.resolve(),
    getById: (id) => store.getById(id),
    getByIndex: (i) => store.getByIndex(i),
    scan: (from, to) => store.scan(from, to),
    anchors: () => store.anchors(),
    async putAnchor(record) {
      await store.putAnchor(record);
      const isNew = !tree.anchors.some((a) => a.anchor_id === record.anchor_id);
      tree.addAnchor(record);
      if (isNew) {
        metrics.anchors++;
        if (tree.size > record.tree_size) {
          const next = await store.getByIndex(record.tree_size).catch(() => undefined);
          if (next && tree.anchoredSize === record.tree_size)
            tree.setUnanchoredSince(Date.parse(next.receivedAt));
        }
      }
    },
  };
}
