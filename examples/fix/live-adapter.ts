/**
 * The live FIX path, runnable without a FIX engine:
 *
 *   npm start   (node live-adapter.ts [fix.log])      (default: the sample log next to this file)
 *
 * It plays a FIX message log through `createFixAdapter(...).onMessage(...)`
 * exactly as an engine's message callback would — every message, in and out,
 * admin messages included — into a recorder that seals the events (hash
 * chain, Ed25519) and writes them to a JSONL audit log and, one line each, to
 * stderr. The sample holds an order that is partially filled, replaced and
 * filled; a cancel that arrives too late (OrderCancelReject → ERR_REJECT); a
 * lost message and its resend (→ ERR_SYNC); and a reject for an unknown
 * symbol. At the end it prints what the adapter saw.
 *
 * With a real engine the only difference is where `onMessage` is called from:
 * see jspurefix-session.ts for jspurefix.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConsoleSink, createRecorder, FanoutSink, FileSink, generateSigningKey } from 'vcp-instrument';
import { createFixAdapter, parseLogLine } from 'vcp-instrument/fix';

const log = process.argv[2] ?? path.join(import.meta.dirname, 'sample-fix44.log');
const out = process.env.VCP_LOG ?? path.join(os.tmpdir(), 'vcp-example-fix.jsonl');

const signer = generateSigningKey();
const recorder = createRecorder({
  policyId: 'local:example:fix-gateway',
  tier: 'SILVER',
  signer,
  chain: true,
  sink: new FanoutSink([new FileSink({ path: out, fsync: 'interval' }), new ConsoleSink()], {
    mode: 'primary',
  }),
});

// One adapter per FIX gateway process. `localCompId` tells incoming from outgoing.
const adapter = createFixAdapter({ recorder, localCompId: 'CLIENT12', component: 'example-fix-gateway' });

// An engine would call this from its callback; here each log line is one message.
for (const line of readFileSync(log, 'latin1').split('\n')) {
  const entry = parseLogLine(line);
  if (entry.message === undefined && entry.prefix === '') continue;
  adapter.onMessage(entry.message ?? line);
}

await recorder.close();
const s = adapter.stats();
console.log(
  `\n${s.messages} FIX messages → ${s.emitted} VCP events (${Object.entries(s.events)
    .map(([t, n]) => `${t} ${n}`)
    .join(
      ', ',
    )}); ${s.skipped} session messages skipped, ${s.duplicates} resends already seen, ${s.parseErrors} unreadable`,
);
console.log(
  `${s.orders.opened} orders, one trace each; sealed events in ${out} (signing key ${signer.keyId})`,
);
