/**
 * The contract's floor for bench/sidecar-ingest.ts: the least work any
 * server must do before it answers 201 to a batch of VCP events and can
 * still keep its promises, done with the fastest primitives at hand, on one
 * thread, in this process (as the ceiling is):
 *
 * - parse the body (`JSON.parse`, as the ceiling does);
 * - per event, the EventHash from RFC 8785 of header and payload and
 *   SHA-256 (compared with the one sent, if any: else a stored event may
 *   not verify);
 * - one `write` and one `fdatasync` per group of requests (group commit:
 *   every request that arrives during a sync shares the next one), the
 *   bodies stored as received;
 * - a Merkle leaf per event once its group is durable.
 *
 * It leaves out everything else the sidecar does: the scan for duplicate
 * and forbidden keys and for limits, schema validation, the id index
 * (duplicates and conflicts), record checksums, per-event answers, metrics,
 * the ingest thread. So the sidecar cannot spend less CPU per event than
 * this server does, with one exception: where header and payload already are
 * their RFC 8785 text (as the recorder's sinks send them), the sidecar's strict
 * scan finds that and hashes them in place, and this server still writes RFC
 * 8785 again (it has no scan to prove them canonical); that serialization is
 * what the sidecar can save below it. On one thread, its rate is as far as a
 * server doing only this gets; threads could add the second core, which the
 * load generator shares.
 */
import { closeSync, fdatasync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { canonicalize } from '../src/integrity/canonical.ts';
import { eventHashOfCanonical } from '../src/integrity/event-hash.ts';
import { MerkleTree } from '../src/integrity/merkle/index.ts';
import { type LocalServer, listenOnLoopback } from './_harness.ts';

interface Waiting {
  body: Buffer;
  hashes: string[];
  res: ServerResponse;
}

/** Start the floor server; its log is a file in `dir`, removed on close. */
export function contractFloorServer(dir: string): Promise<LocalServer> {
  const path = join(dir, 'floor.log');
  const fd = openSync(path, 'a');
  const tree = new MerkleTree();
  let queue: Waiting[] = [];
  let syncing = false;

  const commit = () => {
    if (syncing || queue.length === 0) return;
    const group = queue;
    queue = [];
    syncing = true;
    let writeError: unknown;
    try {
      writeSync(fd, group.length === 1 ? group[0]!.body : Buffer.concat(group.map((w) => w.body)));
    } catch (e) {
      writeError = e; // answered 503 below, as a failed sync is
    }
    fdatasync(fd, (syncError) => {
      const err = writeError ?? syncError;
      syncing = false;
      for (const w of group) {
        if (err) {
          w.res.writeHead(503).end();
          continue;
        }
        for (const h of w.hashes) tree.append(h);
        w.res.writeHead(201, { 'content-type': 'application/json', 'content-length': 15 });
        w.res.end('{"status":"ok"}');
      }
      commit();
    });
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const hashes = eventHashes(body);
      if (hashes === undefined) {
        res.writeHead(400).end();
        return;
      }
      queue.push({ body, hashes, res });
      commit();
    });
  });
  return listenOnLoopback(server, () => {
    closeSync(fd);
    rmSync(path, { force: true });
  });
}

/** Each event's EventHash (checked against the one sent, if any); undefined when the body is not such events. */
function eventHashes(body: Buffer): string[] | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    const events = (Array.isArray(parsed) ? parsed : [parsed]) as {
      header: unknown;
      payload: unknown;
      security?: { event_hash?: string };
    }[];
    const hashes = new Array<string>(events.length);
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const hash = eventHashOfCanonical(canonicalize(e.header), canonicalize(e.payload));
      const sent = e.security?.event_hash;
      if (sent !== undefined && sent !== hash) return undefined;
      hashes[i] = hash;
    }
    return hashes;
  } catch {
    return undefined; // not JSON, not an event, or a part RFC 8785 refuses
  }
}
