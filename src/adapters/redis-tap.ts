/**
 * The Redis Streams tap: a consumer group over existing streams (the guide's
 * layout: an `event_type` field plus trade fields) that records every entry
 * as a VCP event and XACKs entries only after the sink durably acknowledged
 * their events (at-least-once).
 *
 * - `XGROUP CREATE <stream> <group> <startId> MKSTREAM` once per stream
 *   (an existing group is kept as it is).
 * - On start, the consumer first re-reads its own pending entries
 *   (`XREADGROUP … 0`): what it had read but not acknowledged before a
 *   restart under the same consumer name.
 * - Then `XREADGROUP GROUP <group> <consumer> COUNT <batchSize> BLOCK <blockMs> STREAMS … >`
 *   on a connection of its own (a blocking read holds its connection), and
 *   every `claimIntervalMs`, `XAUTOCLAIM … <claimIdleMs>` per stream: entries
 *   another consumer read and left unacknowledged for longer than
 *   `claimIdleMs` (it died) are taken over and recorded.
 * - Event ids are derived from the stream key and the entry id, and the
 *   event time is the entry id's millisecond part, so an entry read twice
 *   (reclaimed from a consumer that was only slow) becomes the same event.
 * - An entry deleted or trimmed while pending (Redis reports it without
 *   fields, or in XAUTOCLAIM's deleted list) is a gap in the record: it
 *   becomes an `ERR_SYNC` event naming its id, and is acknowledged.
 * - Entries whose fields are not UTF-8 or repeat a name become `ERR_PARSE`
 *   events with the raw fields (the default mapping refuses to guess).
 *
 * Give each tap process a stable `consumer` name (default
 * `<hostname>-<pid>`, which changes on restart: the old name's pending
 * entries are then reclaimed after `claimIdleMs`, and the old name stays
 * listed in the group until deleted with `XGROUP DELCONSUMER`).
 */
import { hostname } from 'node:os';
import type { Redis, RedisOptions } from 'ioredis';
import { VcpConfigError } from '../core/errors.ts';
import type { VcpEvent } from '../core/types.ts';
import { describeError } from '../sinks/errors.ts';
import { loadRedisLibrary } from '../sinks/redis.ts';
import type { TapMessage } from './message-mapping.ts';
import {
  DEFAULT_TAP_INFLIGHT,
  type EventBatch,
  TapDeliveryError,
  TapRunner,
  type TapRunnerOptions,
  type TapStats,
} from './tap-runner.ts';

/** Options of {@link RedisTap}: the common tap options plus where to read. */
export interface RedisTapOptions extends TapRunnerOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  url: string;
  /** Stream keys to consume. */
  streams: string[];
  /** Consumer group: taps of one group share the entries. */
  groupId: string;
  /** This consumer's name in the group (default `<hostname>-<pid>`; give a stable one). */
  consumer?: string;
  /** Where a new group starts: `0` (default: the whole stream) or `$` (new entries only). */
  startId?: string;
  /**
   * Batches at the sink at once (default 4): the sink works on earlier ones while the tap reads, maps
   * and sends the next. A batch is XACKed only after it and every earlier one were
   * acknowledged. 1: one batch at a time.
   */
  maxInflight?: number;
  /** Most entries per read (default 500). */
  batchSize?: number;
  /** Longest wait of one blocking read, ms (default 2000). */
  blockMs?: number;
  /** Reclaim entries pending longer than this in another consumer, ms (default 30 000). */
  claimIdleMs?: number;
  /** How often to look for such entries, ms (default min(claimIdleMs, 5000)). */
  claimIntervalMs?: number;
  /** More ioredis options for both connections. */
  redisOptions?: RedisOptions;
  /** Told about problems the tap recovers from (connection errors, a lost group). */
  onWarning?: (message: string, error?: unknown) => void;
}

/** One stream entry as Redis returns it to a Buffer command; `fields` is null for a deleted entry. */
interface RawEntry {
  stream: string;
  id: string;
  fields: Buffer[] | null;
}

const ENTRY_ID_RE = /^(\d{1,20})-(\d{1,20})$/;

