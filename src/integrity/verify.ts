/**
 * The offline verifier: given exported events (and anchor records, and the
 * public keys the auditor trusts) it says, per event and overall, what holds
 * and what does not, in plain words. It trusts nothing in the export except
 * what it can recompute.
 *
 * Checks per event: schema, uuidv7, timestamp (int↔iso and precision),
 * event_hash, chain (prev_hash continuity), signature, merkle_inclusion
 * (against the anchored root) and anchor_signature. Gaps, reorderings,
 * duplicates and forks are named by index and event_id.
 *
 * Statuses: `fail` breaks integrity (or, with `strict`, conformance); `warn`
 * is a v1.1 conformance gap that lenient producers have (UUIDv4 ids,
 * millisecond timestamps) or something not yet provable (not yet anchored);
 * `skip` means the check does not apply or lacks input (no public key given).
 */
import type { KeyObject } from 'node:crypto';
import {
  HASH_ALGOS,
  type HashAlgo,
  MERKLE_MODES,
  type MerkleMode,
  TIMESTAMP_PRECISIONS,
  type TimestampPrecision,
} from '../core/enums.ts';
import { checkTimestampPair } from '../core/timestamp.ts';
import type { AnchorRecord } from '../core/types.ts';
import { isUuid, isUuidV7 } from '../core/uuidv7.ts';
import { validateEvent } from '../core/validate.ts';
import { verifyAnchorSignature } from './anchor-record.ts';
import { computeEventHashVariant, GENESIS_HASH, HASH_VARIANTS, type HashVariant } from './event-hash.ts';
import { keyId, loadPublicKey, type PublicKeyInput } from './keys.ts';
import { MerkleTree } from './merkle/index.ts';
import { type EventView, viewEvent } from './normalize.ts';
import { verifySignature } from './sign.ts';

/** Names of the per-event checks, in the order they run. */
export const CHECK_NAMES = [
  'schema',
  'uuidv7',
  'timestamp',
  'event_hash',
  'chain',
  'signature',
  'merkle_inclusion',
  'anchor_signature',
] as const;
/** One of {@link CHECK_NAMES}. */
export type CheckName = (typeof CHECK_NAMES)[number];
/** Outcome of one check. */
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

/** One check's outcome and, unless it passed, why. */
export interface CheckResult {
  status: CheckStatus;
  reason?: string;
}

/** Everything the verifier found about one event. */
export interface EventReport {
  /** Position in the input (0-based). */
  index: number;
  event_id?: string;
  event_type?: string;
  merkle_index?: number;
  ok: boolean;
  checks: Record<CheckName, CheckResult>;
}

/** What the verifier found about one anchor record. */
export interface AnchorReport {
  anchor_id?: string;
  partition: number;
  tree_size?: number;
  ok: boolean;
  signature: CheckResult;
  root: CheckResult;
  coverage: CheckResult;
}

/** A gap, reordering, duplicate or fork, named by position and event id. */
export interface Finding {
  kind: 'gap' | 'reordering' | 'duplicate' | 'fork';
  message: string;
  /** Input positions involved. */
  indexes: number[];
  event_ids: string[];
}

/** Counts per check. */
export type CheckTotals = Record<CheckName, Record<CheckStatus, number>>;

/** The verifier's verdict. */
export interface VerificationReport {
  /** True when no check failed and no gap, reordering, duplicate or fork was found. */
  ok: boolean;
  totals: {
    events: number;
    valid: number;
    invalid: number;
    withWarnings: number;
    anchors: number;
    anchorsValid: number;
  };
  checks: CheckTotals;
  /** Reports of events that failed or warned (all events with `keepPassing`). */
  events: EventReport[];
  anchors: AnchorReport[];
  gaps: Finding[];
  reorderings: Finding[];
  duplicates: Finding[];
  forks: Finding[];
  /** Each partition's tree as rebuilt from the export. */
  trees: { partition: number; size: number; root: string; mode: MerkleMode }[];
  /** Notes about the run (e.g. "no public keys given: signatures not checked"). */
  notes: string[];
}

