/**
 * `vcp spool list|show|replay`: look at what waits in a spool directory
 * (spooled events, exit spools, dead letters) and send it to a sidecar.
 *
 * Replay is idempotent: the sidecar stores each `event_id` once and answers
 * a resend with `duplicate: true`, so replaying a file twice, or a file a
 * process already replayed, stores nothing twice. Files a live process
 * replays itself (a spool whose `spool.lock` owner runs, an exit spool whose
 * writer or claimer runs) are skipped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { VcpEvent } from '../core/types.ts';
import { type Refusal, SinkRejectionError, writeDeadLetterFile } from '../sinks/dead-letter.ts';
import { describeError, isRetryable } from '../sinks/errors.ts';
import { HttpSink } from '../sinks/http.ts';
import { withRetry } from '../sinks/retry.ts';
import { listSpoolFiles, readSpoolFile, type SpoolFileEntry, spoolFileKind } from '../sinks/spool-files.ts';
import { type CliIo, EXIT, UsageError } from './io.ts';

/** Exit code when the sidecar could not be reached or did not accept the events (try again later). */
export const EXIT_UNAVAILABLE = 3;

export const SPOOL_USAGE = `usage: vcp spool list <dir> [--json]
       vcp spool show <file> [--json] [--limit <n>]
       vcp spool replay <dir|file> --url <sidecar> [--token <t>] [--batch <n>] [--retries <n>] [--move-done]

What waits in a spool directory (a recorder's spoolDir, createHttpSink's spoolDir):
  spool        spool-<seq>.jsonl: events held while the sidecar was down; the process
               that owns the directory replays them itself when the sidecar is back
  exit         vcp-exit-*.jsonl: events written at process exit; the next recorder
               started with the same spoolDir replays them
  dead-letter  vcp-dead-letter-*.jsonl, vcp-rejected-*.jsonl, rejected-*.jsonl: events the
               sidecar refused (400 validation, 409 conflict, 413 too large); nothing
               replays them by itself: look at why (show), fix the cause, then replay

list     every spool file of <dir>: kind, events, size, first reason, owner
show     the events of one file with the sidecar's reasons (dead letters)
replay   send the events of <file>, or of every file of <dir> not owned by a live
         process, to the sidecar (POST <url>/vcp/log, or <url> if it names the path).
         Idempotent: events the sidecar already has are answered as duplicates.
         Events refused again stay dead letters (a spool's or exit file's refused
         events are written to a new dead-letter file beside it).

options:
  --url <url>       the sidecar, e.g. http://127.0.0.1:8080
  --token <t>       bearer token (default: env VCP_SIDECAR_TOKEN; flags show in ps)
  --batch <n>       events per request (default 500)
  --retries <n>     retries of an unavailable sidecar per request, honouring Retry-After (default 5)
  --move-done       move each file whose events are all stored to <dir>/replayed/
  --json            machine-readable output (list, show)
  --limit <n>       events shown (show; default 50)

exit codes: 0 done (every event stored, now or before); 1 some events refused
(still dead letters); 2 usage (no such file, bad option); 3 the sidecar was
unreachable or unavailable (nothing lost: files are left as they were).`;