/**
 * A stream entry as the mapping sees it. `fields` (the decoded strings) is built on first read:
 * the default mapping reads `rawFields` only, and decoding every field twice cost the Redis tap
 * one string per field and value per entry.
 */
class RedisEntryMessage implements TapMessage {
  readonly transport = 'redis';
  readonly topic: string;
  readonly partition = 0;
  readonly offset: string;
  readonly key = undefined;
  readonly value = undefined;
  readonly rawFields: [Buffer, Buffer][];
  readonly headers: Record<string, string> = Object.create(null);
  readonly timestamp: number;
  #fields: Record<string, string> | undefined;

  constructor(stream: string, id: string, rawFields: [Buffer, Buffer][]) {
    this.topic = stream;
    this.offset = id;
    this.rawFields = rawFields;
    this.timestamp = entryIdMs(id);
  }

  get fields(): Record<string, string> {
    if (this.#fields === undefined) {
      const fields: Record<string, string> = Object.create(null);
      // A plain assignment: on a prototype-less object even `__proto__` is an ordinary own key
      // (the accessor lives on Object.prototype), and it is several times cheaper than defineProperty.
      for (const [k, v] of this.rawFields) fields[k.toString('utf8')] = v.toString('utf8');
      this.#fields = fields;
    }
    return this.#fields;
  }
}

/** The message as the mapping sees it. */
export function redisTapMessage(stream: string, id: string, flat: readonly Buffer[]): TapMessage {
  const rawFields: [Buffer, Buffer][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) rawFields.push([flat[i]!, flat[i + 1]!]);
  return new RedisEntryMessage(stream, id, rawFields);
}

/** The millisecond part of a stream entry id (`1718000000000-3` → 1718000000000), or -1. */
export function entryIdMs(id: string): number {
  const m = ENTRY_ID_RE.exec(id);
  if (!m) return -1;
  const ms = Number(m[1]);
  return Number.isSafeInteger(ms) ? ms : -1;
}

/** Parse the reply of `XREADGROUP`/`XRANGE`-style entry lists. */
function parseEntries(stream: string, list: unknown): RawEntry[] {
  const out: RawEntry[] = [];
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (!Array.isArray(item) || item.length < 2) continue;
    const id = String(item[0]);
    const fields = Array.isArray(item[1]) ? (item[1] as Buffer[]) : null;
    out.push({ stream, id, fields });
  }
  return out;
}

/** A Redis Streams consumer group recording entries as VCP events; see the module comment. */
export class RedisTap {
  readonly runner: TapRunner;
  readonly consumer: string;
  readonly #url: string;
  readonly #streams: string[];
  readonly #group: string;
  readonly #startId: string;
  readonly #batch: number;
  readonly #maxInflight: number;
  readonly #blockMs: number;
  readonly #claimIdle: number;
  readonly #claimInterval: number;
  readonly #redisOptions: RedisOptions;
  readonly #warn: (message: string, error?: unknown) => void;
  #reader: Redis | undefined;
  #cmd: Redis | undefined;
  #readerId: number | undefined;
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #loop: Promise<void> | undefined;
  #nextClaim = 0;
  /** The batch being delivered; the next one is read, mapped and sealed meanwhile. */
  #inflight: Promise<void> = Promise.resolve();
  /** The batches at the sink, oldest first (settled promises: only for the window's size). */
  readonly #window: Promise<void>[] = [];
  #deliveryFailed = false;

