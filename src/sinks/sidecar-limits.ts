/**
 * What a sidecar takes, asked of the sidecar itself: its `GET /health` reports `--max-event` and `--max-batch`.
 * A recorder or tap fixes its event limit when it is created, from its sink; an event the sidecar then refuses
 * as too large is dead-lettered, and with a hash chain leaves a gap in the log. {@link openHttpSink} asks
 * first and makes the HTTP sink with the sidecar's own limits:
 *
 * ```ts
 * const sink = await openHttpSink({ url: 'http://127.0.0.1:8080', token: process.env.VCP_SIDECAR_TOKEN });
 * const recorder = createRecorder({ sink, policyId: 'com.example:algo-1' });
 * ```
 *
 * One deadline covers the whole exchange and the body is read up to 64 KiB, so a slow or hostile server
 * delays the start by at most the deadline.
 */
import { VcpConfigError } from '../core/errors.ts';
import { describeError, SinkError } from './errors.ts';
import {
  type CreateHttpSinkOptions,
  checkHttpSinkTarget,
  createHttpSink,
  DEFAULT_HTTP_BATCH_EVENTS,
  defaultWarning,
} from './http.ts';
import { getSidecarJson, type SidecarAnswer } from './sidecar-get.ts';
import { SIDECAR_MAX_EVENT_BYTES, type Sink } from './sink.ts';

/** The request limits a sidecar's `GET /health` reports. */
export interface SidecarLimits {
  /** Its `--max-event`: the largest event it stores, in bytes of its JSON line. */
  maxEventBytes: number;
  /** Its `--max-batch`: the most events one request may carry (undefined if the answer did not say). */
  maxBatchEvents: number | undefined;
}

/** Options of {@link readSidecarLimits}. */
export interface ReadSidecarLimitsOptions {
  /** Bearer token: a sidecar that wants one reports its limits only to a request carrying it. */
  token?: string;
  /** The log endpoint's path when `url` is an origin (default `/vcp/log`), as the HTTP sink's `path`. */
  path?: string;
  /** The whole exchange's deadline, ms (default 3 000). */
  timeoutMs?: number;
  /** Extra request headers (a proxy's own), as the HTTP sink's `headers`. */
  headers?: Record<string, string>;
}

const DEFAULT_TIMEOUT_MS = 3000;
/** The most of a `/health` body read: the real one is under 2 KiB. */
const HEALTH_MAX_BYTES = 64 * 1024;

/**
 * The `GET /health` beside a sidecar's log endpoint: `url` names an origin (the log at `path`, by default
 * `/vcp/log`) or the log's full URL, possibly under a path prefix (a proxy's `/tenant-a/vcp/log` →
 * `/tenant-a/health`, with the log URL's query). Always on the log's own origin: the path is set on it, never
 * resolved against it, so a prefix such as `//other-host` stays a path and the token goes nowhere else.
 * Undefined for an endpoint path not ending in `/vcp/log`, whose health URL cannot be told.
 */
export function sidecarHealthUrl(url: string | URL, path?: string): URL | undefined {
  const u = new URL(url);
  // As the HTTP sink reads them: the URL's own path (and query) when it has one, else `path`.
  const fromUrl = u.pathname !== '/';
  const logPath = (fromUrl ? u.pathname : (path ?? '/vcp/log')).replace(/\/+$/, '');
  if (!logPath.endsWith('/vcp/log')) return undefined;
  const health = new URL(u.origin);
  health.pathname = `${logPath.slice(0, -'/vcp/log'.length)}/health`;
  if (fromUrl) health.search = u.search;
  return health.origin === u.origin ? health : undefined;
}

/**
 * Ask a sidecar for its request limits (its `GET /health`, with the token when given).
 *
 * @throws VcpConfigError for a URL or token the HTTP sink would refuse (before any request).
 * @throws SinkError (retryable, reason `limits_unknown`) naming why they could not be read: no answer within
 *   the deadline, a body that is not JSON or too large, no `max_event_bytes` in it (a sidecar older than this
 *   package, or a token missing), or an endpoint path other than `…/vcp/log`.
 */
