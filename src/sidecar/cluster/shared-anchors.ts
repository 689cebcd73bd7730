/**
 * A partition's signed anchor records kept outside its store, where every
 * member can read them: the PostgreSQL anchor target's table (`--anchor
 * postgres://…`, default `public.vcp_anchor_records`), which holds the
 * records of every partition, each with `partition`.
 *
 * A member that rebuilt a partition from the topic checks the rebuilt tree
 * against them (takeover-check.ts): the records the previous owner signed
 * and sent there must be reproduced, root for root. Only records of this
 * partition, this policy and this signing key whose signature verifies are
 * returned; any other row is not this cluster's claim about this tree.
 */
import type { AnchorRecord } from '../../core/types.ts';
import { verifyAnchorSignature } from '../../integrity/anchor-record.ts';
import type { Signer } from '../../integrity/sign.ts';
import { DEFAULT_ANCHOR_TABLE } from '../anchor/postgres-target.ts';

/** Reads a partition's shared anchors; `close()` ends its connections. */
export interface SharedAnchors {
  /** Where they are read (`postgres:<schema>.<table>`). */
  readonly source: string;
  forPartition(partition: number): Promise<AnchorRecord[]>;
  close(): Promise<void>;
}

/** The shared anchors named by `--anchor` targets, or undefined when no target keeps them where members can read. */
export function sharedAnchorsFrom(
  targets: readonly string[],
  signer: Signer,
  policyId: string,
): SharedAnchors | undefined {
  const url = targets.find((t) => t.startsWith('postgres://') || t.startsWith('postgresql://'));
  if (!url) return undefined;
  let pool: Promise<import('pg').Pool> | undefined;
  const getPool = () => {
    pool ??= import('pg').then((pg) => {
      const Pool = (pg as unknown as { default?: typeof import('pg') }).default?.Pool ?? pg.Pool;
      return new Pool({
        connectionString: url,
        max: 1,
        connectionTimeoutMillis: 5000,
        application_name: 'vcp-sidecar',
      });
    });
    return pool;
  };
  return {
    source: `postgres:public.${DEFAULT_ANCHOR_TABLE}`,
    async forPartition(partition) {
      const p = await getPool();
      let rows: { record: AnchorRecord }[];
      try {
        ({ rows } = await p.query(
          `SELECT record FROM public.${DEFAULT_ANCHOR_TABLE}
           WHERE record->>'partition' = $1 AND record->>'signing_key_id' = $2 AND record->>'policy_id' = $3
           ORDER BY seq`,
          [String(partition), signer.keyId, policyId],
        ));
      } catch (e) {
        // No table yet: nothing was ever anchored there.
        if ((e as { code?: string }).code === '42P01') return [];
        throw e;
      }
      return rows.map((r) => r.record).filter((r) => verifyAnchorSignature(r, signer.publicKey));
    },
    async close() {
      const p = pool;
      pool = undefined;
      if (p) await (await p.catch(() => undefined))?.end().catch(() => {});
    },
  };
}
