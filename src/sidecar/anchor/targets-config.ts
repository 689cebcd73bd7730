/**
 * Turns anchoring configuration (`vcp sidecar` flags and env) into target drivers.
 */
import { VcpConfigError } from '../../core/errors.ts';
import { createLocalFileTarget } from './file-target.ts';
import { createPostgresAnchorTarget } from './postgres-target.ts';
import type { AnchorTargetDriver } from './target.ts';
import { createTsaTarget } from './tsa-target.ts';

/** Configuration of {@link createAnchorTargets} (what `vcp sidecar` flags and env map to). */
export interface AnchorTargetsConfig {
  /** The sidecar's data directory (for the local file target). */
  dataDir: string;
  /**
   * Target specs, in order: `tsa:<http(s) url>`, `postgres://…` or
   * `postgresql://…` (the hash-chained table), `file` (the local,
   * non-external file). Empty or absent: `['file']`.
   */
  targets?: readonly string[];
  /** PEM of the CA(s) a TSA certificate must chain to. */
  tsaCaCertPem?: string;
  /** PEM of the TSA certificate to pin. */
  tsaCertPem?: string;
  /** Timeout of one TSA request, ms. */
  tsaTimeoutMs?: number;
  /** Table of the DATABASE target (default `vcp_anchor_records`). */
  postgresTable?: string;
  /** Schema of the DATABASE target (default `public`). */
  postgresSchema?: string;
}

/**
 * Builds the targets from configuration. With none configured, the local file
 * target alone (not external: `/health` says so). Throws `VcpConfigError` on an
 * unknown spec.
 */
export function createAnchorTargets(config: AnchorTargetsConfig): AnchorTargetDriver[] {
  const specs = config.targets && config.targets.length > 0 ? config.targets : ['file'];
  return specs.map((raw) => {
    const spec = raw.trim();
    if (spec === 'file' || spec === 'local' || spec === 'local-file') {
      return createLocalFileTarget({ dataDir: config.dataDir });
    }
    if (spec.startsWith('tsa:')) {
      return createTsaTarget({
        url: spec.slice(4),
        ...(config.tsaCaCertPem ? { caCertPem: config.tsaCaCertPem } : {}),
        ...(config.tsaCertPem ? { tsaCertPem: config.tsaCertPem } : {}),
        ...(config.tsaTimeoutMs !== undefined ? { timeoutMs: config.tsaTimeoutMs } : {}),
      });
    }
    if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) {
      return createPostgresAnchorTarget({
        connectionString: spec,
        ...(config.postgresTable ? { table: config.postgresTable } : {}),
        ...(config.postgresSchema ? { schema: config.postgresSchema } : {}),
      });
    }
    throw new VcpConfigError(
      `unknown anchor target ${JSON.stringify(spec.replace(/\/\/[^@/]*@/, '//…@'))}: use tsa:<url>, postgres://… or file`,
    );
  });
}
