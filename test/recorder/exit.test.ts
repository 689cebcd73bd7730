/**
 * The exit paths, for real: a child Node process (running the sources through
 * type stripping) records events and then exits in each way a process can end;
 * the test then reads what reached the disk.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { verifySignature } from '../../src/integrity/sign.ts';
import { reservedClosedPort } from '../helpers/ports.ts';
import { orderIds, readJsonl, tempDir } from '../sinks/_helpers.ts';

const SRC = path.join(import.meta.dirname, '../../src');

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `script` (an ES module body) in a child Node; `onReady` runs when it prints READY. */
function runChild(script: string, onReady?: (child: ReturnType<typeof spawn>) => void): Promise<ChildResult> {
  const prelude = `
    import { createRecorder } from '${SRC}/recorder/index.ts';
    import { FileSink } from '${SRC}/sinks/file.ts';
    import { HttpSink } from '${SRC}/sinks/http.ts';
    const order = (i) => ({ trade_data: { order_id: 'O-' + i, symbol: 'EURUSD', side: 'BUY', price: '1.0850', quantity: '100000' } });
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '--no-warnings', '-e', prelude + script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (onReady && stdout.includes('READY')) {
        const f = onReady;
        onReady = undefined;
        f(child);
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child timed out; stderr: ${stderr}`));
    }, 20_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function dir(): string {
  const t = tempDir('vcp-exit-');
  cleanups.push(t.cleanup);
  return t.dir;
}
function expectAll(events: ReturnType<typeof readJsonl>, n: number): void {
  expect(orderIds(events)).toEqual(Array.from({ length: n }, (_, i) => `O-${i}`));
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    expect(computeEventHash(e, { prevHash: e.security.prev_hash })).toBe(e.security.event_hash);
    if (i > 0) expect(e.security.prev_hash).toBe(events[i - 1]!.security.event_hash);
  }
}

