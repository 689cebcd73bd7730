/**
 * `vcp sidecar repair`: the explicit, operator-run way past damage the file
 * store refuses to start with (DESIGN decision 13). It quarantines, never
 * deletes:
 *
 * - the damaged segment's bytes from the first bad record to its end, and
 *   every newer segment, move into `quarantine/<time>-seg<N>-off<offset>/`
 *   with `report.json` (what was moved, from where, why, every record's
 *   merkle_index and event_id), `events.jsonl` (the checksum-valid events,
 *   ready to be sent again) and `repair-note.json` (the same facts signed
 *   with the sidecar's Ed25519 key, binding the report's SHA-256);
 * - only then is the segment cut back to the last good record.
 *
 * Repair never leaves a log shorter than an anchor covers: if the damage
 * lies below the newest anchored tree size it refuses, names the anchored
 * events lost from this copy, and says to restore them from a backup.
 */
import { createHash, verify as edVerify, type KeyObject } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fsyncDirSync, writeFileDurablySync } from '../../../core/durable-file.ts';
import { VcpIoError } from '../../../core/errors.ts';
import type { AnchorRecord } from '../../../core/types.ts';
import { canonicalize } from '../../../integrity/canonical.ts';
import type { Signer } from '../../../integrity/sign.ts';
import { anchoredFloor, readAnchorLog } from './anchor-log.ts';
import { acquireLock } from './lock.ts';
import { checkRecord } from './record.ts';
import {
  checkSegment,
  type Damage,
  describeDamage,
  describeHeads,
  type RecordHead,
  validHeads,
} from './segment-check.ts';

const SEGMENT_RE = /^(\d{8})\.log$/;
const NL = 0x0a;

/** Options of {@link repairDataDir}. */
export interface RepairOptions {
  /** The data folder. */
  dir: string;
  /** The sidecar's signing key (signs the repair note). */
  signer: Signer;
  /** One line to the sidecar's log. */
  log: (line: string) => void;
  /** Only say what would be done. */
  dryRun?: boolean;
}

/** One file (or part of one) moved into quarantine. */
export interface MovedPart {
  /** Where the bytes were (path relative to the data folder). */
  from: string;
  /** Where they are now (relative to the data folder). */
  to: string;
  /** Byte offset in `from` where the moved part started. */
  offset: number;
  bytes: number;
  /** Checksum-valid event records in the moved bytes. */
  records: { merkle_index: number; event_id: string; offset: number }[];
}

/** The `report.json` of a repair. */
export interface RepairReport {
  kind: 'vcp-sidecar-repair-report';
  version: 1;
  repaired_at: string;
  data_dir: string;
  reason: string;
  damage: {
    file: string;
    offset: number;
    problem: string;
    merkle_index: number;
    unverified: { merkle_index?: number; event_id?: string } | null;
  };
  anchored: { tree_size: number; anchor_id: string | null };
  /** Events the log keeps (merkle_index 0 … tree_size_after − 1). */
  tree_size_after: number;
  moved: MovedPart[];
  /** Checksum-valid events moved (also in events.jsonl). */
  events_quarantined: number;
  how_to_recover: string;
}

/** What {@link repairDataDir} did. */
export interface RepairOutcome {
  /** `clean`: nothing to repair; `repaired`; `refused`: nothing was changed; `planned`: dry run. */
  status: 'clean' | 'repaired' | 'refused' | 'planned';
  message: string;
  /** The quarantine folder (repaired or planned). */
  quarantine?: string;
  report?: RepairReport;
  /** Path of the signed note (repaired). */
  notePath?: string;
}

/** Repair a data folder the file store refuses to open. See the module comment. */
export async function repairDataDir(options: RepairOptions): Promise<RepairOutcome> {
  const { dir } = options;
  const segDir = join(dir, 'segments');
  let names: string[];
  try {
    names = readdirSync(segDir)
      .filter((n) => SEGMENT_RE.test(n))
      .sort();
  } catch (e) {
    throw new VcpIoError(
      `${dir} is not a sidecar data folder: cannot read ${segDir} (${(e as NodeJS.ErrnoException).code})`,
    );
  }
  const lock = await acquireLock(dir);
  try {
    return await repairLocked(options, segDir, names);
  } finally {
    await lock.release();
  }
}

