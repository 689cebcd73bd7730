/**
 * `vcp demo [--dir <folder>]`: the whole product in one run, with nothing
 * installed. Starts a sidecar on a free loopback port with a temporary data
 * folder, drives a decorated trading strategy through SIG→ORD→ACK→EXE (and
 * one order the risk check rejects) via the recorder and the HTTP sink,
 * anchors the Merkle root to the local file target, exports the log and
 * verifies it like an auditor would, then prints a short report.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runWithTrace } from '../context/trace-store.ts';
import { uuidv7 } from '../core/uuidv7.ts';
import { configureVcp } from '../instrument/configure.ts';
import { VcpLogged } from '../instrument/decorator.ts';
import { parseExport } from '../integrity/export-format.ts';
import { generateSigningKey } from '../integrity/sign.ts';
import { createRecorder } from '../recorder/recorder.ts';
import { createAnchoringFactory } from '../sidecar/anchor/server-adapter.ts';
import { resolveSidecarConfig } from '../sidecar/config.ts';
import { startSidecar } from '../sidecar/server.ts';
import { createHttpSink } from '../sinks/http.ts';
import { SEVERITY, verifyRecords } from '../verify/index.ts';
import { type CliIo, EXIT } from './io.ts';

export const DEMO_USAGE = `usage: vcp demo [--dir <folder>]

Starts a sidecar on a free loopback port, drives a decorated strategy through
SIG→ORD→ACK→EXE plus one order rejected by the risk check (recorded as
ERR_REJECT) via the HTTP sink, anchors the Merkle root (local file target),
exports the log, verifies it offline and prints where the files are.
Default folder: a new temporary one.

exit codes: 0 the export verified (PROVEN but for its development-only local
anchor); 1 it did not, or events were lost; 2 usage error`;

/** Raised by the demo's risk check; its name maps to an ERR_REJECT event. */
class OrderRejectedError extends Error {
  override name = 'OrderRejectedError';
  readonly code = 'ORDER_REJECTED';
}

/** The demo strategy. Its methods are decorated below, as `@VcpLogged(...)` would. */
class TrendFollower {
  readonly maxQuantity = 500_000;

  signal(symbol: string, strength: number) {
    return { symbol, side: strength > 0 ? 'BUY' : 'SELL', confidence: Math.abs(strength).toFixed(2) };
  }

  placeOrder(orderId: string, side: string, price: string, quantity: string) {
    if (Number(quantity) > this.maxQuantity) {
      throw new OrderRejectedError(`quantity ${quantity} exceeds the ${this.maxQuantity} limit`);
    }
    return { orderId, side, price, quantity, status: 'SENT' };
  }

  onAck(orderId: string, brokerOrderId: string) {
    return { orderId, brokerOrderId };
  }

  onFill(orderId: string, side: string, price: string, quantity: string) {
    return { orderId, side, price, quantity };
  }
}

/** Apply a TC39 method decorator by hand (this file runs without a decorator transform). */
function decorate(cls: { prototype: object }, name: string, decorator: ReturnType<typeof VcpLogged>): void {
  const proto = cls.prototype as Record<string, unknown>;
  const original = proto[name] as (...args: unknown[]) => unknown;
  const ctx = { kind: 'method', name, static: false, private: false, metadata: {}, addInitializer() {} };
  const replaced = (decorator as unknown as (f: unknown, c: unknown) => unknown)(original, ctx);
  Object.defineProperty(proto, name, { value: replaced ?? original, writable: true, configurable: true });
}

decorate(
  TrendFollower,
  'signal',
  VcpLogged('SIG', ([symbol], result) => ({
    vcp_gov: {
      algo_id: 'trend-follower',
      algo_version: '1.4.2',
      decision_factors: [{ name: 'ema_cross', value: String(symbol), weight: '1' }],
      confidence_score: (result as { confidence: string }).confidence,
    },
  })),
);
decorate(
  TrendFollower,
  'placeOrder',
  VcpLogged('ORD', ([orderId, side, price, quantity]) => ({
    trade_data: {
      order_id: String(orderId),
      side: String(side),
      order_type: 'LIMIT',
      price: String(price),
      quantity: String(quantity),
    },
  })),
);
decorate(
  TrendFollower,
  'onAck',
  VcpLogged('ACK', ([orderId, brokerOrderId]) => ({
    trade_data: { order_id: String(orderId), broker_order_id: String(brokerOrderId) },
  })),
);
decorate(
  TrendFollower,
  'onFill',
  VcpLogged('EXE', ([orderId, side, price, quantity]) => ({
    trade_data: {
      order_id: String(orderId),
      side: String(side),
      execution_price: String(price),
      executed_qty: String(quantity),
    },
  })),
);

