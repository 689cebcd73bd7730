/**
 * The sidecar's storage contract. The embedded file store and the
 * PostgreSQL store implement it; the server depends only on this.
 *
 * Model: an append-only log of accepted events, each at a Merkle leaf index
 * (0, 1, 2, … with no holes), plus an append-only list of anchor records.
 * The server is the single writer: it assigns indexes, calls `append` one
 * batch at a time in index order, and answers 201 only after `append`
 * resolved, which means the batch is durable (fsync / COMMIT).
 */
import type { AnchorRecord, VcpEvent } from '../../core/types.ts';
import type { EventHashList } from './event-hash-list.ts';

/** One accepted event as stored. */
export interface StoredEvent {
  /** Merkle leaf index (0-based, contiguous). */
  index: number;
  eventId: string;
  /** Lowercase hex EventHash (the Merkle leaf data). */
  eventHash: string;
  /** The event as accepted (its `security` holds event_hash and merkle_index). */
  event: VcpEvent;
  /** Ingest time, ISO 8601. */
  receivedAt: string;
  /** Conformance warnings reported when it was accepted (replayed on duplicate submissions). */
  warnings?: { path: string; rule: string; message: string }[];
}

/** What a store knows right after opening (enough to rebuild the tree). */
export interface StoreState {
  /** Number of events stored (= next index). */
  size: number;
  /** Event hashes in index order (the tree's leaves). */
  leaves: EventHashList;
  /** Anchor records in the order they were made. */
  anchors: AnchorRecord[];
  /** Human-readable notes from recovery (e.g. "dropped a torn 213-byte tail in segment 3"). */
  recovery: string[];
}

/** Where the sidecar keeps events and anchors. */
export interface EventStore {
  /** `file:<dir>` or `postgres:<db>` for /health and logs. */
  readonly name: string;
  /** Open (create if needed), recover from a crash, and report the state. Call once. */
  open(): Promise<StoreState>;
  /**
   * Durably append a batch whose indexes continue the log exactly
   * (`batch[0].index === size`). Resolves after the data is on stable
   * storage. Rejects (and stores nothing of the batch) on failure.
   */
  append(batch: readonly StoredEvent[]): Promise<void>;
  /** Look an event up by id; `undefined` if absent. */
  getById(eventId: string): Promise<StoredEvent | undefined>;
  /** Look an event up by leaf index. */
  getByIndex(index: number): Promise<StoredEvent | undefined>;
  /** Events with `from <= index < to`, in index order (streams; for export). */
  scan(from: number, to: number): AsyncIterable<StoredEvent>;
  /**
   * Durably note that a checkpoint over the first `treeSize` events is about to be handed out (an export's
   * closing checkpoint, one signed on demand), so that recovery never goes below it. Stores that keep no
   * such floor may leave it out.
   */
  noteSignedSize?(treeSize: number): Promise<void>;
  /** Durably add an anchor record (and replace an earlier copy with the same `anchor_id`, e.g. once a target's proof arrives). */
  putAnchor(record: AnchorRecord): Promise<void>;
  /** Anchor records in the order they were made. */
  anchors(): Promise<AnchorRecord[]>;
  /** Flush and release files/connections. */
  close(): Promise<void>;
}
