/**
 * `vcp sidecar [options]`: run the sidecar until SIGTERM or SIGINT, then
 * shut down gracefully (finish in-flight requests, fsync, optionally anchor)
 * and exit 0. Prints one JSON line on stdout once listening, e.g.
 * `{"listening":"http://127.0.0.1:8080",…}`, for scripts and tests; logs go
 * to stderr.
 */

import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { VcpConfigError } from '../core/errors.ts';
import { createAnchoringFactory } from '../sidecar/anchor/server-adapter.ts';
import { startPartitionedSidecar } from '../sidecar/cluster/partitioned-sidecar.ts';
import {
  resolveSidecarConfig,
  type SidecarConfig,
  sidecarOptionsHelp,
  sidecarParseArgsOptions,
} from '../sidecar/config.ts';
import { startSidecar } from '../sidecar/server.ts';
import { LogDamageError } from '../sidecar/store/file/segment-check.ts';
import { createPostgresStore } from '../sidecar/store/postgres-store.ts';
import type { EventStore } from '../sidecar/store/store.ts';
import { type CliIo, EXIT, UsageError } from './io.ts';
import { sidecarMemoryHint } from './sidecar-memory-hint.ts';
import { sidecarRepairCommand } from './sidecar-repair.ts';

export const SIDECAR_USAGE = `usage: vcp sidecar [options]
       vcp sidecar repair --data-dir <dir>   (after a refused start: see vcp sidecar repair --help)

Collects VCP events over HTTP (POST /vcp/log), stores them durably in an
append-only log (fsync before every 201), builds the RFC 6962 Merkle tree,
anchors signed roots on the tier's schedule and serves proofs and exports.
See docs/sidecar-api.md. Every option can also be set by its environment
variable; flags win.

options:
${sidecarOptionsHelp()}
  --help, -h               this text

The signing key is read from --signing-key-file / VCP_SIGNING_KEY_FILE, else
VCP_SIGNING_KEY, else <data-dir>/signing.key (created on first start, mode
0600; its public half is <data-dir>/signing.pub). It is never printed.
Binding anything but a loopback address requires a bearer token.

Cluster mode (--ingest kafka://<host:port>[,…]/<topic>?group=<id>, e.g.
kafka://127.0.0.1:9092/vcp.events?group=vcp-sidecars): several sidecars in one
consumer group share the topic's partitions (producers: KafkaSink, key = trace
id); each partition has its own store (<data-dir>/p<N>/ or PostgreSQL tables
vcp_p<N>_*), Merkle tree, anchors and proofs. Offsets are committed once the
events are durable. POST /vcp/log answers 405; GET /vcp/export needs
?partition=N. Every member must reach every partition's store (shared folder or
PostgreSQL) and use the same signing key. Exit code 1 if a store or the
consumer fails (the group then moves the partitions to the other members).

exit codes: 0 stopped by SIGTERM/SIGINT after a graceful shutdown; 1 a store
or the consumer failed, the data folder is damaged (see vcp sidecar repair), or
a second signal cut the shutdown short; 2 usage or configuration error`;

function storeFor(config: SidecarConfig, log: (line: string) => void): EventStore | undefined {
  if (config.store === 'file') return undefined;
  // The server creates the data folder only for the file store, yet the signing key
  // (<data-dir>/signing.key, made on first start) lives there with any store.
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new VcpConfigError(`cannot create the data folder ${config.dataDir}: ${(e as Error).message}`);
  }
  return createPostgresStore({ connectionString: config.store, log });
}