/** `vcp spool …` */
export async function spoolCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      batch: { type: 'string' },
      retries: { type: 'string' },
      'move-done': { type: 'boolean' },
      json: { type: 'boolean' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [sub, target, ...extra] = positionals;
  if (values.help || sub === 'help') {
    io.out(`${SPOOL_USAGE}\n`);
    return EXIT.ok;
  }
  if (!sub) throw new UsageError(`a subcommand is required: list, show or replay\n\n${SPOOL_USAGE}`);
  if (!['list', 'show', 'replay'].includes(sub))
    throw new UsageError(`unknown subcommand "${sub}": use list, show or replay\n\n${SPOOL_USAGE}`);
  if (!target) throw new UsageError(`vcp spool ${sub} needs a ${sub === 'show' ? 'file' : 'directory'}`);
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const where = path.resolve(io.cwd, target);
  let st: fs.Stats;
  try {
    st = fs.statSync(where);
  } catch {
    throw new UsageError(`${where} does not exist`);
  }
  if (sub === 'list') {
    if (!st.isDirectory())
      throw new UsageError(`${where} is not a directory (vcp spool show <file> reads one file)`);
    return list(where, values.json === true, io);
  }
  if (sub === 'show') {
    if (!st.isFile()) throw new UsageError(`${where} is not a file (vcp spool list <dir> lists a directory)`);
    return show(where, values.json === true, positiveInt(values.limit, 'limit', 50), io);
  }
  if (!values.url)
    throw new UsageError('vcp spool replay needs --url <sidecar>, e.g. --url http://127.0.0.1:8080');
  const token = values.token ?? io.env.VCP_SIDECAR_TOKEN;
  return replay(where, st.isDirectory(), {
    url: values.url,
    token: token || undefined,
    batch: positiveInt(values.batch, 'batch', 500),
    retries: nonNegativeInt(values.retries, 'retries', 5),
    moveDone: values['move-done'] === true,
    io,
  });
}

function positiveInt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d{1,7}$/.test(v) || Number(v) < 1)
    throw new UsageError(`--${name} must be a whole number ≥ 1 (got "${v}")`);
  return Number(v);
}

function nonNegativeInt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d{1,4}$/.test(v)) throw new UsageError(`--${name} must be a whole number ≥ 0 (got "${v}")`);
  return Number(v);
}

// -- list -----------------------------------------------------------------------

function list(dir: string, json: boolean, io: CliIo): number {
  const entries = listSpoolFiles(dir);
  const rows = entries.map((e) => {
    let events = 0;
    let reason: string | undefined;
    let problem: string | undefined;
    try {
      const c = readSpoolFile(e.path);
      events = c.events.length;
      const r = c.header?.reasons[0];
      if (r)
        reason = `${r.status ? `HTTP ${r.status} ` : ''}${r.path || '(event)'}: ${r.message} [${r.rule}]`;
      if (c.badLines.length || c.tornBytes)
        problem = `${c.badLines.length} unreadable line(s), ${c.tornBytes} torn byte(s)`;
    } catch (err) {
      problem = describeError(err);
    }
    return { ...e, events, reason, problem };
  });
  if (json) {
    io.out(
      `${JSON.stringify({
        dir,
        files: rows.map((r) => ({
          file: r.name,
          kind: r.kind,
          events: r.events,
          bytes: r.bytes,
          modified: r.modified.toISOString(),
          ...(r.ownerPid !== undefined ? { owner_pid: r.ownerPid } : {}),
          ...(r.reason ? { first_reason: r.reason } : {}),
          ...(r.problem ? { problem: r.problem } : {}),
        })),
        totals: totals(rows),
      })}\n`,
    );
    return EXIT.ok;
  }
  if (rows.length === 0) {
    io.out(`${dir}: no spool files (nothing waiting, no dead letters)\n`);
    return EXIT.ok;
  }
  const width = Math.max(...rows.map((r) => r.name.length));
  let text = `${dir}\n`;
  for (const r of rows) {
    const owner = r.ownerPid !== undefined ? `  (replayed by running process ${r.ownerPid})` : '';
    text += `  ${r.kind.padEnd(11)} ${r.name.padEnd(width)}  ${String(r.events).padStart(7)} events  ${String(r.bytes).padStart(10)} B${owner}\n`;
    if (r.reason) text += `  ${''.padEnd(11)} ${''.padEnd(width)}  ${r.reason.slice(0, 200)}\n`;
    if (r.problem) text += `  ${''.padEnd(11)} ${''.padEnd(width)}  ! ${r.problem}\n`;
  }
  const t = totals(rows);
  text += `total: ${t.spool} spooled, ${t.exit} in exit spools, ${t['dead-letter']} dead letter(s)\n`;
  if (t['dead-letter'] > 0)
    text += `dead letters are never replayed by themselves: vcp spool show <file>, fix the cause, then vcp spool replay ${dir} --url <sidecar>\n`;
  io.out(text);
  return EXIT.ok;
}

