/**
 * Reading an evidence-pack folder as other VCP producers publish it: one
 * event log (JSON Lines, or a JSON document with an `events` array), anchor
 * and batch files in their own shapes, and public keys. Everything becomes
 * the verifier's input: export lines for the events (numbers kept as
 * written), anchor records in this package's shape, and findings for what
 * the folder itself says. Keys found in the pack are never trusted: they
 * are named, so the auditor can compare them with keys obtained elsewhere.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { VcpValidationError } from '../core/errors.ts';
import { keyId, loadPublicKey } from '../integrity/keys.ts';
import { parseLossless, stringifyLossless } from '../integrity/python-json.ts';
import { parseStrictJson } from '../integrity/strict-json.ts';
import { type Finding, finding } from './findings.ts';

/** What was found in the folder. */
export interface EvidencePack {
  root: string;
  /** The event log read, relative to `root`. */
  eventsFile: string;
  /** Events as export lines (JSON text, numbers as written). */
  lines: string[];
  /** Anchor and batch statements, as anchor records. */
  anchors: Record<string, unknown>[];
  /** Every file and the role it played. */
  files: { path: string; role: string }[];
  findings: Finding[];
}

/** A folder that cannot be read as a pack (exit 2). */
export class EvidencePackError extends Error {
  override name = 'EvidencePackError';
}

const MAX_FILES = 500;
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const SKIP_DIRS = new Set(['.git', 'node_modules']);

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number) => {
    if (depth > 4) return;
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (out.length >= MAX_FILES)
        throw new EvidencePackError(`${root} holds more than ${MAX_FILES} files: point at the pack's folder`);
      const p = join(dir, e.name);
      if (e.isDirectory() && !SKIP_DIRS.has(e.name)) await walk(p, depth + 1);
      else if (e.isFile()) out.push(p);
    }
  };
  await walk(root, 0);
  return out.sort();
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isEvent = (v: unknown) => isObj(v) && ('Header' in v || 'header' in v);

async function readText(path: string): Promise<string> {
  const s = await stat(path);
  if (s.size > MAX_FILE_BYTES) throw new EvidencePackError(`${path} is larger than ${MAX_FILE_BYTES} bytes`);
  return readFile(path, 'utf8');
}

/** The events of a file, as lines, when it is an event log; `undefined` otherwise. */
function eventLines(path: string, text: string): string[] | undefined {
  if (path.endsWith('.jsonl')) {
    const lines = text
      .split('\n')
      .map((l) => l.replace(/\r$/, ''))
      .filter((l) => l.trim() !== '');
    try {
      return lines.length > 0 && isEvent(JSON.parse(lines[0]!)) ? lines : undefined;
    } catch {
      return undefined;
    }
  }
  if (!path.endsWith('.json')) return undefined;
  let doc: unknown;
  try {
    parseStrictJson(text, { inexactNumbers: true }); // duplicate keys, depth: refused before anything is read; numbers are kept as written
    doc = parseLossless(text);
  } catch (e) {
    if (e instanceof VcpValidationError && /"events"/.test(text.slice(0, 4096)))
      throw new EvidencePackError(`${path}: ${e.message}`);
    return undefined;
  }
  const events = Array.isArray(doc) ? doc : isObj(doc) ? doc.events : undefined;
  if (!Array.isArray(events) || events.length === 0 || !isEvent(events[0])) return undefined;
  return events.map((e) => stringifyLossless(e));
}

/** One spelling of a line's JSON (numbers as written), to compare two copies of a log. */
const normalized = (line: string): string => stringifyLossless(parseLossless(line));

/** An anchor or batch statement of another producer, in this package's AnchorRecord shape. */
function toAnchor(a: Record<string, unknown>, id: string): Record<string, unknown> | undefined {
  const tree = isObj(a.MerkleTree) ? a.MerkleTree : {};
  const root = a.MerkleRoot ?? a.merkle_root ?? tree.Root;
  const size =
    a.EventCount ??
    a.tree_size ??
    tree.LeafCount ??
    (Array.isArray(a.EventHashes) ? a.EventHashes.length : undefined);
  if (typeof root !== 'string' || typeof size !== 'number') return undefined;
  const out: Record<string, unknown> = {
    anchor_id: String(a.AnchorID ?? a.BatchID ?? id),
    merkle_root: root.toLowerCase(),
    tree_size: size,
  };
  const sig = a.Signature;
  if (typeof sig === 'string' && /^[0-9a-fA-F]{128}$/.test(sig))
    out.signature = Buffer.from(sig, 'hex').toString('base64');
  else if (typeof sig === 'string' && sig !== '') out.signature = sig;
  if (typeof a.FirstEventID === 'string')
    Object.assign(out, { first_event_id: a.FirstEventID, first_index: 0, event_count: size });
  if (typeof a.LastEventID === 'string') out.last_event_id = a.LastEventID;
  const target = a.AnchorTarget ?? (isObj(a.AnchorProof) ? a.AnchorProof.type : undefined);
  const type = isObj(target) ? target.Type : target;
  out.anchor_target = {
    type: typeof type === 'string' ? type : 'UNKNOWN',
    identifier: isObj(target) ? String(target.Identifier ?? target.Provider ?? '') : '',
    proof: '',
  };
  return out;
}

