/**
 * How the server asks for anchoring, and a minimal built-in implementation.
 *
 * The server depends only on {@link Anchoring}. The full anchoring service
 * (src/sidecar/anchor/: every configured target, retries with backoff, local
 * copies, the tier scheduler) is plugged in through an
 * {@link AnchoringFactory}; until then {@link createLocalAnchoring} signs the
 * root with `createAnchorRecord` and keeps the record in the store, labelled
 * as a LOCAL_FILE target (development only, not external).
 * Every record carries a signed checkpoint over its root (checkpoints.ts).
 */
import type { MerkleMode } from '../core/enums.ts';
import type { AnchorRecord } from '../core/types.ts';
import { createAnchorRecord } from '../integrity/anchor-record.ts';
import type { Signer } from '../integrity/sign.ts';
import { attachAnchorCheckpoint } from './checkpoints.ts';
import type { EventStore } from './store/store.ts';
import type { TreeView } from './tree-state.ts';

/** Outcome of {@link Anchoring.anchorNow}. */
export interface AnchorOutcome {
  /** The new record, or the latest one when nothing changed. */
  record: AnchorRecord;
  /** True when no event arrived since the latest anchor (no new record was made). */
  unchanged: boolean;
}

/** The anchoring service as the server sees it. */
export interface Anchoring {
  /**
   * Close the current batch now: sign the root of the whole tree (as it is
   * at the call: durable events only), anchor it to every configured target,
   * store the record (via `ctx.store.putAnchor`), and resolve with it.
   * Never anchors an unchanged tree twice (`unchanged: true` with the latest
   * record). Resolves `undefined` when the tree is still empty. Concurrent
   * calls are serialised. Rejects only if the record could not be made or
   * stored locally; a target being down is retried in the background, not a
   * rejection.
   */
  anchorNow(): Promise<AnchorOutcome | undefined>;
  /** The latest record, if any. */
  lastAnchor(): AnchorRecord | undefined;
  /**
   * Anchor lag in ms: how long the oldest event not yet anchored externally
   * has waited (0 when all are). At least `now - ctx.unanchoredSinceMs()`;
   * more when targets are down and records wait for their proofs.
   */
  lagMs(nowMs?: number): number;
  /** Extra state for /health (per-target status, retries pending…), JSON-serialisable. */
  health?(): Record<string, unknown>;
  /** Start the scheduler (anchor every `ctx.intervalMs`). */
  start(): void;
  /** Stop the scheduler and wait for an anchoring in progress; close targets. */
  stop(): Promise<void>;
}

/** What the server hands an anchoring implementation. */
export interface AnchoringContext {
  /** The event store; its `putAnchor` also updates the server's view. */
  store: EventStore;
  /** The Merkle tree of durable events. */
  tree: TreeView;
  /** Anchor records known so far, in the order they were made (kept current by the server). */
  anchors(): readonly AnchorRecord[];
  /** Wall-clock ms when the oldest event not covered by any record was stored; undefined if none. */
  unanchoredSinceMs(): number | undefined;
  signer: Signer;
  /** `policy_id` for records. */
  policyId: string;
  /** The tier's (or configured) anchoring interval. */
  intervalMs: number;
  /** The data folder (for local copies), when the store is the file store. */
  dataDir: string | undefined;
  /** One line to the sidecar's log. */
  log(message: string): void;
  /** Kafka partition whose tree this is (cluster mode): written into every record as `partition`. */
  partition?: number;
}

/** Builds the anchoring service for a starting sidecar. */
export type AnchoringFactory = (ctx: AnchoringContext) => Anchoring | Promise<Anchoring>;

/** Proof text of the local target: it proves nothing to a third party. */
export const LOCAL_TARGET_PROOF = 'local file target: development only, not external';

/**
 * The built-in fallback: one LOCAL_FILE "target" (the store's own anchors
 * file) and a plain interval timer. Small on purpose; the real service
 * replaces it.
 */
export function createLocalAnchoring(ctx: AnchoringContext): Anchoring {
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const identifier = ctx.dataDir ? `${ctx.dataDir}/anchors.log` : ctx.store.name;

  const once = async (): Promise<AnchorOutcome | undefined> => {
    const size = ctx.tree.size;
    const known = ctx.anchors();
    const last = known.at(-1);
    if (size === 0) return undefined;
    if (last && last.tree_size >= size) return { record: last, unchanged: true };
    const firstIndex = last?.tree_size ?? 0;
    const [first, lastEvent] = await Promise.all([
      ctx.store.getByIndex(firstIndex),
      ctx.store.getByIndex(size - 1),
    ]);
    const record = createAnchorRecord(
      {
        merkle_root: ctx.tree.root(size),
        tree_size: size,
        merkle_mode: ctx.tree.mode as MerkleMode,
        event_count: size - firstIndex,
        first_event_id: first?.eventId ?? '',
        last_event_id: lastEvent?.eventId ?? '',
        first_index: firstIndex,
        policy_id: ctx.policyId,
        ...(last ? { prev_anchor_id: last.anchor_id } : {}),
        ...(ctx.partition !== undefined ? { partition: ctx.partition } : {}),
      },
      { signer: ctx.signer, target: { type: 'LOCAL_FILE', identifier, proof: LOCAL_TARGET_PROOF } },
    );
    attachAnchorCheckpoint(record, ctx.signer);
    await ctx.store.putAnchor(record);
    return { record, unchanged: false };
  };

  return {
    anchorNow() {
      const run = chain.then(once);
      chain = run.catch(() => {});
      return run;
    },
    lastAnchor() {
      return ctx.anchors().at(-1);
    },
    lagMs(nowMs = Date.now()) {
      const since = ctx.unanchoredSinceMs();
      return since === undefined ? 0 : Math.max(0, nowMs - since);
    },
    health() {
      return { service: 'built-in', targets: [{ type: 'LOCAL_FILE', identifier, external: false }] };
    },
    start() {
      if (timer) return;
      timer = setInterval(() => {
        this.anchorNow().catch((e: unknown) =>
          ctx.log(`scheduled anchoring failed: ${(e as Error).message}`),
        );
      }, ctx.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await chain;
    },
  };
}
