/**
 * `vcp verify <events.jsonl> [--anchors file] [--pubkey file]… [--json]`
 *
 * Exit 0: everything checked holds. Exit 1: something does not (the report
 * says what). Exit 2: the command was misused or its input unreadable.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { MERKLE_MODES, type MerkleMode } from '../core/enums.ts';
import { HASH_VARIANTS, type HashVariant } from '../integrity/event-hash.ts';
import { ExportReader, type ParsedExport, parseExport } from '../integrity/export-format.ts';
import { CHECK_NAMES, type VerificationReport, verifyEvents } from '../integrity/verify.ts';
import { type CliIo, EXIT, progressBar, UsageError } from './io.ts';

export const VERIFY_USAGE = `usage: vcp verify <events.jsonl> [options]

Checks every event of an export offline: schema, UUIDv7, timestamps, EventHash,
hash chain, Ed25519 signatures, Merkle inclusion against anchored roots, and
anchor signatures; names every gap, reordering and duplicate.

options:
  --anchors <file>        anchor records (JSONL); anchors inside the export are read too
  --pubkey <file>         trusted public key (PEM, JWK or hex); repeat for several
  --json                  print the full report as JSON
  --strict                v1.1 conformance gaps (UUIDv4, ms timestamps, missing fields) fail
  --require-signatures    unsigned events fail
  --hash-variant <name>   ${HASH_VARIANTS.join(' | ')} (default vcp-1.1)
  --merkle-mode <mode>    ${MERKLE_MODES.join(' | ')} when anchors do not say (default rfc6962)

exit status: 0 valid, 1 invalid, 2 usage or input error`;

/** Read an export file line by line (constant memory per line). */
export async function readExportFile(path: string): Promise<ParsedExport> {
  const reader = new ExportReader();
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) reader.push(line);
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return reader.result;
}

