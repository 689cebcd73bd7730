/**
 * Builds exports in the v2 format the sidecar writes (metadata line, events
 * with merkle_index, anchor lines with checkpoints, a closing checkpoint over
 * the exact range), from real sealed events, for verifier tests.
 */
import { buildEvent } from '../../src/core/builder.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { AnchorRecord, VcpEvent } from '../../src/core/types.ts';
import { uuidv7 } from '../../src/core/uuidv7.ts';
import { createAnchorRecord } from '../../src/integrity/anchor-record.ts';
import { canonicalize } from '../../src/integrity/canonical.ts';
import { createHashChain } from '../../src/integrity/chain.ts';
import { signCheckpoint } from '../../src/integrity/checkpoint/index.ts';
import { MerkleTree } from '../../src/integrity/merkle/index.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { generateSigningKey, type Signer } from '../../src/integrity/sign.ts';
import { eventLine } from '../../src/sinks/serialize.ts';

export const testPolicy = createPolicy({
  policyId: 'com.example.trading:verify-test',
  tier: 'GOLD',
  hashChain: true,
});

/** Options of {@link makeSignedExport}. */
export interface SignedExportOptions {
  n?: number;
  /** Anchor after every this many events (default: one anchor at n/2, none if 0). */
  anchorEvery?: number;
  signer?: Signer;
  /** Signer of the events themselves (default: the same key); `null` leaves events unsigned. */
  eventSigner?: Signer | null;
  mode?: 'rfc6962' | 'vcp-dup';
  /** A bounded export (from/to + closing checkpoint) or an open stream with periodic checkpoints (FileSink). */
  kind?: 'export' | 'stream';
  origin?: string;
  partition?: number;
  /**
   * How event lines are written: `builder` (default) as JSON.stringify writes the built event (keys in the
   * builder's order), `sinks` as the recorder's sinks write it (header and payload as their RFC 8785 text,
   * which the verifier then hashes in place).
   */
  lineForm?: 'builder' | 'sinks';
}

/** The export as lines, plus what made it. */
export interface SignedExport {
  lines: string[];
  events: VcpEvent[];
  anchors: AnchorRecord[];
  signer: Signer;
  origin: string;
  tree: MerkleTree<'rfc6962' | 'vcp-dup'>;
  meta: Record<string, unknown>;
}

export function makeSignedExport(o: SignedExportOptions = {}): SignedExport {
  const n = o.n ?? 12;
  const signer = o.signer ?? generateSigningKey();
  const eventSigner = o.eventSigner === undefined ? signer : o.eventSigner;
  const mode = o.mode ?? 'rfc6962';
  const kind = o.kind ?? 'export';
  const origin = o.origin ?? `vcp-instrument/test/${signer.keyId.slice(0, 16)}`;
  const chain = createHashChain();
  const tree = new MerkleTree({ mode });
  const lineOf = (e: VcpEvent) =>
    o.lineForm === 'sinks'
      ? eventLine(e, canonicalize(e.header), canonicalize(e.payload))
      : JSON.stringify(e);
  const traceId = uuidv7();
  const events: VcpEvent[] = [];
  const anchors: AnchorRecord[] = [];
  const meta: Record<string, unknown> = {
    format: 'vcp-export',
    version: 2,
    origin,
    producer: 'test',
    created_at: '2026-12-06T00:00:00.000Z',
    merkle_mode: mode,
    policy_id: testPolicy.policy_id,
    signing_key_id: signer.keyId,
    from: 0,
    ...(kind === 'export' ? { to: n, tree_size: n } : {}),
    ...(o.partition !== undefined ? { partition: o.partition } : {}),
  };
  const lines = [JSON.stringify({ vcp_export: meta })];
  const eventLines: string[] = [];
  const anchorEvery = o.anchorEvery ?? Math.max(1, Math.floor(n / 2));
  const checkpoint = (size: number, withMeta: boolean) =>
    signCheckpoint(
      {
        origin,
        treeSize: size,
        rootHex: tree.root(size),
        mode,
        ...(withMeta ? { meta } : {}),
        ...(o.partition !== undefined ? { partition: o.partition } : {}),
      },
      signer,
    );
  let last = 0;
  for (let i = 0; i < n; i++) {
    const type = (['SIG', 'ORD', 'ACK', 'EXE'] as const)[i % 4]!;
    const payload =
      type === 'SIG' ? {} : { trade_data: { order_id: `O-${i}`, price: '1.0850', quantity: '100' } };
    const e = sealEvent(
      buildEvent(type, payload, {
        policy: testPolicy,
        traceId,
        venueId: 'XLON',
        accountId: 'A',
        symbol: 'EURUSD',
      }),
      {
        ...(eventSigner ? { signer: eventSigner } : {}),
        chain,
      },
    );
    e.security.merkle_index = tree.append(e.security.event_hash);
    if (o.partition !== undefined) e.security.partition = o.partition;
    events.push(e);
    if (kind === 'stream') {
      eventLines.push(lineOf(e));
      if ((i + 1) % anchorEvery === 0)
        eventLines.push(JSON.stringify({ vcp_checkpoint: { note: checkpoint(tree.size, true) } }));
      continue;
    }
    if (anchorEvery > 0 && (i + 1) % anchorEvery === 0 && i < n - 1) {
      const a = createAnchorRecord(
        {
          merkle_root: tree.root(),
          tree_size: tree.size,
          merkle_mode: mode,
          event_count: tree.size - last,
          first_event_id: events[last]!.header.event_id,
          last_event_id: e.header.event_id,
          first_index: last,
          policy_id: testPolicy.policy_id,
          ...(o.partition !== undefined ? { partition: o.partition } : {}),
        },
        { signer },
      );
      (a as AnchorRecord & { checkpoint?: string }).checkpoint = checkpoint(tree.size, false);
      for (let k = last; k < tree.size; k++) {
        events[k]!.security.merkle_root = a.merkle_root;
        events[k]!.security.anchor_reference = a.anchor_id;
      }
      anchors.push(a);
      last = tree.size;
    }
  }
  if (kind === 'export') {
    for (const e of events) lines.push(lineOf(e));
    for (const a of anchors) lines.push(JSON.stringify({ anchor_record: a }));
    lines.push(JSON.stringify({ vcp_checkpoint: { note: checkpoint(n, true) } }));
  } else lines.push(...eventLines);
  return { lines, events, anchors, signer, origin, tree, meta };
}
