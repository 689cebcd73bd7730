/**
 * Recovery of the file store against bit rot, torn writes and lost data
 * (DESIGN decision 13), through the real sidecar on real files: damage a
 * crash cannot explain refuses the start and names the file, the byte offset
 * and the events; a torn unacknowledged tail is recovered quietly; the tree
 * never restarts below an anchored size; `vcp sidecar repair` quarantines
 * (never deletes), signs what it did, and refuses below the anchored size.
 */
import { createHash, createPublicKey } from 'node:crypto';
import {
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAnchoringFactory } from '../../src/sidecar/anchor/server-adapter.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { verifyRepairNote } from '../../src/sidecar/store/file/repair.ts';
import { LogDamageError } from '../../src/sidecar/store/file/segment-check.ts';
import { FileEventStore } from '../../src/sidecar/store/file-store.ts';
import { runVcp } from '../helpers/cli.ts';
import { get, post, tempDir, testConfig, v11Event } from './helpers.ts';

const running: Sidecar[] = [];
const cleanups: (() => void)[] = [];
const logs: string[] = [];

afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
  for (const c of cleanups.splice(0)) c();
  logs.length = 0;
});

function folder(): string {
  const t = tempDir('vcp-recovery-');
  cleanups.push(t.cleanup);
  return t.dir;
}

const FLAGS = { 'segment-size': '8KiB', 'scrub-interval': '0' };

/** A sidecar on `dir`; `service`: the anchoring service the CLI runs (local file target: anchors-local.jsonl). */
async function start(dir: string, service = false): Promise<Sidecar> {
  const config = testConfig(dir, FLAGS);
  const s = await startSidecar({
    config,
    log: (l) => logs.push(l),
    ...(service ? { anchoring: createAnchoringFactory({ targets: [], tier: config.tier }) } : {}),
  });
  running.push(s);
  return s;
}

async function stop(s: Sidecar): Promise<void> {
  running.splice(running.indexOf(s), 1);
  await s.close();
}

let counter = 0;
/** POST `n` events one request each (every one gets its own 201); records their ids in `ids` by merkle_index. */
async function postEvents(s: Sidecar, n: number, ids: string[] = []): Promise<string[]> {
  for (let k = 0; k < n; k++) {
    const e = v11Event(counter++);
    const r = await post(`${s.url}/vcp/log`, e);
    expect(r.status).toBe(201);
    ids[r.body.merkle_index] = e.header.event_id;
  }
  return ids;
}

async function anchor(s: Sidecar): Promise<{ tree_size: number; merkle_root: string }> {
  const r = await post(`${s.url}/vcp/anchor`, '');
  expect(r.status).toBe(201);
  return r.body.anchor ?? r.body;
}

function segments(d: string): string[] {
  return readdirSync(join(d, 'segments'))
    .filter((n) => /^\d{8}\.log$/.test(n))
    .sort()
    .map((n) => join(d, 'segments', n));
}

/** Byte offset and merkle_index of every record of a segment file. */
function records(path: string): { offset: number; length: number; index: number; id: string }[] {
  const buf = readFileSync(path);
  const out: { offset: number; length: number; index: number; id: string }[] = [];
  let at = 0;
  while (at < buf.length) {
    const nl = buf.indexOf(0x0a, at);
    const json = JSON.parse(buf.toString('utf8', at + 9, nl)) as { i: number; id: string };
    out.push({ offset: at, length: nl + 1 - at, index: json.i, id: json.id });
    at = nl + 1;
  }
  return out;
}

/** Flip one bit inside the JSON of the record at `offset` (past its checksum and prefix). */
function flip(path: string, offset: number, within = 60): void {
  const bytes = readFileSync(path);
  bytes[offset + within]! ^= 0x04;
  writeFileSync(path, bytes);
}

/** A sidecar with `before` anchored events, then `after` acknowledged unanchored ones; closed cleanly. */
async function populated(
  before: number,
  after = 0,
  service = false,
): Promise<{ d: string; ids: string[]; anchored: number }> {
  const d = folder();
  const s = await start(d, service);
  const ids = await postEvents(s, before);
  const a = await anchor(s);
  expect(a.tree_size).toBe(before);
  await postEvents(s, after, ids);
  await stop(s);
  expect(ids.length).toBe(before + after);
  return { d, ids, anchored: before };
}