export async function verifyCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      anchors: { type: 'string', multiple: true },
      pubkey: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      strict: { type: 'boolean' },
      'require-signatures': { type: 'boolean' },
      'hash-variant': { type: 'string' },
      'merkle-mode': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(`${VERIFY_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one export file\n\n${VERIFY_USAGE}`);
  const variant = values['hash-variant'] ?? 'vcp-1.1';
  if (!HASH_VARIANTS.includes(variant as HashVariant))
    throw new UsageError(`unknown --hash-variant "${variant}"`);
  const mode = values['merkle-mode'] ?? 'rfc6962';
  if (!MERKLE_MODES.includes(mode as MerkleMode)) throw new UsageError(`unknown --merkle-mode "${mode}"`);

  const file = resolve(io.cwd, positionals[0]!);
  const parsed = await readExportFile(file);
  const anchors = [...parsed.anchors];
  for (const a of values.anchors ?? []) {
    let text: string;
    try {
      text = await readFile(resolve(io.cwd, a), 'utf8');
    } catch (e) {
      throw new UsageError(
        `cannot read anchors file ${a}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    const more = parseExport(text);
    anchors.push(...more.anchors);
    for (const err of more.errors) parsed.errors.push({ line: err.line, message: `${a}: ${err.message}` });
  }
  const publicKeys: string[] = [];
  for (const k of values.pubkey ?? []) {
    try {
      publicKeys.push(await readFile(resolve(io.cwd, k), 'utf8'));
    } catch (e) {
      throw new UsageError(
        `cannot read public key ${k}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }
  if (parsed.events.length === 0 && parsed.errors.length === 0)
    throw new UsageError(`${positionals[0]} holds no events`);

  const bar = progressBar(io, 'verifying');
  const report = verifyEvents(parsed.events, {
    publicKeys,
    anchors,
    hashVariant: variant as HashVariant,
    merkleMode: mode as MerkleMode,
    strict: values.strict ?? false,
    requireSignatures: values['require-signatures'] ?? false,
    onProgress: (d, t) => bar.update(d, t),
  });
  bar.done();
  const ok = report.ok && parsed.errors.length === 0;
  if (values.json) {
    io.out(`${JSON.stringify({ file, ...report, ok, lineErrors: parsed.errors }, null, 2)}\n`);
  } else {
    io.out(formatReport(positionals[0]!, report, parsed));
  }
  return ok ? EXIT.ok : EXIT.invalid;
}

const MAX_LISTED = 50;

/** Human-readable report. */
export function formatReport(
  name: string,
  report: VerificationReport,
  parsed: Pick<ParsedExport, 'errors' | 'eventLines'>,
): string {
  const t = report.totals;
  const lines: string[] = [];
  lines.push(`vcp verify ${name}`);
  lines.push(
    `  events   ${t.events}  valid ${t.valid}  invalid ${t.invalid}  with warnings ${t.withWarnings}`,
  );
  lines.push(`  anchors  ${t.anchors}  valid ${t.anchorsValid}`);
  for (const tree of report.trees) {
    lines.push(`  tree     partition ${tree.partition}: ${tree.size} leaves, ${tree.mode} root ${tree.root}`);
  }
  lines.push('  checks');
  for (const c of CHECK_NAMES) {
    const s = report.checks[c];
    lines.push(`    ${c.padEnd(17)} pass ${s.pass}  fail ${s.fail}  warn ${s.warn}  skip ${s.skip}`);
  }
  for (const n of report.notes) lines.push(`  note: ${n}`);
  for (const e of parsed.errors.slice(0, MAX_LISTED)) lines.push(`  ✗ line ${e.line}: ${e.message}`);

  // Unreadable lines are listed above already.
  const failing = report.events.filter(
    (e) => !e.ok && !e.checks.schema.reason?.startsWith('unreadable line'),
  );
  for (const e of failing.slice(0, MAX_LISTED)) {
    const where =
      parsed.eventLines[e.index] !== undefined ? `line ${parsed.eventLines[e.index]}` : `#${e.index}`;
    for (const c of CHECK_NAMES) {
      const r = e.checks[c];
      if (r.status === 'fail')
        lines.push(`  ✗ ${where} ${e.event_type ?? '?'} ${e.event_id ?? ''} ${c}: ${r.reason ?? ''}`);
    }
  }
  if (failing.length > MAX_LISTED)
    lines.push(`  … and ${failing.length - MAX_LISTED} more invalid events (use --json for all)`);
  const warned = report.events.filter((e) => e.ok);
  for (const e of warned.slice(0, 10)) {
    const where =
      parsed.eventLines[e.index] !== undefined ? `line ${parsed.eventLines[e.index]}` : `#${e.index}`;
    const reasons = CHECK_NAMES.filter((c) => e.checks[c].status === 'warn').map(
      (c) => `${c}: ${e.checks[c].reason}`,
    );
    lines.push(`  ! ${where} ${e.event_id ?? ''} ${reasons.join('; ')}`);
  }
  if (warned.length > 10) lines.push(`  … and ${warned.length - 10} more events with warnings`);
  for (const a of report.anchors.filter((x) => !x.ok)) {
    for (const [k, r] of Object.entries({ signature: a.signature, root: a.root, coverage: a.coverage })) {
      if (r.status === 'fail')
        lines.push(`  ✗ anchor ${a.anchor_id ?? '?'} (partition ${a.partition}) ${k}: ${r.reason}`);
    }
  }
  for (const f of [...report.gaps, ...report.reorderings, ...report.duplicates, ...report.forks]) {
    lines.push(`  ✗ ${f.kind}: ${f.message}`);
  }
  const ok = report.ok && parsed.errors.length === 0;
  lines.push(
    ok
      ? `VALID: ${t.events} events; every check that had its inputs passed${report.notes.length ? ' (see notes)' : ''}.`
      : 'INVALID: see the ✗ lines above.',
  );
  return `${lines.join('\n')}\n`;
}
