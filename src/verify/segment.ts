/**
 * A segment of an export: the lines after one `vcp_export` metadata line (or
 * the whole file when there is none). Its events, in order, are the leaves of
 * one Merkle tree — the log that its checkpoints and anchors sign.
 */
import { MERKLE_MODES, type MerkleMode } from '../core/enums.ts';
import { MerkleTree } from '../integrity/merkle/index.ts';
import { type Finding, finding } from './findings.ts';
import { IdColumn, LineColumn } from './leaf-columns.ts';

/** An anchor or checkpoint line kept until the segment's tree is complete. */
export interface PendingLine<T> {
  line: number;
  value: T;
}

const MAX_ORIGIN = 255;

/** One log's leaves and the statements made about them. */
export class Segment {
  readonly origin: string;
  readonly meta: Record<string, unknown> | undefined;
  readonly metaLine: number | undefined;
  /** Leaf index of the first event (a partial export starts later). */
  readonly from: number;
  /** End of the declared range (exclusive), for a bounded export. */
  readonly to: number | undefined;
  readonly partition: number | undefined;
  mode: MerkleMode;
  tree: MerkleTree<MerkleMode>;
  /** The mode was stated (metadata or option), not defaulted. */
  readonly modeStated: boolean;
  /** Input line of each leaf. */
  readonly lines = new LineColumn();
  /** Event id of each leaf. */
  readonly ids = new IdColumn();
  /** Line of the first event whose hash could not be a leaf; the tree stops there. */
  brokenAt: number | undefined;
  readonly checkpoints: PendingLine<unknown>[] = [];
  readonly anchors: PendingLine<unknown>[] = [];
  /** Events' `security.anchor_reference`, checked once the anchors are known. */
  readonly references: { line: number; id: string; root?: string }[] = [];
  readonly findings: Finding[] = [];
  /** Signed items seen (events with a signature, signed anchors, checkpoints), trusted or not. */
  signed = 0;

  constructor(
    meta: Record<string, unknown> | undefined,
    metaLine: number | undefined,
    defaultMode: MerkleMode,
    index: number,
  ) {
    this.meta = meta;
    this.metaLine = metaLine;
    const where = metaLine !== undefined ? { line: metaLine } : {};
    const bad = (message: string) => this.findings.push(finding('bad-metadata', message, where));
    const m = meta ?? {};
    if (meta && (m.format !== 'vcp-export' || (m.version !== 1 && m.version !== 2)))
      bad('vcp_export.format must be "vcp-export" and version 1 or 2');
    this.origin =
      typeof m.origin === 'string' && m.origin.length > 0 && m.origin.length <= MAX_ORIGIN
        ? m.origin
        : `(segment ${index + 1}${metaLine !== undefined ? ` at line ${metaLine}` : ''})`;
    const int = (k: string) => {
      const x = m[k];
      if (x === undefined) return undefined;
      if (!Number.isSafeInteger(x) || (x as number) < 0) {
        bad(`vcp_export.${k} must be a non-negative integer`);
        return undefined;
      }
      return x as number;
    };
    this.from = int('from') ?? 0;
    this.to = int('to');
    if (this.to !== undefined && this.to < this.from) bad('vcp_export.to is below from');
    this.partition = int('partition');
    this.modeStated = m.merkle_mode !== undefined;
    const mode = m.merkle_mode ?? defaultMode;
    if (!MERKLE_MODES.includes(mode as MerkleMode))
      bad(`unknown vcp_export.merkle_mode ${JSON.stringify(mode)}`);
    this.mode = MERKLE_MODES.includes(mode as MerkleMode) ? (mode as MerkleMode) : defaultMode;
    this.tree = new MerkleTree({ mode: this.mode });
  }

  /** Before the first leaf: take the producer's tree shape when nothing stated one. */
  adoptMode(mode: MerkleMode): void {
    if (this.modeStated || this.tree.size > 0 || this.mode === mode) return;
    this.mode = mode;
    this.tree = new MerkleTree({ mode });
  }

  /** Leaves present (events readable enough to be placed). */
  get size(): number {
    return this.lines.length;
  }

  /** Where the tree can be rebuilt up to (log indexes, from `from`). */
  get buildableTo(): number {
    return this.from + this.tree.size;
  }

  /** Add an event as the next leaf. `hash` is its claimed event_hash when well-formed. */
  addLeaf(
    hash: string | undefined,
    security: { merkle_index?: unknown; partition?: unknown },
    where: { line: number; event_id?: string },
  ): Finding[] {
    const out: Finding[] = [];
    const index = this.from + this.lines.length;
    this.lines.push(where.line);
    this.ids.push(where.event_id);
    const mi = security.merkle_index;
    if (mi !== undefined && mi !== index)
      out.push(
        finding(
          'merkle-index-mismatch',
          `security.merkle_index is ${JSON.stringify(mi)} but the event is leaf ${index} of ${this.origin}: events before it were removed, added or reordered`,
          { ...where, leaf: index },
        ),
      );
    const p = security.partition;
    if (p !== undefined && p !== this.partition)
      out.push(
        finding(
          'undeclared-partition',
          this.partition === undefined
            ? `security.partition is ${JSON.stringify(p)} but the export declares no partition`
            : `security.partition is ${JSON.stringify(p)} but this export is partition ${this.partition}`,
          where,
        ),
      );
    if (this.brokenAt === undefined) {
      if (hash) this.tree.append(hash);
      else this.brokenAt = where.line;
    }
    return out;
  }

  /** Root over log indexes [0, size), when the export holds them all. */
  rootAt(size: number): string | undefined {
    if (this.from !== 0 || size > this.buildableTo) return undefined;
    return this.tree.root(size);
  }

  /** Input lines of log indexes [a, b), as text for messages. */
  describeLeaves(a: number, b: number): string {
    const first = this.lines.at(a - this.from);
    const last = this.lines.at(b - 1 - this.from);
    const n = b - a;
    const ids = this.ids.at(a - this.from);
    const lines =
      first === undefined
        ? ''
        : last === undefined || last === first
          ? ` (line ${first})`
          : ` (lines ${first}–${last})`;
    return `${n === 1 ? `leaf ${a}` : `leaves ${a}..${b - 1}`}${lines}${ids && n === 1 ? `, event ${ids}` : ''}`;
  }
}