async function refusal(d: string): Promise<LogDamageError> {
  const err = await startSidecar({ config: testConfig(d, FLAGS), log: (l) => logs.push(l) }).then(
    (s) => {
      running.push(s);
      throw new Error(`the sidecar started with tree_size ${s.context.tree.size}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LogDamageError);
  return err as LogDamageError;
}

describe('bit rot is not a torn write: the start is refused, naming file, offset and events', () => {
  it.each([
    ['the first record of the newest segment', 'newest', 'first'],
    ['a middle record of the newest segment', 'newest', 'middle'],
    ['the last record of the newest segment', 'newest', 'last'],
    ['a record of an older segment', 'older', 'middle'],
  ] as const)('a flipped bit in %s (everything anchored)', async (_what, which, where) => {
    const { d, ids } = await populated(40);
    const all = segments(d);
    expect(all.length).toBeGreaterThan(1);
    const file = which === 'newest' ? all.at(-1)! : all[0]!;
    const recs = records(file);
    const victim = where === 'first' ? recs[0]! : where === 'last' ? recs.at(-1)! : recs[recs.length >> 1]!;
    const before = readFileSync(file);
    flip(file, victim.offset);

    const err = await refusal(d);
    expect(err.message).toContain(file);
    expect(err.message).toContain(`at byte offset ${victim.offset}: record checksum mismatch`);
    expect(err.message).toContain(`should hold merkle_index ${victim.index}`);
    expect(err.message).toMatch(/corruption, not a torn write/);
    // Everything from the damaged record to the anchored size is named as anchored, and repair is ruled out.
    expect(err.message).toContain(`merkle_index ${victim.index}–39 are covered by anchor`);
    expect(err.message).toMatch(/repair` cannot help/);
    if (victim !== recs.at(-1)) expect(err.message).toContain(ids[victim.index + 1]!);
    // Nothing on disk was touched by the refusal.
    expect(
      readFileSync(file).equals(Buffer.from(before.map((b, k) => (k === victim.offset + 60 ? b ^ 0x04 : b)))),
    ).toBe(true);
    expect(readdirSync(join(d, 'segments')).some((n) => n.includes('.torn-'))).toBe(false);

    // The CLI exits non-zero with the same message.
    const cli = await runVcp(d, 'sidecar', '--data-dir', d, '--port', '0', '--scrub-interval', '0');
    expect(cli.code).toBe(1);
    expect(cli.err).toContain(`${file} at byte offset ${victim.offset}`);
  });

  it("the operator's case: 24 records in the newest segment, the first one rotted, all anchored; repair refuses too and names the lost events", async () => {
    const { d, ids } = await populated(40);
    const file = segments(d).at(-1)!;
    const recs = records(file);
    flip(file, recs[0]!.offset);
    const err = await refusal(d);
    expect(err.message).toContain(`${recs.length - 1} checksum-valid record(s) follow it`);

    const bytes = readFileSync(file);
    const r = await runVcp(d, 'sidecar', 'repair', '--data-dir', d);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/repair refused/);
    expect(r.err).toContain(`the anchored event at merkle_index ${recs[0]!.index}`);
    expect(r.err).toContain(`${file} from a backup`);
    expect(r.err).toContain(ids[recs[1]!.index]!);
    expect(JSON.parse(r.out).status).toBe('refused');
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(existsSync(join(d, 'quarantine'))).toBe(false);
    await refusal(d);
  });

  it('a complete record with a wrong checksum at the very end is refused even when nothing anchors it', async () => {
    const { d } = await populated(10, 6);
    const file = segments(d).at(-1)!;
    const last = records(file).at(-1)!;
    expect(last.index).toBe(15);
    flip(file, last.offset);
    const err = await refusal(d);
    expect(err.message).toContain('a complete record that fails its check');
    expect(err.message).toMatch(/No anchor covers them.*vcp sidecar repair --data-dir/);
  });

  it('a flipped final newline of the last record (unanchored) is bit rot too, not a torn write', async () => {
    const { d } = await populated(10, 6);
    const file = segments(d).at(-1)!;
    const last = records(file).at(-1)!;
    const bytes = readFileSync(file);
    bytes[last.offset + last.length - 1]! ^= 0x01;
    writeFileSync(file, bytes);
    const err = await refusal(d);
    expect(err.message).toContain(`at byte offset ${last.offset}: incomplete record`);
    expect(err.message).toContain('a complete record that fails its check');
  });

  it('a space flipped into a zero byte inside the last record (unanchored) is bit rot, not a zero-filled page', async () => {
    const { d } = await populated(10, 6);
    const file = segments(d).at(-1)!;
    const last = records(file).at(-1)!;
    const bytes = readFileSync(file);
    // A byte with the 0x20 bit set (a space is one flip away from zero), set to zero; not a page's last byte.
    let k = last.offset + 40;
    while ((bytes[k]! & 0x20) === 0 || (k + 1) % 4096 === 0) k++;
    bytes[k] = 0;
    writeFileSync(file, bytes);
    const err = await refusal(d);
    expect(err.message).toContain(`at byte offset ${last.offset}: record checksum mismatch`);
  });

  it('a zero-filled page inside the unacknowledged tail (power cut, pages written out of order) is a torn write', async () => {
    const { d } = await populated(10, 6);
    const file = segments(d).at(-1)!;
    const size = statSync(file).size;
    // The next group's first page never reached the disk (zeros up to the page boundary); its second did.
    const pageEnd = (Math.floor(size / 4096) + 1) * 4096;
    writeFileSync(
      file,
      Buffer.concat([readFileSync(file), Buffer.alloc(pageEnd - size), Buffer.from('"SELL"}}}\n')]),
    );
    const s = await start(d);
    expect(s.context.tree.size).toBe(16);
    expect(statSync(file).size).toBe(size);
    expect(s.recovery.join('\n')).toMatch(/dropped a torn tail/);
  });

  it('a genuinely torn tail (the last, unacknowledged record cut short) is recovered quietly', async () => {
    const { d, ids } = await populated(10, 6);
    const file = segments(d).at(-1)!;
    const last = records(file).at(-1)!;
    // What a crash during the write of merkle_index 15 leaves: its first bytes only.
    truncateSync(file, last.offset + Math.floor(last.length / 2));
    const s = await start(d);
    expect(s.context.tree.size).toBe(15);
    expect(s.recovery.join('\n')).toMatch(/dropped a torn tail of \d+ bytes at offset/);
    expect(statSync(file).size).toBe(last.offset);
    // The next event takes merkle_index 15 (never acknowledged before the crash, never anchored).
    const r = await post(`${s.url}/vcp/log`, v11Event(999));
    expect(r.body.merkle_index).toBe(15);
    expect((await get(`${s.url}/vcp/events/${ids[14]}`)).status).toBe(200);
    const health = await get(`${s.url}/health`);
    expect(health.body.pending_events).toBe(6);
  });

  it('a zero-filled tail below the anchored size is not a torn write', async () => {
    const { d } = await populated(12);
    const file = segments(d).at(-1)!;
    const last = records(file).at(-1)!;
    const bytes = readFileSync(file);
    bytes.fill(0, last.offset + 20, last.offset + last.length);
    writeFileSync(file, bytes);
    const err = await refusal(d);
    expect(err.message).toContain(`merkle_index ${last.index}–11 are covered by anchor`);
  });
});

