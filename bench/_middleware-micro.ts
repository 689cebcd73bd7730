/**
 * Profile driver for the HTTP middleware (not part of `npm run bench`): the
 * per-request work of `vcpExpress` / `vcpKoa` in a tight loop, on real
 * `http.IncomingMessage` / `ServerResponse` objects without a socket, so the
 * middleware's own cost (trace id, store, ALS run, header echo, 'close'
 * listener, and for `vcp` the route mapping and `record()`) is measured
 * without the network and the load generator that dominate
 * `bench/middleware.ts` on a shared 2-core machine. The recorder's sealing
 * runs too (batched, as in a server); `RECORD=0` swaps in a recorder whose
 * `record()` only counts, to separate the two.
 * Run: `node bench/_middleware-micro.ts` (N requests per sample, default 200 000).
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { vcpExpress } from '../src/instrument/express.ts';
import { vcpKoa } from '../src/instrument/koa.ts';
import { createRecorder } from '../src/recorder/recorder.ts';
import type { VcpRecorder } from '../src/recorder/types.ts';
import { MemorySink } from '../src/sinks/memory.ts';
import { orderExtract } from './_harness.ts';

const N = Number(process.env.N ?? 200_000);
/** Requests per event-loop turn (a server at a low rate sees one; at full speed, dozens). */
const PER_TURN = Number(process.env.PER_TURN ?? 0);
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const TRACE_ID = '0190f5a8-3c4e-7b2a-9d1e-5f6a7b8c9d0e';
const sink = new MemorySink();
const real = createRecorder({ sink, policyId: 'local:bench:middleware', exitHooks: false });
let counted = 0;
const recorder: VcpRecorder =
  process.env.RECORD === '0'
    ? (Object.assign(Object.create(real), {
        record: () => {
          counted++;
          return 'id';
        },
      }) as VcpRecorder)
    : real;

const socket = new Socket();
function request(): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/orders/ORD-1';
  req.headers = { host: 'localhost', 'x-vcp-trace-id': TRACE_ID };
  const res = new ServerResponse(req);
  return { req, res };
}
/** What the server does at the end of a response, as far as the middleware sees it. */
function finish(res: ServerResponse): void {
  res.statusCode = 200;
  // writableFinished / headersSent are getters on a socket-less response: fake a sent response.
  Object.defineProperty(res, 'writableFinished', { value: true });
  Object.defineProperty(res, 'headersSent', { value: true });
  res.emit('close');
}

type Variant = 'bare' | 'trace' | 'vcp';
const noop = () => {};

function express(variant: Variant): () => Promise<void> {
  const mw =
    variant === 'trace'
      ? vcpExpress({ recorder })
      : vcpExpress({
          recorder,
          routes: {
            'GET /orders/:id': { eventType: 'ACK', extract: (_q, _s, info) => orderExtract(info.params.id!) },
          },
        });
  return async () => {
    for (let i = 0; i < N; i++) {
      const { req, res } = request();
      (req as unknown as { originalUrl: string }).originalUrl = req.url!;
      if (variant !== 'bare') mw(req, res, noop);
      finish(res);
      if (PER_TURN > 0 && i % PER_TURN === PER_TURN - 1) await turn();
      if ((i & 1023) === 1023) await real.flush(); // let the recorder seal, as a server's loop would
    }
  };
}

function koa(variant: Variant): () => Promise<void> {
  const mw =
    variant === 'trace'
      ? vcpKoa({ recorder })
      : vcpKoa({
          recorder,
          routes: {
            'GET /orders/:id': { eventType: 'ACK', extract: (_ctx, info) => orderExtract(info.params.id!) },
          },
        });
  const next = async () => {};
  return async () => {
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      const { req, res } = request();
      const ctx = { req, res, method: 'GET', originalUrl: req.url!, request: {}, state: {} };
      batch.push(variant === 'bare' ? next() : mw(ctx, next));
      if ((i & 1023) === 1023) {
        await Promise.all(batch);
        batch.length = 0;
        await real.flush();
      }
      finish(res);
      if (PER_TURN > 0 && i % PER_TURN === PER_TURN - 1) await turn();
    }
    await Promise.all(batch);
  };
}

const cases: [string, () => Promise<void>][] = [];
for (const v of ['bare', 'trace', 'vcp'] as const)
  cases.push([`express ${v}`, express(v)], [`koa ${v}`, koa(v)]);
const only = process.env.CASES?.split(',');
const results = new Map<string, number[]>();
for (let round = 0; round < Number(process.env.ROUNDS ?? 5); round++) {
  for (const [name, fn] of cases) {
    if (only && !only.some((o) => name.includes(o))) continue;
    const c0 = process.cpuUsage();
    await fn();
    await real.flush();
    sink.clear();
    const c = process.cpuUsage(c0);
    if (round > 0) results.set(name, [...(results.get(name) ?? []), (c.user + c.system) / N]);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const fw of ['express', 'koa']) {
  const bare = results.get(`${fw} bare`);
  for (const v of ['bare', 'trace', 'vcp']) {
    const xs = results.get(`${fw} ${v}`);
    if (!xs) continue;
    const extra = bare && v !== 'bare' ? `  (+${(med(xs) - med(bare)).toFixed(2)} µs over bare)` : '';
    console.log(
      `${fw} ${v}: ${med(xs).toFixed(2)} µs/request CPU [${xs.map((x) => x.toFixed(2)).join(', ')}]${extra}`,
    );
  }
}
console.log(
  `recorder: ${JSON.stringify(real.stats())}${process.env.RECORD === '0' ? `, counted ${counted}` : ''}`,
);