describe('exit paths (child processes)', () => {
  it('process.exit() right after recording: the exit hook writes every queued event synchronously', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const r = await runChild(`
      const recorder = createRecorder({ policyId: 'local:test:exit', chain: true, sink: new FileSink({ path: ${JSON.stringify(file)} }) });
      for (let i = 0; i < 500; i++) recorder.record('ORD', order(i));
      process.exit(0);
    `);
    expect(r.code).toBe(0);
    expectAll(readJsonl(file), 500);
  });

  it('process.exit() with a worker signer: unsigned events are signed on the way out', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const r = await runChild(`
      import { createWorkerSigner } from '${SRC}/recorder/worker-signer.ts';
      import { generateKeyPairSync } from 'node:crypto';
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const signer = createWorkerSigner(privateKey);
      const recorder = createRecorder({ policyId: 'local:test:exit', chain: true, signer, batchSize: 50, sink: new FileSink({ path: ${JSON.stringify(file)} }) });
      for (let i = 0; i < 500; i++) recorder.record('ORD', order(i));
      setImmediate(() => { console.log(publicKey.export({ format: 'pem', type: 'spki' })); process.exit(0); });
    `);
    expect(r.code).toBe(0);
    // A signing recorder's FileSink opens its segment with a META line (export format v2).
    const lines = readJsonl(file) as unknown[] as Record<string, any>[];
    expect(lines[0]!.vcp_export).toMatchObject({ version: 2, producer: 'vcp-instrument recorder' });
    const events = lines.filter((l) => l.header) as unknown as ReturnType<typeof readJsonl>;
    expectAll(events, 500);
    for (const e of events)
      expect(verifySignature(e.security.event_hash, e.security.signature, r.stdout)).toBe(true);
  });

  it('a natural end: the loop drains everything before the process exits', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const r = await runChild(`
      const recorder = createRecorder({ policyId: 'local:test:exit', chain: true, sink: new FileSink({ path: ${JSON.stringify(file)} }) });
      for (let i = 0; i < 500; i++) recorder.record('ORD', order(i));
    `);
    expect(r.code).toBe(0);
    expectAll(readJsonl(file), 500);
  });

  it('SIGTERM with handleSignals: flushes a slow sink, then exits 143', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const r = await runChild(
      `
      const file = new FileSink({ path: ${JSON.stringify(file)} });
      // A slow sink: 20 ms a batch.
      const slow = { name: 'slow', write: async (ev) => { await new Promise((r) => setTimeout(r, 20)); await file.write(ev); }, close: () => file.close() };
      const recorder = createRecorder({ policyId: 'local:test:exit', chain: true, sink: slow, batchSize: 10, handleSignals: true });
      for (let i = 0; i < 300; i++) recorder.record('ORD', order(i));
      setInterval(() => {}, 1000); // a server that would run forever
      console.log('READY', process.listenerCount('SIGTERM'));
    `,
      (child) => child.kill('SIGTERM'),
    );
    expect(r.stdout).toContain('READY 1');
    expect(r.code).toBe(143);
    expectAll(readJsonl(file), 300);
  });

  it('by default no signal handler is installed, so SIGTERM keeps its default meaning', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const r = await runChild(
      `
      const recorder = createRecorder({ policyId: 'local:test:exit', sink: new FileSink({ path: ${JSON.stringify(file)} }) });
      setInterval(() => {}, 1000);
      console.log('READY', process.listenerCount('SIGTERM'), process.listenerCount('exit'));
    `,
      (child) => child.kill('SIGTERM'),
    );
    expect(r.stdout).toContain('READY 0 1');
    expect(r.signal).toBe('SIGTERM');
  });

  it('process.exit() with the sidecar down and no synchronous sink: exit spool, replayed by the next run', async () => {
    const spoolDir = dir();
    const port = await reservedClosedPort(); // nothing listens, and no other process gets it meanwhile
    const r = await runChild(`
      const recorder = createRecorder({ policyId: 'local:test:exit', chain: true, spoolDir: ${JSON.stringify(spoolDir)},
        sink: new HttpSink({ url: 'http://127.0.0.1:${port}' }), onError: () => {} });
      for (let i = 0; i < 200; i++) recorder.record('ORD', order(i));
      setTimeout(() => process.exit(0), 50);
    `);
    expect(r.code).toBe(0);
    const files = fs.readdirSync(spoolDir).filter((n) => n.startsWith('vcp-exit-'));
    expect(files).toHaveLength(1);
    expectAll(readJsonl(path.join(spoolDir, files[0]!)), 200);

    // The next run, now with a working sink, sends the spooled events first and deletes the file.
    const file = path.join(dir(), 'vcp.jsonl');
    const next = await runChild(`
      const recorder = createRecorder({ policyId: 'local:test:exit', spoolDir: ${JSON.stringify(spoolDir)}, sink: new FileSink({ path: ${JSON.stringify(file)} }) });
      await recorder.flush();
      console.log(JSON.stringify(recorder.stats()));
    `);
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ replayed: 200 });
    expectAll(readJsonl(file), 200);
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });

  it('a natural end with the sidecar down: beforeExit spools instead of losing the events', async () => {
    const spoolDir = dir();
    const port = await reservedClosedPort(); // nothing listens, and no other process gets it meanwhile
    const r = await runChild(`
      const recorder = createRecorder({ policyId: 'local:test:exit', chain: true, spoolDir: ${JSON.stringify(spoolDir)},
        sink: new HttpSink({ url: 'http://127.0.0.1:${port}' }), onError: () => {} });
      for (let i = 0; i < 100; i++) recorder.record('ORD', order(i));
    `);
    expect(r.code).toBe(0);
    const files = fs.readdirSync(spoolDir).filter((n) => n.startsWith('vcp-exit-'));
    expect(files).toHaveLength(1);
    expectAll(readJsonl(path.join(spoolDir, files[0]!)), 100);
  });
});
