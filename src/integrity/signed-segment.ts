/**
 * One signed segment of an open-ended event stream (export format v2): a
 * META line, the events in the order written, and signed checkpoints over
 * the RFC 6962 tree of their EventHashes (leaf 0 = the segment's first
 * event). The recorder's FileSink and `vcp fix-replay` write these.
 *
 * The segment only does the bookkeeping (tree in O(log n) memory, META,
 * signing); *when* a checkpoint may be written is the writer's business: it
 * must cover only events already as durable as the checkpoint line will be.
 */
import type { HashAlgo } from '../core/enums.ts';
import { signCheckpoint } from './checkpoint/checkpoint.ts';
import {
  buildExportMeta,
  checkpointLine,
  type ExportMetaV2,
  type MetaSigner,
  metaLine,
  sessionOrigin,
} from './export-meta.ts';
import { CompactMerkleRange } from './merkle/compact.ts';
import type { Signer } from './sign.ts';

/** What a segment needs of a signer. */
export type SegmentSigner = Pick<Signer, 'keyId' | 'publicKey' | 'signMessage'> & MetaSigner;

/** Options of {@link SignedSegment}. */
export interface SignedSegmentOptions {
  signer: SegmentSigner;
  /** `recorder` (FileSink) or `fix-replay`: the origin's role part. */
  role: 'recorder' | 'fix-replay';
  producer: string;
  policyId?: string;
  hashAlgo?: HashAlgo;
  /** Session id in the origin (default a new UUIDv7). */
  session?: string;
}

/** A tree size and its root, as a checkpoint states them. */
export interface TreeHead {
  size: number;
  rootHex: string;
}

/** A segment's META, tree and checkpoints. */
export class SignedSegment {
  readonly meta: ExportMetaV2;
  readonly #signer: SegmentSigner;
  readonly #tree = new CompactMerkleRange();
  #checkpointed = 0;

  constructor(options: SignedSegmentOptions) {
    this.#signer = options.signer;
    this.meta = buildExportMeta(
      {
        origin: sessionOrigin(options.role, options.signer.keyId, options.session),
        producer: options.producer,
        ...(options.hashAlgo ? { hashAlgo: options.hashAlgo } : {}),
        ...(options.policyId !== undefined ? { policyId: options.policyId } : {}),
        from: 0,
      },
      options.signer,
    );
  }

  get origin(): string {
    return this.meta.origin;
  }

  /** The META line (no newline): the first line of the segment. */
  metaLine(): string {
    return metaLine(this.meta);
  }

  /** Add the next event's EventHash (hex) as a leaf; returns its index in the segment. */
  append(eventHashHex: string): number {
    return this.#tree.append(eventHashHex);
  }

  /** Leaves so far. */
  get size(): number {
    return this.#tree.size;
  }

  /** The tree head now (O(log n) hashes). */
  head(): TreeHead {
    return { size: this.#tree.size, rootHex: this.#tree.root() };
  }

  /** Tree size of the last checkpoint made (0 if none). */
  get checkpointedSize(): number {
    return this.#checkpointed;
  }

  /** A signed checkpoint note over `head` (default: everything appended), signed now, binding META. */
  checkpointNote(head: TreeHead = this.head(), time?: Date): string {
    return signCheckpoint(
      {
        origin: this.meta.origin,
        treeSize: head.size,
        rootHex: head.rootHex,
        mode: this.meta.merkle_mode,
        meta: this.meta,
        ...(time ? { time } : {}),
      },
      this.#signer,
    );
  }

  /**
   * {@link checkpointNote} as a checkpoint line (no newline). The caller
   * writes it after the events it covers, then calls {@link markCheckpointed}.
   */
  checkpointLine(head: TreeHead = this.head(), time?: Date): string {
    return checkpointLine(this.checkpointNote(head, time));
  }

  /** Record that a checkpoint over `size` leaves is written. */
  markCheckpointed(size: number): void {
    this.#checkpointed = Math.max(this.#checkpointed, size);
  }
}
