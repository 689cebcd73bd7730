/**
 * Large request bodies parsed, validated and hashed on an ingest thread, so
 * the HTTP thread keeps to reading requests, the group commit and the answers.
 *
 * Measured on 2 cores with batches of 100 (bench/sidecar-ingest.ts): strict
 * JSON, validation and EventHash are about half of the HTTP thread's time per
 * event. The thread runs exactly `parseLogBody` + `prepareEvents`; what comes
 * back is each event's id, hash, security block and text, not the parsed
 * event (copying object trees between threads costs about what parsing them
 * costs): a {@link PreparedEvent} from a thread parses its text again only if
 * something reads `event`, which the file store never does (it writes the
 * text and the security block). A refusal comes back as the same HttpError
 * (status, code, message, every issue) the inline path throws.
 *
 * Small bodies (single events) stay on the HTTP thread: the round trip would
 * only add latency. So does a large body of up to 1 MiB while the HTTP
 * thread has nothing else in progress ({@link IngestPool.wants}).
 *
 * A worker loads this same file (in a build, the bundle holding it) and
 * starts serving when it finds its flag in `workerData`.
 */
import { isAscii } from 'node:buffer';
import { isMainThread, parentPort, type Worker, workerData } from 'node:worker_threads';
import type { ValidationIssue } from '../core/errors.ts';
import { startSelfWorker } from '../core/self-worker.ts';
import type { VcpEvent } from '../core/types.ts';
import { BODY_GATE_DEFAULTS } from './body-gate.ts';
import { HttpError } from './http.ts';
import {
  type BodyKind,
  type PreparedEvent,
  type PrepareOptions,
  parseLogBody,
  prepareEvents,
} from './ingest.ts';

const WORKER_FLAG = 'vcpSidecarIngest';

/**
 * Young-generation size of an ingest thread, MiB (16 MiB semi-spaces). Smaller cost CPU (measured:
 * at 4 and 12 MiB more scavenges and promotions, 3–8 µs more per event) without lowering the peak
 * RSS (24 MiB: 272–278 against 279–282 MiB with the HTTP thread at `--max-semi-space-size=8`).
 */
const YOUNG_GENERATION_MB = 48;

/** Bodies at least this large go to an ingest thread (default of {@link IngestPool}). */
export const INGEST_THREAD_MIN_BYTES = 16 * 1024;

/**
 * A prepared body as it crosses back from the thread: flat arrays, not one
 * object per event (cheaper to copy between threads). Each event's text is
 * either a span of the body's bytes (an ASCII JSON array without line breaks:
 * the bytes go back with the answer, so the store copies them as they came)
 * or a string.
 */
interface WireBody {
  batch: boolean;
  count: number;
  positions: Int32Array;
  /**
   * Each event's id, EventHash and security block head (its JSON without the closing brace:
   * `merkle_index` follows at commit), one after the other in one string; `cuts` holds where
   * each piece ends (one string crosses between threads far cheaper than hundreds).
   */
  text: string;
  cuts: Int32Array;
  /** Conformance warnings, by event; absent when there are none at all. */
  warnings?: (ValidationIssue[] | 0)[];
  body?: Uint8Array;
  spans?: Int32Array;
  raws?: string[];
}

type Reply =
  | { id: number; ok: true; prepared: WireBody }
  | {
      id: number;
      ok: false;
      http?: {
        status: number;
        error: string;
        message: string;
        extra: Record<string, unknown>;
        headers: Record<string, string>;
      };
      message?: string;
      count: number;
    };

/** What {@link IngestPool.prepare} resolves to (as the inline path: events, batch flag, item count). */
export interface PreparedBody {
  events: PreparedEvent[];
  batch: boolean;
  count: number;
}

/** A refusal from the thread, with the number of items the body held (for the metrics). */
export class IngestRefusal extends Error {
  readonly error: unknown;
  readonly count: number;
  constructor(error: unknown, count: number) {
    super('refused');
    this.error = error;
    this.count = count;
  }
}

