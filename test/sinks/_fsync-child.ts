/**
 * Child process of file-durability-strace.test.ts: appends 3 events with a
 * FileSink (`argv[3]` = fsync policy) and, once `write` resolved, writes the
 * marker `ACKED` to stdout, so a syscall trace shows what happened before the ack.
 */
import * as fs from 'node:fs';
import { FileSink, type FsyncPolicy } from '../../src/sinks/file.ts';
import { sealedEvents } from './_helpers.ts';

const sink = new FileSink({
  path: process.argv[2]!,
  fsync: (process.argv[3] ?? 'every-write') as FsyncPolicy,
});
await sink.write(sealedEvents(3));
fs.writeSync(1, 'ACKED\n');
await sink.close();
