/**
 * A human-readable sink: one short line per event (time, type, trace, the
 * trade fields a person scans for, hash prefix), for development and demos.
 * Not an audit store: the line leaves out most of the event. Writes to
 * stderr by default so a program's own stdout stays clean.
 */
import { once } from 'node:events';
import * as fs from 'node:fs';
import type { Writable } from 'node:stream';
import { VcpIoError } from '../core/errors.ts';
import type { VcpEvent } from '../core/types.ts';
import type { Sink } from './sink.ts';

/** Options of {@link ConsoleSink}. */
export interface ConsoleSinkOptions {
  /** Where lines go (default `process.stderr`). */
  stream?: Writable;
  /** ANSI colours (default: when the stream is a TTY and `NO_COLOR` is unset). */
  color?: boolean;
}

const TRADE_FIELDS = [
  ['side', ''],
  ['quantity', ''],
  ['symbol', ''],
  ['price', '@ '],
  ['order_type', ''],
  ['order_id', 'order='],
  ['order_status', 'status='],
  ['executed_qty', 'filled='],
  ['execution_price', 'px='],
  ['reject_reason', 'reason='],
] as const;

/** Control characters and line separators, which would break the one-line-per-event promise. */
const UNSAFE = /[\u0000-\u001f\u007f\u2028\u2029]/g;

function clean(value: unknown, max = 60): string {
  const s = typeof value === 'string' ? value : String(value);
  const safe = s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}

/**
 * The one-line form of an event, e.g.
 * `2025-01-01T09:30:00.125Z ORD        trace=…4b1d2e9f BUY 100000 EURUSD @ 1.0850 LIMIT order=ORD-1 #3f2a9c1e4b7d`.
 * Never throws, whatever the event holds.
 */
export function formatEventLine(event: VcpEvent, color = false): string {
  try {
    const h = event.header ?? ({} as VcpEvent['header']);
    const type = clean(h.event_type ?? '?', 20);
    const trace = typeof h.trace_id === 'string' ? `trace=…${clean(h.trace_id.slice(-8))}` : 'trace=?';
    const parts = [clean(h.timestamp_iso ?? '?', 40), type.padEnd(10), trace];
    const td = event.payload?.trade_data;
    if (td && typeof td === 'object') {
      for (const [field, prefix] of TRADE_FIELDS) {
        const v = (td as Record<string, unknown>)[field];
        if (v !== undefined && v !== null && v !== '') parts.push(prefix + clean(v));
      }
    } else if (h.symbol) parts.push(clean(h.symbol));
    const err = event.payload?.error_details;
    if (err && typeof err === 'object') {
      parts.push(
        clean(err.severity ?? '', 10),
        `${clean(err.error_code ?? '', 40)}: ${clean(err.error_message ?? '', 200)}`,
      );
    }
    const hash = event.security?.event_hash;
    parts.push(typeof hash === 'string' ? `#${clean(hash.slice(0, 12))}` : '#unsealed');
    let line = parts.join(' ');
    if (color) {
      const isErr = typeof h.event_type === 'string' && h.event_type.startsWith('ERR');
      line = isErr
        ? `\u001b[31m${line}\u001b[39m`
        : line.replace(/ #([0-9a-f]{12})$/, ' \u001b[2m#$1\u001b[22m');
    }
    return line;
  } catch {
    return '(unprintable event)';
  }
}

/** Prints one readable line per event to a stream. */
export class ConsoleSink implements Sink {
  readonly name: string;
  readonly #stream: Writable;
  readonly #color: boolean;
  #closed = false;

  constructor(options: ConsoleSinkOptions = {}) {
    this.#stream = options.stream ?? process.stderr;
    const tty = (this.#stream as { isTTY?: boolean }).isTTY === true;
    this.#color = options.color ?? (tty && !process.env.NO_COLOR);
    this.name = `console${this.#stream === process.stdout ? ':stdout' : this.#stream === process.stderr ? ':stderr' : ''}`;
  }

  async write(events: readonly VcpEvent[]): Promise<void> {
    if (this.#closed) throw new VcpIoError(`${this.name} is closed`);
    if (!this.#stream.write(this.#text(events))) await once(this.#stream, 'drain');
  }

  writeSync(events: readonly VcpEvent[]): void {
    const text = this.#text(events);
    const fd = (this.#stream as { fd?: unknown }).fd;
    if (typeof fd === 'number') fs.writeSync(fd, text);
    else this.#stream.write(text);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    // The stream belongs to the caller (often stderr): leave it open.
    this.#closed = true;
  }

  #text(events: readonly VcpEvent[]): string {
    let out = '';
    for (const e of events) out += formatEventLine(e, this.#color) + '\n';
    return out;
  }
}
