/**
 * Plugs the anchoring service into the sidecar server: an
 * `AnchoringFactory` (see `../anchoring.ts`) that builds the targets from
 * configuration and runs {@link createAnchorService} on the server's store,
 * tree, signer and interval.
 *
 * ```ts
 * await startSidecar({ config, anchoring: createAnchoringFactory({ targets: ['tsa:https://…'], tsaCaCertPem }) });
 * ```
 */
import type { Tier } from '../../core/enums.ts';
import type { AnchorRecord } from '../../core/types.ts';
import type { Anchoring, AnchoringContext, AnchoringFactory } from '../anchoring.ts';
import { type AnchorServiceEvent, createAnchorService } from './anchor-service.ts';
import type { RetryPolicy } from './retry.ts';
import type { AnchorTargetDriver } from './target.ts';
import { type AnchorTargetsConfig, createAnchorTargets } from './targets-config.ts';

/** Options of {@link createAnchoringFactory}. */
export interface AnchoringFactoryOptions extends Omit<AnchorTargetsConfig, 'dataDir'> {
  /** Reported in status; the interval itself comes from the server (default SILVER). */
  tier?: Tier;
  retry?: Partial<RetryPolicy>;
  /** Already built targets (instead of `targets` specs). */
  drivers?: AnchorTargetDriver[];
  /** Also receives every service event (metrics). */
  onEvent?: (event: AnchorServiceEvent) => void;
}

function describe(event: AnchorServiceEvent): string | undefined {
  switch (event.type) {
    case 'anchored':
      return `anchored ${event.record.tree_size} events (anchor ${event.record.anchor_id}, root ${event.record.merkle_root.slice(0, 16)}…)${event.failed ? `, ${event.failed} target(s) queued for retry` : ''}`;
    case 'target-failed':
      return `anchor target ${event.target.type} ${event.target.identifier} failed for ${event.anchorId} (attempt ${event.attempt}): ${event.error}${event.retryInMs ? `; retry in ${Math.round(event.retryInMs / 1000)} s` : ''}`;
    case 'target-ok':
      return event.retry
        ? `anchor target ${event.target.type} ${event.target.identifier} back: ${event.anchorId} anchored after ${event.attempt} attempts`
        : undefined;
    case 'backlog-capped':
      return `anchor target ${event.target.type} ${event.target.identifier}: ${event.skipped} older records not re-queued (covered by later roots)`;
    case 'scheduler-error':
      return `scheduled anchoring failed: ${event.error}`;
  }
}

/** An `AnchoringFactory` running the full anchoring service. */
export function createAnchoringFactory(options: AnchoringFactoryOptions = {}): AnchoringFactory {
  return (ctx: AnchoringContext): Anchoring => {
    let targets = options.drivers;
    if (!targets) {
      const specs = options.targets ?? [];
      if (specs.length === 0 && ctx.dataDir === undefined) {
        ctx.log('no anchor target configured and no data folder: anchor records are kept in the store only');
        targets = [];
      } else {
        targets = createAnchorTargets({ ...options, dataDir: ctx.dataDir ?? '.' });
      }
    }
    for (const t of targets) {
      if (!t.external)
        ctx.log(`anchor target ${t.type} ${t.identifier} is NOT an external anchor (development only)`);
    }
    const service = createAnchorService({
      store: ctx.store,
      tree: ctx.tree,
      signer: ctx.signer,
      policyId: ctx.policyId,
      tier: options.tier ?? 'SILVER',
      intervalMs: ctx.intervalMs,
      targets,
      anchors: ctx.anchors(),
      oldestUnanchoredAt: () => ctx.unanchoredSinceMs(),
      ...(ctx.partition !== undefined ? { partition: ctx.partition } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      onEvent: (event) => {
        const line = describe(event);
        if (line) ctx.log(line);
        options.onEvent?.(event);
      },
    });
    return {
      async anchorNow() {
        const out = await service.anchorNow();
        return out.record ? { record: out.record, unchanged: out.unchanged } : undefined;
      },
      lastAnchor(): AnchorRecord | undefined {
        return service.status().lastAnchor ?? undefined;
      },
      lagMs(nowMs?: number) {
        return service.status(nowMs).lagMs;
      },
      health() {
        const s = service.status();
        return {
          service: 'anchor-service',
          targets: s.targets,
          pending_targets: s.pending,
          next_anchor_at: s.nextAnchorAt,
          last_anchor_external: s.lastAnchor?.anchor_targets?.some((t) => t.type !== 'LOCAL_FILE') ?? false,
        };
      },
      start() {
        service
          .start()
          .catch((error: unknown) => ctx.log(`anchoring did not start: ${(error as Error).message}`));
      },
      stop() {
        return service.stop();
      },
    };
  };
}
