/**
 * A real sidecar for the auditor's-view tests: a file store in a temporary
 * folder, the console on, and order flows (SIG → ORD → ACK → EXE) in several
 * traces, anchored to the local file target, with more events after the
 * anchor. One order id carries hostile markup, which must stay text.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildEvent } from '../../src/core/builder.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { uuidv7 } from '../../src/core/uuidv7.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { post, tempDir, testConfig } from '../sidecar/helpers.ts';

const policy = createPolicy({ policyId: 'com.example.trading:console-test', tier: 'GOLD' });

/** Markup that would run if anything were not escaped. */
export const HOSTILE =
  '</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><b>bold</b>';

/** The four events of one order, in one trace. */
export function orderFlow(n: number, traceId = uuidv7(), symbol = n % 2 ? 'EURUSD' : 'GBPUSD'): VcpEvent[] {
  const orderId = n === 1 ? HOSTILE : `ORD-${n}`;
  const opts = { policy, traceId, venueId: 'XLON', accountId: 'ACC-1', symbol };
  const trade = {
    order_id: orderId,
    symbol,
    side: 'BUY',
    order_type: 'LIMIT',
    price: '1.0850',
    quantity: '100000',
  };
  return [
    buildEvent('SIG', {}, opts),
    buildEvent('ORD', { trade_data: trade }, opts),
    buildEvent('ACK', { trade_data: { order_id: orderId, symbol } }, opts),
    buildEvent('EXE', { trade_data: { ...trade, executed_price: '1.0851', executed_qty: '100000' } }, opts),
  ].map((d) => sealEvent(d));
}

/** A running sidecar with data. */
export interface ConsoleFixture {
  sidecar: Sidecar;
  dir: string;
  /** Trace ids, in the order they were logged (all before the anchor but the last). */
  traces: string[];
  events: VcpEvent[];
  /** Path of the sidecar's public key (PEM). */
  pubkeyPath: string;
  close(): Promise<void>;
}

/** Start it: `traces` order flows, an anchor, then one more flow after it. */
export async function startConsoleFixture(
  options: { traces?: number; flags?: Record<string, string | boolean> } = {},
): Promise<ConsoleFixture> {
  const folder = tempDir('vcp-console-');
  const sidecar = await startSidecar({
    config: testConfig(folder.dir, { console: true, ...options.flags }),
    log: () => {},
  });
  const token = typeof options.flags?.token === 'string' ? options.flags.token : undefined;
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const traces: string[] = [];
  const events: VcpEvent[] = [];
  const n = options.traces ?? 6;
  for (let i = 0; i <= n; i++) {
    const flow = orderFlow(i);
    traces.push(flow[0]!.header.trace_id);
    events.push(...flow);
    const r = await post(`${sidecar.url}/vcp/log`, flow, auth);
    if (r.status !== 201) throw new Error(`log: ${r.status} ${r.text}`);
    if (i === Math.floor(n / 2) || i === n - 1) {
      const a = await post(`${sidecar.url}/vcp/anchor`, {}, auth);
      if (a.status !== 201) throw new Error(`anchor: ${a.status} ${a.text}`);
    }
  }
  const pubkeyPath = join(folder.dir, 'pinned.pub');
  await writeFile(pubkeyPath, sidecar.context.signer.exportPublicKey('pem'));
  return {
    sidecar,
    dir: folder.dir,
    traces,
    events,
    pubkeyPath,
    close: async () => {
      await sidecar.close();
      folder.cleanup();
    },
  };
}
