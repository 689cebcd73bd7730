/**
 * `vcp tap kafka|redis` as real processes (`node src/cli/run.ts tap …`):
 * SIGKILL mid-stream and restart (nothing lost, nothing stored twice),
 * SIGTERM (finish in flight, commit, exit 0), the progress line, and the
 * whole chain Kafka → tap → sidecar. Needs VCP_TEST_KAFKA_BROKERS and
 * VCP_TEST_REDIS_URL (each part skips with a message without its server).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Consumer, Producer } from '@platformatic/kafka';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../src/adapters/embedded-store.ts';
import { runVcp } from '../helpers/cli.ts';
import { redisUrl, skipReason } from '../helpers/env.ts';
import { createTopic, deleteTopics, describeKafka, uniqueTopic, withTimeout } from '../helpers/kafka.ts';
import { startChild } from '../sidecar/helpers.ts';

const RUN = join(import.meta.dirname, '../../src/cli/run.ts');

interface Child {
  proc: ChildProcess;
  /** The JSON line printed once consuming. */
  ready: Promise<Record<string, unknown>>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startTap(args: string[]): Child {
  const proc = spawn(process.execPath, [RUN, 'tap', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
    exited.then(({ code }) => reject(new Error(`tap exited with ${code} before starting: ${err}`)));
  });
  ready.catch(() => {});
  return { proc, ready, stderr: () => err, exited };
}

async function waitUntil(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// biome-ignore lint/suspicious/noExplicitAny: events read back from a file, probed field by field
function lines(file: string): Record<string, any>[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  // A SIGKILL can leave a torn last line; the FileSink repairs it on the next open.
  return text
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vcp-tap-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('vcp tap: arguments', () => {
  const vcp = (...argv: string[]) => runVcp(dir, ...argv);

  it('is listed, has help, and refuses incomplete or contradictory options with exit 2', async () => {
    expect((await vcp('--help')).out).toMatch(/tap +record Kafka topics or Redis streams/);
    expect((await vcp('tap', 'kafka', '--help')).out).toMatch(/vcp tap kafka --brokers/);
    expect(await vcp('tap', 'rabbit')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/unknown tap "rabbit"/),
    });
    const base = ['tap', 'kafka', '--brokers', '127.0.0.1:1', '--topics', 'orders', '--group', 'g'];
    expect(await vcp(...base)).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--sidecar <url>, --store <dir> or --out/),
    });
    expect(await vcp(...base, '--out', 'a.jsonl', '--sidecar', 'http://x')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/give one of --sidecar, --store or --out, not --sidecar and --out/),
    });
    expect(await vcp(...base, '--store', 'd', '--sidecar', 'http://x')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/not --sidecar and --store/),
    });
    expect(await vcp(...base, '--out', 'a.jsonl', '--topic-map', 'fills=trades')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/layout one of orders, executions, errors, event_type/),
    });
    expect(await vcp('tap', 'redis', '--streams', 's', '--group', 'g', '--out', 'a.jsonl')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--url is required/),
    });
    // --max-event is the sidecar's limit (the events the tap seals stay under it).
    expect(await vcp(...base, '--out', 'a.jsonl', '--max-event', '64KiB')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--max-event is the sidecar’s limit and goes with --sidecar/),
    });
    expect(await vcp(...base, '--sidecar', 'http://127.0.0.1:1', '--max-event', 'lots')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--max-event must be a size like 8MiB/),
    });
    expect(await vcp(...base, '--sidecar', 'http://127.0.0.1:1', '--max-event', '512')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--max-event must be at least 1KiB/),
    });
  });
});

async function produceOrders(brokers: string[], topic: string, n: number): Promise<void> {
  // Idempotent: a retried send under load must not put a message in the topic twice.
  const producer = new Producer({
    clientId: 'vcp-test-producer',
    bootstrapBrokers: brokers,
    idempotent: true,
  });
  try {
    for (let i = 0; i < n; i += 500) {
      const messages = [];
      for (let j = i; j < Math.min(n, i + 500); j++) {
        const value =
          j % 97 === 13
            ? 'not json'
            : JSON.stringify({
                order_id: `ORD-${j % 50}`,
                symbol: 'EURUSD',
                side: 'BUY',
                price: 1.085,
                quantity: j + 1,
              });
        messages.push({ topic, key: Buffer.from(`k${j % 50}`), value: Buffer.from(value) });
      }
      await withTimeout(producer.send({ messages }), 20_000, 'producing test messages');
    }
  } finally {
    await producer.close();
  }
}