/** Anchor statements of an anchor or batch file, in whatever shape the producer wrote. */
function statementsOf(doc: unknown): Record<string, unknown>[] {
  if (!isObj(doc)) return [];
  if (Array.isArray(doc.anchors)) return doc.anchors.filter(isObj);
  if (Array.isArray(doc.batches)) return doc.batches.filter(isObj);
  if (isObj(doc.AnchorRecord)) return [doc.AnchorRecord];
  if ('MerkleRoot' in doc || isObj(doc.MerkleTree)) return [doc];
  return [];
}

/** Read `root` as an evidence pack. */
export async function readEvidencePack(root: string): Promise<EvidencePack> {
  const files = await listFiles(root);
  const rel = (p: string) => relative(root, p);
  const pack: EvidencePack = { root, eventsFile: '', lines: [], anchors: [], files: [], findings: [] };
  const note = (message: string) => pack.findings.push(finding('pack-note', message));
  const logs: { path: string; lines: string[] }[] = [];
  const pending: { name: string; i: number; s: Record<string, unknown> }[] = [];
  for (const path of files) {
    const name = rel(path);
    if (!/\.(jsonl?|pem|jwk)$/.test(path)) continue;
    if (/tamper/i.test(name)) {
      pack.files.push({ path: name, role: 'skipped: tamper-detection test material (verify it on its own)' });
      continue;
    }
    const text = await readText(path);
    if (/\.(pem|jwk)$/.test(path) || /public_key\.json$/.test(path)) {
      pack.files.push({ path: name, role: 'public key (not trusted)' });
      let key: string | undefined;
      try {
        const v = path.endsWith('.pem') ? text : (JSON.parse(text) as Record<string, unknown>);
        const input = isObj(v) && typeof v.PublicKey === 'string' ? v.PublicKey : (v as never);
        key = keyId(loadPublicKey(input));
      } catch (e) {
        note(`${name} is not a usable Ed25519 public key (placeholder text?): ${(e as Error).message}`);
      }
      if (key)
        note(
          `the pack ships public key ${key} (${name}); a key from the pack proves nothing: pass it with --pubkey only if you obtained it independently`,
        );
      continue;
    }
    const lines = eventLines(path, text);
    if (lines) {
      logs.push({ path: name, lines });
      continue;
    }
    let doc: unknown;
    try {
      parseStrictJson(text, { inexactNumbers: true });
      doc = JSON.parse(text);
    } catch {
      pack.files.push({ path: name, role: 'unreadable JSON: ignored' });
      continue;
    }
    const statements = /anchor|security_object|batch/i.test(name) ? statementsOf(doc) : [];
    if (statements.length === 0) {
      pack.files.push({ path: name, role: 'not read' });
      continue;
    }
    pack.files.push({ path: name, role: /batch/i.test(name) ? 'batches' : 'anchors' });
    for (const [i, s] of statements.entries()) pending.push({ name, i, s });
  }
  // An anchor may name its batch instead of counting events (Nasdaq): take the count from the batch.
  const batchCount = new Map(
    pending
      .filter((p) => typeof p.s.EventCount === 'number' && p.s.BatchID !== undefined)
      .map((p) => [p.s.BatchID, p.s.EventCount]),
  );
  for (const { name, i, s } of pending) {
    const counted =
      s.EventCount === undefined && batchCount.has(s.BatchID)
        ? { ...s, EventCount: batchCount.get(s.BatchID) }
        : s;
    const a = toAnchor(counted, `${name}#${i}`);
    if (!a) note(`${name}: statement ${i} states no Merkle root with an event count: not checked`);
    else if (
      !pack.anchors.some(
        (x) => x.anchor_id === a.anchor_id && x.merkle_root === a.merkle_root && x.signature === a.signature,
      )
    )
      pack.anchors.push(a);
  }
  if (logs.length === 0)
    throw new EvidencePackError(
      `${root} holds no event log (JSON Lines of events, or a JSON document with an "events" array)`,
    );
  // One log, possibly in two forms (events.jsonl and events.json), which must agree; two logs are a usage error.
  const stems = new Set(logs.map((l) => l.path.replace(/\.jsonl?$/, '')));
  if (stems.size > 1)
    throw new EvidencePackError(
      `${root} holds several event logs (${logs.map((l) => l.path).join(', ')}): name one file`,
    );
  const [first, ...rest] = logs.sort(
    (a, b) => Number(b.path.endsWith('.jsonl')) - Number(a.path.endsWith('.jsonl')),
  );
  for (const other of rest) {
    const same =
      other.lines.length === first!.lines.length &&
      other.lines.every((l, i) => normalized(l) === normalized(first!.lines[i]!));
    pack.files.push({
      path: other.path,
      role: same ? `the same ${other.lines.length} events as ${first!.path}` : 'event log',
    });
    if (!same)
      pack.findings.push(
        finding(
          'pack-inconsistent',
          `${other.path} and ${first!.path} hold different events: which one is the log is ambiguous`,
        ),
      );
  }
  pack.eventsFile = first!.path;
  pack.lines = first!.lines;
  pack.files.unshift({ path: first!.path, role: 'events' });
  return pack;
}
