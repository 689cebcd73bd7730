/**
 * `vcp spool list|show|replay` on spool directories made by the real sinks,
 * replayed into the real sidecar.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { draftEvent } from '../../src/core/builder.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { writeSpoolFileSync } from '../../src/recorder/exit-spool.ts';
import { SinkRejectionError } from '../../src/sinks/dead-letter.ts';
import { createHttpSink, HttpSink } from '../../src/sinks/http.ts';
import { withSpool } from '../../src/sinks/spool.ts';
import { runVcp } from '../helpers/cli.ts';
import { ControlledSink, orderIds, policy, sealedEvents, tempDir } from '../sinks/_helpers.ts';
import { perTestSidecars } from '../sinks/_real-sidecar.ts';

const { closers, sidecar } = perTestSidecars();
function folder(): string {
  const t = tempDir('vcp-cli-spool-');
  closers.push(t.cleanup);
  return t.dir;
}
const files = (dir: string, prefix: string) => fs.readdirSync(dir).filter((n) => n.startsWith(prefix));

/** Events where the i-th has a trace id that is not a UUID: a --strict sidecar refuses it (400), a default one takes it. */
function nonUuidTrace(n: number, i: number): VcpEvent[] {
  const events = sealedEvents(n);
  events[i] = sealEvent(
    draftEvent(
      'ORD',
      {
        trade_data: {
          order_id: `O-${i}`,
          symbol: 'EURUSD',
          side: 'BUY',
          price: '1.0850',
          quantity: '100000',
        },
      },
      { policy, venueId: 'XLON', accountId: 'ACC-1', traceId: `trace-${i}` },
    ),
  );
  return events;
}

/** Dead letters made by the real HTTP sink against a --strict sidecar. */
async function makeDeadLetters(dir: string): Promise<{ refused: VcpEvent[]; sent: VcpEvent[] }> {
  const strict = await sidecar({ strict: true });
  const sink = new HttpSink({ url: strict.url, deadLetterDir: dir, onWarning: () => {} });
  const sent = nonUuidTrace(10, 4);
  const err = (await sink.write(sent).catch((e: unknown) => e)) as SinkRejectionError;
  await sink.close();
  expect(err).toBeInstanceOf(SinkRejectionError);
  expect(await strict.stored()).toHaveLength(9);
  return { refused: err.refused, sent };
}