async function committedAndEnd(
  brokers: string[],
  groupId: string,
  topic: string,
): Promise<{ committed: bigint; end: bigint }> {
  const c = new Consumer({ clientId: 'vcp-test-offsets', groupId, bootstrapBrokers: brokers });
  try {
    const end = (await c.listOffsets({ topics: [topic] })).get(topic) ?? [];
    const done =
      (await c.listCommittedOffsets({ topics: [{ topic, partitions: end.map((_, i) => i) }] })).get(topic) ??
      [];
    return {
      end: end.reduce((a, b) => a + b, 0n),
      committed: done.reduce((a, b) => a + (b > 0n ? b : 0n), 0n),
    };
  } finally {
    await c.close();
  }
}

describeKafka('vcp tap kafka (processes, real broker)', (brokers) => {
  const topics: string[] = [];
  afterAll(async () => {
    if (topics.length) await deleteTopics(brokers, topics);
  });

  it('SIGKILL mid-stream, restart, SIGTERM: every message is one event, offsets committed, exit 0', async () => {
    const topic = uniqueTopic('orders');
    topics.push(topic);
    await createTopic(brokers, topic, { partitions: 3 });
    const n = 3000;
    await produceOrders(brokers, topic, n);
    const group = uniqueTopic('vcp-tap-cli');
    expect((await committedAndEnd(brokers, group, topic)).end).toBe(BigInt(n));
    const out = join(dir, `${group}.jsonl`);
    const args = [
      'kafka',
      '--brokers',
      brokers.join(','),
      '--topics',
      topic,
      '--group',
      group,
      '--out',
      out,
      '--topic-map',
      `${topic}=orders`,
      '--batch-size',
      '10',
      '--session-timeout',
      '6000',
      // After every batch, as before the interval existed (the sidecar test below runs the default).
      '--commit-interval',
      '0',
      '--progress-interval',
      '200',
    ];

    const first = startTap(args);
    expect(await first.ready).toMatchObject({ tap: 'kafka', group, topics: [topic] });
    await waitUntil('some events in the file', 30_000, () => lines(out).length >= 50);
    first.proc.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const atKill = await committedAndEnd(brokers, group, topic);
    expect(atKill.committed).toBeLessThan(BigInt(n)); // really mid-stream

    const second = startTap(args);
    await second.ready;
    await waitUntil('all offsets committed', 60_000, async () => {
      const { committed, end } = await committedAndEnd(brokers, group, topic);
      return committed === end;
    });
    second.proc.kill('SIGTERM');
    const { code } = await withTimeout(second.exited, 30_000, 'the tap to exit after SIGTERM');
    expect(code).toBe(0);
    expect(second.stderr()).toMatch(
      /vcp tap kafka: \d+ events \([\d.k]+\/s\), \d+ ERR_PARSE, 0 skipped, committed \d+, lag \d+/,
    );
    expect(second.stderr()).toMatch(/SIGTERM: finishing the batch in flight/);
    expect(second.stderr()).toMatch(/done: \d+ events/);

    const events = lines(out);
    const ids = new Set(events.map((e) => e.header.event_id));
    expect(ids.size).toBe(n);
    const positions = new Set(
      events.map((e) => `${e.payload.source_message.partition}:${e.payload.source_message.offset}`),
    );
    expect(positions.size).toBe(n);
    const parse = events.filter((e) => e.header.event_type === 'ERR_PARSE');
    expect(new Set(parse.map((e) => e.header.event_id)).size).toBe(Math.ceil((n - 13) / 97));
  });

  it('Kafka → tap → sidecar: a killed and restarted tap stores every message exactly once, and the export verifies', async () => {
    const topic = uniqueTopic('orders');
    topics.push(topic);
    await createTopic(brokers, topic, { partitions: 2 });
    const n = 1000;
    await produceOrders(brokers, topic, n);
    expect((await committedAndEnd(brokers, 'nobody', topic)).end).toBe(BigInt(n));
    const dataDir = mkdtempSync(join(dir, 'sidecar-'));
    const sidecar = await startChild(['--port', '0', '--data-dir', dataDir]);
    try {
      const group = uniqueTopic('vcp-tap-sidecar');
      const args = [
        'kafka',
        '--brokers',
        brokers.join(','),
        '--topics',
        topic,
        '--group',
        group,
        '--sidecar',
        sidecar.url,
        '--topic-map',
        `${topic}=orders`,
        '--batch-size',
        '20',
        '--session-timeout',
        '6000',
        '--progress-interval',
        '0',
      ];
      const health = async () =>
        (await (await fetch(`${sidecar.url}/health`)).json()) as { tree_size: number };
      const first = startTap(args);
      await first.ready;
      await waitUntil('some events stored', 30_000, async () => (await health()).tree_size >= 100);
      first.proc.kill('SIGKILL');
      await first.exited;
      const second = startTap(args);
      await second.ready;
      await waitUntil('all offsets committed', 60_000, async () => {
        const { committed, end } = await committedAndEnd(brokers, group, topic);
        return committed === end;
      });
      second.proc.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
      // Replayed events were deduplicated by id: the tree holds each message once.
      expect((await health()).tree_size).toBe(n);

      const exportFile = join(dir, `${group}.export.jsonl`);
      writeFileSync(exportFile, await (await fetch(`${sidecar.url}/vcp/export`)).text());
      const pub = join(dataDir, 'signing.pub');
      const verified = await runVcp(
        dir,
        'verify',
        exportFile,
        '--pubkey',
        pub,
        '--insecure-allow-local-anchors',
      );
      const out = verified.out + verified.err;
      expect(verified.code, out).toBe(0);
      expect(out).toMatch(new RegExp(`PROVEN: .*${n} events, complete up to tree size ${n}`));
    } finally {
      sidecar.proc.kill('SIGTERM');
      await sidecar.exited;
    }
  });
});

