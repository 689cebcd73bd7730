/**
 * How a sink says why a write failed, so the wrappers and the recorder can
 * tell "the downstream is down, try again later" (retry, open the breaker,
 * spool) from "these events are refused, sending them again cannot help"
 * (report them, never retry forever, never poison the spool with them).
 */
import { VcpCanonicalizationError, VcpConfigError, VcpIoError, VcpValidationError } from '../core/errors.ts';

/** Options of {@link SinkError}. */
export interface SinkErrorOptions {
  /** True when the same write may succeed later (5xx, 429, connection lost, disk full). */
  retryable: boolean;
  /** HTTP status, when the downstream answered. */
  status?: number;
  /** The downstream asked to wait this long before trying again (HTTP `Retry-After`). */
  retryAfterMs?: number;
  /** Short machine-readable reason, e.g. `circuit_open`, `spool_full`, `http_503`, `rejected`. */
  reason?: string;
  cause?: unknown;
}

/** A sink write failed; `retryable` says whether sending the same events again can help. */
export class SinkError extends VcpIoError {
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly reason: string;

  constructor(message: string, options: SinkErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.reason = options.reason ?? (options.retryable ? 'unavailable' : 'rejected');
  }
}

/**
 * Whether a failed write is worth retrying. A {@link SinkError} says so itself;
 * validation and canonicalization errors mean the events are bad (not retried);
 * configuration errors cannot fix themselves (not retried); anything else
 * (I/O errors, network errors, unknown throws) is assumed transient.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof SinkError) return error.retryable;
  if (error instanceof VcpValidationError || error instanceof VcpCanonicalizationError) return false;
  if (error instanceof VcpConfigError) return false;
  return true;
}

/** The `Retry-After` hint of an error, in ms, if it carries one. */
export function retryAfterOf(error: unknown): number | undefined {
  return error instanceof SinkError ? error.retryAfterMs : undefined;
}

/** A one-line description of any thrown value, safe to log (bounded length). */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    text = `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}`;
  } else {
    try {
      text = String(error);
    } catch {
      text = Object.prototype.toString.call(error);
    }
  }
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