/** Options of {@link verifyEvents}. */
export interface VerifyOptions {
  /** Trusted public keys (PEM, JWK, raw hex, KeyObject), matched by `signing_key_id`. */
  publicKeys?: PublicKeyInput[];
  /** AnchorRecords to check roots against. */
  anchors?: unknown[];
  /** Hashing convention (default `vcp-1.1`). */
  hashVariant?: HashVariant;
  /** Merkle mode when no anchor names one (default `rfc6962`). */
  merkleMode?: MerkleMode;
  /** Conformance gaps (warnings) count as failures. */
  strict?: boolean;
  /** Unsigned events fail instead of being skipped. */
  requireSignatures?: boolean;
  /** Keep reports of passing events too (memory grows with the export). */
  keepPassing?: boolean;
  /** Called every 1 000 events during hashing (for progress bars). */
  onProgress?: (done: number, total: number) => void;
}

const HEX64_RE = /^[0-9a-f]{64}$/;

interface Item {
  index: number;
  view: EventView | undefined;
  eventId: string | undefined;
  hash: string | undefined; // the claimed event_hash when well-formed
  hashOk: boolean;
  merkleIndex: number | undefined;
  partition: number;
  checks: Record<CheckName, CheckResult>;
}

function blankChecks(): Record<CheckName, CheckResult> {
  return {
    schema: { status: 'skip' },
    uuidv7: { status: 'skip' },
    timestamp: { status: 'skip' },
    event_hash: { status: 'skip' },
    chain: { status: 'skip' },
    signature: { status: 'skip' },
    merkle_inclusion: { status: 'skip' },
    anchor_signature: { status: 'skip' },
  };
}

const pass: CheckResult = { status: 'pass' };

/** Verify exported events. Never throws on bad data: every problem becomes a reason in the report. */
export function verifyEvents(events: readonly unknown[], options: VerifyOptions = {}): VerificationReport {
  const notes: string[] = [];
  const variant = options.hashVariant ?? 'vcp-1.1';
  const keys = loadKeys(options.publicKeys ?? [], notes);
  if (keys.size === 0) notes.push('no public keys given: event and anchor signatures are not checked');

  // Pass 1: per-event checks that need only the event itself.
  const items: Item[] = [];
  for (let i = 0; i < events.length; i++) {
    items.push(checkOne(events[i], i, variant, keys, options));
    if (options.onProgress && i % 1000 === 999) options.onProgress(i + 1, events.length);
  }
  options.onProgress?.(events.length, events.length);

  const duplicates = findDuplicates(items);
  const { gaps: chainGaps, reorderings: chainReorders, forks } = checkChain(items);
  const anchors = parseAnchors(options.anchors ?? [], notes);
  const merkle = checkMerkle(items, anchors, keys, options.merkleMode ?? 'rfc6962');

  // Fold statuses into totals.
  const strict = options.strict ?? false;
  const checks = Object.fromEntries(
    CHECK_NAMES.map((c) => [c, { pass: 0, fail: 0, warn: 0, skip: 0 }]),
  ) as CheckTotals;
  const reports: EventReport[] = [];
  let valid = 0;
  let withWarnings = 0;
  for (const it of items) {
    if (strict) {
      for (const c of CHECK_NAMES)
        if (it.checks[c].status === 'warn') it.checks[c] = { ...it.checks[c], status: 'fail' };
    }
    let ok = true;
    let warned = false;
    for (const c of CHECK_NAMES) {
      const s = it.checks[c].status;
      checks[c][s]++;
      if (s === 'fail') ok = false;
      if (s === 'warn') warned = true;
    }
    if (ok) valid++;
    if (warned) withWarnings++;
    if (!ok || warned || options.keepPassing) {
      const r: EventReport = { index: it.index, ok, checks: it.checks };
      if (it.eventId !== undefined) r.event_id = it.eventId;
      const type = it.view?.header.event_type;
      if (typeof type === 'string') r.event_type = type;
      if (it.merkleIndex !== undefined) r.merkle_index = it.merkleIndex;
      reports.push(r);
    }
  }
  const gaps = [...chainGaps, ...merkle.gaps];
  const reorderings = [...chainReorders, ...merkle.reorderings];
  const anchorsValid = merkle.anchorReports.filter((a) => a.ok).length;
  const ok =
    valid === items.length &&
    gaps.length === 0 &&
    reorderings.length === 0 &&
    duplicates.length === 0 &&
    forks.length === 0 &&
    anchorsValid === merkle.anchorReports.length;
  return {
    ok,
    totals: {
      events: items.length,
      valid,
      invalid: items.length - valid,
      withWarnings,
      anchors: merkle.anchorReports.length,
      anchorsValid,
    },
    checks,
    events: reports,
    anchors: merkle.anchorReports,
    gaps,
    reorderings,
    duplicates,
    forks,
    trees: merkle.trees,
    notes,
  };
}

