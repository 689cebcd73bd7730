/**
 * `vcp fix-replay <fix.log> (--out <events.jsonl> | --sidecar <url>) [options]`
 *
 * Replays a FIX engine's message log as sealed, hash-chained VCP events:
 * into an export file that `vcp verify` checks (format v2: a META line, the
 * events, a signed anchor record over the Merkle tree of all of them, and a
 * closing signed checkpoint), or to a sidecar's `POST /vcp/log`.
 * What becomes what, and how times and ids are chosen: src/adapters/fix/.
 */
import { stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type FixReplayStats, replayFixLog, replayFixLogToFile } from '../adapters/fix/replay.ts';
import { CLOCK_SYNC_STATUSES, type ClockSyncStatus, TIERS, type Tier } from '../core/enums.ts';
import { VcpError } from '../core/errors.ts';
import { createPolicy } from '../core/policy.ts';
import type { VcpEvent } from '../core/types.ts';
import { createHashChain } from '../integrity/chain.ts';
import { loadPrivateKeyFile, loadPrivateKeyFromEnv } from '../integrity/keys.ts';
import { createSigner, generateSigningKey, type Signer } from '../integrity/sign.ts';
import { HttpSink } from '../sinks/http.ts';
import { withRetry } from '../sinks/retry.ts';
import { type CliIo, EXIT, UsageError } from './io.ts';

export const FIX_REPLAY_USAGE = `usage: vcp fix-replay <fix.log> (--out <events.jsonl> | --sidecar <url>) [options]

Reads a FIX engine's message log (one message a line, SOH or "|" delimited,
optionally prefixed by the engine's timestamp, e.g. QuickFIX/J
"20240102-13:45:01.123: 8=FIX.4.4|…") and records every order message as a
VCP v1.1 event: NewOrderSingle → ORD, ExecutionReport → ACK/PRT/EXE/CXL/MOD/REJ,
cancel/replace requests → CXL/MOD, OrderCancelReject → ERR_REJECT, sequence
gaps → ERR_SYNC, unreadable lines → ERR_PARSE. One trace per order.

Events are sealed in log order on one hash chain, with deterministic ids
(replaying the same log twice gives the same events, so a sidecar stores
them once) and the log's own timestamps.

output (one of):
  --out <file>            write an export (format v2): a META line, the events,
                          a signed anchor record over their Merkle tree, and
                          last a signed checkpoint over that tree; check it
                          with vcp verify <file> --pubkey <file>.pub
  --sidecar <url>         send the events to a sidecar (POST <url>/vcp/log)

options:
  --key <file>            Ed25519 signing key (PEM, JWK or hex); default: env
                          VCP_SIGNING_KEY / VCP_SIGNING_KEY_FILE, else (with
                          --out) a new key whose public half goes to <out>.pub
  --sign <what>           events (default): sign every event; anchor: sign only
                          the anchor record and checkpoint (faster, --out only)
  --no-anchor             --out: leave out the anchor record (the closing
                          checkpoint still covers every event)
  --token <token>         sidecar bearer token (default: env VCP_SIDECAR_TOKEN)
  --policy-id <id>        PolicyID (default local:vcp-fix-replay:default)
  --tier <tier>           ${TIERS.join(' | ')} (default SILVER)
  --clock-sync <status>   clock_sync_status of the log's clock (default BEST_EFFORT)
  --source <name>         log name used in event ids (default: the file name)
  --comp-id <id>          our SenderCompID, to tell incoming from outgoing
  --heartbeats            record Heartbeats (35=0) as HBT events
  --keep-raw              keep each raw message in payload.fix.raw
  --skip-non-fix          skip lines without "8=FIX" instead of ERR_PARSE events
  --ignore-other-reports  skip ExecutionReports that are not lifecycle steps
                          (default: record them as AUD)
  --drop-copy             match reports to orders across sessions
  --force                 replace an existing --out file
  --json                  print the summary as JSON

exit status: 0 done, 1 the sidecar refused events, 2 usage or input error`;