function totals(
  rows: { kind: SpoolFileEntry['kind']; events: number }[],
): Record<SpoolFileEntry['kind'], number> {
  const t = { spool: 0, exit: 0, 'dead-letter': 0 };
  for (const r of rows) t[r.kind] += r.events;
  return t;
}

// -- show -----------------------------------------------------------------------

function show(file: string, json: boolean, limit: number, io: CliIo): number {
  let c: ReturnType<typeof readSpoolFile>;
  try {
    c = readSpoolFile(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${describeError(e)}`);
  }
  const reasons = new Map<string, NonNullable<typeof c.header>['reasons']>();
  for (const r of c.header?.reasons ?? []) {
    const list = reasons.get(r.event_id) ?? [];
    if (list.length === 0) reasons.set(r.event_id, list);
    list.push(r);
  }
  const row = (e: VcpEvent) => ({
    event_id: String(e.header?.event_id),
    event_type: String(e.header?.event_type),
    timestamp_iso: String(e.header?.timestamp_iso),
    ...(e.payload?.trade_data?.order_id !== undefined
      ? { order_id: String(e.payload.trade_data.order_id) }
      : {}),
    reasons: (reasons.get(String(e.header?.event_id)) ?? []).map(({ event_id: _id, ...r }) => r),
  });
  if (json) {
    io.out(
      `${JSON.stringify({
        file,
        kind: c.kind ?? 'unknown',
        ...(c.header ? { created_at: c.header.created_at, sink: c.header.sink } : {}),
        count: c.events.length,
        events: c.events.slice(0, limit).map(row),
        bad_lines: c.badLines.length,
        torn_bytes: c.tornBytes,
      })}\n`,
    );
    return EXIT.ok;
  }
  let text = `${file}\nkind: ${c.kind ?? 'not a spool file name (read as JSONL of events)'}; ${c.events.length} event(s)`;
  if (c.header) text += `; set aside ${c.header.created_at} by ${c.header.sink}`;
  text += '\n';
  for (const e of c.events.slice(0, limit)) {
    const r = row(e);
    text += `  ${r.event_id}  ${r.event_type.padEnd(10)} ${r.timestamp_iso}${r.order_id !== undefined ? `  order ${r.order_id}` : ''}\n`;
    for (const x of r.reasons)
      text += `      ${x.status ? `HTTP ${x.status} ` : ''}${x.path || '(event)'}: ${x.message} [${x.rule}]\n`;
  }
  if (c.events.length > limit) text += `  … and ${c.events.length - limit} more (--limit)\n`;
  if (c.badLines.length) text += `! ${c.badLines.length} line(s) are not events and are never sent\n`;
  if (c.tornBytes) text += `! a partial last line of ${c.tornBytes} bytes (a crash mid-write) is ignored\n`;
  io.out(text);
  return EXIT.ok;
}

// -- replay ---------------------------------------------------------------------

interface ReplayOptions {
  url: string;
  token: string | undefined;
  batch: number;
  retries: number;
  moveDone: boolean;
  io: CliIo;
}

async function replay(where: string, isDir: boolean, o: ReplayOptions): Promise<number> {
  const { io } = o;
  let files: SpoolFileEntry[];
  if (isDir) files = listSpoolFiles(where);
  else {
    // One file: as listed in its directory (owner included), or any JSONL of events.
    const name = path.basename(where);
    const listed = listSpoolFiles(path.dirname(where)).find((e) => e.name === name);
    const st = fs.statSync(where);
    files = [
      listed ?? {
        path: where,
        name,
        kind: spoolFileKind(name) ?? 'dead-letter',
        bytes: st.size,
        modified: st.mtime,
      },
    ];
  }
  let http: HttpSink;
  try {
    http = new HttpSink({
      url: o.url,
      token: o.token,
      maxBatchEvents: o.batch,
      onWarning: (m) => io.err(`${m}\n`),
    });
  } catch (e) {
    throw new UsageError(describeError(e).replace(/^\w+ \w+: /, ''));
  }
  const sink = withRetry(http, {
    retries: o.retries,
    minDelayMs: 200,
    maxDelayMs: 5000,
    onRetry: (e, attempt, delay) =>
      io.err(`  sidecar not available (${describeError(e)}); retry ${attempt} in ${Math.round(delay)} ms\n`),
  });
  let refusedTotal = 0;
  let storedTotal = 0;
  let duplicateTotal = 0;
  let unreadable = 0;
  try {
    if (files.length === 0) {
      io.out(`${where}: no spool files to replay\n`);
      return EXIT.ok;
    }
    for (const f of files) {
      if (f.ownerPid !== undefined) {
        io.out(`${f.name}: skipped: process ${f.ownerPid} owns it and replays it itself\n`);
        continue;
      }
      let c: ReturnType<typeof readSpoolFile>;
      try {
        c = readSpoolFile(f.path);
      } catch (e) {
        io.err(`${f.name}: cannot read: ${describeError(e)}\n`);
        unreadable++;
        continue;
      }
      const before = http.stats();
      const refusals: Refusal[] = [];
      for (let i = 0; i < c.events.length; i += o.batch) {
        const slice = c.events.slice(i, i + o.batch);
        try {
          await sink.write(slice);
        } catch (e) {
          if (e instanceof SinkRejectionError) {
            refusals.push(...e.refusals);
            continue;
          }
          const after = http.stats();
          io.err(
            `${f.name}: stopped: ${describeError(e)}\n` +
              `${isRetryable(e) ? 'the sidecar is unreachable or not accepting events; ' : ''}nothing was deleted or moved; run the replay again later (it is idempotent)\n`,
          );
          storedTotal += after.acknowledged - after.duplicates - (before.acknowledged - before.duplicates);
          duplicateTotal += after.duplicates - before.duplicates;
          summary(io, storedTotal, duplicateTotal, refusedTotal);
          return EXIT_UNAVAILABLE;
        }
      }
      const after = http.stats();
      const acked = after.acknowledged - before.acknowledged;
      const dups = after.duplicates - before.duplicates;
      storedTotal += acked - dups;
      duplicateTotal += dups;
      refusedTotal += refusals.length;
      let line = `${f.name}: ${c.events.length} event(s): ${acked - dups} stored, ${dups} already stored, ${refusals.length} refused`;
      if (c.badLines.length || c.tornBytes)
        line += ` (${c.badLines.length} unreadable line(s), ${c.tornBytes} torn byte(s) skipped)`;
      io.out(`${line}\n`);
      for (const r of refusals.slice(0, 10)) {
        const why = r.reasons[0];
        io.out(
          `  refused ${String(r.event?.header?.event_id)}: ${why ? `${why.path || '(event)'}: ${why.message} [${why.rule}]` : 'refused'}\n`,
        );
      }
      let done = refusals.length === 0;
      if (refusals.length > 0 && f.kind !== 'dead-letter') {
        // Spooled or exit-spooled events refused now become dead letters beside the file.
        const kept = writeDeadLetterFile(path.dirname(f.path), refusals, http.name);
        io.out(`  the refused events are now dead letters in ${kept}\n`);
        done = true;
      }
      if (done && o.moveDone) {
        const to = path.join(path.dirname(f.path), 'replayed', f.name);
        fs.mkdirSync(path.dirname(to), { recursive: true });
        fs.renameSync(f.path, to);
        io.out(`  moved to ${to}\n`);
      }
    }
  } finally {
    await sink.close().catch(() => {});
  }
  summary(io, storedTotal, duplicateTotal, refusedTotal);
  return refusedTotal > 0 || unreadable > 0 ? EXIT.invalid : EXIT.ok;
}

function summary(io: CliIo, stored: number, duplicates: number, refused: number): void {
  io.out(`replay: ${stored} stored, ${duplicates} already stored, ${refused} refused\n`);
}
