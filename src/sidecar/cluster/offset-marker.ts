/**
 * How far a partition's local store follows the topic:
 * `<data-dir>/p<N>/TOPIC-OFFSET`, `{"topic":"vcp.events","partition":0,"offset":"1234"}`,
 * where `offset` is the offset after the last record whose events this
 * store holds durably.
 *
 * The owner rewrites it (temporary file, fsync, rename) before every offset
 * commit, with the offset it is about to commit, so the group's committed
 * offset is never ahead of the marker of the store that produced it. A
 * member that opens the partition and finds the group's committed offset
 * ahead of the marker (or no marker in an empty folder) knows that its store
 * lacks records the group already counts as stored: another member stored
 * them in a folder this one cannot see (takeover-check.ts).
 *
 * Only the file store has one; the PostgreSQL store is shared by every
 * member by construction.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Name of the marker inside a partition folder. */
export const OFFSET_MARKER_FILE = 'TOPIC-OFFSET';

/** What the marker says. */
export interface OffsetMarker {
  topic: string;
  partition: number;
  /** Offset after the last record this store holds. */
  offset: bigint;
}

/** The marker of `dir`, `undefined` when there is none; throws on unreadable or malformed content (name and rule). */
export function readOffsetMarker(dir: string): OffsetMarker | undefined {
  const path = join(dir, OFFSET_MARKER_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  let v: { topic?: unknown; partition?: unknown; offset?: unknown };
  try {
    v = JSON.parse(text) as typeof v;
  } catch {
    throw new Error(`${path} is not JSON (expected {"topic","partition","offset"})`);
  }
  if (typeof v.topic !== 'string' || v.topic.length === 0)
    throw new Error(`${path}: topic must be a non-empty string`);
  if (!Number.isSafeInteger(v.partition) || (v.partition as number) < 0)
    throw new Error(`${path}: partition must be a non-negative integer`);
  if (typeof v.offset !== 'string' || !/^(0|[1-9][0-9]{0,18})$/.test(v.offset))
    throw new Error(`${path}: offset must be a decimal string of a non-negative integer`);
  return { topic: v.topic, partition: v.partition as number, offset: BigInt(v.offset) };
}

/** Durably replace the marker of `dir` (temporary file, fsync, rename, fsync of the folder). */
export async function writeOffsetMarker(dir: string, marker: OffsetMarker): Promise<void> {
  const path = join(dir, OFFSET_MARKER_FILE);
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const body = `${JSON.stringify({ topic: marker.topic, partition: marker.partition, offset: marker.offset.toString() })}\n`;
  const h = await open(tmp, 'w', 0o600);
  try {
    await h.writeFile(body);
    await h.datasync();
  } catch (e) {
    await h.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await h.close();
  await rename(tmp, path);
  // The rename itself must survive a power cut, or the marker could fall behind a commit.
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } catch {
    // some file systems refuse fsync on a folder; the marker's data is synced
  } finally {
    await d.close();
  }
}