function loadKeys(inputs: PublicKeyInput[], notes: string[]): Map<string, KeyObject> {
  const map = new Map<string, KeyObject>();
  for (const input of inputs) {
    try {
      const key = loadPublicKey(input);
      map.set(keyId(key), key);
    } catch (e) {
      notes.push(`a public key could not be loaded: ${(e as Error).message}`);
    }
  }
  return map;
}

function checkOne(
  event: unknown,
  index: number,
  variant: HashVariant,
  keys: Map<string, KeyObject>,
  options: VerifyOptions,
): Item {
  const checks = blankChecks();
  const view = viewEvent(event);
  const item: Item = {
    index,
    view,
    eventId: undefined,
    hash: undefined,
    hashOk: false,
    merkleIndex: undefined,
    partition: 0,
    checks,
  };
  const unreadable = (event as { __unreadable?: unknown } | null)?.__unreadable;
  if (!view || unreadable !== undefined) {
    checks.schema = {
      status: 'fail',
      reason: unreadable !== undefined ? `unreadable line: ${String(unreadable)}` : 'not a JSON object',
    };
    checks.event_hash = { status: 'fail', reason: 'nothing to hash' };
    return item;
  }
  const h = view.header;
  const sec = view.security ?? {};
  if (typeof h.event_id === 'string') item.eventId = h.event_id;
  if (Number.isSafeInteger(sec.merkle_index) && (sec.merkle_index as number) >= 0)
    item.merkleIndex = sec.merkle_index as number;
  if (Number.isSafeInteger(sec.partition) && (sec.partition as number) >= 0)
    item.partition = sec.partition as number;

  // schema
  if (view.form === 'snake_case') {
    const { errors, warnings } = validateEvent(event);
    if (errors.length)
      checks.schema = { status: 'fail', reason: errors.map((e) => `${e.path}: ${e.message}`).join('; ') };
    else {
      const gaps = warnings.filter((w) => !['uuidv7', 'timestamp-consistency'].includes(w.rule));
      checks.schema = gaps.length
        ? { status: 'warn', reason: gaps.map((w) => `${w.path}: ${w.message}`).join('; ') }
        : pass;
    }
  } else {
    const missing = ['event_id', 'event_type', 'timestamp_int'].filter((f) => h[f] === undefined);
    checks.schema = missing.length
      ? { status: 'fail', reason: `Header lacks ${missing.join(', ')}` }
      : { status: 'warn', reason: 'PascalCase event (read through the compatibility view)' };
  }

  // uuidv7
  if (isUuidV7(h.event_id)) checks.uuidv7 = pass;
  else if (isUuid(h.event_id))
    checks.uuidv7 = { status: 'warn', reason: `event_id ${h.event_id} is a UUID but not version 7` };
  else checks.uuidv7 = { status: 'fail', reason: 'event_id is missing or not a UUID' };

  // timestamp
  const precision = h.timestamp_precision as TimestampPrecision;
  if (TIMESTAMP_PRECISIONS.includes(precision)) {
    const problem = checkTimestampPair(h.timestamp_int, h.timestamp_iso, precision);
    checks.timestamp = problem ? { status: 'warn', reason: problem } : pass;
  } else
    checks.timestamp = {
      status: 'warn',
      reason: 'timestamp_precision missing or unknown: consistency not checked',
    };

  // event_hash
  const claimed = sec.event_hash;
  const algo = (HASH_ALGOS.includes(sec.hash_algo as HashAlgo) ? sec.hash_algo : h.hash_algo) as
    | HashAlgo
    | undefined;
  const prev = typeof sec.prev_hash === 'string' ? sec.prev_hash : undefined;
  if (typeof claimed !== 'string' || !HEX64_RE.test(claimed)) {
    checks.event_hash = {
      status: 'fail',
      reason: 'security.event_hash is missing or not 64 lowercase hex characters',
    };
  } else {
    item.hash = claimed;
    const hashOpts = {
      algo: algo && HASH_ALGOS.includes(algo) ? algo : 'SHA256',
      prevHash: prev && HEX64_RE.test(prev) ? prev : undefined,
    } as const;
    let recomputed: string | undefined;
    try {
      recomputed = computeEventHashVariant(
        variant,
        { header: view.rawHeader, payload: view.rawPayload },
        hashOpts,
      );
    } catch (e) {
      checks.event_hash = {
        status: 'fail',
        reason: `cannot canonicalise the event: ${(e as Error).message}`,
      };
    }
    if (recomputed !== undefined) {
      if (recomputed === claimed) {
        checks.event_hash = pass;
        item.hashOk = true;
      } else {
        checks.event_hash = {
          status: 'fail',
          reason: hashMismatchReason(variant, view, hashOpts, claimed, recomputed),
        };
      }
    }
  }

  // signature
  const sig = sec.signature;
  if (sig === undefined) {
    checks.signature = options.requireSignatures
      ? { status: 'fail', reason: 'event is not signed' }
      : { status: 'skip', reason: 'unsigned' };
  } else if (keys.size === 0) {
    checks.signature = { status: 'skip', reason: 'no public key given' };
  } else {
    const kid = typeof sec.signing_key_id === 'string' ? sec.signing_key_id : undefined;
    const key = kid ? keys.get(kid) : keys.size === 1 ? [...keys.values()][0] : undefined;
    if (!key)
      checks.signature = {
        status: 'fail',
        reason: `signed by key id ${kid ?? '(none)'}, which is not among the trusted public keys`,
      };
    else if (typeof claimed !== 'string')
      checks.signature = { status: 'fail', reason: 'no event_hash to check the signature against' };
    else if (verifySignature(claimed, sig, key)) checks.signature = pass;
    else
      checks.signature = {
        status: 'fail',
        reason: 'the Ed25519 signature does not verify over event_hash with the trusted key',
      };
  }
  return item;
}

