/**
 * `vcp tap kafka|redis …`: run a Kafka or Redis Streams tap as a standalone
 * process, sending the events to the sidecar (or appending them to a file).
 *
 * Prints one JSON line on stdout once consuming (`{"tap":"kafka",…}`), then
 * a progress line on stderr every `--progress-interval` ms (events, events/s,
 * ERR_PARSE count, committed, lag). SIGTERM or SIGINT shuts down gracefully:
 * the batch in flight is delivered and committed/acknowledged, the consumer
 * leaves its group, the sink is closed, exit 0. A second signal exits at once
 * (code 1; nothing is lost: uncommitted messages are read again, as the same
 * events). If the in-flight batch cannot be delivered within
 * `--shutdown-timeout`, the tap exits 1 leaving it uncommitted.
 */
import { parseArgs } from 'node:util';
import { openEmbeddedStore } from '../adapters/embedded-store.ts';
import { KafkaTap } from '../adapters/kafka-tap.ts';
import { createDefaultMapping, GUIDE_TOPICS, type TopicLayout } from '../adapters/message-mapping.ts';
import { RedisTap } from '../adapters/redis-tap.ts';
import { formatRate, type TapRunnerOptions, type TapStats } from '../adapters/tap-runner.ts';
import { TIERS, type Tier } from '../core/enums.ts';
import { VcpConfigError } from '../core/errors.ts';
import { loadPrivateKeyFile } from '../integrity/keys.ts';
import { createSigner } from '../integrity/sign.ts';
import { parseSize } from '../sidecar/config.ts';
import { describeError } from '../sinks/errors.ts';
import { FileSink } from '../sinks/file.ts';
import { createHttpSink } from '../sinks/http.ts';
import { readSidecarLimits, type SidecarLimits, sidecarBatchEvents } from '../sinks/sidecar-limits.ts';
import { MIN_SEALED_EVENT_BYTES, SIDECAR_MAX_EVENT_BYTES, type Sink } from '../sinks/sink.ts';
import { type CliIo, EXIT, UsageError } from './io.ts';

export const TAP_USAGE = `usage:
  vcp tap kafka --brokers <host:port,…> --topics <t1,t2,…> --group <id> (--sidecar <url> | --store <dir> | --out <file.jsonl>) [options]
  vcp tap redis --url <redis://host:6379> --streams <s1,…> --group <id> (--sidecar <url> | --store <dir> | --out <file.jsonl>) [options]

Records every message of existing Kafka topics / Redis streams as a sealed VCP
event, and commits offsets (XACKs entries) only after the sink acknowledged
the events. Event ids are derived from topic/partition/offset (stream/entry
id), so messages read again after a crash become the same events, which the
sidecar stores once. Messages that cannot be mapped become ERR_PARSE events.

where the events go (one of):
  --sidecar <url>            the sidecar (POST /vcp/log); bearer token from --token or VCP_SIDECAR_TOKEN
  --token <token>
  --max-event <size>         the sidecar's --max-event (default: what its GET /health reports, else 128KiB):
                             a message whose event would be larger becomes an ERR_PARSE event, which the
                             sidecar stores
  --spool <dir>              while the sidecar is down, spool to disk and commit (default: wait and retry;
                             the topic or stream is the buffer)
  --out <file.jsonl>         append to a JSONL file instead (fsync every batch)
  --store <dir>              write into a sidecar store in this process, no HTTP hop (the folder of
                             vcp sidecar --data-dir, same checks, tree and anchors; not while a sidecar
                             serves it); VCP_SIDECAR_* settings apply

mapping (default: the integration guide's):
  --topic-map <name=layout,…> layout of a topic/stream: orders, executions, errors or event_type
                             (default: orders, executions, errors by name; others event_type)
  --trace-field <field>      field whose value ties the events of one order into a trace (default order_id)
  --policy-id <id>           policy of the events (default local:vcp-tap:<kafka|redis>; or VCP_POLICY_ID)
  --tier <tier>              SILVER (default), GOLD or PLATINUM
  --venue-id <id>  --account-id <id>
  --signing-key-file <file>  sign each event (Ed25519); without it the sidecar signs
  --id-namespace <ns>        mixed into derived event ids (give taps of different clusters different ones)

kafka:
  --brokers <list>  --topics <list>  --group <id>
  --client-id <id>           (default vcp-kafka-tap)
  --start-from <where>       earliest (default) or latest, for a group with no committed offsets
  --session-timeout <ms>     (default 30000)
  --commit-interval <ms>     least time between offset commits (default 200; 0: after every batch)

redis:
  --url <url>  --streams <list>  --group <id>
  --consumer <name>          this consumer's name in the group (default <hostname>-<pid>; use a stable one)
  --start-id <id>            where a new group starts: 0 (default) or $
  --claim-idle <ms>          reclaim entries pending this long in a dead consumer (default 30000)
  --block <ms>               longest blocking read (default 2000)

process:
  --batch-size <n>           most messages per batch (default 500)
  --progress-interval <ms>   progress line on stderr every this often (default 5000; 0 = never)
  --shutdown-timeout <ms>    how long SIGTERM waits for the batch in flight (default 30000)
  --help, -h

exit codes: 0 stopped by SIGTERM/SIGINT after delivering the batch in flight; 1 the tap
stopped on an error, or the batch in flight was not delivered in time (it is read again
on restart); 2 usage or configuration error`;