describe('the tree never restarts below an anchored size', () => {
  it('a newest segment cut back at a record boundary (looks clean) is refused, naming the missing indexes', async () => {
    const { d } = await populated(30);
    const file = segments(d).at(-1)!;
    const recs = records(file);
    const cut = recs[Math.max(0, recs.length - 2)]!;
    truncateSync(file, cut.offset);
    const err = await refusal(d);
    expect(err.message).toContain(`merkle_index ${cut.index}–29 are lost from this copy`);
    expect(err.message).toMatch(/would fork the signed tree/);
  });

  it('a missing newest segment is refused, and repair refuses too', async () => {
    const { d } = await populated(30);
    const file = segments(d).at(-1)!;
    const first = records(file)[0]!.index;
    unlinkSync(file);
    const err = await refusal(d);
    expect(err.message).toContain(`merkle_index ${first}–29 are lost`);
    const r = await runVcp(d, 'sidecar', 'repair', '--data-dir', d);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`merkle_index ${first}–29 are lost from this copy`);
  });
});

describe('the anchored size has two witnesses', () => {
  it('a deleted anchors.log refuses the start (the store could not tell what is promised)', async () => {
    const { d } = await populated(5);
    unlinkSync(join(d, 'anchors.log'));
    const err = await refusal(d);
    expect(err.message).toMatch(/has event segments but no anchors\.log/);
  });

  it('an emptied anchors.log does not lower the floor: the local anchor copy still names the anchored size', async () => {
    const { d } = await populated(30, 0, true);
    expect(readFileSync(join(d, 'anchors-local.jsonl'), 'utf8')).toContain('"tree_size":30');
    writeFileSync(join(d, 'anchors.log'), '');
    const file = segments(d).at(-1)!;
    const first = records(file)[0]!.index;
    unlinkSync(file);
    const err = await refusal(d);
    expect(err.message).toContain(`merkle_index ${first}–29 are lost from this copy`);
    expect(err.message).toContain('anchors-local.jsonl');
  });
});

