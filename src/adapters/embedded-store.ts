/**
 * A sink that writes events straight into a sidecar log in this process: the
 * same file store, Merkle tree, commit queue (group commit, fdatasync before a
 * write resolves), dedup by `event_id`, anchoring and checks as `POST /vcp/log`,
 * without the HTTP hop. For users who run the tap (or a recorder) and the log
 * in one process: `vcp tap --store <dir>`, or
 *
 * ```ts
 * const sink = await openEmbeddedStore({ dataDir: 'vcp-data' });
 * const tap = new KafkaTap({ ..., sink });
 * ```
 *
 * The folder is the one a `vcp sidecar --data-dir <dir>` would use (the same
 * format, lock and signing key); the store's lock refuses a second opener, so
 * a sidecar cannot serve it at the same time. Each write is checked exactly as
 * the sidecar checks a request body (validation, EventHash recomputed from the
 * header and payload and compared with `security.event_hash`, size limits):
 * what the store holds is what was hashed, whoever built the events. The line
 * stored holds the canonical header and payload text that check hashed. For an
 * event our sealer marked (integrity/sealed-mark.ts, which no other code can set
 * or change) that is the text the sealer hashed, checked parsed, as the sidecar
 * checks the same line: code that changes the event's objects after sealing
 * changes nothing stored.
 *
 * Errors: a refusal of the events (400/409/413 in HTTP terms) fails the write
 * with a non-retryable `SinkError` naming each field and rule; a full queue or
 * a failing disk with a retryable one (the tap retries, then commits nothing).
 */
import { mkdirSync } from 'node:fs';
import { VcpConfigError } from '../core/errors.ts';
import type { VcpEvent } from '../core/types.ts';
import { sealedTexts } from '../integrity/sealed-mark.ts';
import type { Signer } from '../integrity/sign.ts';
import { resolveSidecarConfig, type SidecarConfig } from '../sidecar/config.ts';
import { HttpError } from '../sidecar/http.ts';
import { type ParsedBody, prepareEvents } from '../sidecar/ingest.ts';
import { openSidecarLog, type SidecarLog } from '../sidecar/log.ts';
import { loadSidecarSigner } from '../sidecar/signing-key.ts';
import { FileEventStore } from '../sidecar/store/file-store.ts';
import { SinkError } from '../sinks/errors.ts';
import { eventLine } from '../sinks/serialize.ts';
import type { Sink } from '../sinks/sink.ts';

/** Options of {@link openEmbeddedStore}. */
export interface EmbeddedStoreOptions {
  /** The store's folder (created if missing), as `vcp sidecar --data-dir`. */
  dataDir: string;
  /**
   * More sidecar settings by their `vcp sidecar` flag names (`tier`, `policy-id`,
   * `anchor-interval`, `strict`, `max-event`, `max-queue`, `segment-size`, …); unset ones
   * come from the `VCP_SIDECAR_*` environment variables, then the defaults.
   */
  settings?: Record<string, string | boolean | undefined>;
  /** The anchor signer (default: `--signing-key-file`, else `<dataDir>/signing.key`, made if missing). */
  signer?: Signer;
  /** One line per call (default: stderr, prefixed `vcp store:`). */
  log?: (line: string) => void;
}

/** A sink into an open embedded store; `close()` commits what is queued, anchors per settings, releases the lock. */
export interface EmbeddedStoreSink extends Sink {
  /** The open log (store, tree, metrics), e.g. for `tree.size` or a proof. */
  readonly log: SidecarLog;
  readonly config: SidecarConfig;
}

/**
 * Open the store in `dataDir` (recovering it as the sidecar would, see its recovery
 * notes in the log) and return a sink writing into it.
 *
 * @throws VcpConfigError for bad settings; the store's own errors (locked by a running
 *   sidecar, corruption it refuses to serve) as they are.
 */