const OPTIONS = {
  sidecar: { type: 'string' },
  token: { type: 'string' },
  'max-event': { type: 'string' },
  spool: { type: 'string' },
  out: { type: 'string' },
  store: { type: 'string' },
  'topic-map': { type: 'string' },
  'trace-field': { type: 'string' },
  'policy-id': { type: 'string' },
  tier: { type: 'string' },
  'venue-id': { type: 'string' },
  'account-id': { type: 'string' },
  'signing-key-file': { type: 'string' },
  'id-namespace': { type: 'string' },
  brokers: { type: 'string' },
  topics: { type: 'string' },
  group: { type: 'string' },
  'client-id': { type: 'string' },
  'start-from': { type: 'string' },
  'session-timeout': { type: 'string' },
  'commit-interval': { type: 'string' },
  url: { type: 'string' },
  streams: { type: 'string' },
  consumer: { type: 'string' },
  'start-id': { type: 'string' },
  'claim-idle': { type: 'string' },
  block: { type: 'string' },
  'batch-size': { type: 'string' },
  'progress-interval': { type: 'string' },
  'shutdown-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

const LAYOUTS: readonly TopicLayout[] = ['orders', 'executions', 'errors', 'event_type'];

function list(value: string | undefined, flag: string): string[] {
  const items = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new UsageError(`--${flag} is required\n\n${TAP_USAGE}`);
  return items;
}

function int(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
    throw new UsageError(`--${flag} must be a whole number ≥ ${min}, not "${value}"`);
  }
  return Number(value);
}

function topicMap(value: string | undefined): Record<string, TopicLayout> {
  const map: Record<string, TopicLayout> = { ...GUIDE_TOPICS };
  if (value === undefined) return map;
  for (const pair of value.split(',')) {
    const [name, layout] = pair.split('=').map((s) => s.trim());
    if (!name || !layout || !LAYOUTS.includes(layout as TopicLayout)) {
      throw new UsageError(
        `--topic-map takes name=layout pairs with layout one of ${LAYOUTS.join(', ')}, not "${pair}"`,
      );
    }
    Object.defineProperty(map, name, { value: layout, enumerable: true, writable: true, configurable: true });
  }
  return map;
}

function checkSinkChoice(v: Values): void {
  const given = [v.sidecar && '--sidecar', v.out && '--out', v.store && '--store'].filter(Boolean);
  if (given.length > 1)
    throw new UsageError(`give one of --sidecar, --store or --out, not ${given.join(' and ')}`);
  if (given.length === 0)
    throw new UsageError(`--sidecar <url>, --store <dir> or --out <file.jsonl> is required\n\n${TAP_USAGE}`);
  if (v['max-event'] !== undefined && !v.sidecar)
    throw new UsageError(
      '--max-event is the sidecar’s limit and goes with --sidecar (a --store takes VCP_SIDECAR_MAX_EVENT)',
    );
}