async function repairLocked(options: RepairOptions, segDir: string, names: string[]): Promise<RepairOutcome> {
  const { dir, log } = options;
  let anchors: AnchorRecord[];
  try {
    const anchorLog = await readAnchorLog(join(dir, 'anchors.log'));
    if (!anchorLog.exists && names.length > 0) {
      return refused(
        log,
        `repair refused: ${dir} has event segments but no anchors.log, so which merkle_index values anchors cover is ` +
          'unknown. Restore anchors.log from a backup (if this folder never anchored anything, create it empty: touch anchors.log).',
      );
    }
    anchors = anchorLog.anchors;
  } catch (e) {
    return refused(log, `repair refused: ${(e as Error).message}`);
  }
  const newest = await anchoredFloor(dir, anchors);
  const anchored = newest?.tree_size ?? 0;

  let leaf = 0;
  let damage: Damage | undefined;
  let damagedAt = -1;
  let buf = Buffer.alloc(0);
  for (let k = 0; k < names.length && !damage; k++) {
    const path = join(segDir, names[k]!);
    buf = readFileSync(path);
    const check = checkSegment(buf, path, Number.parseInt(names[k]!.slice(0, 8), 10), leaf, () => {});
    leaf += check.count;
    if (check.damage) {
      damage = check.damage;
      damagedAt = k;
    }
  }
  if (!damage) {
    if (leaf < anchored) {
      return refused(
        log,
        `repair refused: the segments hold ${leaf} events, all intact, but anchor ${newest!.anchor_id} covers tree_size ${anchored}: ` +
          `merkle_index ${leaf}–${anchored - 1} are lost from this copy. Restore them from a backup; repair cannot ` +
          'bring them back and will not let the log continue below an anchored size.',
      );
    }
    const message = `nothing to repair in ${dir}: ${leaf} events in ${names.length} segment(s), every record intact, anchored tree_size ${anchored}`;
    log(message);
    return { status: 'clean', message };
  }

  // Everything behind the damage: the rest of its segment and every newer segment.
  const later = names.slice(damagedAt + 1).map((n) => {
    const path = join(segDir, n);
    return { name: n, path, heads: validHeads(readFileSync(path), 0) };
  });
  const behind: RecordHead[] = [...damage.validAfter, ...later.flatMap((l) => l.heads)];
  if (damage.leaf < anchored) {
    const anchoredBehind = behind.filter((h) => h.index < anchored);
    const guess = damage.damagedHead?.eventId
      ? ` (its bytes say event_id ${damage.damagedHead.eventId}, unverified)`
      : '';
    return refused(
      log,
      `repair refused: ${describeDamage(damage)}. That is below the newest anchored tree_size ${anchored} ` +
        `(anchor ${newest!.anchor_id}): the anchored event at merkle_index ${damage.leaf}${guess} is lost from this copy, ` +
        `and cutting the log there would also drop the anchored events behind it` +
        (anchoredBehind.length ? ` (${describeHeads(anchoredBehind)}, checksums intact)` : '') +
        `. Restore ${damage.file} from a backup that holds merkle_index ${damage.leaf}–${anchored - 1}; nothing was changed.`,
    );
  }

  const now = new Date();
  const segName = names[damagedAt]!;
  const qName = `${now.toISOString().replace(/[:.]/g, '-')}-seg${segName.slice(0, 8)}-off${damage.offset}`;
  const qDir = join(dir, 'quarantine', qName);
  const rel = (p: string) => relative(dir, p);
  const tailName = `${segName}.from-${damage.offset}`;
  const moved: MovedPart[] = [
    {
      from: rel(damage.file),
      to: rel(join(qDir, tailName)),
      offset: damage.offset,
      bytes: damage.bytes,
      records: damage.validAfter.map(recordEntry),
    },
    ...later.map((l) => ({
      from: rel(l.path),
      to: rel(join(qDir, l.name)),
      offset: 0,
      bytes: readFileSync(l.path).length,
      records: l.heads.map(recordEntry),
    })),
  ];
  const why =
    damagedAt < names.length - 1
      ? 'the damage is not in the newest segment'
      : damage.validAfter.length
        ? 'checksum-valid records follow the damaged one'
        : damage.tornShaped
          ? 'a torn tail (an unacknowledged write cut short)'
          : 'a complete record fails its check (bit rot)';
  const report: RepairReport = {
    kind: 'vcp-sidecar-repair-report',
    version: 1,
    repaired_at: now.toISOString(),
    data_dir: dir,
    reason: `${describeDamage(damage)}; ${why}`,
    damage: {
      file: rel(damage.file),
      offset: damage.offset,
      problem: damage.problem,
      merkle_index: damage.leaf,
      unverified: damage.damagedHead
        ? {
            ...(damage.damagedHead.index !== undefined ? { merkle_index: damage.damagedHead.index } : {}),
            ...(damage.damagedHead.eventId !== undefined ? { event_id: damage.damagedHead.eventId } : {}),
          }
        : null,
    },
    anchored: { tree_size: anchored, anchor_id: newest?.anchor_id ?? null },
    tree_size_after: damage.leaf,
    moved,
    events_quarantined: behind.length,
    how_to_recover:
      `The log now ends at merkle_index ${damage.leaf - 1} and continues from ${damage.leaf}. ` +
      `events.jsonl holds the ${behind.length} checksum-valid event(s) moved out; send them again (same event_id) ` +
      'and the sidecar stores them under new merkle_index values. The raw bytes, the damaged record included, are kept unchanged beside this report.',
  };
  if (options.dryRun) {
    const message = `dry run: would move ${moved.length} part(s) (${behind.length} checksum-valid event(s) and the damaged record) into ${qDir}, leaving ${damage.leaf} events; nothing was changed`;
    log(message);
    return { status: 'planned', message, quarantine: qDir, report };
  }

  // 1. Copy the damaged tail and move the newer segments, durably, before anything is cut.
  mkdirSync(qDir, { recursive: true });
  fsyncDirSync(join(dir, 'quarantine'));
  writeQuarantined(join(qDir, tailName), buf.subarray(damage.offset));
  for (const l of later) renameSync(l.path, join(qDir, l.name));
  writeQuarantined(
    join(qDir, 'events.jsonl'),
    eventsJsonl([buf.subarray(damage.offset), ...later.map((l) => readFileSync(join(qDir, l.name)))]),
  );
  const reportText = `${JSON.stringify(report, null, 2)}\n`;
  writeQuarantined(join(qDir, 'report.json'), reportText);
  const note = signRepairNote(
    {
      kind: 'vcp-sidecar-repair-note',
      version: 1,
      repaired_at: report.repaired_at,
      data_dir: dir,
      quarantine: rel(qDir),
      report_sha256: createHash('sha256').update(reportText).digest('hex'),
      damage: {
        file: report.damage.file,
        offset: damage.offset,
        merkle_index: damage.leaf,
        problem: damage.problem,
      },
      anchored_tree_size: anchored,
      tree_size_after: damage.leaf,
      events_quarantined: behind.length,
    },
    options.signer,
  );
  const notePath = join(qDir, 'repair-note.json');
  writeQuarantined(notePath, `${JSON.stringify(note, null, 2)}\n`);
  fsyncDirSync(qDir);
  fsyncDirSync(segDir);
  // 2. Cut the damaged segment back to its last good record.
  const h = await open(damage.file, 'r+');
  try {
    await h.truncate(damage.offset);
    await h.datasync();
  } finally {
    await h.close();
  }
  const message =
    `repaired ${dir}: ${describeDamage(damage)}; moved ${moved.length} part(s) with ${behind.length} checksum-valid event(s) ` +
    `and the damaged record into ${qDir} (nothing deleted); the log keeps merkle_index 0–${damage.leaf - 1} ` +
    `(anchored tree_size ${anchored}) and continues from ${damage.leaf}; signed note ${notePath} (signing_key_id ${options.signer.keyId})`;
  log(message);
  return { status: 'repaired', message, quarantine: qDir, report, notePath };
}

