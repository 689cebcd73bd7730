/**
 * A small real HTTP server implementing the `POST /vcp/log` contract of
 * docs/sidecar-api.md minimally (NDJSON, a JSON array or one event, 201 with per-item
 * results, dedup by event_id with `duplicate: true`, 400 validation errors
 * with batch paths, 413 over a batch limit, bearer token), plus switches to
 * make it fail the way a real sidecar can: 503, 429 with Retry-After,
 * dropped connections.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { VcpEvent } from '../../src/core/types.ts';

export type FailMode = '503' | '429' | 'drop';

export interface RequestLog {
  count: number;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  status: number;
}

export class SidecarStub {
  /** Stored events, each event_id once, in order of first arrival. */
  readonly stored: VcpEvent[] = [];
  readonly requests: RequestLog[] = [];
  /** The next `failNext` requests fail with `failMode`. */
  failNext = 0;
  failMode: FailMode = '503';
  /** Refuse (400) any batch holding an event whose order_id is listed. */
  readonly refuse = new Set<string>();
  /**
   * How a refusal is worded, to try answers the real sidecar never gives (a proxy's,
   * another implementation's): `'no-paths'` names no item, `'out-of-range'` names
   * items beyond the batch, `'not-json'` is an HTML error page.
   */
  refusalStyle: 'sidecar' | 'no-paths' | 'out-of-range' | 'not-json' = 'sidecar';
  /** Answer 413 to batches larger than this. */
  maxBatch = Number.POSITIVE_INFINITY;
  token: string | undefined;
  port = 0;
  #server: http.Server | undefined;
  readonly #ids = new Set<string>();

  async start(port = this.port): Promise<number> {
    const server = http.createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const log: RequestLog = {
        count: 0,
        idempotencyKey: req.headers['idempotency-key'] as string | undefined,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        status: 0,
      };
      this.requests.push(log);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        log.status = status;
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/vcp/log')
        return send(404, { status: 'error', error: 'not_found' });
      if (this.token && req.headers.authorization !== `Bearer ${this.token}`) {
        return send(401, { status: 'error', error: 'unauthorized' });
      }
      if (this.failNext > 0) {
        this.failNext--;
        if (this.failMode === 'drop') {
          log.status = -1;
          req.socket.destroy();
          return;
        }
        if (this.failMode === '429')
          return send(429, { status: 'error', error: 'too_many_requests' }, { 'retry-after': '1' });
        return send(503, { status: 'error', error: 'shutting_down' });
      }
      let batch: VcpEvent[];
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        if (/ndjson/.test(String(req.headers['content-type']))) {
          batch = text
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l) as VcpEvent);
        } else {
          const parsed = JSON.parse(text) as unknown;
          batch = Array.isArray(parsed) ? (parsed as VcpEvent[]) : [parsed as VcpEvent];
        }
      } catch {
        return send(400, { status: 'error', error: 'validation', message: 'malformed JSON' });
      }
      log.count = batch.length;
      if (batch.length > this.maxBatch)
        return send(413, { status: 'error', error: 'payload_too_large', limit: this.maxBatch });
      const errors = batch.flatMap((e, i) =>
        typeof e?.header?.event_id !== 'string'
          ? [{ path: `[${i}].header.event_id`, rule: 'required', message: 'event_id is required' }]
          : this.refuse.has(String(e.payload?.trade_data?.order_id))
            ? [
                {
                  path: `[${i}].payload.trade_data.price`,
                  rule: 'decimal-string',
                  message: 'refused by the test',
                },
              ]
            : [],
      );
      if (errors.length > 0) {
        if (this.refusalStyle === 'not-json') {
          log.status = 400;
          res.writeHead(400, { 'content-type': 'text/html' });
          return res.end('<html><body>400 Bad Request</body></html>');
        }
        if (this.refusalStyle === 'no-paths')
          return send(400, { status: 'error', error: 'validation', message: 'invalid batch' });
        if (this.refusalStyle === 'out-of-range') {
          const far = errors.map((e) => ({ ...e, path: e.path.replace(/^\[\d+\]/, '[999999]') }));
          return send(400, { status: 'error', error: 'validation', errors: far });
        }
        return send(400, { status: 'error', error: 'validation', message: 'invalid batch', errors });
      }
      const results = batch.map((e) => {
        const id = e.header.event_id;
        const duplicate = this.#ids.has(id);
        if (!duplicate) {
          this.#ids.add(id);
          this.stored.push(e);
        }
        return {
          status: 'ok',
          event_id: id,
          event_hash: e.security?.event_hash,
          merkle_index: this.stored.length - 1,
          ...(duplicate ? { duplicate: true } : {}),
        };
      });
      send(201, { status: 'ok', count: batch.length, results });
    });
  }
}
