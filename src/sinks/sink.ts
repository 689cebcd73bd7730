/**
 * The one small interface every sink implements, so users can write their own.
 *
 * A sink receives sealed events in capture order, in batches, from one
 * writer at a time (the recorder never calls `write` again before the
 * previous call settled). `write` resolves when the sink has done what it
 * promises (appended and fsynced for the file sink, acknowledged with 201 by
 * the sidecar for the HTTP sink, acked by all in-sync replicas for Kafka);
 * it rejects when it could not, and the recorder then retries or spools.
 */
import type { HashAlgo } from '../core/enums.ts';
import { VcpConfigError } from '../core/errors.ts';
import type { VcpEvent } from '../core/types.ts';
import type { Signer } from '../integrity/sign.ts';

/** The sidecar's default `--max-event` (128 KiB; a test keeps the two equal): the default {@link Sink.maxEventBytes} of the sinks that feed a sidecar. */
export const SIDECAR_MAX_EVENT_BYTES = 128 * 1024;

/** A sink's `maxEventBytes` option: the sidecar's default, or an integer of at least 1 KiB (the sidecar's least). */
export function sidecarEventLimit(value: number | undefined, who: string): number {
  const limit = value ?? SIDECAR_MAX_EVENT_BYTES;
  if (!Number.isInteger(limit) || limit < 1024) {
    throw new VcpConfigError(
      `${who} maxEventBytes must be the sidecar's --max-event in bytes (an integer of at least 1024), not ${String(value)}`,
    );
  }
  return limit;
}

/** The least `maxEventBytes` a recorder or tap can seal under: the error event that takes a refused event's place must fit. */
export const MIN_SEALED_EVENT_BYTES = 4096;

/**
 * The sink's {@link Sink.maxEventBytes} for a recorder or tap sealing into it (undefined: no limit of its own);
 * a limit under {@link MIN_SEALED_EVENT_BYTES} is refused, `who` and `replacement` naming the sealer and its
 * error event.
 */
export function sealingLimit(sink: Sink, who: string, replacement: string): number | undefined {
  const limit = sink.maxEventBytes;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= MIN_SEALED_EVENT_BYTES)) {
    throw new VcpConfigError(
      `the sink ${sink.name} takes events of at most ${String(limit)} bytes; ${who} needs at least ${MIN_SEALED_EVENT_BYTES} (room for the ${replacement})`,
    );
  }
  return limit;
}

/** What a sink may use of the recorder's signer: its identity and signing messages (checkpoints). */
export type SinkSigner = Pick<Signer, 'keyId' | 'publicKey' | 'signMessage' | 'exportPublicKey'>;

/** What the recorder tells a sink along with its signer. */
export interface SinkSigningInfo {
  policyId: string;
  hashAlgo: HashAlgo;
}

/** Where sealed events go. */
export interface Sink {
  /** Short name for stats and error messages (`memory`, `file:/var/log/vcp.jsonl`, `http:127.0.0.1:8080`). */
  readonly name: string;
  /**
   * The largest event this sink's destination accepts, in bytes of the event's JSON line (as
   * `serializeEvent` writes it). An HTTP sink's is the sidecar's `--max-event`; an embedded
   * store's, its own. A recorder or a tap writing here seals nothing larger: such an event becomes
   * an `ERR_SYSTEM` (recorder) or `ERR_PARSE` (tap) event in its place, so the destination never
   * refuses an event for its size, and a hash chain never loses a link that way. Absent: the sink
   * sets no limit of its own.
   */
  readonly maxEventBytes?: number;
  /** Deliver events, in order. Must not mutate them. */
  write(events: readonly VcpEvent[]): Promise<void>;
  /** Push out anything buffered inside the sink. */
  flush?(): Promise<void>;
  /** Flush and release resources; later writes reject. */
  close(): Promise<void>;
  /**
   * Last-chance synchronous write, called from `process.on('exit')` where no
   * async work can run. Sinks that cannot write synchronously leave it out;
   * the recorder then spools to its exit file instead.
   */
  writeSync?(events: readonly VcpEvent[]): void;
  /**
   * Called once by a recorder that signs its events, before its first write:
   * sinks that write signed checkpoints (the FileSink) sign them with the same
   * key. Sinks that do not sign leave it out.
   */
  attachSigner?(signer: SinkSigner, info: SinkSigningInfo): void;
}