const rurl = redisUrl();
if (!rurl) console.warn(skipReason('Redis', 'VCP_TEST_REDIS_URL', 'e.g. redis://127.0.0.1:6379'));

describe.skipIf(!rurl)('vcp tap redis (process, real Redis)', () => {
  /** A sidecar (child process, fresh data folder) started with `--max-event 8KiB`. */
  const sidecarTakingAtMost8KiB = (prefix: string) =>
    startChild(['--port', '0', '--data-dir', mkdtempSync(join(dir, prefix)), '--max-event', '8KiB']);
  /** `vcp tap redis` on `stream` in group g, then `more`. */
  const redisTap = (stream: string, ...more: string[]) =>
    startTap(['redis', '--url', rurl!, '--streams', stream, '--group', 'g', ...more]);

  it('records a stream in the guide layout; SIGTERM acknowledges and exits 0', async () => {
    const redis = new Redis(rurl!);
    const stream = `vcp-test:tap-cli:${process.pid}:${randomBytes(4).toString('hex')}`;
    try {
      const n = 300;
      const pipe = redis.pipeline();
      for (let i = 0; i < n; i++) {
        pipe.xadd(
          stream,
          '*',
          'event_type',
          'ORD',
          'order_id',
          `R-${i % 10}`,
          'symbol',
          'EURUSD',
          'side',
          'BUY',
          'price',
          '1.0850',
          'quantity',
          String(i + 1),
        );
      }
      await pipe.exec();
      const out = join(dir, 'redis.jsonl');
      const tap = redisTap(stream, '--consumer', 'cli-1', '--out', out, '--progress-interval', '100');
      expect(await tap.ready).toMatchObject({ tap: 'redis', group: 'g', streams: [stream] });
      await waitUntil('every entry acknowledged', 20_000, async () => {
        const [count] = (await redis.xpending(stream, 'g')) as [number];
        const info = (await redis.xinfo('GROUPS', stream)) as unknown[][];
        const lag = info[0]![info[0]!.indexOf('lag') + 1];
        return Number(count) === 0 && Number(lag) === 0;
      });
      await waitUntil('a progress line', 5000, () => /lag 0/.test(tap.stderr()));
      tap.proc.kill('SIGTERM');
      expect((await withTimeout(tap.exited, 20_000, 'the tap to exit')).code).toBe(0);
      expect(tap.stderr()).toMatch(
        /vcp tap redis: 300 events \(.*\), 0 ERR_PARSE, 0 skipped, committed 300, lag 0/,
      );
      const events = lines(out);
      expect(events).toHaveLength(n);
      expect(events.every((e) => e.payload.trade_data.price === '1.0850')).toBe(true);
    } finally {
      await redis.del(stream);
      redis.disconnect();
    }
  });

  it("--sidecar takes the sidecar's --max-event from its GET /health: a message too large for it becomes ERR_PARSE, stored in its place", async () => {
    const redis = new Redis(rurl!);
    const stream = `vcp-test:tap-limit:${process.pid}:${randomBytes(4).toString('hex')}`;
    // The sidecar takes events of up to 8 KiB; the tap's default is 128 KiB. Before, the tap sealed the 12 KB event,
    // the sidecar refused it (413) and the tap's sink dead-lettered it: a message missing from the log.
    const sidecar = await sidecarTakingAtMost8KiB('limit-');
    try {
      for (const note of ['small', 'x'.repeat(12_000), 'small again'])
        await redis.xadd(
          stream,
          '*',
          'event_type',
          'ORD',
          'order_id',
          'L-1',
          'symbol',
          'EURUSD',
          'note',
          note,
        );
      const tap = redisTap(stream, '--sidecar', sidecar.url, '--progress-interval', '0');
      await tap.ready;
      const health = async () =>
        (await (await fetch(`${sidecar.url}/health`)).json()) as { tree_size: number };
      await waitUntil('three events stored', 20_000, async () => (await health()).tree_size === 3);
      tap.proc.kill('SIGTERM');
      expect((await withTimeout(tap.exited, 20_000, 'the tap to exit')).code).toBe(0);
      expect(tap.stderr()).toMatch(/the sidecar takes events of up to 8192 bytes \(its GET \/health\)/);
      expect(tap.stderr()).not.toMatch(/failed|dead/i);
      const exported = (await (await fetch(`${sidecar.url}/vcp/export`)).text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { header?: { event_type: string }; payload?: unknown });
      const events = exported.filter((e) => e.header);
      expect(events.map((e) => e.header!.event_type)).toEqual(['ORD', 'ERR_PARSE', 'ORD']);
      expect(JSON.stringify(events[1]!.payload)).toMatch(/8192/);
    } finally {
      sidecar.proc.kill('SIGTERM');
      await sidecar.exited;
      await redis.del(stream);
      redis.disconnect();
    }
  });

  it("--sidecar says when it cannot read the limit (and starts anyway), and when --max-event is above the sidecar's", async () => {
    const stream = `vcp-test:tap-limit-warn:${process.pid}:${randomBytes(4).toString('hex')}`;
    // Nothing listens on port 1: the tap keeps the default and starts (the sink waits for the sidecar, as before).
    const down = redisTap(stream, '--progress-interval', '0', '--sidecar', 'http://127.0.0.1:1');
    await down.ready;
    // stderr and stdout are separate pipes: the warning, written first, may arrive after the ready line.
    const unreadable =
      /could not read the sidecar's event limit \(.+\); sealing events of up to 131072 bytes/;
    await waitUntil('the warning', 5000, () => unreadable.test(down.stderr()));
    down.proc.kill('SIGTERM');
    expect((await withTimeout(down.exited, 20_000, 'the tap to exit')).code).toBe(0);
    const sidecar = await sidecarTakingAtMost8KiB('warn-');
    try {
      const above = redisTap(
        stream,
        '--progress-interval',
        '0',
        '--sidecar',
        sidecar.url,
        '--max-event',
        '64KiB',
      );
      await above.ready;
      await waitUntil('the warning', 5000, () =>
        /--max-event 65536 is more than the 8192 bytes the sidecar takes/.test(above.stderr()),
      );
      above.proc.kill('SIGTERM');
      expect((await withTimeout(above.exited, 20_000, 'the tap to exit')).code).toBe(0);
    } finally {
      sidecar.proc.kill('SIGTERM');
      await sidecar.exited;
      const redis = new Redis(rurl!);
      await redis.del(stream);
      redis.disconnect();
    }
  });

  it('--sidecar asks GET /health beside a prefixed log URL, takes the limit from a 503, and gives up on a stalling server in 3 s', async () => {
    const stream = `vcp-test:tap-limit-odd:${process.pid}:${randomBytes(4).toString('hex')}`;
    const asked: string[] = [];
    // A proxy in front of a failing sidecar: its /health answers 503 with the full body; a stalling one sends a
    // byte every second and never ends.
    const server = createServer((req, res) => {
      asked.push(req.url ?? '');
      if (req.url === '/tenant-a/health') {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'failing', max_event_bytes: 8192 }));
      } else if (req.url === '/stall/health') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{');
        const beat = setInterval(() => res.write(' '), 1000);
        res.on('close', () => clearInterval(beat));
      } else res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const prefixed = redisTap(
        stream,
        '--progress-interval',
        '0',
        '--sidecar',
        `${origin}/tenant-a/vcp/log`,
      );
      await prefixed.ready;
      await waitUntil('the limit', 5000, () => /takes events of up to 8192 bytes/.test(prefixed.stderr()));
      expect(asked).toContain('/tenant-a/health');
      prefixed.proc.kill('SIGTERM');
      await withTimeout(prefixed.exited, 20_000, 'the tap to exit');
      const started = Date.now();
      const stalled = redisTap(stream, '--progress-interval', '0', '--sidecar', `${origin}/stall/vcp/log`);
      await stalled.ready;
      expect(Date.now() - started).toBeLessThan(10_000);
      await waitUntil('the warning', 5000, () =>
        /could not read the sidecar's event limit/.test(stalled.stderr()),
      );
      stalled.proc.kill('SIGTERM');
      await withTimeout(stalled.exited, 20_000, 'the tap to exit');
    } finally {
      server.closeAllConnections();
      server.close();
      const redis = new Redis(rurl!);
      await redis.del(stream);
      redis.disconnect();
    }
  });

  it('--store <dir>: writes into an embedded store in its own process; the reopened folder holds every entry once', async () => {
    const redis = new Redis(rurl!);
    const stream = `vcp-test:tap-store:${process.pid}:${randomBytes(4).toString('hex')}`;
    try {
      const n = 200;
      const pipe = redis.pipeline();
      for (let i = 0; i < n; i++) {
        pipe.xadd(stream, '*', 'event_type', 'ORD', 'order_id', `S-${i}`, 'symbol', 'EURUSD', 'side', 'BUY');
      }
      await pipe.exec();
      const store = join(dir, 'tap-store');
      const args = ['redis', '--url', rurl!, '--streams', stream, '--group', 'g', '--store', store];
      const tap = startTap([...args, '--consumer', 'cli-1', '--progress-interval', '100']);
      expect(await tap.ready).toMatchObject({ tap: 'redis', sink: expect.stringMatching(/embedded-store/) });
      await waitUntil('every entry acknowledged', 20_000, async () => {
        const [count] = (await redis.xpending(stream, 'g')) as [number];
        const info = (await redis.xinfo('GROUPS', stream)) as unknown[][];
        return Number(count) === 0 && Number(info[0]![info[0]!.indexOf('lag') + 1]) === 0;
      });
      tap.proc.kill('SIGTERM');
      expect((await withTimeout(tap.exited, 20_000, 'the tap to exit')).code).toBe(0);
      // The folder is an ordinary sidecar store: reopened here, it holds each entry once.
      const opened = await openEmbeddedStore({ dataDir: store, log: () => {} });
      try {
        expect(opened.log.ctx.tree.size).toBe(n);
        const ids = new Set<string>();
        for await (const e of opened.log.ctx.store.scan(0, n)) ids.add(e.eventId);
        expect(ids.size).toBe(n);
      } finally {
        await opened.close();
      }
    } finally {
      await redis.del(stream);
      redis.disconnect();
    }
  });
});
