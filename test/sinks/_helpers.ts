/**
 * Test helpers for the sink and recorder tests: a sink whose failures the
 * test controls (down, fail the next n writes, hold writes at a gate), real
 * sealed events, and temp directories.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { draftEvent } from '../../src/core/builder.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { createHashChain } from '../../src/integrity/chain.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { SinkError } from '../../src/sinks/errors.ts';
import type { Sink } from '../../src/sinks/sink.ts';

export const policy = createPolicy({ policyId: 'local:test:sinks', hashChain: true });

/** `n` sealed, chained ORD events with order ids `O-<start>` … */
export function sealedEvents(n: number, start = 0): VcpEvent[] {
  const chain = createHashChain();
  const out: VcpEvent[] = [];
  for (let i = start; i < start + n; i++) {
    const draft = draftEvent(
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
      { policy, venueId: 'XLON', accountId: 'ACC-1' },
    );
    out.push(sealEvent(draft, { chain }));
  }
  return out;
}

/** Order ids of events, in order. */
export function orderIds(events: readonly unknown[]): string[] {
  return events.map((e) => String((e as VcpEvent).payload?.trade_data?.order_id));
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'vcp-sink-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Lines of a JSONL file, parsed. */
export function readJsonl(file: string): VcpEvent[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as VcpEvent);
}

/**
 * A sink whose behaviour the test controls. Keeps what it accepted in `events`
 * and every call in `calls` (the batch sizes).
 */
export class ControlledSink implements Sink {
  readonly name: string;
  readonly events: VcpEvent[] = [];
  readonly calls: number[] = [];
  /** While true, every write fails with a retryable error. */
  down = false;
  /** The next `failures` writes fail with `failWith` (default: retryable). */
  failures = 0;
  failWith: () => unknown = () => new SinkError('temporarily down', { retryable: true });
  /** Refuse (non-retryable) any batch holding an event with one of these order ids. */
  refuse = new Set<string>();
  closed = false;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  constructor(name = 'controlled') {
    this.name = name;
  }

  /** Hold every write until `release()`. */
  hold(): void {
    this.#gate = new Promise((r) => {
      this.#open = r;
    });
  }

  release(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  async write(events: readonly VcpEvent[]): Promise<void> {
    this.calls.push(events.length);
    if (this.#gate) await this.#gate;
    if (this.closed) throw new SinkError('closed', { retryable: false });
    if (this.down) throw new SinkError('down', { retryable: true });
    if (this.failures > 0) {
      this.failures--;
      throw this.failWith();
    }
    for (const e of events) {
      if (this.refuse.has(String(e.payload?.trade_data?.order_id))) {
        throw new SinkError('refused: invalid event', { retryable: false, status: 400 });
      }
    }
    this.events.push(...events);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A ControlledSink that can also write synchronously. */
export class ControlledSyncSink extends ControlledSink {
  writeSync(events: readonly VcpEvent[]): void {
    this.events.push(...events);
  }
}