describe('vcp sidecar repair', () => {
  it('quarantines the damaged tail above the anchored size, signs a note, and keeps every event after the damage recoverable', async () => {
    // 12 anchored events, then 20 acknowledged unanchored ones; a bit rots in the first record of the newest segment.
    const { d, ids, anchored } = await populated(12, 20);
    const file = segments(d).at(-1)!;
    const recs = records(file);
    const victim = recs[0]!;
    expect(victim.index).toBeGreaterThanOrEqual(anchored);
    flip(file, victim.offset);
    const damaged = readFileSync(file);
    const err = await refusal(d);
    expect(err.message).toMatch(/No anchor covers them/);

    const dry = await runVcp(d, 'sidecar', 'repair', '--data-dir', d, '--dry-run');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.out).status).toBe('planned');
    expect(readFileSync(file).equals(damaged)).toBe(true);

    const r = await runVcp(d, 'sidecar', 'repair', '--data-dir', d);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.status).toBe('repaired');
    expect(out.tree_size_after).toBe(victim.index);
    expect(out.events_quarantined).toBe(recs.length - 1);
    expect(r.err).toMatch(/vcp sidecar repair: repaired .*\(nothing deleted\)/);

    // The damaged bytes are kept byte for byte; the report names every moved record.
    const q = out.quarantine as string;
    const name = `${file.split('/').at(-1)}.from-${victim.offset}`;
    expect(readFileSync(join(q, name)).equals(damaged.subarray(victim.offset))).toBe(true);
    const reportText = readFileSync(join(q, 'report.json'), 'utf8');
    const report = JSON.parse(reportText);
    expect(report.damage).toMatchObject({ offset: victim.offset, merkle_index: victim.index });
    expect(report.moved[0].records.map((x: { event_id: string }) => x.event_id)).toEqual(
      recs.slice(1).map((x) => x.id),
    );
    // The signed note verifies with the sidecar's public key and binds the report.
    const note = JSON.parse(readFileSync(out.note, 'utf8'));
    const pub = createPublicKey(readFileSync(join(d, 'signing.pub')));
    expect(verifyRepairNote(note, pub)).toBe(true);
    expect(note.note.report_sha256).toBe(createHash('sha256').update(reportText).digest('hex'));
    expect(verifyRepairNote({ ...note, note: { ...note.note, tree_size_after: 1 } }, pub)).toBe(false);

    // The sidecar starts again, keeps everything below the damage, and says a repair happened.
    const s = await start(d);
    expect(s.context.tree.size).toBe(victim.index);
    expect(s.recovery.join('\n')).toMatch(/earlier repair\(s\) moved data into/);
    for (let i = 0; i < victim.index; i++)
      expect((await get(`${s.url}/vcp/events/${ids[i]}`)).status).toBe(200);
    // The checksum-valid events moved out can be sent again and are stored again.
    const lines = readFileSync(join(q, 'events.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(recs.length - 1);
    const resend = await post(
      `${s.url}/vcp/log`,
      lines.map((l) => JSON.parse(l)),
    );
    expect(resend.status).toBe(201);
    expect(resend.body.results.map((x: { event_id: string }) => x.event_id)).toEqual(
      recs.slice(1).map((x) => x.id),
    );
    expect(s.context.tree.size).toBe(victim.index + recs.length - 1);
    // The anchored prefix is unchanged: the old anchor's root is still the tree's root at its size.
    const anchors = (await get(`${s.url}/vcp/anchors`)).body.anchors;
    expect(s.context.tree.root(anchored)).toBe(anchors[0].merkle_root);
  });

  it('moves newer segments whole when the damage lies in an older one above the anchored size', async () => {
    const { d } = await populated(3, 40);
    const all = segments(d);
    expect(all.length).toBeGreaterThan(2);
    const recs = records(all[1]!);
    const victim = recs[1]!;
    expect(victim.index).toBeGreaterThanOrEqual(3);
    flip(all[1]!, victim.offset);
    const err = await refusal(d);
    expect(err.message).toMatch(/not in the newest segment/);
    const newer = all.slice(2).map((p) => readFileSync(p));
    const r = await runVcp(d, 'sidecar', 'repair', '--data-dir', d);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    for (const [k, p] of all.slice(2).entries()) {
      expect(existsSync(p)).toBe(false);
      expect(readFileSync(join(out.quarantine, p.split('/').at(-1)!)).equals(newer[k]!)).toBe(true);
    }
    const s = await start(d);
    expect(s.context.tree.size).toBe(victim.index);
  });

  it('says there is nothing to repair in a healthy folder and changes nothing', async () => {
    const { d } = await populated(5, 2);
    const before = segments(d).map((p) => readFileSync(p));
    const r = await runVcp(d, 'sidecar', 'repair', '--data-dir', d);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).status).toBe('clean');
    expect(segments(d).map((p) => readFileSync(p))).toEqual(before);
  });

  it('will not run while a sidecar holds the folder', async () => {
    const d = folder();
    const s = await start(d);
    await postEvents(s, 1);
    const r = await runVcp(d, 'sidecar', 'repair', '--data-dir', d);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/already open in this process|in use by process/);
  });
});