/**
 * A prepared event from a thread. The commit queue sets {@link merkleIndex};
 * the file store reads {@link securityJson} and {@link rawBytes}; `security`,
 * `raw` and `event` are made on first read only.
 */
export class ThreadPrepared implements PreparedEvent {
  readonly position: number;
  readonly eventId: string;
  readonly key: string;
  readonly eventHash: string;
  readonly warnings: ValidationIssue[];
  /** The event's bytes as received, when they came back as a span of the body. */
  readonly rawBytes: Uint8Array | undefined;
  readonly #securityHead: string;
  #merkleIndex: number | undefined;
  #raw: string | undefined;
  #security: VcpEvent['security'] | undefined;
  #event: VcpEvent | undefined;

  constructor(
    position: number,
    eventId: string,
    eventHash: string,
    securityHead: string,
    warnings: ValidationIssue[],
    raw: string | Uint8Array,
  ) {
    this.position = position;
    this.eventId = eventId;
    this.key = eventId.toLowerCase();
    this.eventHash = eventHash;
    this.#securityHead = securityHead;
    this.warnings = warnings;
    if (typeof raw === 'string') {
      this.#raw = raw;
      this.rawBytes = undefined;
    } else this.rawBytes = raw;
  }

  /** Set at commit; also into the security block (and so the event) if one was read before. */
  get merkleIndex(): number | undefined {
    return this.#merkleIndex;
  }

  set merkleIndex(index: number | undefined) {
    this.#merkleIndex = index;
    if (this.#security !== undefined && index !== undefined) this.#security.merkle_index = index;
  }

  /** The security block as stored: what `JSON.stringify(security)` gives once `merkle_index` is set. */
  securityJson(): string {
    return this.merkleIndex === undefined
      ? `${this.#securityHead}}`
      : `${this.#securityHead},"merkle_index":${this.merkleIndex}}`;
  }

  get raw(): string {
    this.#raw ??= Buffer.from(
      this.rawBytes!.buffer,
      this.rawBytes!.byteOffset,
      this.rawBytes!.byteLength,
    ).toString('latin1');
    return this.#raw;
  }

  get security(): VcpEvent['security'] {
    this.#security ??= JSON.parse(this.securityJson()) as VcpEvent['security'];
    return this.#security;
  }

  get event(): VcpEvent {
    if (this.#event === undefined) {
      // The text passed the strict parse on the thread; as prepareEvents builds it: the client's
      // fields in order, then the sidecar's security block last.
      const { security: _dropped, ...rest } = JSON.parse(this.raw) as Record<string, unknown>;
      this.#event = { ...rest, security: this.security } as unknown as VcpEvent;
    }
    return this.#event;
  }
}

interface Job {
  resolve(r: PreparedBody): void;
  reject(e: unknown): void;
}

/** One or more ingest threads, fed round-robin. See the module comment. */
export class IngestPool {
  readonly minBytes: number;
  readonly #threads: number;
  readonly #workers: Worker[] = [];
  readonly #jobs = new Map<number, Job>();
  #seq = 0;
  #failed: Error | undefined;
  #closed = false;

  constructor(options: { threads?: number; minBytes?: number; inlineMaxBytes?: number } = {}) {
    this.#threads = Math.max(1, options.threads ?? 1);
    this.minBytes = options.minBytes ?? INGEST_THREAD_MIN_BYTES;
    this.inlineMaxBytes = options.inlineMaxBytes ?? BODY_GATE_DEFAULTS.thresholdBytes;
  }

