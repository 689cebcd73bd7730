/**
 * Replay: a FIX engine's message log → sealed, hash-chained VCP events.
 *
 * Each line goes through the same adapter as the live path, with three
 * replay choices:
 *
 * - Time. An event's time is when its message was observed, and for a log
 *   the best witness of that is the engine's own timestamp in front of the
 *   line (converted to ns since the epoch, with the precision it was written
 *   with: milliseconds for QuickFIX). Without one, the message's SendingTime
 *   (52) is used (the sender's clock), then the last time seen on an earlier
 *   line; only a log with no time at all up to that line falls back to the
 *   replaying machine's clock. `clock_sync_status` is `BEST_EFFORT` unless
 *   told otherwise: nothing in a log says how the engine's clock was kept.
 * - Ids. Event ids are deterministic UUIDv7s (event-id.ts): the time of the
 *   event, then bits of SHA-256(source ‖ line number ‖ line bytes ‖ index).
 *   Trace ids are the ids of each order's first event, so they are
 *   deterministic too. `source` defaults to the log's file name (not its
 *   path), so a log moved to another folder replays to the same ids; the
 *   sidecar then stores a second replay's events once.
 * - Order. Events are sealed in log order on one hash chain.
 *
 * Lines without `8=FIX` become `ERR_PARSE` events (or are skipped and
 * counted, with `skipNonFix`); blank lines are skipped.
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { draftEvent } from '../../core/builder.ts';
import { VcpIoError } from '../../core/errors.ts';
import { ERROR_DEFAULT_SEVERITY } from '../../core/event-types.ts';
import type { AnchorRecord, DraftEvent, PolicyIdentification, VcpEvent } from '../../core/types.ts';
import { createAnchorRecord } from '../../integrity/anchor-record.ts';
import type { HashChain } from '../../integrity/chain.ts';
import { exportLine } from '../../integrity/export-format.ts';
import { checkpointLine, PRODUCERS } from '../../integrity/export-meta.ts';
import type { Signer } from '../../integrity/sign.ts';
import { SignedSegment } from '../../integrity/signed-segment.ts';
import { createSealer } from '../../recorder/sealer.ts';
import { serializeEvent } from '../../sinks/serialize.ts';
import { createFixAdapter, type FixAdapterOptions, type FixAdapterStats } from './adapter.ts';
import { parseLogLine, readLogLines } from './log-reader.ts';

/** Options of {@link replayFixLog}. */
export interface FixReplayOptions {
  policy: PolicyIdentification;
  /** Signs every event; without it events carry no signature. */
  signer?: Signer;
  /** Hash chain the events are linked on (e.g. `createHashChain()`); without it, no `prev_hash`. */
  chain?: HashChain;
  /** Name of the log in ids and `payload.fix.log` (default: the file's base name; `'stream'` for a stream). */
  source?: string;
  /** Adapter settings (heartbeats, keepRaw, localCompId, limits, …). */
  adapter?: Omit<FixAdapterOptions, 'recorder' | 'onEvent' | 'policy' | 'timeSource'>;
  /** Skip lines holding no `8=FIX` instead of recording `ERR_PARSE` for them. */
  skipNonFix?: boolean;
  /** Events per `write` call (default 1 000). */
  batchSize?: number;
  /** Receives sealed events in log order; awaited before the next batch. */
  write(events: VcpEvent[]): Promise<void> | void;
  /** Called after each read chunk with the number of lines handled so far. */
  onProgress?: (lines: number) => void;
}

/** What a replay did. */
export interface FixReplayStats {
  lines: number;
  blankLines: number;
  /** Lines without `8=FIX` that were skipped (`skipNonFix`). */
  skippedLines: number;
  /** Sealed events written. */
  events: number;
  /** Mapped events that failed validation and were replaced by ERR_SYSTEM events (0 unless there is a bug). */
  invalid: number;
  adapter: FixAdapterStats;
}