describe('the anchors file under the same rule', () => {
  it('a bit flip in an anchor record refuses the start (the anchored size would be unknown)', async () => {
    const { d } = await populated(6);
    const path = join(d, 'anchors.log');
    const bytes = readFileSync(path);
    bytes[40]! ^= 0x02;
    writeFileSync(path, bytes);
    const err = await startSidecar({ config: testConfig(d, FLAGS), log: () => {} }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /anchors\.log is corrupt at byte offset 0.*Restore anchors\.log from a backup/,
    );
  });
});

describe('the anchors file, newest record', () => {
  it('a newest anchor record whose newline flipped is refused, not dropped as torn (it would lower the anchored size)', async () => {
    const { d } = await populated(6);
    const path = join(d, 'anchors.log');
    const bytes = readFileSync(path);
    bytes[bytes.length - 1]! ^= 0x01;
    writeFileSync(path, bytes);
    const err = await startSidecar({ config: testConfig(d, FLAGS), log: () => {} }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/anchors\.log is corrupt at byte offset 0 \(incomplete record/);
  });

  it('an anchor record cut short by a crash (putAnchor never resolved) is dropped as torn', async () => {
    const { d } = await populated(6);
    const path = join(d, 'anchors.log');
    writeFileSync(
      path,
      Buffer.concat([readFileSync(path), Buffer.from('0123abcd {"anchor_id":"x","tree_si')]),
    );
    const s = await start(d);
    expect(s.context.tree.anchoredSize).toBe(6);
    expect(s.recovery.join('\n')).toMatch(/anchors\.log: dropped a torn tail/);
  });
});

describe('the file store directly', () => {
  it('opens a folder with an unanchored torn tail and reports it, changing nothing else', async () => {
    const d = folder();
    const s = await start(d);
    await postEvents(s, 3);
    await stop(s);
    const file = segments(d).at(-1)!;
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from('0badc0de {"i":3,"id":"x"')]));
    const store = new FileEventStore({ dir: d, scrubIntervalMs: 0 });
    const state = await store.open();
    expect(state.size).toBe(3);
    await store.close();
  });
});

describe('torn tails twice at the same offset', () => {
  it('keeps both cut-off copies (never overwrites one) and opens no file after close', async () => {
    const d = folder();
    const s = await start(d);
    await postEvents(s, 2);
    await stop(s);
    const file = segments(d).at(-1)!;
    const size = statSync(file).size;
    for (const junk of ['0badc0de {"i":2', '12345678 {"i":2,"id":"y"']) {
      writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from(junk)]));
      const store = new FileEventStore({ dir: d, scrubIntervalMs: 0 });
      expect((await store.open()).size).toBe(2);
      await store.close();
      await expect(store.getByIndex(0)).rejects.toThrow(/is closed/);
    }
    expect(readFileSync(`${file}.torn-${size}`, 'utf8')).toBe('0badc0de {"i":2');
    expect(readFileSync(`${file}.torn-${size}-2`, 'utf8')).toBe('12345678 {"i":2,"id":"y"');
  });
});