function hashMismatchReason(
  variant: HashVariant,
  view: EventView,
  opts: { algo: HashAlgo; prevHash?: string },
  claimed: string,
  recomputed: string,
): string {
  // Name another convention if the hash matches it: the export is honest but was hashed differently.
  for (const other of HASH_VARIANTS) {
    if (other === variant) continue;
    try {
      if (
        computeEventHashVariant(other, { header: view.rawHeader, payload: view.rawPayload }, opts) === claimed
      ) {
        return `event_hash matches the "${other}" hashing convention, not "${variant}" (rerun with --hash-variant ${other})`;
      }
    } catch {
      // that convention cannot hash this event either
    }
  }
  return `header or payload was changed after sealing: recomputed ${recomputed.slice(0, 16)}…, recorded ${claimed.slice(0, 16)}…`;
}

function findDuplicates(items: Item[]): Finding[] {
  const seen = new Map<string, number>();
  const out: Finding[] = [];
  for (const it of items) {
    if (!it.eventId) continue;
    const first = seen.get(it.eventId);
    if (first === undefined) seen.set(it.eventId, it.index);
    else {
      out.push({
        kind: 'duplicate',
        message: `event_id ${it.eventId} appears at positions ${first} and ${it.index}`,
        indexes: [first, it.index],
        event_ids: [it.eventId],
      });
      it.checks.schema = { status: 'fail', reason: `duplicate event_id (first at position ${first})` };
    }
  }
  return out;
}