/** `--max-event` in bytes, refused as a usage error when it is no size or below the sidecar's least (1 KiB). */
function maxEvent(text: string): number {
  let bytes: number;
  try {
    bytes = parseSize(text, '--max-event');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (bytes < 1024)
    throw new UsageError(`--max-event must be at least 1KiB, as the sidecar's (got "${text}")`);
  return bytes;
}

/**
 * The sidecar's limits as its `GET /health` reports them (the full body needs the token), or why they could not
 * be read. An event the sidecar refuses as too large is dead-lettered, and with a hash chain leaves a gap, so the
 * tap seals nothing larger than the sidecar takes. A slow or hostile server delays the start by at most 3 s.
 */
async function askSidecar(sidecar: string, token: string | undefined): Promise<SidecarLimits | string> {
  try {
    return await readSidecarLimits(sidecar, token ? { token } : {});
  } catch (e) {
    if (e instanceof VcpConfigError) throw new UsageError(`--sidecar/--token: ${e.message}`);
    return e instanceof Error ? e.message.replace(/^cannot read the sidecar's limits: /, '') : String(e);
  }
}

/**
 * The tap's HTTP limits with `--sidecar`: the event limit is `--max-event` if given, else the sidecar's own, else
 * the default; batches are no longer than the sidecar takes in one request.
 */
async function httpLimits(
  v: Values,
  token: string | undefined,
  warn: (m: string) => void,
): Promise<{ maxEventBytes: number; maxBatchEvents?: number }> {
  const given = v['max-event'] !== undefined ? maxEvent(v['max-event']) : undefined;
  const limits = await askSidecar(v.sidecar!, token);
  if (typeof limits === 'string') {
    if (given === undefined)
      warn(
        `could not read the sidecar's event limit (${limits}); sealing events of up to ${SIDECAR_MAX_EVENT_BYTES} bytes, its default (--max-event to set it)`,
      );
    return { maxEventBytes: given ?? SIDECAR_MAX_EVENT_BYTES };
  }
  const told = limits.maxEventBytes;
  const batchEvents = sidecarBatchEvents(limits);
  const batch = batchEvents !== undefined ? { maxBatchEvents: batchEvents } : {};
  if (given === undefined) {
    if (told < MIN_SEALED_EVENT_BYTES)
      throw new UsageError(
        `the sidecar takes events of at most ${told} bytes (its GET /health), less than the ${MIN_SEALED_EVENT_BYTES} a tap needs for the ERR_PARSE event that stands in for a message too large: raise the sidecar's --max-event`,
      );
    if (told !== SIDECAR_MAX_EVENT_BYTES)
      warn(`the sidecar takes events of up to ${told} bytes (its GET /health): the tap seals nothing larger`);
    return { maxEventBytes: told, ...batch };
  }
  if (given > told)
    warn(
      `warning: --max-event ${given} is more than the ${told} bytes the sidecar takes (its GET /health): it will refuse the events in between`,
    );
  return { maxEventBytes: given, ...batch };
}

async function makeSink(v: Values, io: CliIo, warn: (m: string) => void): Promise<Sink> {
  if (v.store) {
    return openEmbeddedStore({
      dataDir: v.store.startsWith('/') ? v.store : `${io.cwd}/${v.store}`,
      log: (line) => io.err(`vcp tap: store: ${line}\n`),
    });
  }
  if (v.out)
    return new FileSink({ path: v.out.startsWith('/') ? v.out : `${io.cwd}/${v.out}`, fsync: 'every-write' });
  if (!v.sidecar) throw new UsageError(`--sidecar <url> or --out <file.jsonl> is required\n\n${TAP_USAGE}`);
  const token = v.token ?? io.env.VCP_SIDECAR_TOKEN;
  const limits = await httpLimits(v, token, warn);
  return createHttpSink({
    url: v.sidecar,
    ...(token ? { token } : {}),
    // The tap retries forever itself; these only smooth over a blip within one delivery attempt.
    retry: { retries: 2, maxDelayMs: 1000 },
    breaker: false,
    ...(v.spool ? { spoolDir: v.spool } : {}),
    ...limits,
  });
}

function commonOptions(kind: 'kafka' | 'redis', v: Values, io: CliIo, sink: Sink): TapRunnerOptions {
  const tier = (v.tier ?? 'SILVER').toUpperCase();
  if (!TIERS.includes(tier as Tier)) throw new UsageError(`--tier must be one of ${TIERS.join(', ')}`);
  const options: TapRunnerOptions = {
    sink,
    policyId: v['policy-id'] ?? io.env.VCP_POLICY_ID ?? `local:vcp-tap:${kind}`,
    tier: tier as Tier,
    mapping: createDefaultMapping({
      topics: topicMap(v['topic-map']),
      traceField: v['trace-field'] ?? 'order_id',
    }),
    onSinkError: (error, attempt, delay) => {
      if (attempt === 1 || attempt % 10 === 0) {
        io.err(
          `vcp tap ${kind}: ${sink.name} failed (attempt ${attempt}, retrying in ${Math.round(delay)} ms): ${describeError(error)}\n`,
        );
      }
    },
  };
  if (v['venue-id'] !== undefined) options.venueId = v['venue-id'];
  if (v['account-id'] !== undefined) options.accountId = v['account-id'];
  if (v['id-namespace'] !== undefined) options.idNamespace = v['id-namespace'];
  if (v['signing-key-file']) options.signer = createSigner(loadPrivateKeyFile(v['signing-key-file']));
  return options;
}

interface Tap {
  stats: TapStats;
  start(): Promise<void>;
  stop(timeoutMs?: number): Promise<boolean>;
  done(): Promise<void>;
  lag(): Promise<number | undefined>;
}

function progressLine(kind: string, stats: TapStats, rate: number, lag: number | undefined): string {
  return (
    `vcp tap ${kind}: ${stats.events} events (${formatRate(rate)}), ${stats.parseErrors} ERR_PARSE, ` +
    `${stats.skipped} skipped, committed ${stats.committed}` +
    `${stats.reclaimed ? `, reclaimed ${stats.reclaimed}` : ''}` +
    `${stats.sinkRetries ? `, sink retries ${stats.sinkRetries}` : ''}, lag ${lag ?? '?'}\n`
  );
}

/** `vcp tap kafka|redis …`; see the module comment. */
export async function tapCommand(argv: string[], io: CliIo): Promise<number> {
  const [kind, ...rest] = argv;
  if (!kind || kind === '--help' || kind === '-h' || kind === 'help') {
    io.out(`${TAP_USAGE}\n`);
    return kind ? EXIT.ok : EXIT.usage;
  }
  if (kind !== 'kafka' && kind !== 'redis')
    throw new UsageError(`unknown tap "${kind}" (kafka or redis)\n\n${TAP_USAGE}`);
  const { values, positionals } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true });
  const v = values as Values;
  if (v.help) {
    io.out(`${TAP_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const progressMs = int(v['progress-interval'], 'progress-interval', 0) ?? 5000;
  const shutdownMs = int(v['shutdown-timeout'], 'shutdown-timeout', 1) ?? 30_000;
  const batch = int(v['batch-size'], 'batch-size', 1);
  const group = v.group;
  if (!group) throw new UsageError(`--group is required\n\n${TAP_USAGE}`);

  // Validate everything before connecting anywhere.
  const topics = kind === 'kafka' ? list(v.topics, 'topics') : list(v.streams, 'streams');
  if (kind === 'kafka') list(v.brokers, 'brokers');
  else if (!v.url) throw new UsageError(`--url is required\n\n${TAP_USAGE}`);
  checkSinkChoice(v);
  const warn = (message: string) => io.err(`vcp tap ${kind}: ${message}\n`);
  const sink = await makeSink(v, io, warn);
  let tap: Tap;
  try {
    const common = commonOptions(kind, v, io, sink);
    if (kind === 'kafka') {
      const startFrom = v['start-from'] ?? 'earliest';
      if (startFrom !== 'earliest' && startFrom !== 'latest')
        throw new UsageError('--start-from must be earliest or latest');
      tap = new KafkaTap({
        ...common,
        brokers: v.brokers!,
        topics,
        groupId: group,
        startFrom,
        onWarning: warn,
        ...(v['client-id'] ? { clientId: v['client-id'] } : {}),
        ...(batch ? { maxBatch: batch } : {}),
        ...(v['session-timeout']
          ? { sessionTimeoutMs: int(v['session-timeout'], 'session-timeout', 1000) }
          : {}),
        ...(v['commit-interval']
          ? { commitIntervalMs: int(v['commit-interval'], 'commit-interval', 0) }
          : {}),
      });
    } else {
      tap = new RedisTap({
        ...common,
        url: v.url!,
        streams: topics,
        groupId: group,
        onWarning: warn,
        ...(v.consumer ? { consumer: v.consumer } : {}),
        ...(v['start-id'] ? { startId: v['start-id'] } : {}),
        ...(v['claim-idle'] ? { claimIdleMs: int(v['claim-idle'], 'claim-idle', 1) } : {}),
        ...(v.block ? { blockMs: int(v.block, 'block', 1) } : {}),
        ...(batch ? { batchSize: batch } : {}),
      });
    }
    await tap.start();
  } catch (e) {
    await sink.close().catch(() => {});
    throw e;
  }

  // Graceful shutdown on the first SIGTERM/SIGINT; a second one exits at once.
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const force = (signal: NodeJS.Signals) => {
    io.err(
      `vcp tap ${kind}: second ${signal}: exiting without finishing the batch in flight (it is read again on restart)\n`,
    );
    process.exit(1);
  };
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal) => {
      process.off('SIGTERM', onSignal!);
      process.off('SIGINT', onSignal!);
      process.once('SIGTERM', force);
      process.once('SIGINT', force);
      resolve(signal);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });

  // The ready line only once the signal handlers are in place: a supervisor that stops the tap as soon as it reads
  // the line gets the graceful stop, never the default exit of a process without a SIGTERM handler.
  io.out(
    `${JSON.stringify({ tap: kind, group, [kind === 'kafka' ? 'topics' : 'streams']: topics, sink: sink.name })}\n`,
  );

  // Progress: events/s over the last interval, lag from the broker (best effort, never blocking the tap).
  let timer: NodeJS.Timeout | undefined;
  let lastEvents = 0;
  let lastAt = Date.now();
  let lagBusy = false;
  const report = async () => {
    if (lagBusy) return;
    lagBusy = true;
    try {
      const now = Date.now();
      const rate = ((tap.stats.events - lastEvents) * 1000) / Math.max(1, now - lastAt);
      lastEvents = tap.stats.events;
      lastAt = now;
      const lag = await Promise.race([
        tap.lag(),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref()),
      ]);
      io.err(progressLine(kind, tap.stats, rate, lag));
    } finally {
      lagBusy = false;
    }
  };
  if (progressMs > 0) {
    timer = setInterval(() => void report(), progressMs);
    timer.unref();
  }

  const started = Date.now();
  let code: number = EXIT.ok;
  try {
    const outcome = await Promise.race([
      signalled.then((signal) => ({ signal })),
      tap.done().then(
        () => ({ signal: undefined }),
        (error: unknown) => ({ error }),
      ),
    ]);
    if ('error' in outcome) {
      io.err(`vcp tap ${kind}: stopped: ${describeError(outcome.error)}\n`);
      code = EXIT.invalid;
      await tap.stop(shutdownMs).catch(() => {});
    } else {
      if (outcome.signal)
        io.err(`vcp tap ${kind}: ${outcome.signal}: finishing the batch in flight, then exiting\n`);
      const clean = await tap.stop(shutdownMs).catch((e: unknown) => {
        io.err(`vcp tap ${kind}: stopped: ${describeError(e)}\n`);
        code = EXIT.invalid;
        return true;
      });
      if (!clean) {
        io.err(
          `vcp tap ${kind}: the batch in flight was not delivered within ${shutdownMs} ms; it stays uncommitted and is read again on restart\n`,
        );
        code = EXIT.invalid;
      }
    }
  } finally {
    clearInterval(timer);
    if (onSignal) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    process.off('SIGTERM', force);
    process.off('SIGINT', force);
    await sink
      .close()
      .catch((e: unknown) => io.err(`vcp tap ${kind}: closing ${sink.name}: ${describeError(e)}\n`));
  }
  const secs = Math.max(0.001, (Date.now() - started) / 1000);
  io.err(
    `vcp tap ${kind}: done: ${tap.stats.events} events in ${secs.toFixed(1)} s (${formatRate(tap.stats.events / secs)}), ` +
      `${tap.stats.parseErrors} ERR_PARSE, committed ${tap.stats.committed}\n`,
  );
  return code;
}
