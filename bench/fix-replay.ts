/**
 * Question: how fast does `vcp fix-replay` turn a FIX engine log into a
 * verifiable export, against the ceiling of merely reading and parsing the
 * same log (no mapping, no sealing)?
 *
 * Generates a 1-million-message QuickFIX/J-style log (BENCH_QUICK=1: 100 000)
 * with a realistic mix — per order D, ExecutionReports 0 / F / F, some
 * cancels (F → 8/4, or 9 when too late), replaces (G → 8/5), unknown-symbol
 * rejects, heartbeats — then measures, one pass each over the same file:
 *
 *   1. read + parse (the ceiling): log reader + prefix split + FIX parser;
 *   2. + map: the adapter making draft events (no sealing);
 *   3. replay to an export, events hashed and chained, one signed anchor (`--sign anchor`);
 *   4. replay to an export, every event signed (the default).
 *
 * Run: `node bench/fix-replay.ts`.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFixAdapter } from '../src/adapters/fix/adapter.ts';
import { parseLogLine, readLogLines } from '../src/adapters/fix/log-reader.ts';
import { parseFixMessage } from '../src/adapters/fix/parser.ts';
import { replayFixLogToFile } from '../src/adapters/fix/replay.ts';
import { createPolicy } from '../src/core/policy.ts';
import { createHashChain } from '../src/integrity/chain.ts';
import { generateSigningKey } from '../src/integrity/sign.ts';
import { blackhole, fmtOps, measure } from './_harness.ts';

const SOH = '\x01';

/** Build one SOH message with BodyLength and CheckSum. */
function fix(body: string): string {
  const head = `8=FIX.4.4${SOH}9=${body.length}${SOH}${body}`;
  let sum = 0;
  for (let i = 0; i < head.length; i++) sum += head.charCodeAt(i);
  return `${head}10=${String(sum % 256).padStart(3, '0')}${SOH}`;
}

/** Write a log of about `target` messages; returns the exact count. */
export function generateLog(file: string, target: number): number {
  const C = 'CLIENT12';
  const B = 'BROKER01';
  let out = 0;
  let inn = 0;
  let ms = Date.UTC(2024, 2, 15, 8, 0, 0);
  let n = 0;
  const parts: string[] = [];
  const symbols = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA', 'JPM'];
  const ts = () => {
    ms += 1 + (n % 3);
    const d = new Date(ms).toISOString(); // 2024-03-15T08:00:00.000Z
    return `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}-${d.slice(11, 23)}`;
  };
  const line = (dir: 'out' | 'in', type: string, fields: string) => {
    const t = ts();
    const seq = dir === 'out' ? ++out : ++inn;
    const [s, d] = dir === 'out' ? [C, B] : [B, C];
    parts.push(
      `${t}: ${fix(`35=${type}${SOH}34=${seq}${SOH}49=${s}${SOH}52=${t}${SOH}56=${d}${SOH}${fields}`)}\n`,
    );
    n++;
  };
  const f = (...kv: (string | number)[]) => {
    let s = '';
    for (let i = 0; i < kv.length; i += 2) s += `${kv[i]}=${kv[i + 1]}${SOH}`;
    return s;
  };
  let order = 0;
  let flushed = 0;
  writeFileSync(file, '');
  while (n < target) {
    order++;
    const id = `ORD-${order}`;
    const sym = symbols[order % symbols.length]!;
    const px = `${100 + (order % 400)}.${String(order % 100).padStart(2, '0')}`;
    const side = order % 2 ? 1 : 2;
    const common = f(1, 'ACC-7781', 54, side, 55, sym);
    line('out', 'D', f(11, id, 21, 1, 38, 100, 40, 2, 44, px, 59, 0, 60, '20240315-08:00:00.000') + common);
    if (order % 50 === 0) {
      line(
        'in',
        '8',
        f(
          11,
          id,
          17,
          `E${order}r`,
          37,
          'NONE',
          39,
          8,
          150,
          8,
          103,
          1,
          58,
          'Unknown symbol',
          151,
          0,
          14,
          0,
          6,
          0,
        ) + common,
      );
      continue;
    }
    const oid = `B-${order}`;
    line(
      'in',
      '8',
      f(11, id, 17, `E${order}a`, 37, oid, 39, 0, 150, 0, 38, 100, 151, 100, 14, 0, 6, 0) + common,
    );
    let cl = id;
    if (order % 7 === 0) {
      const nid = `${id}-R`;
      line('out', 'G', f(11, nid, 41, cl, 37, oid, 38, 100, 40, 2, 44, px, 59, 0) + common);
      line(
        'in',
        '8',
        f(11, nid, 41, cl, 17, `E${order}m`, 37, oid, 39, 0, 150, 5, 151, 100, 14, 0, 6, 0) + common,
      );
      cl = nid;
    }
    if (order % 10 === 0) {
      const cid = `${id}-C`;
      line('out', 'F', f(11, cid, 41, cl, 37, oid, 38, 100) + common);
      if (order % 20 === 0)
        line('in', '9', f(11, cid, 41, cl, 37, oid, 39, 0, 102, 0, 434, 1, 58, 'Too late to cancel'));
      else {
        line(
          'in',
          '8',
          f(11, cid, 41, cl, 17, `E${order}c`, 37, oid, 39, 4, 150, 4, 151, 0, 14, 0, 6, 0) + common,
        );
        continue;
      }
    }
    line(
      'in',
      '8',
      f(
        11,
        cl,
        17,
        `E${order}p`,
        37,
        oid,
        39,
        1,
        150,
        'F',
        31,
        px,
        32,
        40,
        151,
        60,
        14,
        40,
        6,
        px,
        12,
        '0.40',
        13,
        3,
      ) + common,
    );
    line(
      'in',
      '8',
      f(
        11,
        cl,
        17,
        `E${order}f`,
        37,
        oid,
        39,
        2,
        150,
        'F',
        31,
        px,
        32,
        60,
        151,
        0,
        14,
        100,
        6,
        px,
        12,
        '0.60',
        13,
        3,
      ) + common,
    );
    if (order % 4 === 0) line(order % 8 ? 'out' : 'in', '0', '');
    if (parts.length - flushed > 50_000) {
      writeFileSync(file, parts.splice(0).join(''), { flag: 'a' });
      flushed = 0;
    }
  }
  writeFileSync(file, parts.join(''), { flag: 'a' });
  return n;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, value };
}

