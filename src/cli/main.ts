/**
 * The `vcp` command line: one file a command, dispatched from here.
 */
import { VcpError } from '../core/errors.ts';
import { demoCommand } from './demo-command.ts';
import { fixReplayCommand } from './fix-replay-command.ts';
import { disableAllocationSitePretenuring } from './gc-tuning.ts';
import { type CliIo, EXIT, processIo, UsageError } from './io.ts';
import { keygenCommand } from './keygen-command.ts';
import { sidecarCommand } from './sidecar-command.ts';
import { spoolCommand } from './spool-command.ts';
import { tapCommand } from './tap-command.ts';
import { verifyCommand } from './verify-command.ts';

type Command = (argv: string[], io: CliIo) => Promise<number>;

/**
 * Commands whose work is batches that live and die together (taps, verification): they run with
 * V8's allocation-site pretenuring off, measured 6–20 % less CPU per event for the Redis tap and
 * `vcp verify` (gc-tuning.ts). The sidecar keeps Node's default: without it, its `/health` p99
 * during a storm of large hostile bodies doubled. `vcp fix-replay` keeps it as well (it showed no
 * difference beyond the noise).
 */
const PRETENURING_OFF = new Set(['tap', 'verify']);

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  demo: { run: demoCommand, summary: 'record a SIG→ORD→ACK→EXE trade, anchor it and verify it' },
  'fix-replay': {
    run: fixReplayCommand,
    summary: 'replay a FIX engine message log as sealed, verifiable VCP events',
  },
  keygen: { run: keygenCommand, summary: 'generate an Ed25519 signing key' },
  sidecar: { run: sidecarCommand, summary: 'collect, store, anchor and prove events over HTTP' },
  spool: {
    run: spoolCommand,
    summary: 'list, show and replay spooled events and dead letters (vcp spool list|show|replay)',
  },
  tap: {
    run: tapCommand,
    summary: 'record Kafka topics or Redis streams as VCP events (vcp tap kafka|redis)',
  },
  verify: { run: verifyCommand, summary: 'verify an export offline and say exactly what is wrong' },
};

/** Register more commands (later layers add `sidecar`, `tap`, `fix-replay`). */
export function registerCommand(name: string, run: Command, summary: string): void {
  COMMANDS[name] = { run, summary };
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const list = Object.entries(COMMANDS)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return (
    `usage: vcp <command> [options]\n\ncommands:\n${list}\n\n` +
    `vcp help <command> (or vcp <command> --help) shows a command's options and exit codes;\n` +
    `vcp version prints the version.\n\n` +
    `exit codes: 0 ok; 1 what the command checks failed (see its help); 2 usage or configuration error\n`
  );
}

/** Run the CLI; resolves to the exit code. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.out(usage());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === 'help' && rest.length > 0) {
    // `vcp help <command>` is `vcp <command> --help`.
    const wanted = COMMANDS[rest[0]!];
    if (!wanted) {
      io.err(`vcp: unknown command "${rest[0]}"\n\n${usage()}`);
      return EXIT.usage;
    }
    return main([rest[0]!, '--help'], io);
  }
  if (name === 'version' || name === '--version' || name === '-v') {
    io.out(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`vcp: unknown command "${name}"\n\n${usage()}`);
    return EXIT.usage;
  }
  if (PRETENURING_OFF.has(name)) disableAllocationSitePretenuring();
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`vcp ${name}: ${(e as Error).message}\n`);
      return EXIT.usage;
    }
    if (e instanceof VcpError) {
      io.err(`vcp ${name}: ${e.message}\n`);
      return EXIT.usage;
    }
    throw e;
  }
}

/** Package version (kept in step with package.json by a test). */
export const VERSION = '0.1.0';