export async function readSidecarLimits(
  url: string,
  options: ReadSidecarLimitsOptions = {},
): Promise<SidecarLimits> {
  const fail = (why: string) =>
    new SinkError(`cannot read the sidecar's limits: ${why}`, { retryable: true, reason: 'limits_unknown' });
  checkHttpSinkTarget({ url, token: options.token });
  const health = sidecarHealthUrl(url, options.path);
  if (health === undefined) throw fail('the log endpoint is not …/vcp/log, so its GET /health is unknown');
  let answer: SidecarAnswer;
  try {
    answer = await getSidecarJson(health, options.token, {
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxBytes: HEALTH_MAX_BYTES,
      headers: options.headers,
    });
  } catch (e) {
    throw fail(`GET ${health.pathname}: ${describeError(e)}`);
  }
  // A failing or stopping sidecar answers 503 with the full body: its limits hold all the same.
  const body = answer.body as { max_event_bytes?: unknown; max_batch_events?: unknown } | null;
  const maxEventBytes = body?.max_event_bytes;
  const maxBatchEvents = body?.max_batch_events;
  if (!isCount(maxEventBytes) || maxEventBytes < 1024) {
    throw fail(
      `GET ${health.pathname} answered ${answer.status} with no max_event_bytes (a sidecar older than this package, or no token)`,
    );
  }
  return { maxEventBytes, maxBatchEvents: isCount(maxBatchEvents) ? maxBatchEvents : undefined };
}

/**
 * The HTTP sink's batch size for a sidecar with these limits: its default (1 000 events), no more than the
 * sidecar takes in one request. Undefined when the sidecar did not say (the sink's default then).
 */
export function sidecarBatchEvents(limits: SidecarLimits): number | undefined {
  return limits.maxBatchEvents === undefined
    ? undefined
    : Math.min(DEFAULT_HTTP_BATCH_EVENTS, limits.maxBatchEvents);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}

/** Options of {@link openHttpSink}: {@link createHttpSink}'s, and the deadline of the limits' request. */
export interface OpenHttpSinkOptions extends CreateHttpSinkOptions {
  /** How long to wait for the sidecar's `GET /health`, ms (default 3 000). */
  limitsTimeoutMs?: number;
}

/**
 * {@link createHttpSink} with the sidecar's own limits: asks its `GET /health` for `--max-event` and
 * `--max-batch` first, so a recorder or tap writing to the sink seals no event the sidecar would refuse as too
 * large, and sends no batch it would refuse as too long. An explicit `maxEventBytes` or `maxBatchEvents` wins,
 * with a warning when it is larger than the sidecar's.
 *
 * Never fails for an unreachable sidecar (a spool may be meant to cover exactly that): it warns through
 * `onWarning` (code `VCP_SIDECAR_LIMITS`) and uses the defaults, the sidecar's default `--max-event` (128 KiB).
 *
 * @throws VcpConfigError for bad options, as {@link createHttpSink}.
 */
export async function openHttpSink(options: OpenHttpSinkOptions): Promise<Sink> {
  const warn = options.onWarning ?? defaultWarning;
  const given = { event: options.maxEventBytes, batch: options.maxBatchEvents };
  let limits: SidecarLimits | undefined;
  try {
    limits = await readSidecarLimits(options.url, {
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.path !== undefined ? { path: options.path } : {}),
      ...(options.headers !== undefined ? { headers: options.headers } : {}),
      timeoutMs: options.limitsTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  } catch (e) {
    if (e instanceof VcpConfigError) throw e;
    if (given.event === undefined) {
      warn(
        `${(e as Error).message}; sealing events of up to ${SIDECAR_MAX_EVENT_BYTES} bytes, the sidecar's default (maxEventBytes to set it)`,
        'VCP_SIDECAR_LIMITS',
      );
    }
    return createHttpSink(options);
  }
  if (given.event !== undefined && given.event > limits.maxEventBytes) {
    warn(
      `maxEventBytes ${given.event} is more than the ${limits.maxEventBytes} bytes the sidecar takes (its --max-event): it will refuse the events in between`,
      'VCP_SIDECAR_LIMITS',
    );
  }
  if (
    given.batch !== undefined &&
    limits.maxBatchEvents !== undefined &&
    given.batch > limits.maxBatchEvents
  ) {
    warn(
      `maxBatchEvents ${given.batch} is more than the ${limits.maxBatchEvents} events the sidecar takes per request (its --max-batch): larger batches are refused and sent again in halves`,
      'VCP_SIDECAR_LIMITS',
    );
  }
  const batch = given.batch ?? sidecarBatchEvents(limits);
  return createHttpSink({
    ...options,
    maxEventBytes: given.event ?? limits.maxEventBytes,
    ...(batch !== undefined ? { maxBatchEvents: batch } : {}),
  });
}