function resolveSigner(values: { key?: string | undefined }, io: CliIo): { signer?: Signer; origin: string } {
  if (values.key)
    return {
      signer: createSigner(loadPrivateKeyFile(resolve(io.cwd, values.key))),
      origin: `key file ${values.key}`,
    };
  if (io.env.VCP_SIGNING_KEY?.trim() || io.env.VCP_SIGNING_KEY_FILE?.trim()) {
    return {
      signer: createSigner(loadPrivateKeyFromEnv('VCP_SIGNING_KEY', io.env)),
      origin: 'environment (VCP_SIGNING_KEY)',
    };
  }
  return { origin: 'none' };
}

export async function fixReplayCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      sidecar: { type: 'string' },
      key: { type: 'string' },
      sign: { type: 'string' },
      'no-anchor': { type: 'boolean' },
      token: { type: 'string' },
      'policy-id': { type: 'string' },
      tier: { type: 'string' },
      'clock-sync': { type: 'string' },
      source: { type: 'string' },
      'comp-id': { type: 'string' },
      heartbeats: { type: 'boolean' },
      'keep-raw': { type: 'boolean' },
      'skip-non-fix': { type: 'boolean' },
      'ignore-other-reports': { type: 'boolean' },
      'drop-copy': { type: 'boolean' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(`${FIX_REPLAY_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one FIX log file\n\n${FIX_REPLAY_USAGE}`);
  if (!values.out === !values.sidecar)
    throw new UsageError('give exactly one of --out <file> or --sidecar <url>');
  const tier = (values.tier ?? 'SILVER').toUpperCase() as Tier;
  if (!TIERS.includes(tier)) throw new UsageError(`--tier must be one of ${TIERS.join(', ')}`);
  const clockSync = (values['clock-sync'] ?? 'BEST_EFFORT').toUpperCase() as ClockSyncStatus;
  if (!CLOCK_SYNC_STATUSES.includes(clockSync)) {
    throw new UsageError(`--clock-sync must be one of ${CLOCK_SYNC_STATUSES.join(', ')}`);
  }
  const sign = values.sign ?? 'events';
  if (sign !== 'events' && sign !== 'anchor') throw new UsageError('--sign must be events or anchor');
  if (sign === 'anchor' && (values.sidecar || values['no-anchor'])) {
    throw new UsageError('--sign anchor needs --out with its anchor record');
  }

  const log = resolve(io.cwd, positionals[0]!);
  try {
    if (!(await stat(log)).isFile()) throw new UsageError(`${positionals[0]} is not a file`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      `cannot read ${positionals[0]}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const policy = createPolicy({
    policyId: values['policy-id'] ?? 'local:vcp-fix-replay:default',
    tier,
    hashChain: true,
  });
  const common = {
    policy,
    chain: createHashChain(),
    ...(values.source ? { source: values.source } : {}),
    skipNonFix: values['skip-non-fix'] ?? false,
    adapter: {
      component: 'vcp fix-replay',
      heartbeats: values.heartbeats ?? false,
      keepRaw: values['keep-raw'] ?? false,
      clockSyncStatus: clockSync,
      otherExecutionReports: values['ignore-other-reports'] ? ('ignore' as const) : ('audit' as const),
      scopeOrdersBySession: !values['drop-copy'],
      ...(values['comp-id'] ? { localCompId: values['comp-id'] } : {}),
    },
  };
  const { signer: given, origin } = resolveSigner(values, io);
  let stats: FixReplayStats;
  const lines: string[] = [];
  const summary: Record<string, unknown> = { log };

  try {
    if (values.out) {
      const out = resolve(io.cwd, values.out);
      const signer = given ?? generateSigningKey();
      const result = await replayFixLogToFile(log, out, {
        ...common,
        signer,
        signEvents: sign === 'events',
        anchor: !values['no-anchor'],
        force: values.force ?? false,
      });
      stats = result;
      const pub = `${out}.pub`;
      await writeFile(pub, signer.exportPublicKey('pem'), { flag: values.force ? 'w' : 'wx' }).catch((e) => {
        throw new UsageError(
          (e as NodeJS.ErrnoException).code === 'EEXIST'
            ? `${pub} already exists; pass --force to replace it`
            : `cannot write ${pub}: ${(e as Error).message}`,
        );
      });
      Object.assign(summary, {
        out,
        pubkey: pub,
        signing_key_id: signer.keyId,
        key: given ? origin : 'generated',
        origin: result.origin,
      });
      if (result.anchor)
        Object.assign(summary, {
          merkle_root: result.anchor.merkle_root,
          anchor_id: result.anchor.anchor_id,
        });
      lines.push(`  out      ${out}`);
      lines.push(
        `  pubkey   ${pub} (signing_key_id ${signer.keyId}; ${given ? `from ${origin}` : 'a new key; its private half was not kept'})`,
      );
      if (result.anchor)
        lines.push(
          `  anchor   ${result.anchor.anchor_id} over ${result.anchor.tree_size} events, root ${result.anchor.merkle_root}`,
        );
      lines.push(
        `  log      ${result.origin} (closed by a signed checkpoint over all ${result.events} events)`,
      );
      lines.push(`check it: vcp verify ${values.out} --pubkey ${values.out}.pub`);
    } else {
      const token = values.token ?? io.env.VCP_SIDECAR_TOKEN;
      const refused: string[] = [];
      const http = new HttpSink({
        url: values.sidecar!,
        ...(token ? { token } : {}),
        onRejected: (events, r) => {
          refused.push(
            `${events.length} events refused (${r.status} ${r.error ?? ''}): ${r.errors?.[0]?.path ?? ''} ${r.errors?.[0]?.message ?? r.message ?? ''}`,
          );
        },
      });
      const sink = withRetry(http, { retries: 5, maxDelayMs: 5000 });
      try {
        stats = await replayFixLog(log, {
          ...common,
          ...(given ? { signer: given } : {}),
          write: (events: VcpEvent[]) => sink.write(events),
        });
      } catch (e) {
        const h = http.stats();
        for (const r of refused) io.err(`vcp fix-replay: ${r}\n`);
        io.err(
          `vcp fix-replay: sending to ${values.sidecar} failed: ${(e as Error).message} (${h.acknowledged} events acknowledged before; a rerun is safe: ids are deterministic)\n`,
        );
        return EXIT.invalid;
      } finally {
        await sink.close();
      }
      const h = http.stats();
      Object.assign(summary, {
        sidecar: values.sidecar,
        acknowledged: h.acknowledged,
        duplicates: h.duplicates,
        signing: given ? origin : 'unsigned',
      });
      lines.push(
        `  sidecar  ${values.sidecar}: ${h.acknowledged} acknowledged (${h.duplicates} already there)`,
      );
      lines.push(
        `  signing  ${given ? `${origin} (${given.keyId})` : 'none: events are unsigned (the sidecar signs its anchors)'}`,
      );
      if (refused.length) {
        for (const r of refused) io.err(`vcp fix-replay: ${r}\n`);
        return EXIT.invalid;
      }
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof VcpError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')
      throw new UsageError(`cannot read ${positionals[0]}: ${code}`);
    throw e;
  }

  const a = stats.adapter;
  Object.assign(summary, {
    lines: stats.lines,
    messages: a.parsed,
    parse_errors: a.parseErrors,
    events: stats.events,
    by_type: a.events,
    skipped_messages: a.skipped,
    duplicate_resends: a.duplicates,
    sequence_gaps: a.sequence?.gaps ?? 0,
    orders: a.orders.opened,
  });
  if (values.json) {
    io.out(`${JSON.stringify(summary, null, 2)}\n`);
    return EXIT.ok;
  }
  const byType = Object.entries(a.events)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  io.out(
    [
      `vcp fix-replay ${positionals[0]}`,
      `  read     ${stats.lines} lines: ${a.parsed} FIX messages, ${a.parseErrors} unreadable${stats.blankLines ? `, ${stats.blankLines} blank` : ''}${stats.skippedLines ? `, ${stats.skippedLines} skipped` : ''}`,
      `  events   ${stats.events} (${byType || 'none'}) for ${a.orders.opened} orders`,
      `  skipped  ${a.skipped} session/other messages, ${a.duplicates} PossDup resends already seen; ${a.sequence?.gaps ?? 0} sequence gaps`,
      ...lines,
    ].join('\n') + '\n',
  );
  return EXIT.ok;
}