/**
 * Chain continuity across possibly interleaved chains (a sidecar export mixes
 * producers): every non-genesis prev_hash must be the hash of an earlier
 * event, and no two events may claim the same predecessor.
 */
function checkChain(items: Item[]): { gaps: Finding[]; reorderings: Finding[]; forks: Finding[] } {
  const byHash = new Map<string, number>();
  for (const it of items) if (it.hash && !byHash.has(it.hash)) byHash.set(it.hash, it.index);
  const claimedBy = new Map<string, number>();
  const gaps: Finding[] = [];
  const reorderings: Finding[] = [];
  const forks: Finding[] = [];
  for (const it of items) {
    const prev = it.view?.security?.prev_hash;
    if (prev === undefined) continue;
    const id = it.eventId ?? `(position ${it.index})`;
    if (typeof prev !== 'string' || !HEX64_RE.test(prev)) {
      it.checks.chain = { status: 'fail', reason: 'prev_hash is not 64 lowercase hex characters' };
      continue;
    }
    if (prev === GENESIS_HASH) {
      it.checks.chain = { status: 'pass', reason: 'chain start (genesis)' };
      continue;
    }
    const other = claimedBy.get(prev);
    if (other !== undefined) {
      it.checks.chain = {
        status: 'fail',
        reason: `fork: the event at position ${other} already links to the same predecessor`,
      };
      forks.push({
        kind: 'fork',
        message: `events at positions ${other} and ${it.index} (${id}) both link to ${prev.slice(0, 16)}…`,
        indexes: [other, it.index],
        event_ids: [items[other]?.eventId ?? '', it.eventId ?? ''],
      });
      continue;
    }
    claimedBy.set(prev, it.index);
    const at = byHash.get(prev);
    if (at === undefined) {
      it.checks.chain = {
        status: 'fail',
        reason: `gap: prev_hash ${prev.slice(0, 16)}… is not the hash of any event in the export`,
      };
      gaps.push({
        kind: 'gap',
        message: `event ${id} at position ${it.index} links to ${prev.slice(0, 16)}…, which is missing: at least one event before it was removed`,
        indexes: [it.index],
        event_ids: it.eventId ? [it.eventId] : [],
      });
    } else if (at > it.index) {
      it.checks.chain = {
        status: 'fail',
        reason: `reordered: its predecessor appears later, at position ${at}`,
      };
      reorderings.push({
        kind: 'reordering',
        message: `event ${id} at position ${it.index} comes before its predecessor at position ${at}`,
        indexes: [it.index, at],
        event_ids: [it.eventId ?? '', items[at]?.eventId ?? ''],
      });
    } else it.checks.chain = pass;
  }
  return { gaps, reorderings, forks };
}

interface ParsedAnchor {
  record: AnchorRecord;
  partition: number;
}

function parseAnchors(raw: unknown[], notes: string[]): ParsedAnchor[] {
  const out: ParsedAnchor[] = [];
  for (const [i, a] of raw.entries()) {
    const r = a as Partial<AnchorRecord> | null;
    if (
      !r ||
      typeof r !== 'object' ||
      typeof r.merkle_root !== 'string' ||
      !Number.isSafeInteger(r.tree_size) ||
      (r.tree_size as number) < 0
    ) {
      notes.push(`anchor record ${i} is malformed (needs merkle_root and tree_size) and was ignored`);
      continue;
    }
    out.push({
      record: r as AnchorRecord,
      partition: Number.isSafeInteger(r.partition) ? (r.partition as number) : 0,
    });
  }
  return out;
}

