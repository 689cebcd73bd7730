/**
 * `vcp demo [--dir <folder>]`: the whole integrity story in one run, with
 * nothing installed. Records a SIG→ORD→ACK→EXE trade lifecycle with a hash
 * chain, builds the Merkle tree, signs an anchor record, verifies the export
 * like an auditor would, and prints where the files are.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildEvent, type EventOptions } from '../core/builder.ts';
import type { EventType } from '../core/event-types.ts';
import { createPolicy } from '../core/policy.ts';
import type { VcpEvent, VcpPayload } from '../core/types.ts';
import { uuidv7 } from '../core/uuidv7.ts';
import { createAnchorRecord } from '../integrity/anchor-record.ts';
import { createHashChain } from '../integrity/chain.ts';
import { exportLine } from '../integrity/export-format.ts';
import { MerkleTree } from '../integrity/merkle/index.ts';
import { sealEvent } from '../integrity/seal.ts';
import { generateSigningKey } from '../integrity/sign.ts';
import { verifyEvents } from '../integrity/verify.ts';
import { type CliIo, EXIT } from './io.ts';

export const DEMO_USAGE = `usage: vcp demo [--dir <folder>]

Records a SIG→ORD→ACK→EXE trade lifecycle as sealed, hash-chained, signed
VCP v1.1 events, builds the RFC 6962 Merkle tree, signs an anchor record
(local file target), verifies everything offline and prints where the files
are. Default folder: a new temporary one.`;

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

  const policy = createPolicy({ policyId: 'local:vcp-demo:trend-follower-1', tier: 'GOLD', hashChain: true });
  const signer = generateSigningKey();
  const chain = createHashChain();
  const traceId = uuidv7();
  const base: EventOptions = { policy, traceId, venueId: 'XLON', accountId: 'DEMO-ACC-1', symbol: 'EURUSD' };
  const steps: [EventType, VcpPayload][] = [
    [
      'SIG',
      {
        vcp_gov: {
          algo_id: 'trend-follower',
          algo_version: '1.4.2',
          decision_factors: [
            { name: 'ema_cross', value: '1', weight: '0.6' },
            { name: 'volatility_regime', value: 'LOW', weight: '0.4' },
          ],
          confidence_score: '0.82',
        },
      },
    ],
    [
      'ORD',
      {
        trade_data: {
          order_id: 'ORD-0001',
          symbol: 'EURUSD',
          side: 'BUY',
          order_type: 'LIMIT',
          price: '1.0850',
          quantity: '100000',
          time_in_force: 'DAY',
        },
      },
    ],
    ['ACK', { trade_data: { order_id: 'ORD-0001', broker_order_id: 'BRK-77123', order_status: 'NEW' } }],
    [
      'EXE',
      {
        trade_data: {
          order_id: 'ORD-0001',
          side: 'BUY',
          execution_price: '1.0849',
          executed_qty: '100000',
          commission: '2.50',
          slippage: '-0.0001',
        },
      },
    ],
  ];
  const events: VcpEvent[] = steps.map(([type, payload]) =>
    sealEvent(buildEvent(type, payload, base), { signer, chain }),
  );

  const tree = new MerkleTree();
  for (const e of events) e.security.merkle_index = tree.append(e.security.event_hash);
  const anchorsPath = join(dir, 'anchors.jsonl');
  const anchor = createAnchorRecord(
    {
      merkle_root: tree.root(),
      tree_size: tree.size,
      merkle_mode: 'rfc6962',
      event_count: events.length,
      first_event_id: events[0]!.header.event_id,
      last_event_id: events.at(-1)!.header.event_id,
      first_index: 0,
      policy_id: policy.policy_id,
    },
    {
      signer,
      target: {
        type: 'LOCAL_FILE',
        identifier: anchorsPath,
        proof: 'local file target: development only, not external',
      },
    },
  );
  for (const e of events) {
    e.security.merkle_root = anchor.merkle_root;
    e.security.anchor_reference = anchor.anchor_id;
  }

  const eventsPath = join(dir, 'events.jsonl');
  const pubPath = join(dir, 'signing-key.pub');
  await writeFile(eventsPath, `${events.map((event) => exportLine({ kind: 'event', event })).join('\n')}\n`);
  await writeFile(anchorsPath, `${exportLine({ kind: 'anchor', anchor })}\n`);
  await writeFile(pubPath, signer.exportPublicKey('pem'));

  const report = verifyEvents(events, {
    publicKeys: [signer.publicKey],
    anchors: [anchor],
    requireSignatures: true,
  });
  io.out(
    `vcp demo: one trade, ${events.length} events (${events.map((e) => e.header.event_type).join(' → ')}), trace ${traceId}\n`,
  );
  for (const e of events) {
    io.out(
      `  ${e.header.event_type}  ${e.header.event_id}  hash ${e.security.event_hash.slice(0, 16)}…  prev ${e.security.prev_hash!.slice(0, 16)}…\n`,
    );
  }
  io.out(
    `  merkle root ${anchor.merkle_root} (rfc6962, ${anchor.tree_size} leaves), anchor ${anchor.anchor_id} signed by key ${signer.keyId}\n`,
  );
  io.out(
    `verification: ${report.ok ? 'VALID' : 'INVALID'} — ${report.totals.valid}/${report.totals.events} events, ${report.totals.anchorsValid}/${report.totals.anchors} anchors\n`,
  );
  io.out(`files:\n  events   ${eventsPath}\n  anchors  ${anchorsPath}\n  pubkey   ${pubPath}\n`);
  io.out(`check it yourself:\n  npx vcp verify ${eventsPath} --anchors ${anchorsPath} --pubkey ${pubPath}\n`);
  return report.ok ? EXIT.ok : EXIT.invalid;
}
