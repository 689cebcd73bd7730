/**
 * Question: how long does one `GET /vcp/search` take over a full window (50,000 events scanned from the
 * embedded file store), and a trace lookup over 100,000 events (two windows), against a plain
 * `GET /vcp/export` of the same 50,000 events (the store's own streaming floor)?
 * Run: `node bench/console-search.ts`. Starts a sidecar on 127.0.0.1 in a temp folder; stops by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEvent } from '../src/core/builder.ts';
import { createPolicy } from '../src/core/policy.ts';
import { uuidv7 } from '../src/core/uuidv7.ts';
import { sealEvent } from '../src/integrity/seal.ts';
import { resolveSidecarConfig } from '../src/sidecar/config.ts';
import { startSidecar } from '../src/sidecar/server.ts';

const N = 100_000;

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vcp-bench-search-'));
  const sidecar = await startSidecar({
    config: resolveSidecarConfig({ port: '0', 'data-dir': dir, console: true }, {}, dir),
    log: () => {},
  });
  try {
    const policy = createPolicy({ policyId: 'com.example:bench', tier: 'GOLD' });
    let target = '';
    for (let i = 0; i < N; i += 4000) {
      const batch = [];
      for (let j = i; j < i + 4000; j += 4) {
        const traceId = uuidv7();
        if (j === 20_000) target = traceId;
        const o = { policy, traceId, venueId: 'XLON', accountId: 'A', symbol: 'EURUSD' };
        const td = { order_id: `ORD-${j}`, side: 'BUY', price: '1.0850', quantity: '100' };
        batch.push(
          ...(['SIG', 'ORD', 'ACK', 'EXE'] as const).map((t) =>
            sealEvent(buildEvent(t, t === 'SIG' ? {} : { trade_data: td }, o)),
          ),
        );
      }
      const r = await fetch(`${sidecar.url}/vcp/log`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      });
      if (r.status !== 201) throw new Error(`log ${r.status}`);
    }
    const time = async (path: string) => {
      const t0 = performance.now();
      const r = await fetch(`${sidecar.url}${path}`);
      const body = await r.text();
      return { ms: performance.now() - t0, body };
    };
    await time('/vcp/search?symbol=none'); // warm
    const exp = await time(`/vcp/export?from=${N - 50_000}&to=${N}`);
    const miss = await time('/vcp/search?symbol=none');
    const hit1 = await time(`/vcp/search?trace_id=${target}`);
    const next = JSON.parse(hit1.body).next_before;
    const hit2 = await time(`/vcp/search?trace_id=${target}&before=${next}`);
    const found = JSON.parse(hit2.body).events.length;
    console.log(`console-search: ${N} events in the file store`);
    console.log(`  export of 50,000 events        ${exp.ms.toFixed(0)} ms (the streaming floor)`);
    console.log(
      `  search window, no match        ${miss.ms.toFixed(0)} ms (ratio to export ${(miss.ms / exp.ms).toFixed(2)})`,
    );
    console.log(
      `  trace lookup, 2 windows        ${(hit1.ms + hit2.ms).toFixed(0)} ms (${found} events found)`,
    );
  } finally {
    await sidecar.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