function checkMerkle(
  items: Item[],
  anchors: ParsedAnchor[],
  keys: Map<string, KeyObject>,
  defaultMode: MerkleMode,
) {
  const gaps: Finding[] = [];
  const reorderings: Finding[] = [];
  const anchorReports: AnchorReport[] = [];
  const trees: VerificationReport['trees'] = [];

  const partitions = new Set<number>([...items.map((i) => i.partition), ...anchors.map((a) => a.partition)]);
  for (const partition of [...partitions].sort((a, b) => a - b)) {
    const members = items.filter((i) => i.partition === partition);
    const pAnchors = anchors
      .filter((a) => a.partition === partition)
      .sort((a, b) => a.record.tree_size - b.record.tree_size);
    const modes = new Set(pAnchors.map((a) => a.record.merkle_mode).filter((m) => MERKLE_MODES.includes(m)));
    const mode: MerkleMode = modes.size === 1 ? [...modes][0]! : defaultMode;

    // Leaf order: merkle_index when every event has one, else input order.
    const indexed = members.every((m) => m.merkleIndex !== undefined);
    let ordered = members;
    if (indexed && members.length) {
      ordered = [...members].sort((a, b) => a.merkleIndex! - b.merkleIndex!);
      let lastSeen = -1;
      for (const m of members) {
        if (m.merkleIndex! < lastSeen) {
          reorderings.push({
            kind: 'reordering',
            message: `partition ${partition}: event ${m.eventId ?? '?'} at position ${m.index} has merkle_index ${m.merkleIndex}, after merkle_index ${lastSeen}`,
            indexes: [m.index],
            event_ids: m.eventId ? [m.eventId] : [],
          });
        }
        lastSeen = Math.max(lastSeen, m.merkleIndex!);
      }
      for (let k = 0; k < ordered.length; k++) {
        const expected = k === 0 ? 0 : ordered[k - 1]!.merkleIndex! + 1;
        const got = ordered[k]!.merkleIndex!;
        if (got > expected) {
          gaps.push({
            kind: 'gap',
            message: `partition ${partition}: merkle indexes ${expected}..${got - 1} are missing (${got - expected} event(s)) before event ${ordered[k]!.eventId ?? '?'}`,
            indexes: [ordered[k]!.index],
            event_ids: ordered[k]!.eventId ? [ordered[k]!.eventId!] : [],
          });
        }
      }
    }

    // Rebuild the tree from the recorded hashes; a missing or malformed hash stops it.
    const tree = new MerkleTree({ mode });
    let contiguous = true;
    for (let k = 0; k < ordered.length; k++) {
      const m = ordered[k]!;
      if (!m.hash || (indexed && m.merkleIndex !== k)) {
        contiguous = false;
        break;
      }
      tree.append(m.hash);
    }
    trees.push({ partition, size: tree.size, root: tree.root(), mode });

    // Anchors: signature, root against the rebuilt tree, coverage.
    const rootOk = new Map<ParsedAnchor, boolean>();
    const reportOf = new Map<ParsedAnchor, AnchorReport>();
    let prevSize = 0;
    for (const a of pAnchors) {
      const r = a.record;
      const report: AnchorReport = { partition, ok: true, signature: pass, root: pass, coverage: pass };
      if (typeof r.anchor_id === 'string') report.anchor_id = r.anchor_id;
      report.tree_size = r.tree_size;
      if (keys.size === 0) report.signature = { status: 'skip', reason: 'no public key given' };
      else {
        const key = keys.get(r.signing_key_id) ?? (keys.size === 1 ? [...keys.values()][0] : undefined);
        if (!key)
          report.signature = {
            status: 'fail',
            reason: `signed by key id ${r.signing_key_id}, not a trusted key`,
          };
        else if (!verifyAnchorSignature(r, key))
          report.signature = { status: 'fail', reason: 'the signature over merkle_root does not verify' };
      }
      if (r.tree_size > tree.size) {
        report.coverage = {
          status: 'fail',
          reason: contiguous
            ? `covers ${r.tree_size} events but the export has only ${tree.size}: events ${tree.size}..${r.tree_size - 1} are missing`
            : `covers ${r.tree_size} events but the export's events stop being contiguous at ${tree.size}`,
        };
        report.root = { status: 'skip', reason: 'not enough events to rebuild this root' };
        if (contiguous) {
          gaps.push({
            kind: 'gap',
            message: `partition ${partition}: anchor ${r.anchor_id ?? '?'} covers ${r.tree_size} events; events ${tree.size}..${r.tree_size - 1} are missing from the export`,
            indexes: [],
            event_ids: [],
          });
        }
        rootOk.set(a, false);
      } else {
        const root = tree.root(r.tree_size);
        if (root !== r.merkle_root) {
          report.root = {
            status: 'fail',
            reason: `root of the first ${r.tree_size} events is ${root.slice(0, 16)}…, anchored ${String(r.merkle_root).slice(0, 16)}…: an event among positions ${prevSize}..${r.tree_size - 1} was altered, removed or inserted`,
          };
          rootOk.set(a, false);
        } else rootOk.set(a, true);
        const first = ordered[r.first_index ?? prevSize];
        const last = ordered[r.tree_size - 1];
        if (r.first_event_id && first && r.first_event_id !== first.eventId && r.event_count > 0) {
          report.coverage = {
            status: 'fail',
            reason: `first_event_id ${r.first_event_id} is not the event at index ${r.first_index ?? prevSize}`,
          };
        } else if (r.last_event_id && last && r.last_event_id !== last.eventId && r.event_count > 0) {
          report.coverage = {
            status: 'fail',
            reason: `last_event_id ${r.last_event_id} is not the event at index ${r.tree_size - 1}`,
          };
        }
      }
      report.ok =
        report.signature.status !== 'fail' &&
        report.root.status !== 'fail' &&
        report.coverage.status !== 'fail';
      anchorReports.push(report);
      reportOf.set(a, report);
      prevSize = Math.max(prevSize, r.tree_size);
    }

    // Per event: inclusion against the smallest anchor covering it, and that anchor's signature.
    const anchorById = new Map(pAnchors.map((a) => [a.record.anchor_id, a]));
    let cover = 0; // anchors are sorted by tree_size and k only grows
    for (let k = 0; k < ordered.length; k++) {
      const m = ordered[k]!;
      while (cover < pAnchors.length && pAnchors[cover]!.record.tree_size <= k) cover++;
      const covering = pAnchors[cover];
      if (!covering) {
        m.checks.merkle_inclusion = { status: 'warn', reason: 'not covered by any anchor yet' };
        m.checks.anchor_signature = { status: 'skip', reason: 'not anchored' };
        continue;
      }
      const ref = m.view?.security?.anchor_reference;
      const refAnchor = typeof ref === 'string' ? anchorById.get(ref) : undefined;
      if (typeof ref === 'string' && !refAnchor) {
        m.checks.merkle_inclusion = {
          status: 'fail',
          reason: `anchor_reference ${ref} names no anchor record given`,
        };
      } else if (!contiguous && k >= tree.size) {
        m.checks.merkle_inclusion = {
          status: 'fail',
          reason: 'cannot rebuild the tree up to this event (a hash or index before it is missing)',
        };
      } else if (!m.hashOk) {
        m.checks.merkle_inclusion = {
          status: 'fail',
          reason: 'its event_hash does not match its content, so its leaf proves nothing',
        };
      } else if (!rootOk.get(covering)) {
        m.checks.merkle_inclusion = {
          status: 'fail',
          reason: `the anchored root of anchor ${covering.record.anchor_id} does not match the events it covers`,
        };
      } else {
        const claimedRoot = m.view?.security?.merkle_root;
        const target = refAnchor ?? covering;
        if (typeof claimedRoot === 'string' && claimedRoot !== target.record.merkle_root) {
          m.checks.merkle_inclusion = {
            status: 'fail',
            reason: `security.merkle_root ${claimedRoot.slice(0, 16)}… is not the root of anchor ${target.record.anchor_id}`,
          };
        } else m.checks.merkle_inclusion = pass;
      }
      m.checks.anchor_signature = reportOf.get(covering)?.signature ?? { status: 'skip' };
    }
  }
  return { gaps, reorderings, anchorReports, trees };
}