describe('vcp spool', () => {
  it('list and show: dead letters with the sidecar’s reason, totals, the advice', async () => {
    const dir = folder();
    const { refused } = await makeDeadLetters(dir);
    const r = await runVcp(dir, 'spool', 'list', '.');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/dead-letter +vcp-dead-letter-\S+\.jsonl +1 events/);
    expect(r.out).toMatch(/HTTP 400 header\.trace_id: .* \[uuid\]/);
    expect(r.out).toMatch(/total: 0 spooled, 0 in exit spools, 1 dead letter\(s\)/);
    expect(r.out).toMatch(/fix the cause, then vcp spool replay/);

    const json = JSON.parse((await runVcp(dir, 'spool', 'list', dir, '--json')).out);
    expect(json.totals).toEqual({ spool: 0, exit: 0, 'dead-letter': 1 });

    const file = files(dir, 'vcp-dead-letter-')[0]!;
    const shown = await runVcp(dir, 'spool', 'show', file);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(String(refused[0]!.header.event_id));
    expect(shown.out).toMatch(/order O-4/);
    expect(shown.out).toMatch(/HTTP 400 header\.trace_id: .*\[uuid\]/);
    const sj = JSON.parse((await runVcp(dir, 'spool', 'show', file, '--json')).out);
    expect(sj).toMatchObject({
      kind: 'dead-letter',
      count: 1,
      events: [
        { event_id: refused[0]!.header.event_id, order_id: 'O-4', reasons: [{ rule: 'uuid', status: 400 }] },
      ],
    });
  });

  it('replay: still refused → exit 1 and the file stays; accepted → exit 0; again → already stored (idempotent); --move-done', async () => {
    const dir = folder();
    const { sent } = await makeDeadLetters(dir);
    const strict = await sidecar({ strict: true });
    const again = await runVcp(dir, 'spool', 'replay', dir, '--url', strict.url);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/1 event\(s\): 0 stored, 0 already stored, 1 refused/);
    expect(again.out).toMatch(/refused .*header\.trace_id/);
    expect(files(dir, 'vcp-dead-letter-')).toHaveLength(1); // no second copy of a dead letter

    const lenient = await sidecar();
    const ok = await runVcp(dir, 'spool', 'replay', dir, '--url', lenient.url);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/replay: 1 stored, 0 already stored, 0 refused/);
    expect(orderIds(await lenient.stored())).toEqual(['O-4']);
    expect((await lenient.stored())[0]!.header.trace_id).toBe(sent[4]!.header.trace_id);

    const twice = await runVcp(dir, 'spool', 'replay', dir, '--url', lenient.url, '--move-done');
    expect(twice.code).toBe(0);
    expect(twice.out).toMatch(/replay: 0 stored, 1 already stored, 0 refused/);
    expect(await lenient.stored()).toHaveLength(1);
    expect(files(dir, 'vcp-dead-letter-')).toHaveLength(0);
    expect(fs.readdirSync(path.join(dir, 'replayed'))).toHaveLength(1);
    const empty = await runVcp(dir, 'spool', 'list', dir);
    expect(empty.out).toMatch(/no spool files/);
  });

  it('a wrong URL (405) spools good events; replay to the right URL stores them all, in order', async () => {
    const s = await sidecar();
    const dir = folder();
    const warnings: string[] = [];
    const sink = createHttpSink({
      url: `${s.url}/health`,
      spoolDir: dir,
      onWarning: (m) => warnings.push(m),
      retry: { retries: 0 },
      breaker: false,
      spool: { replayIntervalMs: 60_000, onWarning: (m) => warnings.push(m) },
    });
    for (let i = 0; i < 30; i += 10) await sink.write(sealedEvents(10, i));
    await sink.close(); // the spool files stay for the next start, or for vcp spool
    expect(warnings.some((w) => /HTTP 405/.test(w))).toBe(true);
    expect(warnings.some((w) => /spooling events to/.test(w))).toBe(true);

    const listed = await runVcp(dir, 'spool', 'list', dir);
    expect(listed.out).toMatch(/total: 30 spooled/);
    expect(listed.out).not.toMatch(/replayed by running process/);
    const r = await runVcp(dir, 'spool', 'replay', dir, '--url', s.url, '--batch', '7');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/replay: 30 stored, 0 already stored, 0 refused/);
    expect(orderIds(await s.stored())).toEqual(orderIds(sealedEvents(30)));
  });

  it('replays exit spools and spooled files too, and dead-letters what the sidecar refuses among them', async () => {
    const s = await sidecar();
    const dir = folder();
    const events = sealedEvents(5);
    events[2] = { ...events[2]!, header: { ...events[2]!.header, event_id: 'not-a-uuid' } };
    const exitFile = writeSpoolFileSync(dir, events);
    const r = await runVcp(dir, 'spool', 'replay', exitFile, '--url', s.url);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/5 event\(s\): 4 stored, 0 already stored, 1 refused/);
    expect(r.out).toMatch(/now dead letters in .*vcp-dead-letter-/);
    expect(orderIds(await s.stored())).toEqual(['O-0', 'O-1', 'O-3', 'O-4']);
    expect(files(dir, 'vcp-dead-letter-')).toHaveLength(1);
  });

  it('skips a spool that a running process owns (it replays it itself)', async () => {
    const s = await sidecar();
    const dir = folder();
    const inner = new ControlledSink();
    inner.down = true;
    const live = withSpool(inner, { dir, replayIntervalMs: 60_000, onWarning: () => {} });
    closers.push(() => live.close());
    await live.write(sealedEvents(3));
    // Another process's lock: a live pid that is not this one (the parent of this test process).
    fs.writeFileSync(path.join(dir, 'spool.lock'), String(process.ppid));
    const r = await runVcp(dir, 'spool', 'replay', dir, '--url', s.url);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`skipped: process ${process.ppid} owns it`));
    expect(await s.stored()).toHaveLength(0);
  });

  it('the sidecar unreachable: exit 3, nothing moved or deleted', async () => {
    const s = await sidecar();
    const url = s.url;
    await s.stop();
    const dir = folder();
    writeSpoolFileSync(dir, sealedEvents(2), 'vcp-rejected');
    const before = fs.readdirSync(dir).sort();
    const r = await runVcp(dir, 'spool', 'replay', dir, '--url', url, '--retries', '0', '--move-done');
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/stopped: .*connection|ECONNREFUSED/);
    expect(r.err).toMatch(/nothing was deleted or moved/);
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  });

  it('takes the token from VCP_SIDECAR_TOKEN', async () => {
    const token = 'spool-token-0123456789abcdef';
    const s = await sidecar({ token });
    const dir = folder();
    writeSpoolFileSync(dir, sealedEvents(2), 'vcp-rejected');
    let out = '';
    const code = await main(['spool', 'replay', dir, '--url', s.url], {
      out: (t) => {
        out += t;
      },
      err: () => {},
      errIsTty: false,
      env: { VCP_SIDECAR_TOKEN: token },
      cwd: dir,
    });
    expect(code).toBe(0);
    expect(out).toMatch(/replay: 2 stored/);
    expect(out).not.toContain(token);
  });

  it('usage errors exit 2 with a clear message; --help explains kinds and exit codes', async () => {
    const dir = folder();
    const help = await runVcp(dir, 'spool', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/dead-letter/);
    expect(help.out).toMatch(/exit codes: 0 .* 1 .* 2 .* 3/s);
    const cases: [string[], RegExp][] = [
      [['spool'], /a subcommand is required/],
      [['spool', 'purge', dir], /unknown subcommand "purge"/],
      [['spool', 'list'], /needs a directory/],
      [['spool', 'list', path.join(dir, 'nope')], /does not exist/],
      [['spool', 'show', dir], /is not a file/],
      [['spool', 'replay', dir], /needs --url/],
      [['spool', 'replay', dir, '--url', 'ftp://x'], /http: or https:/],
      [
        ['spool', 'replay', dir, '--url', 'http://127.0.0.1:1', '--batch', '0'],
        /--batch must be a whole number/,
      ],
      [['spool', 'list', dir, '--bogus'], /bogus/],
    ];
    for (const [argv, msg] of cases) {
      const r = await runVcp(dir, ...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(msg);
    }
  });

  it('show: a file with a torn last line and garbage lines says so and shows the good events', async () => {
    const dir = folder();
    const file = writeSpoolFileSync(dir, sealedEvents(2), 'vcp-rejected');
    fs.appendFileSync(file, '"just a string"\n{"header":');
    const r = await runVcp(dir, 'spool', 'show', file);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 event\(s\)/);
    expect(r.out).toMatch(/1 line\(s\) are not events/);
    expect(r.out).toMatch(/partial last line of 10 bytes/);
  });
});