/** Run every measurement and print the rates and ratios. */
export async function run(): Promise<void> {
  const target = process.env.BENCH_QUICK === '1' ? 100_000 : 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'vcp-bench-fix-'));
  try {
    const log = join(dir, 'fix.messages.log');
    const gen = await timed(async () => generateLog(log, target));
    const messages = gen.value;
    console.log(
      `\n## FIX replay: ${messages} messages, ${(statSync(log).size / 1e6).toFixed(0)} MB log (generated in ${gen.seconds.toFixed(1)} s)`,
    );
    const policy = createPolicy({ policyId: 'local:bench:fix-replay', hashChain: true });

    // 1. The ceiling: read and parse, nothing else.
    const ceiling = await timed(async () => {
      let parsed = 0;
      for await (const lines of readLogLines(log)) {
        for (const l of lines) {
          const e = parseLogLine(l.text);
          if (e.message && parseFixMessage(e.message).ok) parsed++;
        }
      }
      return parsed;
    });
    if (ceiling.value !== messages) throw new Error(`parsed ${ceiling.value} of ${messages}`);

    // 2. + mapping to draft events.
    const mapped = await timed(async () => {
      let events = 0;
      const adapter = createFixAdapter({
        policy,
        timeSource: 'message',
        onEvent: (d) => {
          events++;
          blackhole(d);
        },
      });
      for await (const lines of readLogLines(log)) {
        for (const l of lines) {
          const e = parseLogLine(l.text);
          adapter.onMessage(e.message ?? l.text, {
            idSeed: `${l.line}\n${l.text}`,
            ...(e.time ? { receivedAt: e.time } : {}),
          });
        }
      }
      return events;
    });

    // 3 and 4. The real thing, into an export file.
    const replay = (signEvents: boolean) =>
      timed(() =>
        replayFixLogToFile(log, join(dir, `events-${signEvents}.jsonl`), {
          policy,
          chain: createHashChain(),
          signer: generateSigningKey(),
          signEvents,
        }),
      );
    const anchorOnly = await replay(false);
    rmSync(join(dir, 'events-false.jsonl')); // ~1.5 GB for 1M events: do not keep two
    const signed = await replay(true);
    const events = signed.value.events;

    const rate = (s: number) => messages / s;
    const rows: [string, number, number | undefined][] = [
      ['read + parse (ceiling)', ceiling.seconds, undefined],
      ['+ map to draft events', mapped.seconds, mapped.value],
      ['replay → export, anchor signed', anchorOnly.seconds, anchorOnly.value.events],
      ['replay → export, every event signed', signed.seconds, events],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [name, s, ev] of rows) {
      const ratio = rate(s) / rate(ceiling.seconds);
      console.log(
        `${name.padEnd(w)}  ${s.toFixed(2).padStart(6)} s  ${fmtOps(rate(s)).padStart(10)} msgs${ev !== undefined ? `  ${fmtOps(ev / s).padStart(10)} events` : ''}  ${(ratio * 100).toFixed(1).padStart(5)} % of the ceiling`,
      );
    }
    console.log(
      `events: ${events} from ${messages} messages (${signed.value.adapter.skipped} heartbeats/session skipped); export ${(statSync(join(dir, 'events-true.jsonl')).size / 1e6).toFixed(0)} MB`,
    );
    console.log(
      `replay (every event signed) / read+parse: ${(ceiling.seconds / signed.seconds).toFixed(3)}×`,
    );
    // The other ceiling of the signed replay: one Ed25519 signature per event, measured now.
    const signer = generateSigningKey();
    const hashes = Array.from({ length: 64 }, (_, i) => i.toString(16).padStart(64, '0'));
    const sign = measure('Ed25519 sign', (i) => signer.sign(hashes[i & 63]!), { timeMs: 1000 });
    console.log(
      `Ed25519 signing alone: ${fmtOps(sign.opsPerSec)}; signed replay events/s ÷ signing rate: ${(events / signed.seconds / sign.opsPerSec).toFixed(2)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await run();
