/**
 * `vcp sidecar repair --data-dir <dir>`: the explicit way past damage the
 * file store refuses to start with. Quarantines, never deletes; refuses when
 * the damage lies below an anchored tree size. See
 * src/sidecar/store/file/repair.ts. Prints one JSON line on stdout with the
 * outcome; log lines go to stderr. Exit 0: repaired or nothing to repair (or
 * a dry run); 1: refused; 2: usage.
 */
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSidecarSigner } from '../sidecar/signing-key.ts';
import { repairDataDir } from '../sidecar/store/file/repair.ts';
import { type CliIo, EXIT, UsageError } from './io.ts';

export const SIDECAR_REPAIR_USAGE = `usage: vcp sidecar repair --data-dir <dir> [--dry-run] [--signing-key-file <file>]

Run with the sidecar stopped, after it refused to start because its data
folder is damaged. Moves the damaged part of the log (from the first bad
record to the end of its segment, and every newer segment) into
<dir>/quarantine/<time>-seg<N>-off<offset>/ with report.json (what was moved
and why), events.jsonl (the checksum-valid events moved, to send again) and
repair-note.json (the same facts signed with the sidecar's key), then cuts
the segment back to its last good record. Nothing is deleted. Refuses, and
changes nothing, when the damage lies below the newest anchored tree size:
those events must be restored from a backup.

options:
  --data-dir <dir>          the data folder (env VCP_SIDECAR_DATA_DIR)
  --signing-key-file <f>    key that signs the note (env VCP_SIGNING_KEY_FILE;
                            also VCP_SIGNING_KEY; default <dir>/signing.key)
  --dry-run                 say what would be moved, change nothing
  --help, -h                this text

exit codes: 0 repaired (or, with --dry-run, repairable) or nothing to repair;
1 refused (damage below the newest anchored tree size: restore from a backup);
2 usage or configuration error`;

/** `vcp sidecar repair …`; resolves to the exit code. */
export async function sidecarRepairCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string' },
      'signing-key-file': { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(`${SIDECAR_REPAIR_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length)
    throw new UsageError(`unexpected argument "${positionals[0]}"\n\n${SIDECAR_REPAIR_USAGE}`);
  const abs = (p: string | undefined) =>
    p === undefined || p.trim() === '' ? undefined : isAbsolute(p) ? p : resolve(io.cwd, p);
  const dir = abs(values['data-dir'] ?? io.env.VCP_SIDECAR_DATA_DIR);
  if (!dir) throw new UsageError(`--data-dir is required (the folder to repair)\n\n${SIDECAR_REPAIR_USAGE}`);
  const { signer } = loadSidecarSigner({
    dataDir: dir,
    signingKeyFile: abs(values['signing-key-file'] ?? io.env.VCP_SIGNING_KEY_FILE),
    signingKey: io.env.VCP_SIGNING_KEY?.trim() ? io.env.VCP_SIGNING_KEY : undefined,
    create: false,
  });
  const outcome = await repairDataDir({
    dir,
    signer,
    dryRun: values['dry-run'] ?? false,
    log: (line) => io.err(`vcp sidecar repair: ${line}\n`),
  });
  io.out(
    `${JSON.stringify({
      status: outcome.status,
      data_dir: dir,
      quarantine: outcome.quarantine ?? null,
      note: outcome.notePath ?? null,
      tree_size_after: outcome.report?.tree_size_after ?? null,
      events_quarantined: outcome.report?.events_quarantined ?? null,
    })}\n`,
  );
  return outcome.status === 'refused' ? EXIT.invalid : EXIT.ok;
}
