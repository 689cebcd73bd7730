/**
 * The one store failure a client should simply retry: the storage is out of
 * reach for now (a lost database connection, a server restarting). The
 * sidecar answers it with 503 and `Retry-After`; nothing of the refused
 * request was stored.
 */
import { VcpIoError } from '../../core/errors.ts';

/** The store cannot be reached right now; retry after `retryAfterSeconds`. Nothing of the failed call was kept. */
export class StoreUnavailableError extends VcpIoError {
  /** Whole seconds until the store tries the connection again (≥ 1): the `Retry-After` value. */
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number, options?: { cause?: unknown }) {
    super(message, options);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}