/** Replay a FIX message log; see the module comment. */
export async function replayFixLog(
  log: string | Readable,
  options: FixReplayOptions,
): Promise<FixReplayStats> {
  const source = options.source ?? (typeof log === 'string' ? basename(log) : 'stream');
  const batchSize = Math.max(1, options.batchSize ?? 1000);
  const drafts: DraftEvent[] = [];
  const adapter = createFixAdapter({
    ...options.adapter,
    policy: options.policy,
    onEvent: (d) => drafts.push(d),
    timeSource: 'message',
  });
  // The recorder's sealer: validates, hashes, chains, signs, and keeps the canonical text so
  // writers emit exactly the hashed bytes without serializing the event again.
  const sealer = createSealer({
    ...(options.signer ? { signer: options.signer } : {}),
    ...(options.chain ? { chain: options.chain } : {}),
  });
  const stats = { lines: 0, blankLines: 0, skippedLines: 0, events: 0, invalid: 0 };
  const seal = (d: DraftEvent): VcpEvent => {
    const r = sealer.seal(d);
    if (r.ok) return r.event;
    // A mapped event that breaks a rule is a bug here, never silent: an ERR_SYSTEM says what and where.
    stats.invalid++;
    const h = d.header;
    const replacement = draftEvent(
      'ERR_SYSTEM',
      {
        error_details: {
          error_code: 'FIX_MAPPED_EVENT_INVALID',
          error_message: `the ${h.event_type} event made from this message broke a rule: ${r.issues
            .slice(0, 5)
            .map((i) => `${i.path}: ${i.message} [${i.rule}]`)
            .join('; ')}`.slice(0, 1024),
          severity: ERROR_DEFAULT_SEVERITY.ERR_SYSTEM,
          affected_component: 'fix-replay',
        },
        fix: { log: (d.payload.fix as { log?: unknown } | undefined)?.log },
      },
      {
        policy: d.policy_identification,
        traceId: h.trace_id,
        venueId: h.venue_id,
        symbol: h.symbol,
        accountId: h.account_id,
        precision: h.timestamp_precision,
        clock: { clockSyncStatus: h.clock_sync_status, now: () => h },
        newId: () => h.event_id,
      },
    );
    const again = sealer.seal(replacement);
    if (!again.ok)
      throw new Error(`cannot seal even the ERR_SYSTEM replacement: ${again.issues[0]?.message}`);
    return again.event;
  };
  let batch: VcpEvent[] = [];

  for await (const lines of readLogLines(log)) {
    for (const l of lines) {
      stats.lines++;
      const entry = l.truncated ? undefined : parseLogLine(l.text);
      if (entry && entry.message === undefined) {
        if (entry.prefix === '') {
          stats.blankLines++;
          continue;
        }
        if (options.skipNonFix) {
          stats.skippedLines++;
          continue;
        }
      }
      const meta = {
        idSeed: `${source}\n${l.line}\n${l.text}`,
        log: { source, line: l.line },
        ...(entry?.time ? { receivedAt: entry.time } : {}),
        ...(entry?.direction ? { direction: entry.direction } : {}),
        ...(l.truncated ? { size: l.bytes } : {}),
      };
      adapter.onMessage(entry?.message ?? l.text, meta);
      for (const d of drafts) batch.push(seal(d));
      drafts.length = 0;
      if (batch.length >= batchSize) {
        stats.events += batch.length;
        await options.write(batch);
        batch = [];
      }
    }
    options.onProgress?.(stats.lines);
  }
  if (batch.length) {
    stats.events += batch.length;
    await options.write(batch);
  }
  return { ...stats, adapter: adapter.stats() };
}

/** Options of {@link replayFixLogToFile}. */
export interface FixReplayFileOptions extends Omit<FixReplayOptions, 'write'> {
  /** Signs the checkpoint and the anchor record (and, unless `signEvents` is false, every event). */
  signer: Signer;
  /** Sign each event (default `true`); otherwise only the checkpoint and anchor are signed. */
  signEvents?: boolean;
  /** Append a signed anchor record over the Merkle tree of all events (default `true`). */
  anchor?: boolean;
  /** Replace an existing output file (default: refuse). */
  force?: boolean;
}

/** What {@link replayFixLogToFile} wrote. */
export interface FixReplayFileResult extends FixReplayStats {
  out: string;
  anchor?: AnchorRecord;
  /** The `origin` of the file's segment (its META line and checkpoint). */
  origin: string;
  /** The closing checkpoint (signed note) over all events. */
  checkpoint: string;
}

/**
 * Replay a log into an export file `vcp verify` reads (format v2, one
 * segment): a `vcp_export` META line (origin
 * `vcp-instrument/fix-replay/<key id prefix>/<UUIDv7>`, `from: 0`), the sealed
 * events with their `merkle_index`, (by default) one anchor record over the
 * RFC 6962 tree of all of them, and last a checkpoint over that tree signed
 * by `signer`, binding META. The file is written in ~1 MiB appends and
 * fsynced before this resolves; the checkpoint is the last line, so a file
 * cut short has none.
 */
export async function replayFixLogToFile(
  log: string | Readable,
  out: string,
  options: FixReplayFileOptions,
): Promise<FixReplayFileResult> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(out, options.force ? 'w' : 'wx', 0o640);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new VcpIoError(
      code === 'EEXIST'
        ? `${out} already exists; choose another --out or pass --force to replace it`
        : `cannot create ${out}: ${code ?? (e as Error).message}`,
      { cause: e },
    );
  }
  const segment = new SignedSegment({
    signer: options.signer,
    role: 'fix-replay',
    producer: PRODUCERS.fixReplay,
    policyId: options.policy.policy_id,
  });
  let first: string | undefined;
  let last: string | undefined;
  let pending = '';
  const flushAt = 1024 * 1024;
  try {
    pending = `${segment.metaLine()}\n`;
    const stats = await replayFixLog(log, {
      ...options,
      signer: options.signEvents === false ? undefined : options.signer,
      async write(events) {
        for (const event of events) {
          event.security.merkle_index = segment.append(event.security.event_hash);
          first ??= event.header.event_id;
          last = event.header.event_id;
          pending += `${serializeEvent(event)}\n`;
        }
        if (pending.length >= flushAt) {
          await fh.write(pending);
          pending = '';
        }
      },
    });
    const head = segment.head();
    const note = segment.checkpointNote(head);
    let anchor: AnchorRecord | undefined;
    if (options.anchor !== false && head.size > 0) {
      anchor = createAnchorRecord(
        {
          merkle_root: head.rootHex,
          tree_size: head.size,
          merkle_mode: 'rfc6962',
          event_count: head.size,
          first_event_id: first!,
          last_event_id: last!,
          first_index: 0,
          policy_id: options.policy.policy_id,
        },
        {
          signer: options.signer,
          target: {
            type: 'LOCAL_FILE',
            identifier: out,
            proof: 'vcp fix-replay: anchored in the export itself, not externally',
          },
        },
      );
      // Its checkpoint: the closing one (same size and root).
      anchor.checkpoint = note;
      pending += `${exportLine({ kind: 'anchor', anchor })}\n`;
    }
    pending += `${checkpointLine(note)}\n`;
    await fh.write(pending);
    await fh.sync();
    const result = { ...stats, out, origin: segment.origin, checkpoint: note };
    return anchor ? { ...result, anchor } : result;
  } finally {
    await fh.close();
  }
}
