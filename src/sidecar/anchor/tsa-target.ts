/**
 * The RFC 3161 time-stamp authority target (`type: 'TSA'`, identifier = the
 * TSA URL). The proof is the base64 of the TimeStampToken (the CMS
 * ContentInfo DER) whose imprint is the record's Merkle root: anyone with the
 * TSA's certificate can check it offline (`verifyTimestampToken`, or
 * `openssl ts -verify -digest <merkle_root> -in token.der -token_in -CAfile ca.pem`).
 */
import type { Dispatcher } from 'undici';
import { VcpConfigError } from '../../core/errors.ts';
import type { AnchorRecord, AnchorTarget } from '../../core/types.ts';
import { type TimestampTrust, verifyTimestampToken } from '../../integrity/tsa-token.ts';
import type { AnchorTargetDriver } from './target.ts';
import { requestTimestamp } from './tsa-client.ts';

/** Options of {@link createTsaTarget}. */
export interface TsaTargetOptions extends TimestampTrust {
  /** The TSA endpoint, `http(s)://…`. */
  url: string;
  /** Timeout of one request, ms (default 10 000). */
  timeoutMs?: number;
  /** Extra HTTP headers (credentials of a commercial TSA). Never logged. */
  headers?: Record<string, string>;
  /** Policy OID to request. */
  policy?: string;
  /**
   * When verifying a stored token: how far the TSA's genTime may be *before*
   * the record's own timestamp (clock skew between sidecar and TSA), ms.
   * Default 300 000 (5 minutes).
   */
  maxSkewMs?: number;
  dispatcher?: Dispatcher;
}

/** Creates a TSA target. Throws `VcpConfigError` for a URL that is not http(s). */
export function createTsaTarget(options: TsaTargetOptions): AnchorTargetDriver {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new VcpConfigError(`TSA url is not a URL: ${JSON.stringify(options.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new VcpConfigError(`TSA url must be http(s): ${options.url}`);
  }
  // The identifier is written into every record: never include credentials.
  if (url.username || url.password)
    throw new VcpConfigError('put TSA credentials in `headers`, not in the URL');
  const trust: TimestampTrust = {};
  if (options.caCertPem) trust.caCertPem = options.caCertPem;
  if (options.tsaCertPem) trust.tsaCertPem = options.tsaCertPem;
  if (options.tsaPublicKeyPem) trust.tsaPublicKeyPem = options.tsaPublicKeyPem;
  const maxSkewMs = options.maxSkewMs ?? 300_000;
  const identifier = url.href;

  return {
    type: 'TSA',
    identifier,
    external: true,
    async anchor(record: AnchorRecord): Promise<AnchorTarget> {
      const result = await requestTimestamp(identifier, record.merkle_root, {
        ...trust,
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.policy ? { policy: options.policy } : {}),
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
      return { type: 'TSA', identifier, proof: Buffer.from(result.token).toString('base64') };
    },
    async verify(record: AnchorRecord, target: AnchorTarget) {
      const checked = await verifyTimestampToken(target.proof, record.merkle_root, trust);
      if (!checked.ok) return { ok: false, reason: checked.reason };
      const ts =
        typeof record.timestamp === 'string' && /^\d{1,20}$/.test(record.timestamp) ? record.timestamp : '';
      const recordMs = ts ? Number(BigInt(ts) / 1_000_000n) : Number.NaN;
      if (Number.isFinite(recordMs) && checked.genTime.getTime() < recordMs - maxSkewMs) {
        return {
          ok: false,
          reason: `the TSA time ${checked.genTime.toISOString()} is before the record was made (${record.anchored_at})`,
        };
      }
      if (!checked.trusted) {
        // Self-consistent, but nobody vouched for the signer: say so.
        return {
          ok: true,
          reason:
            'signature valid; TSA certificate not checked against a trust anchor (no caCertPem/tsaCertPem)',
        };
      }
      return { ok: true };
    },
  };
}