  constructor(options: RedisTapOptions) {
    this.runner = new TapRunner(options, 'vcp-tap-redis');
    if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
      throw new VcpConfigError('RedisTap needs url: "redis://host:6379"');
    }
    if (!Array.isArray(options.streams) || options.streams.length === 0) {
      throw new VcpConfigError('RedisTap needs streams, e.g. ["trading-events"]');
    }
    for (const s of options.streams) {
      if (typeof s !== 'string' || s.length === 0)
        throw new VcpConfigError('RedisTap: stream keys must be non-empty strings');
    }
    if (typeof options.groupId !== 'string' || options.groupId.length === 0) {
      throw new VcpConfigError('RedisTap needs a groupId (taps of one group share the entries)');
    }
    this.#url = options.url;
    this.#streams = [...new Set(options.streams)];
    this.#group = options.groupId;
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}`;
    this.#startId = options.startId ?? '0';
    if (this.#startId !== '$' && !/^\d+(-\d+)?$/.test(this.#startId)) {
      throw new VcpConfigError('RedisTap startId must be "0", "$" or an entry id');
    }
    this.#batch = positive(options.batchSize, 500, 'batchSize');
    this.#maxInflight = positive(options.maxInflight, DEFAULT_TAP_INFLIGHT, 'maxInflight');
    this.#blockMs = positive(options.blockMs, 2000, 'blockMs');
    this.#claimIdle = positive(options.claimIdleMs, 30_000, 'claimIdleMs');
    this.#claimInterval = positive(
      options.claimIntervalMs,
      Math.min(this.#claimIdle, 5000),
      'claimIntervalMs',
    );
    this.#redisOptions = options.redisOptions ?? {};
    this.#warn = options.onWarning ?? (() => {});
  }

  /** Counters since start. */
  get stats(): TapStats {
    return this.runner.stats;
  }

  /** Connect, create the groups, and start recording. `done()` settles when the tap stops. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new VcpConfigError('RedisTap.start() can be called once');
    this.#state = 'running';
    const { Redis } = await loadRedisLibrary('RedisTap');
    const options: RedisOptions = { maxRetriesPerRequest: null, ...this.#redisOptions };
    this.#cmd = new Redis(this.#url, options);
    this.#reader = new Redis(this.#url, options);
    try {
      this.#readerId = Number(await this.#reader.client('ID'));
      await this.#ensureGroups();
    } catch (e) {
      this.#state = 'stopped';
      this.#reader.disconnect();
      this.#cmd.disconnect();
      throw e;
    }
    this.#loop = this.#run();
    this.#loop.catch(() => {});
  }

  /** Settles when the tap has stopped: resolves after `stop()`/`abort()`, rejects on a fatal error. */
  done(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /**
   * Graceful stop: finish the batch in flight (deliver, XACK) and disconnect.
   * Past `timeoutMs` the batch is abandoned unacknowledged (its entries stay
   * pending and are read again). Resolves `true` when nothing was abandoned.
   */
  async stop(timeoutMs = 30_000): Promise<boolean> {
    if (this.#state === 'new' || this.#state === 'stopped') {
      this.#state = 'stopped';
      return true;
    }
    this.#state = 'stopping';
    this.#unblock();
    const failure = await this.runner.finishLoop(this.#loop, timeoutMs);
    await this.#close(true);
    if (failure !== undefined) throw failure;
    return !this.runner.abandoned;
  }

  /** Hard stop, as a crash would: nothing more is acknowledged; the connections are dropped. */
  async abort(): Promise<void> {
    this.runner.abandon();
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    // Dropping the connections is the crash; the loop then ends on the error.
    this.#reader?.disconnect();
    this.#cmd?.disconnect();
    await this.#loop?.catch(() => {});
    await this.#close(false);
  }

  /**
   * Entries of the streams not yet acknowledged by the group: not yet delivered
   * (`lag`, Redis ≥ 7) plus pending. `undefined` when Redis cannot say.
   */
  async lag(): Promise<number | undefined> {
    const cmd = this.#cmd;
    if (!cmd || this.#state === 'stopped') return undefined;
    try {
      let total = 0;
      for (const stream of this.#streams) {
        const groups = (await cmd.xinfo('GROUPS', stream)) as unknown[][];
        for (const g of groups) {
          const info = new Map<string, unknown>();
          for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
          if (info.get('name') !== this.#group) continue;
          const lag = info.get('lag');
          if (lag === null || lag === undefined) return undefined;
          total += Number(lag) + Number(info.get('pending') ?? 0);
        }
      }
      return total;
    } catch {
      return undefined;
    }
  }

  // -- internals ------------------------------------------------------------

  async #ensureGroups(): Promise<void> {
    for (const stream of this.#streams) {
      try {
        await this.#cmd!.xgroup('CREATE', stream, this.#group, this.#startId, 'MKSTREAM');
      } catch (e) {
        if (!String((e as Error)?.message).startsWith('BUSYGROUP')) throw e;
      }
    }
  }

  async #run(): Promise<void> {
    let failures = 0;
    let drained = false;
    let caughtUp = true;
    while (this.#state === 'running') {
      try {
        if (this.#deliveryFailed) await this.#inflight; // rethrows: the tap stops
        if (!drained) {
          await this.#drainOwnPending();
          drained = true;
          continue;
        }
        if (Date.now() >= this.#nextClaim) {
          await this.#claim();
          this.#nextClaim = Date.now() + this.#claimInterval;
        }
        // Caught up (the last read was not full): let entries gather while the batch in flight is
        // delivered, so the next read takes them all at once instead of a trickle of tiny batches.
        // With a backlog (full reads), read on and map the next batch while this one is delivered.
        if (caughtUp) await this.#inflight;
        if (this.#state !== 'running') break;
        const block = Math.max(1, Math.min(this.#blockMs, this.#nextClaim - Date.now()));
        const reply = (await this.#reader!.callBuffer(
          'XREADGROUP',
          'GROUP',
          this.#group,
          this.consumer,
          'COUNT',
          this.#batch,
          'BLOCK',
          block,
          'STREAMS',
          ...this.#streams,
          ...this.#streams.map(() => '>'),
        )) as unknown[] | null;
        failures = 0;
        if (!reply) {
          caughtUp = true;
          continue;
        }
        const entries: RawEntry[] = [];
        for (const item of reply) {
          if (Array.isArray(item)) entries.push(...parseEntries(String(item[0]), item[1]));
        }
        caughtUp = entries.length < this.#batch;
        await this.#process(entries);
      } catch (e) {
        if (this.#state !== 'running') break;
        if (isFatal(e)) throw e;
        failures++;
        if (String((e as Error)?.message).startsWith('NOGROUP')) {
          this.#warn(`group ${this.#group} is gone; creating it again`, e);
          await this.#ensureGroups().catch(() => {});
        } else {
          this.#warn(`reading the streams failed; trying again: ${describeError(e)}`, e);
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(failures, 6))));
      }
    }
    await this.#inflight;
  }

  /** Re-read what this consumer had read but not acknowledged (a restart under the same name). */
  async #drainOwnPending(): Promise<void> {
    for (const stream of this.#streams) {
      let after = '0';
      while (this.#state === 'running') {
        const reply = (await this.#cmd!.callBuffer(
          'XREADGROUP',
          'GROUP',
          this.#group,
          this.consumer,
          'COUNT',
          this.#batch,
          'STREAMS',
          stream,
          after,
        )) as unknown[] | null;
        const item = reply?.[0];
        const entries = Array.isArray(item) ? parseEntries(stream, item[1]) : [];
        if (entries.length === 0) break;
        await this.#process(entries);
        if (this.runner.abandoned) return;
        after = entries.at(-1)!.id;
      }
    }
  }

  /** Take over entries other consumers left pending longer than claimIdleMs. */
  async #claim(): Promise<void> {
    for (const stream of this.#streams) {
      let cursor = '0-0';
      // Bounded rounds: a huge backlog of dead entries is taken over across several claim intervals.
      for (let round = 0; round < 10 && this.#state === 'running'; round++) {
        const reply = (await this.#cmd!.callBuffer(
          'XAUTOCLAIM',
          stream,
          this.#group,
          this.consumer,
          this.#claimIdle,
          cursor,
          'COUNT',
          this.#batch,
        )) as unknown[];
        const next = String(reply?.[0] ?? '0-0');
        const entries = parseEntries(stream, reply?.[1]);
        // Redis 7 lists the pending ids whose entries no longer exist (and drops them from the PEL).
        const deleted = Array.isArray(reply?.[2]) ? (reply[2] as Buffer[]).map(String) : [];
        for (const id of deleted) entries.push({ stream, id, fields: null });
        if (entries.length > 0) {
          this.runner.stats.reclaimed += entries.length;
          await this.#process(entries);
        }
        if (next === '0-0') break;
        cursor = next;
      }
    }
  }

  /**
   * Map and seal entries now (while earlier batches may still be in
   * delivery), then deliver them (at most `maxInflight` batches at the sink)
   * and XACK them once the sink acknowledged them and every earlier batch.
   */
  async #process(entries: RawEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const runner = this.runner;
    runner.stats.messages += entries.length;
    const events: VcpEvent[] = [];
    let skipped = 0;
    let parseErrors = 0;
    const live: TapMessage[] = [];
    for (const e of entries) {
      if (e.fields === null) {
        const m = redisTapMessage(e.stream, e.id, []);
        events.push(
          runner.gapEvent(
            m,
            'ENTRY_DELETED',
            `stream ${e.stream.slice(0, 200)} entry ${e.id} was deleted (trimmed?) before it was recorded`,
          ),
        );
      } else live.push(redisTapMessage(e.stream, e.id, e.fields));
    }
    if (live.length > 0) {
      const batch = runner.toEvents(live);
      events.push(...batch.events);
      skipped = batch.skipped;
      parseErrors = batch.parseErrors;
    }
    // At most maxInflight batches at the sink; a batch is acknowledged after the ones before it.
    while (this.#window.length >= this.#maxInflight) await this.#window.shift();
    if (this.#deliveryFailed) await this.#inflight; // rethrows: the tap stops
    if (runner.abandoned) return;
    this.#inflight = this.#deliver(entries, { events, skipped, parseErrors }, this.#inflight);
    this.#window.push(this.#inflight.catch(() => {}));
    this.#inflight.catch(() => {
      this.#deliveryFailed = true;
    });
  }

  /**
   * Deliver one batch; once the earlier batches (`previous`) were delivered too, XACK its
   * entries (an id Redis already dropped from the PEL is acknowledged harmlessly).
   */
  async #deliver(entries: RawEntry[], prepared: EventBatch, previous: Promise<void>): Promise<void> {
    const runner = this.runner;
    const delivered = await runner.deliver(prepared.events);
    await previous;
    if (!delivered) return; // abandoned: acknowledge nothing
    runner.stats.skipped += prepared.skipped;
    runner.stats.parseErrors += prepared.parseErrors;
    if (runner.abandoned) return;
    const byStream = new Map<string, string[]>();
    for (const e of entries) {
      let ids = byStream.get(e.stream);
      if (!ids) {
        ids = [];
        byStream.set(e.stream, ids);
      }
      ids.push(e.id);
    }
    for (const [stream, ids] of byStream) {
      try {
        await this.#cmd!.xack(stream, this.#group, ...ids);
        runner.stats.committed += ids.length;
      } catch (e) {
        runner.stats.commitErrors++;
        this.#warn(
          `XACK of ${ids.length} entries of ${stream} failed (they stay pending and are recorded again, as the same events): ${describeError(e)}`,
          e,
        );
      }
    }
  }

  #unblock(): void {
    // Ends a blocking XREADGROUP now instead of after blockMs.
    if (this.#readerId !== undefined) this.#cmd?.client('UNBLOCK', this.#readerId).catch(() => {});
  }

  async #close(graceful: boolean): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    for (const c of [this.#reader, this.#cmd]) {
      if (!c) continue;
      if (graceful) {
        // QUIT waits for a reply: bounded, then the connection is dropped either way.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          c.quit().catch(() => {}),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, 2000);
          }),
        ]);
        clearTimeout(timer);
      }
      c.disconnect();
    }
  }
}

/** Errors that retrying the read cannot fix: the tap stops with them. */
function isFatal(e: unknown): boolean {
  return e instanceof TapDeliveryError || String((e as Error)?.message).startsWith('WRONGTYPE');
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!(Number.isFinite(v) && v > 0)) throw new VcpConfigError(`RedisTap ${name} must be a positive number`);
  return Math.floor(v);
}