function refused(log: (line: string) => void, message: string): RepairOutcome {
  log(message);
  return { status: 'refused', message };
}

function recordEntry(h: RecordHead): MovedPart['records'][number] {
  return { merkle_index: h.index, event_id: h.eventId, offset: h.offset };
}

/** The checksum-valid events of some segment bytes, one JSON event a line (their stored `security` restored). */
function eventsJsonl(parts: Buffer[]): string {
  const lines: string[] = [];
  for (const buf of parts) {
    let at = 0;
    while (at < buf.length) {
      const nl = buf.indexOf(NL, at);
      if (nl === -1) break;
      const json = checkRecord(buf, at, nl + 1);
      at = nl + 1;
      if (typeof json === 'string') continue;
      try {
        const r = JSON.parse(json.toString('utf8')) as { s?: unknown; e?: Record<string, unknown> };
        if (!r.e || typeof r.e !== 'object') continue;
        if (r.s !== undefined) r.e.security = r.s;
        lines.push(JSON.stringify(r.e));
      } catch {
        // not an event record: its bytes stay in the raw copy
      }
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** A repair note and its Ed25519 signature over the note's RFC 8785 canonical JSON (UTF-8). */
export interface SignedRepairNote {
  note: Record<string, unknown>;
  signature: {
    algorithm: 'ED25519';
    signing_key_id: string;
    public_key: string;
    signed: string;
    value: string;
  };
}

/** Sign a repair note with the sidecar's key. */
export function signRepairNote(note: Record<string, unknown>, signer: Signer): SignedRepairNote {
  const bytes = Buffer.from(canonicalize(note), 'utf8');
  return {
    note,
    signature: {
      algorithm: 'ED25519',
      signing_key_id: signer.keyId,
      public_key: signer.exportPublicKey('hex'),
      signed: 'RFC 8785 canonical JSON of "note", UTF-8',
      value: signer.signMessage(bytes).toString('base64'),
    },
  };
}

/** True when `signed` carries a valid signature by `publicKey` over its note. Never throws. */
export function verifyRepairNote(signed: unknown, publicKey: KeyObject): boolean {
  try {
    const s = signed as SignedRepairNote;
    const bytes = Buffer.from(canonicalize(s.note), 'utf8');
    return edVerify(null, bytes, publicKey, Buffer.from(s.signature.value, 'base64'));
  } catch {
    return false;
  }
}

/** Quarantine files are new (never overwritten) and readable by the operator. */
function writeQuarantined(path: string, data: Buffer | string): void {
  writeFileDurablySync(path, data, { mode: 0o644, flag: 'wx' });
}