export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStoreSink> {
  if (!options || typeof options.dataDir !== 'string' || options.dataDir.trim() === '') {
    throw new VcpConfigError('openEmbeddedStore needs dataDir, the store folder (as vcp sidecar --data-dir)');
  }
  const log = options.log ?? ((line: string) => process.stderr.write(`vcp store: ${line}\n`));
  const config = resolveSidecarConfig({ ...options.settings, 'data-dir': options.dataDir });
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new VcpConfigError(`cannot create the store folder ${config.dataDir}: ${(e as Error).message}`);
  }
  const signer = options.signer ?? loadSidecarSigner(config).signer;
  const store = new FileEventStore({
    dir: config.dataDir,
    segmentBytes: config.segmentBytes,
    scrubIntervalMs: config.scrubIntervalMs,
    log,
  });
  const opened = await openSidecarLog({ config, store, signer, dataDir: config.dataDir, log });
  opened.ctx.anchoring.start();
  return new EmbeddedSink(opened, config);
}

class EmbeddedSink implements EmbeddedStoreSink {
  readonly name: string;
  readonly log: SidecarLog;
  readonly config: SidecarConfig;
  /** The store's `max-event`: recorders and taps writing here seal nothing larger. */
  readonly maxEventBytes: number;
  #closing: Promise<void> | undefined;

  constructor(log: SidecarLog, config: SidecarConfig) {
    this.log = log;
    this.config = config;
    this.name = `embedded-store(${config.dataDir})`;
    this.maxEventBytes = config.limits.maxEventBytes;
  }

  async write(events: readonly VcpEvent[]): Promise<void> {
    if (this.#closing) throw new SinkError(`${this.name} is closed`, { retryable: false, reason: 'closed' });
    if (events.length === 0) return;
    const { limits, strict } = this.config;
    const writer = this.log.ctx.writer;
    // In pieces of at most max-batch events, as the sidecar accepts them; each piece is all-or-nothing.
    for (let i = 0; i < events.length; i += limits.maxBatchEvents) {
      const chunk = events.slice(i, i + limits.maxBatchEvents);
      try {
        // The line stored is made from the canonical header and payload the EventHash covers (for an event
        // our sealer marked, the texts it hashed; else the ones the check computes): stored and hashed text
        // cannot differ.
        const parsed: ParsedBody = {
          items: chunk as unknown[],
          raws: [],
          batch: true,
          lineFromCanonical: (k, h, p) => {
            const event = chunk[k]!;
            return eventLine(event, h, p, sealedTexts(event) !== undefined);
          },
        };
        const prepared = prepareEvents(parsed, { ...limits, strict });
        await writer.submit(prepared, true);
      } catch (e) {
        throw asSinkError(e, this.name, i);
      }
    }
  }

  async flush(): Promise<void> {
    await this.log.ctx.writer.drain();
  }

  close(): Promise<void> {
    this.#closing ??= this.log.close({ reason: 'close' });
    return this.#closing;
  }
}

/** The sidecar's HTTP-shaped refusal as a sink error: retryable for 429/5xx, else naming the items. */
function asSinkError(e: unknown, name: string, offset: number): unknown {
  if (!(e instanceof HttpError)) return e;
  const retryable = e.status === 429 || e.status >= 500;
  const items = Array.isArray(e.extra.errors)
    ? (e.extra.errors as { path?: string; rule?: string; message?: string }[])
        .slice(0, 5)
        .map((x) => `${x.path ?? ''} [${x.rule ?? ''}] ${x.message ?? ''}`.trim())
        .join('; ')
    : '';
  return new SinkError(
    `${name}: ${e.message}${items ? ` (${items})` : ''}${offset > 0 ? ` (items counted from event ${offset} of the write)` : ''}`,
    {
      retryable,
      status: e.status,
      reason: retryable ? `store_${e.status}` : e.error,
      retryAfterMs: e.headers['retry-after'] ? Number(e.headers['retry-after']) * 1000 : undefined,
      cause: e,
    },
  );
}
