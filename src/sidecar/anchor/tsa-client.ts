/**
 * RFC 3161 client: build a TimeStampReq for a Merkle root, POST it to a TSA
 * over HTTP (`application/timestamp-query`, RFC 3161 §3.4), and accept the
 * answer only if the token checks out (see `tsa-token.ts`).
 *
 * The imprint is the root itself: `hashAlgorithm = sha256` and
 * `hashedMessage` = the root's 32 raw bytes. The root is already a SHA-256
 * output (RFC 6962 node hash), so hashing it again would only add a step a
 * verifier must know about; with the root as imprint, `openssl ts -verify
 * -digest <root>` checks the token directly.
 */
import { randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { type Dispatcher, request } from 'undici';
import { VcpIoError, VcpValidationError, VcpVerificationError } from '../../core/errors.ts';
import {
  MAX_TSA_MESSAGE_BYTES,
  OID_SHA256,
  parseTimeStampResp,
  type TimestampInfo,
  type TimestampTrust,
  verifyTimestampToken,
} from '../../integrity/tsa-token.ts';

/** A built request: its DER and the nonce to expect back. */
export interface TimeStampRequest {
  der: Uint8Array;
  nonce: bigint;
}

/** Builds a TimeStampReq (v1, sha256 imprint = the root, 64-bit random nonce, certReq true). */
export function buildTimeStampRequest(rootHex: string, options: { policy?: string } = {}): TimeStampRequest {
  if (typeof rootHex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(rootHex)) {
    throw new VcpValidationError({
      path: 'merkle_root',
      rule: 'hex32',
      message: 'root must be 64 hex characters',
    });
  }
  // 63 random bits: a positive INTEGER that fits 8 DER bytes; never zero.
  const nonce = (randomBytes(8).readBigUInt64BE() >> 1n) | 1n;
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({
        algorithmId: OID_SHA256,
        algorithmParams: new asn1js.Null(),
      }),
      hashedMessage: new asn1js.OctetString({ valueHex: Buffer.from(rootHex, 'hex') }),
    }),
    nonce: asn1js.Integer.fromBigInt(nonce),
    certReq: true,
    ...(options.policy ? { reqPolicy: options.policy } : {}),
  });
  return { der: new Uint8Array(req.toSchema().toBER(false)), nonce };
}

/** Options of {@link requestTimestamp}. */
export interface RequestTimestampOptions extends TimestampTrust {
  /** Whole-exchange timeout in ms (default 10 000). */
  timeoutMs?: number;
  /** Extra HTTP headers (e.g. `authorization` for a commercial TSA). */
  headers?: Record<string, string>;
  /** TSA policy OID to request. */
  policy?: string;
  /** undici dispatcher (pool, proxy agent); default the global one. */
  dispatcher?: Dispatcher;
}

/** A granted, verified time-stamp. */
export interface TimestampResult {
  /** DER of the TimeStampToken (CMS ContentInfo): what is stored, base64, as the proof. */
  token: Uint8Array;
  info: TimestampInfo;
  /** Milliseconds the HTTP exchange took. */
  elapsedMs: number;
}

async function readLimited(body: AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw new VcpIoError(`TSA response larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Time-stamps `rootHex` at the TSA `url`. Resolves only with a granted token
 * whose imprint is the root, whose nonce matches, whose signature verifies and
 * whose signer is trusted by `options` (when trust is configured). Rejects with
 * `VcpIoError` when the TSA cannot be reached, times out or answers non-200, and
 * with `VcpVerificationError` when it answers something that does not check out.
 */
export async function requestTimestamp(
  url: string,
  rootHex: string,
  options: RequestTimestampOptions = {},
): Promise<TimestampResult> {
  const { der, nonce } = buildTimeStampRequest(rootHex, options.policy ? { policy: options.policy } : {});
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = performance.now();
  let raw: Uint8Array;
  try {
    const res = await request(url, {
      method: 'POST',
      headers: {
        ...options.headers,
        'content-type': 'application/timestamp-query',
        accept: 'application/timestamp-reply',
      },
      body: der,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
    if (res.statusCode !== 200) {
      const text = (await readLimited(res.body, 4096).catch(() => new Uint8Array())).toString().trim();
      throw new VcpIoError(
        `TSA ${url} answered HTTP ${res.statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`,
      );
    }
    raw = await readLimited(res.body, MAX_TSA_MESSAGE_BYTES);
  } catch (error) {
    if (error instanceof VcpIoError) throw error;
    const e = error as { name?: string; code?: string; message?: string };
    const why =
      e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT'
        ? `no answer within ${timeoutMs} ms`
        : (e.message ?? String(error));
    throw new VcpIoError(`TSA ${url} unavailable: ${why}`, { cause: error });
  }
  const elapsedMs = performance.now() - started;

  let parsed: ReturnType<typeof parseTimeStampResp>;
  try {
    parsed = parseTimeStampResp(raw);
  } catch (error) {
    throw new VcpVerificationError(`TSA ${url}: ${(error as Error).message}`);
  }
  if (parsed.status !== 0 && parsed.status !== 1) {
    const detail = [...parsed.statusText, ...parsed.failInfo].join('; ');
    throw new VcpVerificationError(
      `TSA ${url} refused the request: ${parsed.statusName}${detail ? ` (${detail})` : ''}`,
    );
  }
  if (!parsed.token) throw new VcpVerificationError(`TSA ${url} granted the request but sent no token`);
  const checked = await verifyTimestampToken(parsed.token, rootHex, { ...options, nonce });
  if (!checked.ok) throw new VcpVerificationError(`TSA ${url}: token refused: ${checked.reason}`);
  const { ok: _ok, ...info } = checked;
  return { token: parsed.token, info, elapsedMs };
}