export async function demoCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.out(`${DEMO_USAGE}\n`);
    return EXIT.ok;
  }
  const dir = values.dir ? resolve(io.cwd, values.dir) : await mkdtemp(join(tmpdir(), 'vcp-demo-'));
  await mkdir(dir, { recursive: true });
  const dataDir = join(dir, 'sidecar-data');
  const logLines: string[] = [];

  // 1. A sidecar on a free loopback port, local file anchoring.
  const config = resolveSidecarConfig(
    { port: '0', 'data-dir': dataDir, tier: 'SILVER', 'policy-id': 'local:vcp-demo:sidecar' },
    {},
    dir,
  );
  const sidecar = await startSidecar({
    config,
    anchoring: createAnchoringFactory({ targets: ['file'], tier: 'SILVER' }),
    log: (line) => logLines.push(line),
  });
  try {
    // 2. The recorder: hash chain, per-event Ed25519, HTTP sink to the sidecar.
    const signer = generateSigningKey();
    const recorder = createRecorder({
      policyId: 'local:vcp-demo:trend-follower-1',
      // SILVER: the demo's clock is best-effort, and GOLD requires an NTP- or PTP-synced clock (v1.1 §9.1.1).
      tier: 'SILVER',
      sink: createHttpSink({ url: sidecar.url }),
      signer,
      chain: true,
      venueId: 'XLON',
      accountId: 'DEMO-ACC-1',
      symbol: 'EURUSD',
      exitHooks: false,
    });
    configureVcp({ recorder });
    const strategy = new TrendFollower();
    const traceId = uuidv7();
    const rejectedTrace = uuidv7();

    // 3. One trade through its life, and one order the risk check refuses.
    runWithTrace(traceId, () => {
      strategy.signal('EURUSD', 0.82);
      strategy.placeOrder('ORD-0001', 'BUY', '1.0850', '100000');
      strategy.onAck('ORD-0001', 'BRK-77123');
      strategy.onFill('ORD-0001', 'BUY', '1.0849', '100000');
    });
    let rejection = '';
    runWithTrace(rejectedTrace, () => {
      try {
        strategy.placeOrder('ORD-0002', 'BUY', '1.0851', '900000');
      } catch (e) {
        rejection = (e as Error).message;
      }
    });
    await recorder.close();
    const stats = recorder.stats();

    // 4. Anchor now, export, verify offline.
    const anchorRes = await fetch(`${sidecar.url}/vcp/anchor`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    const anchor = (await anchorRes.json()) as { anchor_id: string; merkle_root: string; tree_size: number };
    const exportText = await (await fetch(`${sidecar.url}/vcp/export`)).text();
    const exportPath = join(dir, 'export.jsonl');
    const recorderKeyPath = join(dir, 'recorder-signing.pub');
    await writeFile(exportPath, exportText);
    await writeFile(recorderKeyPath, signer.exportPublicKey('pem'));
    const sidecarKeyPath = sidecar.publicKeyPath ?? join(dataDir, 'signing.pub');

    const parsed = parseExport(exportText);
    const verifyOptions = { publicKeys: [signer.publicKey, sidecar.context.signer.publicKey] };
    const lines = exportText.split('\n');
    // The auditor's default: external anchoring required, so a local-file anchor leaves it UNPROVEN.
    const report = await verifyRecords(lines, verifyOptions);
    // What the same export proves if local anchors are accepted (development only).
    const local = await verifyRecords(lines, { ...verifyOptions, allowLocalAnchors: true });

    const events = parsed.events as {
      header: { event_type: string; trace_id: string };
      security: { merkle_index: number };
    }[];
    io.out(`vcp demo: sidecar ${sidecar.url} (data ${dataDir})\n`);
    io.out(
      `  trade   trace ${traceId}: ${events
        .filter((e) => e.header.trace_id === traceId)
        .map((e) => e.header.event_type)
        .join(' → ')}\n`,
    );
    io.out(
      `  reject  trace ${rejectedTrace}: ${events
        .filter((e) => e.header.trace_id === rejectedTrace)
        .map((e) => e.header.event_type)
        .join(' → ')} (${rejection})\n`,
    );
    io.out(
      `  recorder: ${stats.recorded} recorded, ${stats.written} acknowledged by the sidecar, ${stats.dropped} dropped\n`,
    );
    io.out(
      `  anchor  ${anchor.anchor_id}: root ${anchor.merkle_root} over ${anchor.tree_size} events (local file target: development only)\n`,
    );
    const why = report.findings
      .filter((f) => SEVERITY[f.code] !== 'note')
      .map((f) => `[${f.code}] ${f.message}`);
    io.out(`verification: ${report.verdict}${why.length ? ` — ${why.join('; ')}` : ''}\n`);
    io.out(`  with --insecure-allow-local-anchors: ${local.summary}\n`);
    io.out(
      `files:\n  export           ${exportPath}\n  recorder pubkey  ${recorderKeyPath}\n  sidecar pubkey   ${sidecarKeyPath}\n`,
    );
    io.out(
      `check it yourself:\n  npx vcp verify ${exportPath} --pubkey ${recorderKeyPath} --pubkey ${sidecarKeyPath} --insecure-allow-local-anchors\n`,
    );
    // The demo succeeds when the export is PROVEN but for its development-only local anchor.
    const onlyLocal = report.findings.every(
      (f) => SEVERITY[f.code] === 'note' || f.code === 'external-anchor-missing',
    );
    return local.verdict === 'PROVEN' &&
      onlyLocal &&
      local.input.events > 0 &&
      stats.written === stats.recorded
      ? EXIT.ok
      : EXIT.invalid;
  } finally {
    await sidecar.close();
  }
}
