/**
 * The file store opens one read handle per segment, however many reads ask
 * for it at once. Two concurrent reads used to open two and keep one: the
 * other was closed by the garbage collector, which Node reports as DEP0137
 * ("Closing a FileHandle object on garbage collection") — every cluster
 * member printed it after its first anchors (the anchoring service reads the
 * first and last event of a batch at once).
 */
import { readdirSync } from 'node:fs';
import { expect, it } from 'vitest';
import { sealEvent } from '../../src/integrity/seal.ts';
import { FileEventStore } from '../../src/sidecar/store/file-store.ts';
import { tempDir, v11Event } from './helpers.ts';

const openFds = () => readdirSync('/proc/self/fd').length;

it.skipIf(process.platform !== 'linux')(
  'concurrent reads of one segment share one handle, and close releases it',
  async () => {
    const t = tempDir('vcp-store-readers-');
    try {
      const events = Array.from({ length: 20 }, (_, i) => sealEvent(v11Event(i)));
      const first = new FileEventStore({ dir: t.dir });
      await first.open();
      await first.append(
        events.map((e, i) => ({
          index: i,
          eventId: e.header.event_id,
          eventHash: e.security.event_hash!,
          event: e,
          receivedAt: new Date().toISOString(),
        })),
      );
      await first.close();

      const store = new FileEventStore({ dir: t.dir });
      await store.open();
      const before = openFds();
      const found = await Promise.all(events.map((_, i) => store.getByIndex(i)));
      expect(found.map((s) => s?.eventId)).toEqual(events.map((e) => e.header.event_id));
      // One segment, one reader: not one handle per concurrent read.
      expect(openFds() - before).toBe(1);
      await store.close();
      expect(openFds()).toBeLessThan(before);
    } finally {
      t.cleanup();
    }
  },
);