async function readPem(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new VcpConfigError(
      `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** Run until `until` settles, then shut down gracefully. Resolves to the exit code. */
export async function runSidecar(
  argv: string[],
  io: CliIo,
  until: (stop: () => void) => void,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...sidecarParseArgsOptions(), help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.out(`${SIDECAR_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"\n\n${SIDECAR_USAGE}`);
  const config = resolveSidecarConfig(values as Record<string, string | boolean | undefined>, io.env, io.cwd);
  const anchoring = createAnchoringFactory({
    targets: config.anchorTargets,
    tier: config.tier,
    ...(config.tsaCaCertFile ? { tsaCaCertPem: await readPem(config.tsaCaCertFile) } : {}),
    ...(config.tsaCertFile ? { tsaCertPem: await readPem(config.tsaCertFile) } : {}),
  });
  const hint = sidecarMemoryHint(process.execArgv, io.env);
  if (hint) io.err(`vcp sidecar: ${hint}\n`);
  if (config.ingest) return runCluster(config, anchoring, io, until);
  const log = (line: string) => io.err(`vcp sidecar: ${line}\n`);
  const sidecar = await startSidecar({ config, store: storeFor(config, log), anchoring, log });
  const ctx = sidecar.context;
  // The signal handlers go in before the ready line: a supervisor that stops the sidecar as soon as it reads the
  // line gets the orderly shutdown, never the default exit of a process without a SIGTERM handler.
  const stopped = new Promise<void>((resolve) => until(resolve));
  io.out(
    `${JSON.stringify({
      listening: sidecar.url,
      data_dir: config.dataDir,
      store: ctx.store.name,
      tree_size: ctx.tree.size,
      anchors: ctx.tree.anchors.length,
      signing_key_id: ctx.signer.keyId,
      public_key: sidecar.publicKeyPath ?? null,
      tier: config.tier,
    })}\n`,
  );
  await stopped;
  await sidecar.close();
  return EXIT.ok;
}

/**
 * Cluster mode (`--ingest kafka://…`): consume the events topic in a
 * consumer group, one tree per partition. Runs until `until` fires (exit 0)
 * or a partition's store or the consumer fails (exit 1, after leaving the
 * group so the other members take the partitions over).
 */
async function runCluster(
  config: SidecarConfig,
  anchoring: ReturnType<typeof createAnchoringFactory>,
  io: CliIo,
  until: (stop: () => void) => void,
): Promise<number> {
  const sidecar = await startPartitionedSidecar({
    config,
    anchoring,
    log: (line) => io.err(`vcp sidecar: ${line}\n`),
  });
  const stopped = new Promise<void>((resolve) => until(resolve)); // before the ready line, as in the single log
  io.out(
    `${JSON.stringify({
      listening: sidecar.url,
      mode: 'cluster',
      ingest: sidecar.ingest.url,
      topic: sidecar.ingest.topic,
      group: sidecar.ingest.groupId,
      data_dir: config.dataDir,
      store: config.store === 'file' ? 'file' : 'postgres',
      partitions: sidecar.partitions().map((p) => p.partition),
      signing_key_id: sidecar.signer.keyId,
      public_key: sidecar.publicKeyPath ?? null,
      tier: config.tier,
    })}\n`,
  );
  let failed: unknown;
  await Promise.race([
    stopped,
    sidecar.done().catch((e: unknown) => {
      failed = e;
    }),
  ]);
  await sidecar.close();
  if (failed !== undefined) {
    io.err(`vcp sidecar: stopped after a failure: ${(failed as Error)?.message ?? failed}\n`);
    return EXIT.invalid;
  }
  return EXIT.ok;
}

/** `vcp sidecar`: runs until SIGTERM/SIGINT; a second signal exits at once (code 1). */
export async function sidecarCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === 'repair') return sidecarRepairCommand(argv.slice(1), io);
  let first: ((signal: NodeJS.Signals) => void) | undefined;
  const force = (signal: NodeJS.Signals) => {
    io.err(`vcp sidecar: second ${signal}: exiting without finishing the shutdown\n`);
    process.exit(1);
  };
  try {
    return await runSidecar(argv, io, (stop) => {
      first = (signal) => {
        io.err(`vcp sidecar: ${signal}: shutting down (finishing in-flight requests)\n`);
        process.off('SIGTERM', first!);
        process.off('SIGINT', first!);
        process.once('SIGTERM', force);
        process.once('SIGINT', force);
        stop();
      };
      process.once('SIGTERM', first);
      process.once('SIGINT', first);
    });
  } catch (e) {
    // A damaged data folder is not a usage error: exit 1 with the store's message (file, offset, events).
    if (!(e instanceof LogDamageError)) throw e;
    io.err(`vcp sidecar: ${e.message}\n`);
    return EXIT.invalid;
  } finally {
    if (first) {
      process.off('SIGTERM', first);
      process.off('SIGINT', first);
    }
    process.off('SIGTERM', force);
    process.off('SIGINT', force);
  }
}