  /**
   * Send large bodies to a thread only while the HTTP thread has other work: another request waiting for
   * its commit (`othersWaiting`) or on a thread. A lone client sending one batch at a time (a tap) gains
   * nothing from the thread, which cannot overlap with anything, and pays the round trip. Measured with
   * batches of 500 on one connection: on a quiet 2-core machine about the same rate (37.6 k against 37.0 k
   * events/s) at ~4 % less CPU inline; with other work on the machine, 36–40 k inline against 29–36 k.
   * Bodies over {@link inlineMaxBytes} go to a thread all the same: parsing one holds the HTTP thread
   * for tens of milliseconds, and a request arriving meanwhile would wait that long.
   * `false` sends every large body to a thread (tests of the thread path).
   */
  inlineWhenIdle = true;
  /** The largest body served inline while idle (default 1 MiB, where the body gate's permits start). */
  readonly inlineMaxBytes: number;

  /** Should this body go to a thread? (Not after a thread failed or the pool closed: then inline.) */
  wants(bytes: number, othersWaiting = true): boolean {
    return (
      bytes >= this.minBytes &&
      (othersWaiting || this.#jobs.size > 0 || !this.inlineWhenIdle || bytes > this.inlineMaxBytes) &&
      !this.#failed &&
      !this.#closed
    );
  }

  /** Parse and prepare on a thread; rejects with {@link IngestRefusal} (the HttpError inside) on a refusal. */
  prepare(body: Buffer, kind: BodyKind, options: PrepareOptions): Promise<PreparedBody> {
    if (this.#workers.length === 0) {
      try {
        this.#start();
      } catch (e) {
        // A thread that cannot even start: this request fails (500, nothing acknowledged), later bodies go inline.
        this.#failed ??= e as Error;
        return Promise.reject(e);
      }
    }
    const id = this.#seq++;
    // Hand the bytes over without a copy when the buffer owns its memory; else copy them out.
    const own =
      body.byteOffset === 0 &&
      body.byteLength === body.buffer.byteLength &&
      !(body.buffer instanceof SharedArrayBuffer);
    const bytes = own ? new Uint8Array(body.buffer as ArrayBuffer) : new Uint8Array(body);
    return new Promise((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject });
      this.#workers[id % this.#workers.length]!.postMessage({ id, bytes, kind, options }, [bytes.buffer]);
    });
  }

  #start(): void {
    for (let i = 0; i < this.#threads; i++) {
      const w = startSelfWorker(new URL(import.meta.url), {
        workerData: { [WORKER_FLAG]: true },
        // Bounded: the thread's heap adds to the process's RSS (issue 14: < 300 MB under load).
        resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      });
      w.unref();
      w.on('message', (m: Reply) => this.#reply(m));
      w.on('error', (e) => this.#fail(e));
      w.on('exit', (code) => {
        if (!this.#closed) this.#fail(new Error(`an ingest thread exited with code ${code}`));
      });
      this.#workers.push(w);
    }
  }

  #reply(m: Reply): void {
    const job = this.#jobs.get(m.id);
    if (!job) return;
    this.#jobs.delete(m.id);
    if (m.ok) {
      const w = m.prepared;
      const n = w.positions.length;
      const { text, cuts } = w;
      const events = new Array<PreparedEvent>(n);
      const bytes = w.body ? Buffer.from(w.body.buffer, w.body.byteOffset, w.body.byteLength) : undefined;
      for (let k = 0; k < n; k++) {
        const raw = bytes ? bytes.subarray(w.spans![2 * k]!, w.spans![2 * k + 1]!) : w.raws![k]!;
        events[k] = new ThreadPrepared(
          w.positions[k]!,
          text.slice(k === 0 ? 0 : cuts[3 * k - 1]!, cuts[3 * k]!),
          text.slice(cuts[3 * k]!, cuts[3 * k + 1]!),
          text.slice(cuts[3 * k + 1]!, cuts[3 * k + 2]!),
          w.warnings?.[k] || [],
          raw,
        );
      }
      job.resolve({ events, batch: w.batch, count: w.count });
    } else if (m.http) {
      const h = m.http;
      job.reject(new IngestRefusal(new HttpError(h.status, h.error, h.message, h.extra, h.headers), m.count));
    } else job.reject(new IngestRefusal(new Error(m.message), m.count));
  }

  #fail(e: Error): void {
    this.#failed ??= e;
    for (const job of this.#jobs.values()) job.reject(e);
    this.#jobs.clear();
  }

  /** Stop the threads (requests still on one are refused with an error). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#fail(new Error('the ingest threads were stopped'));
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** A refusal of a body whose items were counted. */
class IngestCount {
  readonly error: unknown;
  readonly count: number;
  constructor(error: unknown, count: number) {
    this.error = error;
    this.count = count;
  }
}

/** On the thread: parse and prepare one body (exactly the inline path) and put the answer in wire form. */
function prepareForWire(
  bytes: Uint8Array,
  kind: BodyKind,
  options: PrepareOptions,
): { wire: WireBody; transfer: ArrayBuffer[] } {
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parsed = parseLogBody(body, kind, options);
  let prepared: PreparedEvent[];
  try {
    prepared = prepareEvents(parsed, options);
  } catch (e) {
    throw new IngestCount(e, parsed.items.length);
  }
  const n = prepared.length;
  const positions = new Int32Array(n);
  let text = '';
  const cuts = new Int32Array(3 * n);
  let warnings: (ValidationIssue[] | 0)[] | undefined;
  // The items' texts as spans of the bytes: an ASCII body (offsets in the text are byte offsets) whose
  // items were sliced from it as they are (no line breaks to replace).
  const spans = parsed.spans && isAscii(body) ? new Int32Array(2 * n) : undefined;
  const raws = spans ? undefined : new Array<string>(n);
  for (let k = 0; k < n; k++) {
    const e = prepared[k]!;
    positions[k] = e.position;
    // The sidecar's fields come last and merkle_index is not among them yet: it follows at commit.
    text += e.eventId;
    cuts[3 * k] = text.length;
    text += e.eventHash;
    cuts[3 * k + 1] = text.length;
    text += JSON.stringify(e.security).slice(0, -1);
    cuts[3 * k + 2] = text.length;
    if (e.warnings.length) {
      warnings ??= new Array<ValidationIssue[] | 0>(n).fill(0);
      warnings[k] = e.warnings;
    }
    if (spans) {
      spans[2 * k] = parsed.spans![2 * e.position]!;
      spans[2 * k + 1] = parsed.spans![2 * e.position + 1]!;
    } else raws![k] = e.raw;
  }
  const wire: WireBody = {
    batch: parsed.batch,
    count: parsed.items.length,
    positions,
    text,
    cuts,
  };
  if (warnings) wire.warnings = warnings;
  if (spans) {
    wire.body = bytes;
    wire.spans = spans;
  } else wire.raws = raws;
  return {
    wire,
    transfer: spans
      ? [bytes.buffer as ArrayBuffer, positions.buffer, cuts.buffer, spans.buffer]
      : [positions.buffer, cuts.buffer],
  };
}

function serve(): void {
  parentPort!.on(
    'message',
    (m: { id: number; bytes: Uint8Array; kind: BodyKind; options: PrepareOptions }) => {
      let reply: Reply;
      let transfer: ArrayBuffer[] = [];
      try {
        const r = prepareForWire(m.bytes, m.kind, m.options);
        reply = { id: m.id, ok: true, prepared: r.wire };
        transfer = r.transfer;
      } catch (e) {
        // The item count for the metrics, as the inline path counts it (parsed items; 1 if unparsable).
        const count = e instanceof IngestCount ? e.count : 1;
        const err = e instanceof IngestCount ? e.error : e;
        reply =
          err instanceof HttpError
            ? {
                id: m.id,
                ok: false,
                count,
                http: {
                  status: err.status,
                  error: err.error,
                  message: err.message,
                  extra: err.extra,
                  headers: err.headers,
                },
              }
            : { id: m.id, ok: false, count, message: (err as Error)?.stack ?? String(err) };
      }
      parentPort!.postMessage(reply, transfer);
    },
  );
}

if (!isMainThread && workerData && typeof workerData === 'object' && WORKER_FLAG in workerData) serve();
