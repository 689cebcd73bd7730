/**
 * The Redis Streams sink: each sealed event becomes one stream entry
 * (`XADD`), with `ioredis` (an optional peer dependency, loaded on first use
 * unless a client is passed in).
 *
 * Entry fields: `event` (the event's JSON), `event_id`, `event_type`,
 * `trace_id` — consumers can filter without parsing `event`. The entry id is
 * Redis's (`*`).
 *
 * A batch is one `MULTI … EXEC` of `XADD`s sent in one round trip: Redis
 * applies it as a unit, so a batch is never half-appended by a lost
 * connection, and `write` resolves only after Redis replied to it. No
 * trimming unless `maxLen` is set, and then `MAXLEN ~ maxLen` (approximate
 * trimming, which Redis does cheaply on whole macro-nodes): an audit stream
 * must not lose entries unless the operator asked for it.
 *
 * Durability is Redis's: with `appendfsync always` a reply means on disk;
 * with the default `everysec`, up to a second can be lost in a Redis crash.
 * Failures (connection lost, timeout, `WRONGTYPE`…) reject with a
 * `SinkError`; a batch whose reply was lost may have been appended, so a
 * retry can duplicate entries — as the same event ids.
 */

import type { Redis, RedisOptions } from 'ioredis';
import { VcpConfigError } from '../core/errors.ts';
import type { VcpEvent } from '../core/types.ts';
import { InflightWrite } from './_inflight.ts';
import { describeError, SinkError } from './errors.ts';
import type { Sink } from './sink.ts';

/** Options of {@link RedisStreamSink}. */
export interface RedisStreamSinkOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). Give this or `client`. */
  url?: string;
  /** A connected ioredis client to use (not closed by `close()`: it is yours). */
  client?: Redis;
  /** The stream key. */
  stream: string;
  /** Trim with `MAXLEN ~ maxLen` on every append (default: never trim). */
  maxLen?: number;
  /** Deadline of each batch, ms (default 10 000). */
  timeoutMs?: number;
  /** More ioredis options for the client made from `url`. */
  redisOptions?: RedisOptions;
}

/** Load `ioredis`, or say how to install it. */
export async function loadRedisLibrary(who: string): Promise<{ Redis: typeof Redis }> {
  try {
    const lib = await import('ioredis');
    return { Redis: lib.Redis };
  } catch (e) {
    throw new VcpConfigError(`${who} needs the ioredis package: npm install ioredis`, { cause: e });
  }
}

/** Sealed events appended to one Redis stream; see the module comment. */
export class RedisStreamSink implements Sink {
  readonly name: string;
  readonly stream: string;
  readonly #url: string | undefined;
  readonly #maxLen: number | undefined;
  readonly #timeoutMs: number;
  readonly #redisOptions: RedisOptions;
  readonly #owned: boolean;
  #client: Promise<Redis> | undefined;
  readonly #inflight = new InflightWrite();
  #closed = false;

  constructor(options: RedisStreamSinkOptions) {
    if (!options || typeof options.stream !== 'string' || options.stream.length === 0) {
      throw new VcpConfigError('RedisStreamSink needs { stream: "<key>" }');
    }
    if (!options.client && typeof options.url !== 'string') {
      throw new VcpConfigError('RedisStreamSink needs { url: "redis://host:6379" } or { client }');
    }
    if (options.maxLen !== undefined && !(Number.isSafeInteger(options.maxLen) && options.maxLen > 0)) {
      throw new VcpConfigError('RedisStreamSink maxLen must be a positive integer');
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!(timeoutMs > 0))
      throw new VcpConfigError('RedisStreamSink timeoutMs must be a positive number of ms');
    this.stream = options.stream;
    this.name = `redis:${this.stream}`;
    this.#url = options.url;
    this.#maxLen = options.maxLen;
    this.#timeoutMs = timeoutMs;
    this.#redisOptions = options.redisOptions ?? {};
    this.#owned = !options.client;
    if (options.client) this.#client = Promise.resolve(options.client);
  }

  async write(events: readonly VcpEvent[]): Promise<void> {
    if (this.#closed) throw new SinkError(`${this.name} is closed`, { retryable: false, reason: 'closed' });
    if (events.length === 0) return;
    await this.#inflight.track(this.#write(events));
  }

  async flush(): Promise<void> {
    await this.#inflight.settled();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#inflight.settled();
    if (!this.#owned) return;
    const client = await this.#client?.catch(() => undefined);
    if (!client) return;
    // QUIT waits for Redis's reply: bounded, then the connection is dropped either way.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.quit().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.min(this.#timeoutMs, 2000));
      }),
    ]);
    clearTimeout(timer);
    client.disconnect();
  }

  async #write(events: readonly VcpEvent[]): Promise<void> {
    const client = await this.#getClient();
    const tx = client.multi();
    for (const e of events) {
      const fields = [
        'event',
        JSON.stringify(e),
        'event_id',
        e.header.event_id,
        'event_type',
        e.header.event_type,
        'trace_id',
        e.header.trace_id,
      ];
      if (this.#maxLen !== undefined) tx.xadd(this.stream, 'MAXLEN', '~', this.#maxLen, '*', ...fields);
      else tx.xadd(this.stream, '*', ...fields);
    }
    let timer: NodeJS.Timeout | undefined;
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await Promise.race([
        tx.exec(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new SinkError(`${this.name}: Redis did not reply within ${this.#timeoutMs} ms`, {
                  retryable: true,
                  reason: 'timeout',
                }),
              ),
            this.#timeoutMs,
          );
        }),
      ]);
    } catch (e) {
      if (e instanceof SinkError) throw e;
      throw new SinkError(`${this.name}: XADD failed: ${describeError(e)}`, {
        retryable: !isCommandError(e),
        reason: 'redis',
        cause: e,
      });
    } finally {
      clearTimeout(timer);
    }
    if (replies === null) {
      throw new SinkError(`${this.name}: the transaction was aborted`, { retryable: true, reason: 'redis' });
    }
    const failed = replies.find(([err]) => err !== null);
    if (failed) {
      throw new SinkError(`${this.name}: XADD failed: ${describeError(failed[0])}`, {
        retryable: !isCommandError(failed[0]),
        reason: 'redis',
        cause: failed[0],
      });
    }
  }

  #getClient(): Promise<Redis> {
    if (this.#client) return this.#client;
    this.#client = (async () => {
      const { Redis } = await loadRedisLibrary('RedisStreamSink');
      return new Redis(this.#url!, { maxRetriesPerRequest: 2, ...this.#redisOptions });
    })();
    this.#client.catch(() => {
      this.#client = undefined;
    });
    return this.#client;
  }
}

/**
 * A reply error from Redis itself (`WRONGTYPE`, `ERR …`): the command was
 * refused and sending it again cannot help. Connection errors are not.
 */
function isCommandError(e: unknown): boolean {
  return (e as { name?: string } | null)?.name === 'ReplyError';
}
